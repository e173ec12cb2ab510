"""Train a small seeded model on the spirals and save the pictures the README and docs show.

    python scripts/make_readme_figure.py            # writes docs/images/*.png

Outputs:
    docs/images/decision_boundary.png   the three spiral arms and the learned class regions
    docs/images/training_history.png    loss and accuracy per epoch, training and validation

Everything is seeded and runs on the NumPy backend, so the pictures only change when tinynn's
numbers do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no window: this script only writes files

import tinynn
from tinynn import plot
from tinynn.layers import Dense

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def train(seed: int = 0):
    """A 2-64-64-3 ReLU network trained on 600 spiral points; returns (model, history, x, y)."""
    x, y = tinynn.datasets.make_spirals(n_samples=600, noise=0.2, seed=seed)
    model = tinynn.Sequential(
        [
            tinynn.Input((2,)),
            Dense(64, activation="relu"),
            Dense(64, activation="relu"),
            Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        optimizer=tinynn.optimizers.Adam(learning_rate=0.005),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        backend="numpy",  # the reference kernels: the same pictures with or without Numba
    )
    history = model.fit(x, y, epochs=60, batch_size=32, validation_split=0.2, verbose=0)
    return model, history, x, y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder for the PNG files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    model, history, x, y = train(args.seed)
    accuracy = history.history["val_accuracy"][-1]
    fig = plot.plot_decision_boundary(
        model,
        x,
        y,
        resolution=300,
        padding=0.15,
        figsize=(5, 5),
        title=f"tinynn, 2-64-64-3 ReLU on spirals\nvalidation accuracy {accuracy:.1%}",
    )
    fig.axes[0].set_aspect("equal")
    fig.axes[0].title.set_fontsize("medium")
    fig.tight_layout()
    fig.savefig(args.out / "decision_boundary.png", dpi=120)
    plot.plot_history(history).savefig(args.out / "training_history.png", dpi=100)
    print(
        f"validation accuracy {accuracy:.3f}; wrote {args.out}/decision_boundary.png and "
        "training_history.png"
    )


if __name__ == "__main__":
    main()
