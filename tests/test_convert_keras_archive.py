"""from_keras: Keras 3 .keras files (MobileNetV2 among them) as tinynn models, without Keras.

Keras itself (torch backend) only writes the files these tests read; skipped without it.
"""

import os
import zipfile

import numpy as np
import pytest

from tinynn.convert import UnsupportedError, from_keras

# Keras's own code (which only writes the files read here) trips NumPy 2's copy deprecation.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported
    os.environ.setdefault("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
    pytest.importorskip("h5py", reason="h5py is not installed")
    return pytest.importorskip("keras", reason="keras is not installed")


def randomize_batch_norm(keras, model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.uniform(-0.5, 0.5, beta.shape).astype("float32"),
                    rng.uniform(-0.5, 0.5, mean.shape).astype("float32"),
                    rng.uniform(0.5, 1.5, variance.shape).astype("float32"),
                ]
            )
    return model


def assert_same_outputs(keras, model, converted, x, rtol=1e-4):
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    error = np.abs(converted.predict(x) - expected).max() / np.abs(expected).max()
    assert error < rtol, f"relative error {error:.2e}"


def test_mobilenet_v2_from_keras_agrees(keras, tmp_path):
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), alpha=0.35)
    randomize_batch_norm(keras, model)
    model.save(tmp_path / "mobilenet.keras")
    converted = from_keras(tmp_path / "mobilenet.keras")
    assert converted.count_params() == model.count_params() - sum(
        int(np.prod(w.shape)) for w in model.non_trainable_weights
    )
    x = np.random.default_rng(0).normal(size=(2, 96, 96, 3)).astype("float32")
    assert_same_outputs(keras, model, converted, x)


def test_a_resnet_style_model_and_a_sequential_one(keras, tmp_path):
    layers = keras.layers
    image = keras.Input((16, 16, 3), name="image")
    h = layers.Rescaling(1 / 127.5, offset=-1.0)(image)
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(h)))
    skip = h
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(h)))
    h = layers.ReLU()(
        layers.Add()([layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(h)), skip])
    )
    h = layers.GlobalAveragePooling2D()(layers.MaxPooling2D()(h))
    functional = keras.Model(image, layers.Dense(5, activation="softmax")(h))
    randomize_batch_norm(keras, functional, seed=1)
    functional.save(tmp_path / "resnet.keras")
    x = np.random.default_rng(1).uniform(0, 255, size=(3, 16, 16, 3)).astype("float32")
    assert_same_outputs(keras, functional, from_keras(tmp_path / "resnet.keras"), x)

    sequential = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(6, activation="tanh"),
            layers.Dropout(0.2),
            layers.Dense(2),
        ]
    )
    sequential.save(tmp_path / "sequential.keras")
    x = np.random.default_rng(2).normal(size=(4, 8)).astype("float32")
    assert_same_outputs(keras, sequential, from_keras(tmp_path / "sequential.keras"), x, rtol=1e-6)


def test_unsupported_layers_and_bad_files_are_named(keras, tmp_path):
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, keras.layers.LSTM(2)(inputs))
    model.save(tmp_path / "lstm.keras")
    with pytest.raises(UnsupportedError, match=r"layer 'lstm\w*' of type LSTM"):
        from_keras(tmp_path / "lstm.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a Keras 3 \.keras file"):
        from_keras(tmp_path / "junk.keras")
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"not a Keras 3 \.keras file"):
        from_keras(tmp_path / "empty.keras")
    with pytest.raises(FileNotFoundError):
        from_keras(tmp_path / "absent.keras")
