"""Data sets for the command line: load, split, and scale them the same way every time.

``train`` describes what it used in three small JSON-able dicts, stored in the model file's
metadata; ``evaluate`` and ``predict`` read them back so they see the data exactly as
training did:

    dataset        {"name": "spirals", "options": {"n_samples": 300, ..., "seed": 0}}
    split          {"method": "stratified", "test_size": 0.2, "seed": 0}
                   or {"method": "official"} (MNIST's own 60k/10k train/test files)
    preprocessing  {"kind": "none"} | {"kind": "divide", "by": 255.0}
                   | {"kind": "standardize", "mean": [...], "scale": [...]}
    inputs         {"kind": "vectors", "shape": [64]}
                   or {"kind": "images", "shape": [8, 8, 1]} (a CNN: rows are reshaped)

"Raw" features are what the data set (or a CSV file) holds: digits pixels already in [0, 1],
MNIST pixels 0..255 flattened to 784 columns, spiral coordinates as generated. The
preprocessing turns raw features into model inputs; the standardize statistics come from the
training split only, so no information leaks from the test split. Raw rows are always flat;
for a model that takes images, ``to_model_inputs`` reshapes each row, read row by row (the
layout ``load_digits`` and the MNIST files use), into an (height, width, channels) image.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn import datasets
from tinynn.cli import csvfiles
from tinynn.datasets.idx import MissingFilesError

DATASETS = ("digits", "spirals", "moons", "mnist", "fashion_mnist", "csv")
_IMAGE_SETS = {"mnist": datasets.load_mnist, "fashion_mnist": datasets.load_fashion_mnist}
#: (height, width, channels) of the data sets whose rows are images, so a CNN can train on them.
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1)}


@dataclass
class Split:
    """Raw features and class indices of one train/test split, with the class labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[Any]


def add_dataset_arguments(parser: argparse.ArgumentParser, for_training: bool) -> None:
    """``--dataset``, ``--data`` and ``--label-column``, shared by train and evaluate."""
    recorded = "" if for_training else " (default: the one recorded in the model file)"
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits" if for_training else None,
        help="data set: bundled 8x8 digits, synthetic spirals/moons, MNIST or Fashion-MNIST "
        "IDX files, or a CSV file" + (" (default: %(default)s)" if for_training else recorded),
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="for mnist/fashion_mnist: the folder of the four IDX files (without --data: "
        "$TINYNN_DATA/<name> or ~/.cache/tinynn/<name>, downloaded if missing); for csv: the "
        "CSV file" + recorded,
    )
    parser.add_argument(
        "--label-column",
        metavar="NAME",
        default="label" if for_training else None,
        help="csv only: the column holding the class labels; every other column must be "
        "numeric" + (" (default: %(default)s)" if for_training else recorded),
    )


def dataset_spec(name: str, data: str | None, label_column: str | None, seed: int) -> dict:
    """The ``{"name", "options"}`` record of a data set chosen on the command line."""
    options: dict[str, Any]
    if name == "digits":
        options = {}
    elif name == "spirals":
        options = {"n_samples": 300, "n_classes": 3, "noise": 0.2, "seed": seed}
    elif name == "moons":
        options = {"n_samples": 200, "noise": 0.1, "seed": seed}
    elif name in _IMAGE_SETS:
        options = {"path": os.path.abspath(data) if data else None}
    elif name == "csv":
        if not data:
            raise ValueError("--dataset csv needs --data PATH naming the CSV file")
        options = {"path": os.path.abspath(data), "label_column": label_column or "label"}
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of {list(DATASETS)}")
    if data and name in ("digits", "spirals", "moons"):
        raise ValueError(f"--data is only used with mnist, fashion_mnist or csv, not {name}")
    return {"name": name, "options": options}


def split_spec(name: str, test_size: float, seed: int) -> dict:
    """How to cut the data set into train and test rows."""
    if name in _IMAGE_SETS:
        return {"method": "official"}
    return {"method": "stratified", "test_size": test_size, "seed": seed}


def _load_images(name: str, options: dict) -> Split:
    """MNIST or Fashion-MNIST, cut as its own train and test files cut it."""
    # An explicit folder must already hold the files; only the default cache downloads.
    path = options.get("path")
    try:
        (x_train, y_train), (x_test, y_test) = _IMAGE_SETS[name](path, download=path is None)
    except MissingFilesError as error:  # its advice names Python's path=; ours, --data
        if path:
            advice = error.explain(
                "a folder given with --data is never downloaded into",
                "leave out --data to have them downloaded into tinynn's cache folder",
            )
        else:
            advice = error.explain(elsewhere="give --data FOLDER (or set $TINYNN_DATA)")
        raise FileNotFoundError(advice) from None
    return Split(
        x_train.reshape(len(x_train), -1),
        y_train.astype(np.int64),
        x_test.reshape(len(x_test), -1),
        y_test.astype(np.int64),
        list(range(10)),
    )


def _load_table(
    name: str, options: dict, classes: list[Any] | None
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Raw features, class indices and class labels of a data set that has no split of its own."""
    if name == "digits":
        x, y = datasets.load_digits()
    elif name == "spirals":
        x, y = datasets.make_spirals(**options)
    elif name == "moons":
        x, y = datasets.make_moons(**options)
    elif name == "csv":
        x, y, classes = csvfiles.read_labelled(options["path"], options["label_column"], classes)
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of {list(DATASETS)}")
    if classes is None:
        classes = list(range(int(y.max()) + 1))
    return x, y, list(classes)


def load_split(dataset: dict, split: dict, classes: list[Any] | None = None) -> Split:
    """Load ``dataset`` and cut it as ``split`` says. ``classes`` maps CSV labels to indices."""
    name, options = dataset.get("name"), dict(dataset.get("options") or {})
    if name in _IMAGE_SETS:
        return _load_images(name, options)
    x, y, classes = _load_table(name, options, classes)
    if split.get("method") != "stratified":
        raise ValueError(f"dataset {name!r} cannot use the split {split!r}")
    x_train, x_test, y_train, y_test = datasets.train_test_split(
        x, y, test_size=split["test_size"], stratify=y, seed=split["seed"]
    )
    return Split(x_train, y_train, x_test, y_test, classes)


def load_all(dataset: dict, classes: list[Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every row of ``dataset`` as (raw features, class indices), without splitting it.

    Nothing is cut, so a file too small to stratify (one row of some class) still loads; for
    MNIST-style sets the official train rows come first, then the test rows.
    """
    name, options = dataset.get("name"), dict(dataset.get("options") or {})
    if name in _IMAGE_SETS:
        loaded = _load_images(name, options)
        x = np.concatenate([loaded.x_train, loaded.x_test])
        return x, np.concatenate([loaded.y_train, loaded.y_test])
    x, y, _ = _load_table(name, options, classes)
    return x, y


def fit_preprocessing(name: str, x_train: np.ndarray) -> dict:
    """The preprocessing record for a data set, fitted on its training rows."""
    if name == "digits":
        return {"kind": "none"}
    if name in _IMAGE_SETS:
        return {"kind": "divide", "by": 255.0}
    scaler = datasets.StandardScaler().fit(x_train)
    return {"kind": "standardize", "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()}


def apply_preprocessing(x: np.ndarray, preprocessing: dict | None) -> np.ndarray:
    """Raw features (n, n_features) -> float32 model inputs, as recorded at training time."""
    x = np.asarray(x, dtype=np.float64)
    kind = (preprocessing or {}).get("kind", "none")
    if kind == "divide":
        x = x / float(preprocessing["by"])
    elif kind == "standardize":
        x = datasets.standardize(x, preprocessing["mean"], preprocessing["scale"])[0]
    elif kind != "none":
        raise ValueError(
            f"unknown preprocessing {kind!r} in the model file; expected none, divide or "
            "standardize"
        )
    return x.astype(np.float32)


def image_shape(name: str) -> tuple[int, int, int]:
    """(height, width, channels) of a data set's images; ValueError if its rows are not images."""
    shape = IMAGE_SHAPES.get(name)
    if shape is None:
        raise ValueError(
            f"--model cnn needs image data (--dataset {', '.join(list(IMAGE_SHAPES)[:-1])} or "
            f"{list(IMAGE_SHAPES)[-1]}); the {name} rows are not images"
        )
    return shape


def inputs_spec(shape: tuple[int, ...]) -> dict:
    """The ``inputs`` record of a model taking samples of ``shape`` (without the batch)."""
    kind = "images" if len(shape) == 3 else "vectors"
    return {"kind": kind, "shape": [int(d) for d in shape]}


def sample_shape(model: Any, metadata: dict) -> tuple[int, ...]:
    """The shape of one model input: the ``inputs`` record ``train`` stored, checked against
    the model, or, for a file without one (saved from Python), the model's own input shape."""
    expected = model.input_shape
    if expected is None:
        raise ValueError("the model has no input shape; it was saved before it was built")
    recorded = (metadata.get("inputs") or {}).get("shape")
    if recorded is not None and tuple(recorded) != tuple(expected):
        raise ValueError(
            f"the model file records inputs of shape {tuple(recorded)}, but its model takes "
            f"{tuple(expected)}; the file is inconsistent"
        )
    return tuple(expected)


def _describe(shape: tuple[int, ...]) -> str:
    width = int(np.prod(shape))
    if len(shape) == 1:
        return str(width)
    return f"{width} (one {'x'.join(str(d) for d in shape)} image, row by row)"


def check_feature_count(x: np.ndarray, shape: tuple[int, ...], source: str) -> None:
    """A clear error when rows do not hold exactly one model input of ``shape`` each."""
    width = int(np.prod(shape))
    if x.ndim != 2 or x.shape[1] != width:
        found = x.shape[1] if x.ndim == 2 else x.shape
        raise ValueError(
            f"{source} has {found} features per row; the model expects {_describe(shape)}"
        )


def to_model_inputs(
    raw: np.ndarray, preprocessing: dict | None, shape: tuple[int, ...]
) -> np.ndarray:
    """Raw rows (n, n_features) -> float32 model inputs (n, *shape): the recorded
    preprocessing, then each row reshaped to one sample (a no-op for vectors)."""
    x = apply_preprocessing(raw, preprocessing)
    return x.reshape(len(x), *shape)


def check_labels(y: np.ndarray, model: Any, source: str) -> None:
    """Every class index must be an output unit of the model."""
    n_outputs = model.output_shape[-1]
    if len(y) and int(y.max()) >= n_outputs:
        raise ValueError(
            f"{source} has class index {int(y.max())}, but the model has only "
            f"{n_outputs} outputs (classes 0..{n_outputs - 1})"
        )
