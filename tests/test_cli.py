"""The ``tinynn`` command line: train / evaluate / predict / summary, and its error handling.

The default ``tinynn train`` runs once, as a real subprocess, and every other test reuses its
model file. Cheaper cases call ``main([...])`` in-process.
"""

import contextlib
import csv
import io
import re
import subprocess
import sys
import types

import numpy as np
import pytest

from tinynn import cli, layers
from tinynn.cli import report
from tinynn.cli import summary as summary_command
from tinynn.datasets import load_digits
from tinynn.models import Sequential, load_model
from tinynn.runtime.archive import read_archive as read_model_file


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tinynn.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def score(text, name):
    """The value printed on the ``  <name>  0.1234`` line of a results block."""
    match = re.search(rf"^\s+{re.escape(name)}\s+([0-9.]+)$", text, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{text}"
    return float(match.group(1))


def metadata_of(path):
    return read_model_file(path)[0]["metadata"]


def assert_one_error_line(stderr):
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tinynn: error: ")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``tinynn train`` with no arguments, run once in an empty folder."""
    folder = tmp_path_factory.mktemp("train-defaults")
    result = run_cli("train", cwd=folder)
    assert result.returncode == 0, result.stderr
    return types.SimpleNamespace(
        folder=folder, model=folder / "tinynn-model.npz", stdout=result.stdout, stderr=result.stderr
    )


# ---- train with defaults ---------------------------------------------------------------


def test_train_defaults_reach_95_percent_and_save_the_model(trained):
    assert score(trained.stdout, "accuracy") >= 0.95
    assert 0.9 <= score(trained.stdout, "precision (macro)") <= 1.0
    assert 0.9 <= score(trained.stdout, "recall (macro)") <= 1.0
    assert trained.model.is_file()
    assert "Traceback" not in trained.stderr
    # Progress goes to stderr, a pipe here: one plain line per epoch, no bar fragments.
    assert [line.split(" - ")[0] for line in trained.stderr.splitlines()] == [
        f"Epoch {epoch}/40" for epoch in range(1, 41)
    ]
    assert "\r" not in trained.stderr and "Epoch" not in trained.stdout


def test_train_prints_an_aligned_confusion_matrix_of_the_test_split(trained):
    lines = trained.stdout.splitlines()
    start = lines.index("Confusion matrix (rows: true class, columns: predicted class)")
    table = lines[start + 1 : start + 12]
    assert table[0].split() == ["true\\pred", *[str(k) for k in range(10)]]
    counts = np.array([[int(v) for v in row.split()[1:]] for row in table[1:]])
    assert [row.split()[0] for row in table[1:]] == [str(k) for k in range(10)]
    assert counts.sum() == 360  # 20 % of 1797, rounded up
    assert np.trace(counts) / counts.sum() == pytest.approx(
        score(trained.stdout, "accuracy"), abs=1e-4
    )
    assert len({len(row) for row in table}) == 1  # every row as wide: columns line up


def test_train_records_what_evaluate_needs_in_the_metadata(trained):
    metadata = metadata_of(trained.model)
    assert metadata["dataset"] == {"name": "digits", "options": {}}
    assert metadata["split"] == {"method": "stratified", "test_size": 0.2, "seed": 0}
    assert metadata["seed"] == 0
    assert metadata["classes"] == list(range(10))
    assert metadata["preprocessing"] == {"kind": "none"}
    assert metadata["inputs"] == {"kind": "vectors", "shape": [64]}
    assert metadata["training"]["model"] == "mlp"
    assert metadata["training"]["lr_schedule"] == "constant"


# ---- evaluate / summary / predict on that model ----------------------------------------


def test_evaluate_rebuilds_the_recorded_test_split(trained, capsys):
    assert cli.main(["evaluate", str(trained.model)]) == 0
    out = capsys.readouterr().out
    assert "(360 samples)" in out
    assert score(out, "accuracy") == score(trained.stdout, "accuracy")
    assert score(out, "loss") == score(trained.stdout, "loss")
    assert "Confusion matrix" in out


def test_evaluate_all_rows_scores_every_sample(trained, capsys):
    assert cli.main(["evaluate", str(trained.model), "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert "(1797 samples)" in out
    assert score(out, "accuracy") > score(trained.stdout, "accuracy")  # includes train rows


def test_summary_prints_the_layer_table(trained, capsys):
    assert cli.main(["summary", str(trained.model)]) == 0
    out = capsys.readouterr().out
    assert "(None, 128)" in out and "(None, 64)" in out and "(None, 10)" in out
    assert "Total params: 17,226" in out  # 64*128+128 + 128*64+64 + 64*10+10


def test_predict_matches_the_loaded_model(trained, tmp_path, capsys):
    x, _ = load_digits()
    rows = x[::90]
    source = tmp_path / "rows.csv"
    with open(source, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([f"pixel{i}" for i in range(64)])  # a header is allowed
        writer.writerows(rows.tolist())
    target = tmp_path / "out.csv"
    assert cli.main(["predict", str(trained.model), str(source), "--output", str(target)]) == 0
    written = list(csv.reader(target.read_text().splitlines()))
    assert written[0] == ["prediction"]
    expected = load_model(trained.model).predict(rows).argmax(axis=1)
    np.testing.assert_array_equal([int(r[0]) for r in written[1:]], expected)

    capsys.readouterr()
    assert cli.main(["predict", str(trained.model), str(source), "--probabilities"]) == 0
    printed = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert printed[0] == ["prediction", *[f"p_{k}" for k in range(10)]]
    probabilities = np.array([[float(v) for v in r[1:]] for r in printed[1:]])
    np.testing.assert_allclose(probabilities, load_model(trained.model).predict(rows), atol=1e-6)


# ---- other data sets and options -------------------------------------------------------


def test_train_spirals_with_options(tmp_path, capsys):
    path = tmp_path / "spirals.npz"
    options = (
        "--dataset spirals --hidden 32,16 --activation tanh --optimizer sgd --learning-rate 0.2 "
        "--dropout 0.1 --epochs 3 --batch-size 16 --test-size 0.25 --seed 3 --verbose 2 "
        "--backend numpy"
    )
    assert cli.main(["train", *options.split(), "--output", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Epoch 3/3" in err and "(75 samples)" in out
    model = load_model(path)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert model.layers[0].activation.name == "tanh"
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.2)
    metadata = metadata_of(path)
    assert metadata["dataset"]["options"]["seed"] == 3
    assert metadata["preprocessing"]["kind"] == "standardize"
    assert len(metadata["preprocessing"]["mean"]) == 2
    assert cli.main(["evaluate", str(path)]) == 0
    assert score(capsys.readouterr().out, "accuracy") == score(out, "accuracy")


def write_flowers(path, n=90, seed=0):
    """Three separable classes named by text, the label column in the middle, features of
    very different scales (so standardizing matters)."""
    rng = np.random.default_rng(seed)
    names = ["setosa", "versicolor", "virginica"]
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["width", "species", "length"])
        for i in range(n):
            k = i % 3
            writer.writerow(
                [f"{rng.normal(4 * k, 1) * 100:.3f}", names[k], f"{rng.normal(4 * k, 1) / 100:.6f}"]
            )


def test_train_csv_file_then_predict_and_evaluate_by_class_name(tmp_path, capsys):
    source, path = tmp_path / "flowers.csv", tmp_path / "flowers.npz"
    write_flowers(source)
    options = ["--label-column", "species", "--epochs", "30", "--verbose", "0"]
    argv = ["train", "--dataset", "csv", "--data", str(source), *options, "--output", str(path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert score(out, "accuracy") >= 0.9
    assert "versicolor" in out.split("Confusion matrix")[1]
    metadata = metadata_of(path)
    assert metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert metadata["dataset"]["options"]["label_column"] == "species"

    # The training file itself can be predicted: its label column is ignored.
    assert cli.main(["predict", str(path), str(source)]) == 0
    predicted = capsys.readouterr().out.split()
    assert predicted[0] == "prediction"
    truth = [row["species"] for row in csv.DictReader(source.read_text().splitlines())]
    assert np.mean(np.array(predicted[1:]) == np.array(truth)) >= 0.9

    other = tmp_path / "more.csv"
    write_flowers(other, n=30, seed=1)
    assert cli.main(["evaluate", str(path), "--data", str(other), "--split", "all"]) == 0
    assert "(30 samples)" in capsys.readouterr().out


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_train_mnist_from_a_folder_of_idx_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    path = tmp_path / "mnist.npz"
    options = ["--hidden", "8", "--epochs", "1", "--verbose", "0", "--output", str(path)]
    assert cli.main(["train", "--dataset", "mnist", "--data", str(folder), *options]) == 0
    assert "(20 samples)" in capsys.readouterr().out  # the official t10k file is the test set
    metadata = metadata_of(path)
    assert metadata["split"] == {"method": "official"}
    assert metadata["preprocessing"] == {"kind": "divide", "by": 255.0}
    assert load_model(path).input_shape == (784,)


def test_evaluate_a_model_saved_from_python_needs_a_dataset(tmp_path, capsys):
    model = Sequential([layers.Input((64,)), layers.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "plain.npz")
    assert cli.main(["evaluate", str(tmp_path / "plain.npz")]) == 1
    assert "--dataset" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path / "plain.npz"), "--dataset", "digits"]) == 0
    assert "(360 samples)" in capsys.readouterr().out


# ---- the CNN -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """``tinynn train --model cnn`` for a few epochs, in-process, run once."""
    path = tmp_path_factory.mktemp("train-cnn") / "cnn.npz"
    argv = ["train", "--model", "cnn", "--epochs", "4", "--verbose", "0", "--output", str(path)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    return types.SimpleNamespace(model=path, stdout=out.getvalue())


def test_train_cnn_on_digit_images_reaches_95_percent(cnn):
    assert score(cnn.stdout, "accuracy") >= 0.95
    assert "CNN (8x8x1 -> conv 32, 64 -> dense 64 -> 10)" in cnn.stdout
    model = load_model(cnn.model)
    assert model.input_shape == (8, 8, 1)
    kinds = [type(layer).__name__ for layer in model.layers]
    block = ["Conv2D", "BatchNormalization", "MaxPooling2D"]
    assert kinds == [*block, *block, "Flatten", "Dense", "Dense"]
    # The cosine schedule spans exactly the steps fit took: the rate ends at 0.
    assert model.optimizer.iterations == 4 * 45  # ceil(1437 / 32) batches per epoch
    assert model.optimizer.learning_rate == pytest.approx(0.0, abs=1e-12)


def test_train_cnn_records_image_inputs_in_the_metadata(cnn):
    metadata = metadata_of(cnn.model)
    assert metadata["inputs"] == {"kind": "images", "shape": [8, 8, 1]}
    training = metadata["training"]
    assert training["model"] == "cnn" and training["filters"] == [32, 64]
    assert training["hidden"] == [64] and training["lr_schedule"] == "cosine"
    assert training["learning_rate"] == pytest.approx(3e-3)  # the initial rate, not the last


def test_evaluate_and_summary_work_on_the_saved_cnn(cnn, capsys):
    assert cli.main(["evaluate", str(cnn.model)]) == 0
    out = capsys.readouterr().out
    assert "(360 samples)" in out
    assert score(out, "accuracy") == score(cnn.stdout, "accuracy")
    assert cli.main(["summary", str(cnn.model)]) == 0
    out = capsys.readouterr().out
    assert "(None, 8, 8, 32)" in out and "(None, 2, 2, 64)" in out and "(None, 256)" in out


def test_predict_reshapes_csv_rows_of_64_pixels_into_images_for_the_cnn(cnn, tmp_path, capsys):
    x, y = load_digits()
    rows = x[::60]
    source = tmp_path / "rows.csv"
    np.savetxt(source, rows, delimiter=",", fmt="%.6f")
    assert cli.main(["predict", str(cnn.model), str(source), "--probabilities"]) == 0
    printed = list(csv.reader(capsys.readouterr().out.splitlines()))
    predicted = np.array([int(r[0]) for r in printed[1:]])
    probabilities = np.array([[float(v) for v in r[1:]] for r in printed[1:]])
    expected = load_model(cnn.model).predict(rows.reshape(-1, 8, 8, 1))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(predicted, expected.argmax(axis=1))
    assert np.mean(predicted == y[::60]) >= 0.9


def test_train_cnn_on_mnist_idx_files_takes_28_by_28_images(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    path = tmp_path / "mnist-cnn.npz"
    options = ["--filters", "4", "--hidden", "", "--epochs", "1", "--verbose", "0"]
    argv = ["train", "--model", "cnn", "--dataset", "mnist", "--data", str(folder)]
    assert cli.main([*argv, *options, "--output", str(path)]) == 0
    assert "(20 samples)" in capsys.readouterr().out
    assert load_model(path).input_shape == (28, 28, 1)
    assert metadata_of(path)["inputs"] == {"kind": "images", "shape": [28, 28, 1]}
    assert cli.main(["evaluate", str(path)]) == 0
    assert "(20 samples)" in capsys.readouterr().out


def test_evaluate_an_image_model_saved_from_python_reshapes_the_rows(tmp_path, capsys):
    model = Sequential(
        [layers.Input((8, 8, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "images.npz")  # no metadata: the model's input shape decides
    assert cli.main(["evaluate", str(tmp_path / "images.npz"), "--dataset", "digits"]) == 0
    assert "(360 samples)" in capsys.readouterr().out


# ---- help and the command seam ---------------------------------------------------------

TRAIN_OPTIONS = [
    "--dataset",
    "--data",
    "--label-column",
    "--model",
    "--hidden",
    "--filters",
    "--activation",
    "--epochs",
    "--batch-size",
    "--optimizer",
    "--learning-rate",
    "--lr-schedule",
    "--dropout",
    "--test-size",
    "--seed",
    "--output",
    "--backend",
    "--verbose",
]


def test_help_lists_every_option_and_command(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for option in TRAIN_OPTIONS:
        assert option in text
    assert "default: 40" in text and "tinynn-model.npz" in text
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "summary"):
        assert command in text
    for argv, options in (
        (["evaluate", "-h"], ["MODEL", "--dataset", "--split"]),
        (["predict", "-h"], ["INPUT", "--output", "--probabilities"]),
    ):
        assert cli.main(argv) == 0
        text = capsys.readouterr().out
        assert all(option in text for option in options)


def test_a_new_command_module_plugs_in_through_command_modules(monkeypatch, capsys):
    def register(subparsers):
        parser = subparsers.add_parser("hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(run=lambda args: print(f"hello {args.name}") or 7)

    plugin = types.SimpleNamespace(register=register)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, plugin))
    assert cli.main(["hello", "--name", "tinynn"]) == 7
    assert capsys.readouterr().out == "hello tinynn\n"


# ---- errors ----------------------------------------------------------------------------


def test_usage_error_in_a_subprocess_is_one_line_with_status_2(tmp_path):
    result = run_cli("train", "--optimizer", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_error_line(result.stderr)
    assert "--optimizer" in result.stderr and "adam" in result.stderr


def test_runtime_error_in_a_subprocess_is_one_line_with_status_1(tmp_path):
    result = run_cli("evaluate", "missing.npz", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_error_line(result.stderr)
    assert "missing.npz" in result.stderr


@pytest.mark.parametrize(
    ("argv", "status", "fragment"),
    [
        ([], 2, "COMMAND"),
        (["fly"], 2, "invalid choice"),
        (["train", "--epochs", "0"], 2, "--epochs"),
        (["train", "--hidden", "12,x"], 2, "--hidden"),
        (["train", "--activation", "swish"], 2, "relu"),
        (["train", "--activation", "softmax"], 2, "relu"),  # only for the output layer
        (["train", "--verbose", "3"], 2, "--verbose"),
        (["train", "--dataset", "imagenet"], 2, "digits"),
        (["train", "--learning-rate", "-1"], 2, "--learning-rate"),
        (["train", "--dropout", "1"], 2, "--dropout"),
        (["train", "--dataset", "csv"], 1, "--data"),
        (["train", "--dataset", "csv", "--data", "nope.csv"], 1, "nope.csv"),
        (["train", "--output", "no/such/folder/m.npz"], 1, "does not exist"),
        (["train", "--dataset", "mnist", "--data", "empty"], 1, "missing"),
        (["train", "--model", "cnn", "--dataset", "spirals"], 1, "cnn needs image data"),
        (["train", "--model", "cnn", "--dataset", "csv", "--data", "x.csv"], 1, "image data"),
        (["train", "--model", "vgg"], 2, "cnn"),
        (["train", "--filters", "8"], 1, "--model cnn"),
        (["train", "--model", "cnn", "--filters", "8,8,8,8"], 1, "at most 3"),
        (["train", "--model", "cnn", "--filters", ""], 1, "at least one convolution"),
        (["train", "--lr-schedule", "step"], 2, "cosine"),
        (["evaluate"], 2, "MODEL"),
        (["summary", "corrupt.npz"], 1, "corrupt.npz"),
        (["predict", "MODEL", "wide.csv"], 1, "expects 64"),
        (["predict", "MODEL", "words.csv"], 1, "'seven' is not a finite number"),
        (["predict", "MODEL", "empty.csv"], 1, "empty"),
    ],
)
def test_bad_input_gives_one_error_line(
    argv, status, fragment, trained, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    (tmp_path / "wide.csv").write_text("1,2,3\n4,5,6\n")
    (tmp_path / "words.csv").write_text(",".join(["0"] * 64) + "\n" + "seven," * 63 + "0\n")
    (tmp_path / "empty.csv").write_text("\n\n")
    argv = [str(trained.model) if arg == "MODEL" else arg for arg in argv]
    assert cli.main(argv) == status
    captured = capsys.readouterr()
    assert_one_error_line(captured.err)
    assert fragment in captured.err


def test_ctrl_c_exits_130_quietly(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(summary_command, "run", interrupted)
    assert cli.main(["summary", "whatever.npz"]) == 130
    assert capsys.readouterr().err == ""


def test_confusion_matrix_columns_widen_for_long_labels_and_counts():
    text = report.format_confusion_matrix(np.array([[1234, 0], [5, 6]]), ["cat", "hippopotamus"])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].split() == ["cat", "1234", "0"]
    assert lines[0].endswith("hippopotamus")


def test_integer_labels_sort_numerically_and_unknown_labels_are_refused(tmp_path):
    from tinynn.cli import csvfiles

    path = tmp_path / "numbers.csv"
    path.write_text("f,label\n0.5,10\n1.5,2\n2.5,1\n3.5,2\n")
    x, y, classes = csvfiles.read_labelled(str(path), "label")
    assert classes == [1, 2, 10]
    np.testing.assert_array_equal(y, [2, 1, 0, 1])
    np.testing.assert_array_equal(x[:, 0], [0.5, 1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="label 10 is not one of the model's classes"):
        csvfiles.read_labelled(str(path), "label", classes=[1, 2])
