"""Numba compile cost of a first fit + predict, cold or warm cache.

Trains 784-256-256-10 (ReLU, dropout, softmax, Adam) for one epoch on 512 samples and predicts
one sample, twice in the same process: the first run pays for compiling every kernel it
touches, the second does not, so their difference is the compile time. Run it with a fresh
cache directory for the cold figure and again for the warm one:

    export NUMBA_CACHE_DIR=$(mktemp -d)
    python benchmarks/compile_cost.py   # cold: compiles and fills the cache
    python benchmarks/compile_cost.py   # warm: loads the cached machine code
"""

import time

import numpy as np

started = time.perf_counter()
import tinynn  # noqa: E402
from tinynn import layers  # noqa: E402

import_seconds = time.perf_counter() - started
rng = np.random.default_rng(0)
x = rng.random((512, 784)).astype("float32")
y = rng.integers(0, 10, 512)


def first_fit_and_predict() -> float:
    model = tinynn.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(256, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        backend="numba",
    )
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)
    model.predict(x[:1])
    return time.perf_counter() - start


first, second = first_fit_and_predict(), first_fit_and_predict()
print(
    f"import tinynn {import_seconds:.2f} s; first fit+predict {first:.2f} s, "
    f"second {second:.2f} s: compiling took about {first - second:.2f} s"
)
