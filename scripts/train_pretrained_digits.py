"""Train the digits classifier that ships as ``tinynn.pretrained.digits()``.

    python scripts/train_pretrained_digits.py            # rewrites tinynn/pretrained/digits.npz
    python scripts/train_pretrained_digits.py --check    # retrain, compare with the shipped file

Everything is seeded: the split (``train_test_split(x, y, test_size=0.2, stratify=y,
seed=0)``), the initial weights and the shuffling (``Sequential(..., seed=0)``). The file is
written without optimizer state (``model.save`` of an uncompiled copy) and its zip members get
a fixed timestamp, so rerunning on the same machine gives the same bytes; a different BLAS may
round differently and give slightly different weights, but the same test accuracy in practice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

import tinynn
from tinynn.datasets import load_digits, train_test_split
from tinynn.layers import Dense

OUTPUT = Path(__file__).resolve().parents[1] / "tinynn" / "pretrained" / "digits.npz"
EPOCHS = 100


def split() -> list[np.ndarray]:
    """The documented split: x_train, x_test, y_train, y_test (360 test samples)."""
    x, y = load_digits()
    return train_test_split(x, y, test_size=0.2, stratify=y, seed=0)


def train() -> tinynn.Sequential:
    """64 pixels -> Dense(64, relu) -> Dense(10, softmax); Adam with its defaults, 100 epochs
    of batches of 32 (well under a second)."""
    x_train, _, y_train, _ = split()
    model = tinynn.Sequential(
        [tinynn.Input((64,)), Dense(64, activation="relu"), Dense(10, activation="softmax")],
        name="digits",
        seed=0,
    )
    model.compile(  # the NumPy reference kernels: the result must not depend on Numba
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        backend="numpy",
    )
    model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, verbose=0)
    return model


def test_accuracy(model) -> float:
    """Accuracy on the documented test split (360 samples)."""
    _, x_test, _, y_test = split()
    return float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))


def save_reproducibly(model: tinynn.Sequential, path: Path) -> None:
    """Save weights and config only, with fixed zip timestamps so the bytes repeat."""
    bare = tinynn.Sequential.from_config(model.get_config())  # uncompiled: no optimizer state
    bare.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as folder:
        temp = os.path.join(folder, "model.npz")
        bare.save(temp)
        with zipfile.ZipFile(temp) as source, zipfile.ZipFile(path, "w") as target:
            for info in sorted(source.infolist(), key=lambda item: item.filename):
                fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                target.writestr(fixed, source.read(info))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the model")
    parser.add_argument(
        "--check", action="store_true", help="retrain and compare with the file at --output"
    )
    args = parser.parse_args(argv)
    model = train()
    accuracy = test_accuracy(model)
    print(f"test accuracy {accuracy:.4f} ({round(accuracy * 360)}/360)")
    if not args.check:
        save_reproducibly(model, args.output)
        print(f"wrote {args.output}; sha256 {_sha256(args.output)}")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "digits.npz"
        save_reproducibly(model, fresh)
        same = _sha256(fresh) == _sha256(args.output)
    print("same bytes as " if same else "DIFFERENT bytes from ", args.output, sep="")
    return 0 if same else 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
