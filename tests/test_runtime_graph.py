"""tinynn.runtime on convolutional, normalized, residual and functional models: predictions
equal to tinynn's, and the file validation of every new layer (crafted and corrupt files)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from batch_norm_state import randomize_state

import tinynn
from tinynn import layers, runtime
from tinynn.export.python import RUNTIME_PARTS
from tinynn.runtime import ModelFileError


def separable_net(seed=0):
    normalization = layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 0.0, 4.0])
    return randomize_state(
        tinynn.Sequential(
            [
                tinynn.Input((12, 12, 3)),
                layers.Rescaling(0.5, offset=-0.25),
                normalization,
                layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(max_value=6),
                layers.DepthwiseConv2D(3, padding=((1, 1), (1, 1)), depth_multiplier=2),
                layers.BatchNormalization(),
                layers.Activation("relu"),
                layers.SeparableConv2D(12, 3, padding="same", dilation_rate=2, activation="elu"),
                layers.ZeroPadding2D(((1, 0), (0, 1))),
                layers.AveragePooling2D(3, strides=2, padding="same"),
                layers.MaxPooling2D(2, strides=1, padding=((0, 1), (1, 0))),
                layers.Dropout(0.2),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10),
                layers.Softmax(),
            ],
            seed=seed,
        ),
        seed,
    )


def graph_net(seed=0):
    inputs = tinynn.Input((8, 8, 2))
    h = layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    skip = layers.Conv2D(6, (2, 3), padding=((1, 0), (1, 1)))(inputs)  # as PyTorch pads
    h = layers.Add()([h, skip])
    g = layers.GlobalAveragePooling2D(keepdims=True)(h)
    g = layers.Reshape((1, 1, 6))(layers.Dense(6, activation="sigmoid")(layers.Flatten()(g)))
    h = layers.Multiply()([h, g])  # squeeze-and-excitation: (8, 8, 6) times (1, 1, 6)
    c = layers.Concatenate()([h, layers.MaxPooling2D(1)(skip)])
    r = layers.basic_block(12, strides=2, projection=True)(c)
    r = layers.Average()([r, layers.Subtract()([r, layers.Identity()(r)])])
    r = layers.Permute((3, 1, 2))(layers.Permute((2, 1, 3))(r))  # the second folds into Dense
    out = layers.Dense(5, activation="softmax")(layers.Flatten()(r))
    return randomize_state(tinynn.Model(inputs, out, seed=seed), seed)


def samples(shape, n=20, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("make", [separable_net, graph_net])
def test_runtime_predicts_what_tinynn_predicts(tmp_path, make):
    model = make()
    model.save(str(tmp_path / "m.npz"))
    net = runtime.load_model(tmp_path / "m.npz")
    x = samples(model.input_shape)
    expected = model.forward(x)
    np.testing.assert_allclose(net.predict(x), expected, atol=1e-6)
    np.testing.assert_allclose(net.predict_one(x[3]), expected[3], atol=1e-6)
    np.testing.assert_allclose(net.predict(x, batch_size=7), expected, atol=1e-6)


def test_the_standalone_runtime_parts_define_each_name_once():
    root = Path(runtime.__file__).parent.parent.parent
    seen: dict[str, str] = {}
    for part in RUNTIME_PARTS:
        tree = ast.parse((root / (part.replace(".", "/") + ".py")).read_text("utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                if name != "__all__":
                    assert name not in seen, f"{name} is defined in {seen.get(name)} and {part}"
                    seen[name] = part


# -- validation: crafted and corrupt files -------------------------------------------------


def conv_file(tmp_path) -> tuple[dict, dict]:
    """A valid CNN file's config and arrays, for tampering."""
    model = tinynn.Sequential(
        [
            tinynn.Input((6, 6, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.ZeroPadding2D(1),
            layers.DepthwiseConv2D(3),
            layers.Flatten(),
            layers.Dense(3),
        ],
        seed=0,
    )
    model.save(str(tmp_path / "cnn.npz"))
    return read_file(tmp_path / "cnn.npz")


def read_file(path: Path) -> tuple[dict, dict]:
    """A saved model's config and arrays."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(arrays.pop("__config__").tobytes()), arrays


def write(path: Path, config: dict, arrays: dict) -> Path:
    np.savez(path, __config__=np.frombuffer(json.dumps(config).encode(), np.uint8), **arrays)
    return path


def layer_config(index):
    return lambda c: c["model"]["config"]["layers"][index]["config"]


CONV, BN, POOL, PAD, DEPTHWISE = (layer_config(i) for i in range(5))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda c: CONV(c).update(kernel_size=[5000, 3]), "kernel_size"),
        (lambda c: CONV(c).update(strides=[0, 1]), "strides"),
        (lambda c: CONV(c).update(padding="reflect"), "padding is 'reflect'"),
        (lambda c: CONV(c).update(padding=[[1, 1], [-1, 0]]), "padding"),
        (lambda c: CONV(c).update(padding=[[1, 1]]), r"expected \[\[top, bottom\]"),
        (lambda c: POOL(c).update(pool_size=[7, 7], padding=[[1, 0], [0, 0]]), "does not fit"),
        (lambda c: CONV(c).update(filters=5), r"needs \(3, 3, 2, 5\)"),
        (lambda c: CONV(c).update(filters=10**9), "filters"),
        (lambda c: CONV(c).update(dilation_rate="2"), "dilation_rate"),
        (lambda c: POOL(c).update(pool_size=[7, 7], padding="valid"), "does not fit"),
        (lambda c: POOL(c).update(dilation_rate=[2, 2]), "dilation_rate"),
        (lambda c: BN(c).update(epsilon=0), "epsilon"),
        (lambda c: BN(c).update(axis=1), "axis"),
        (lambda c: BN(c).update(center=False), "the layer config needs"),
        (lambda c: PAD(c).update(padding=[[1, -1], [0, 0]]), "padding"),
        (lambda c: PAD(c).update(padding=[[10**6, 0], [0, 0]]), "padding"),
        (lambda c: DEPTHWISE(c).update(depth_multiplier=0), "depth_multiplier"),
        (lambda c: c["model"]["config"]["layers"][2].update(class_name="RandomCrop"), "RandomCrop"),
        (
            lambda c: c["model"]["config"]["layers"][2].update(class_name="LayerNormalization"),
            "'max_pooling2d' has class 'LayerNormalization'",
        ),
    ],
)
def test_conv_configs_that_disagree_or_declare_absurd_things(tmp_path, tamper, message):
    config, arrays = conv_file(tmp_path)
    tamper(config)
    with pytest.raises(ModelFileError, match=message):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))


def test_batch_norm_statistics_are_checked(tmp_path):
    config, arrays = conv_file(tmp_path)
    negative = dict(arrays, **{"state/1/moving_variance": -np.ones(4, np.float32)})
    with pytest.raises(ModelFileError, match="negative moving_variance"):
        runtime.load_model(write(tmp_path / "neg.npz", config, negative))
    missing = {k: v for k, v in arrays.items() if k != "state/1/moving_mean"}
    with pytest.raises(ModelFileError, match="missing the array 'state/1/moving_mean'"):
        runtime.load_model(write(tmp_path / "missing.npz", config, missing))
    nan = dict(arrays, **{"state/1/moving_mean": np.full(4, np.nan, np.float32)})
    with pytest.raises(ModelFileError, match="NaN"):
        runtime.load_model(write(tmp_path / "nan.npz", config, nan))


def graph_file(tmp_path) -> tuple[dict, dict]:
    inputs = tinynn.Input((4, 4, 2), name="x")
    a = layers.Conv2D(3, 1, name="a")(inputs)
    b = layers.Conv2D(3, 1, name="b")(inputs)
    out = layers.Flatten(name="f")(layers.Concatenate(name="cat")([a, b]))
    tinynn.Model(inputs, out).save(str(tmp_path / "g.npz"))
    with np.load(tmp_path / "g.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(arrays.pop("__config__").tobytes()), arrays


def entries(c):
    return {entry["name"]: entry for entry in c["model"]["config"]["layers"]}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda c: entries(c)["cat"].update(inbound_nodes=[[["nowhere", 0, 0]]]), "unknown layer"),
        (
            lambda c: [entries(c)[n].update(inbound_nodes=[[[m, 0, 0]]]) for n, m in ("ab", "ba")],
            "never",
        ),
        (lambda c: entries(c)["cat"].update(inbound_nodes=[[["a", 0, 0]]]), "merges two or more"),
        (lambda c: entries(c)["cat"]["config"].update(axis=5), "axis is 5"),
        (lambda c: entries(c)["a"].update(inbound_nodes=[[["x", "0", 0]]]), "call index"),
        (lambda c: entries(c)["b"].update(name="a"), "unique"),
        (
            lambda c: c["model"]["config"].update(output_layers=[["f", 0, 0], ["a", 0, 0]]),
            "one input and one output",
        ),
        (lambda c: c["model"]["config"].update(output_layers=[["f", 5, 0]]), "never made"),
    ],
)
def test_graph_configs_that_do_not_hold_together(tmp_path, tamper, message):
    config, arrays = graph_file(tmp_path)
    tamper(config)
    with pytest.raises(ModelFileError, match=message):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))


def test_residual_branches_must_match_and_nest_shallowly(tmp_path):
    model = tinynn.Sequential([tinynn.Input((4, 4, 3)), layers.basic_block(3)], seed=0)
    model.save(str(tmp_path / "r.npz"))
    with np.load(tmp_path / "r.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    config = json.loads(arrays.pop("__config__").tobytes())
    residual = config["model"]["config"]["layers"][0]
    for child in residual["config"]["block_layers"]:
        child["config"].pop("input_shape")
    residual["config"]["block_layers"][3]["config"]["strides"] = [2, 2]
    with pytest.raises(ModelFileError, match="block outputs"):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))
    deep: dict = {"class_name": "Identity", "config": {}}
    for _ in range(40):
        deep = {"class_name": "Residual", "config": {"block_layers": [deep]}}
    config["model"]["config"]["layers"] = [deep]
    with pytest.raises(ModelFileError, match="nested more than"):
        runtime.load_model(write(tmp_path / "deep.npz", config, arrays))


@pytest.mark.parametrize("dims", [[1, 2], [1, 1, 2], [0, 1, 2], "312", [1, 2, 4]])
def test_a_permute_that_is_not_a_permutation_is_refused(tmp_path, dims):
    model = tinynn.Sequential([tinynn.Input((2, 3, 4)), layers.Permute((3, 1, 2))], seed=0)
    model.save(str(tmp_path / "m.npz"))
    config, arrays = read_file(tmp_path / "m.npz")
    config["model"]["config"]["layers"][0]["config"]["dims"] = dims
    with pytest.raises(ModelFileError, match=r"dims is .*expected a permutation of 1\.\.3"):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))
    np.testing.assert_array_equal(
        runtime.load_model(tmp_path / "m.npz").predict(np.arange(24.0).reshape(1, 2, 3, 4)),
        np.arange(24.0).reshape(1, 2, 3, 4).transpose(0, 3, 1, 2),
    )


def test_step_times_names_every_step(tmp_path):
    model = graph_net()
    model.save(str(tmp_path / "m.npz"))
    net = runtime.load_model(tmp_path / "m.npz")
    times = net.step_times(samples(model.input_shape, n=4))
    kinds = [kind for kind, _ in times]
    assert len(times) == len(net.spec.layers) and all(seconds >= 0 for _, seconds in times)
    assert {"Conv2D", "Add", "Permute", "Dense"} <= set(kinds)


@pytest.mark.parametrize("make", [separable_net, graph_net])
def test_convolutions_made_a_few_images_at_a_time_give_the_same_outputs(
    tmp_path, monkeypatch, make
):
    from tinynn.runtime import layer_steps

    model = make()
    model.save(str(tmp_path / "m.npz"))
    x = samples(model.input_shape, n=5)
    monkeypatch.setattr(layer_steps, "PATCH_BYTES", 1)  # one image per pass
    np.testing.assert_allclose(
        runtime.load_model(tmp_path / "m.npz").predict(x), model.forward(x), atol=1e-6
    )
