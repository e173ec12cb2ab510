"""Single-sample inference latency of a 784-256-256-10 ReLU/softmax MLP, shipped five ways.

    python benchmarks/latency.py                 # about a minute; results in benchmarks/results/
    python benchmarks/latency.py --quick         # a smoke test

Contenders, all predicting one sample of 784 float32 values with the same (random) weights:

    runtime predict_one     tinynn.runtime, the NumPy-only runtime (what `export --format python`
                            ships), on its single-sample path
    runtime predict         the same runtime given a batch of one, (1, 784)
    tinynn model.predict    the training framework's Sequential.predict on the compiled model
                            (NumPy backend; Numba too when it imports)
    plain NumPy             h = max(x W + b, 0) per layer then softmax, written naively: the
                            reference the issue quotes
    C export                `export --format c`, compiled with -O3 -march=native; a C driver
                            times the calls with clock_gettime
    PyTorch                 nn.Sequential under torch.inference_mode(), NumPy in and out
    onnxruntime             `export --format onnx`, one InferenceSession

and two reference points that compute no prediction, measured to show how much of each
contender's time is the unavoidable part:

    floor: NumPy products   the three matrix-vector products alone, on the runtime's layout
                            (np.dot(W^T, x) into preallocated outputs): no bias, activation,
                            softmax or checks. What the NumPy-only runtime does on top of them
                            is the rest of its time.
    floor: C reads weights  a compiled loop (same compiler and flags as the C export) that only
                            reads every weight once per call and sums them: roughly the memory
                            traffic one float32 prediction needs, without the arithmetic.

Every contender runs with the same thread count (--threads, default 1: one sample is too little
work to share). A repeat is N back-to-back calls timed together; the table gives the median over
repeats of the time per call, in microseconds. Contenders take turns, one repeat each per round,
so a slow spell on a shared machine hits them all. A missing peer is reported as missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tinynn
from tinynn import runtime
from tinynn.bench import common, machine, options, output
from tinynn.export import export_model
from tinynn.layers import Dense

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import peers
import targets

SIZES = [784, 256, 256, 10]
C_FLAGS = ["-std=c99", "-O3", "-march=native"]
#: Speed-ups over PyTorch that the issue asks for.
TARGETS = {"runtime predict_one": 3.0, "C export": 6.0}
COLUMNS = [
    ("system", "system", ""),
    ("median_us", "median us", ",.2f"),
    ("iqr_us", "IQR us", ",.2f"),
    ("min_us", "min us", ",.2f"),
    ("speedup_vs_torch", "x faster than torch", ".2f"),
    ("max_abs_diff", "max |diff|", ".1e"),
]
CSV_KEYS = [
    "system",
    "status",
    "median_us",
    "iqr_us",
    "min_us",
    "speedup_vs_torch",
    "max_abs_diff",
    "repeats",
    "calls_per_repeat",
]

C_DRIVER = """\
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "model.h"

/* usage: driver INPUT.bin CALLS -> prints ns per call over CALLS calls, then the outputs */
int main(int argc, char **argv)
{
    static float x[TINYNN_INPUT_SIZE];
    float y[TINYNN_OUTPUT_SIZE];
    FILE *file = fopen(argv[1], "rb");
    if (argc != 3 || !file || fread(x, sizeof x[0], TINYNN_INPUT_SIZE, file) != TINYNN_INPUT_SIZE)
        return 1;
    fclose(file);
    long calls = atol(argv[2]);
    for (long c = 0; c < calls / 10 + 1; ++c) /* warm the caches */
        tinynn_predict(x, y);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long c = 0; c < calls; ++c)
        tinynn_predict(x, y);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%.1f\\n", ns / calls);
    for (int j = 0; j < TINYNN_OUTPUT_SIZE; ++j)
        printf("%.9g\\n", y[j]);
    return 0;
}
"""


C_STREAM = """\
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* usage: stream CALLS -> ns per pass over N floats (-DN=...), then their sum. 64 running sums
 * keep the adds independent, so the loop is bound by how fast the floats arrive. */
static float w[N] __attribute__((aligned(64)));

static float pass(void)
{
    float s[64] = {0};
    int i = 0;
    for (; i + 64 <= N; i += 64)
        for (int l = 0; l < 64; ++l)
            s[l] += w[i + l];
    for (; i < N; ++i)
        s[0] += w[i];
    float total = 0;
    for (int l = 0; l < 64; ++l)
        total += s[l];
    return total;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    long calls = atol(argv[1]);
    for (int i = 0; i < N; ++i)
        w[i] = (float)(i % 7) * 0.125f;
    float total = 0;
    for (long c = 0; c < calls / 10 + 1; ++c) /* warm the caches */
        total += pass();
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long c = 0; c < calls; ++c) {
        total += pass();
        __asm__ volatile("" ::: "memory"); /* w may have changed: read it again next pass */
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%.1f\\n%g\\n", ns / calls, total);
    return 0;
}
"""


def build_model(seed: int) -> tinynn.Sequential:
    stack = [tinynn.Input((SIZES[0],))]
    stack += [Dense(units, activation="relu") for units in SIZES[1:-1]]
    stack.append(Dense(SIZES[-1], activation="softmax"))
    return tinynn.Sequential(stack, seed=seed)


def c_compiler() -> str | None:
    """The C compiler on PATH that the C contenders are built with: cc, else gcc, else clang."""
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def python_timer(fn, calls: int):
    """One repeat: seconds per call over ``calls`` back-to-back calls."""

    def repeat() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls

    return repeat


def c_contender(model_path: Path, x: np.ndarray, folder: Path, calls: int):
    """(repeat function, outputs) for the compiled C export, or a status string."""
    compiler = c_compiler()
    if compiler is None:
        return common.MISSING
    export_model(model_path, "c", folder / "model.h")
    (folder / "driver.c").write_text(C_DRIVER)
    binary, data = folder / "driver", folder / "x.bin"
    subprocess.run(
        [compiler, *C_FLAGS, "-o", str(binary), str(folder / "driver.c"), "-lm"],
        check=True,
        cwd=folder,
    )
    x.astype(np.float32).tofile(data)

    def run(n: int) -> tuple[float, np.ndarray]:
        lines = subprocess.run(
            [str(binary), str(data), str(n)], capture_output=True, text=True, check=True
        ).stdout.split()
        return float(lines[0]) * 1e-9, np.array([float(v) for v in lines[1:]])

    return (lambda: run(calls)[0]), run(10)[1]


def contenders(args, folder: Path) -> dict[str, object]:
    """system -> (repeat function, its output for the benchmark sample) or a status string."""
    model = build_model(args.seed)
    model_path = folder / "mlp.npz"
    model.save(str(model_path))
    x = np.random.default_rng(args.seed).random((1, SIZES[0]), dtype=np.float32)
    net = runtime.load_model(model_path)
    # Compiled, as a trained model is: predict then runs the runtime's inference engine on
    # the model's own weights, with the kernels of the backend it was compiled for.
    model.compile("sgd", "sparse_categorical_crossentropy", backend="numpy")
    found: dict[str, object] = {
        "runtime predict_one": (
            python_timer(lambda: net.predict_one(x[0]), args.calls),
            net.predict_one(x[0]),
        ),
        "runtime predict": (python_timer(lambda: net.predict(x), args.calls), net.predict(x)),
        "tinynn model.predict (numpy)": (
            python_timer(lambda: model.predict(x), args.calls),
            model.predict(x),
        ),
    }
    try:
        fast = tinynn.load_model(str(model_path))
        fast.compile("sgd", "sparse_categorical_crossentropy", backend="numba")
        found["tinynn model.predict (numba)"] = (
            python_timer(lambda: fast.predict(x), args.calls),
            fast.predict(x),
        )
    except Exception as error:  # not installed, or broken: say so, never fake it
        print(f"[latency] numba backend unavailable: {error}", file=sys.stderr)
        found["tinynn model.predict (numba)"] = common.MISSING
    weights = model.get_weights()
    found["plain NumPy"] = (
        python_timer(lambda: plain_numpy(weights, x), args.calls),
        plain_numpy(weights, x),
    )
    found["C export"] = c_contender(model_path, x, folder, args.calls)
    kernels = [np.ascontiguousarray(w.T) for w in weights if w.ndim == 2]  # as the runtime
    hidden = [np.empty(w.shape[0], w.dtype) for w in kernels]
    found["floor: NumPy products"] = (
        python_timer(lambda: products_only(kernels, x[0], hidden), args.calls),
        None,
    )
    found["floor: C reads weights"] = c_stream_contender(
        sum(w.size for w in weights), folder, args.calls
    )
    torch = common.import_optional("torch")
    found["PyTorch"] = (
        common.MISSING if torch is None else torch_contender(torch, weights, x, args.calls)
    )
    found["onnxruntime"] = onnx_contender(model_path, x, folder, args)
    return found


def products_only(kernels: list[np.ndarray], x: np.ndarray, hidden: list[np.ndarray]) -> None:
    h = x
    for W_t, out in zip(kernels, hidden, strict=True):
        h = np.dot(W_t, h, out=out)


def c_stream_contender(n_floats: int, folder: Path, calls: int):
    """(repeat function, None) for the weight-streaming floor, or a status string."""
    compiler = c_compiler()
    if compiler is None:
        return common.MISSING
    (folder / "stream.c").write_text(C_STREAM)
    binary = folder / "stream"
    subprocess.run(
        [compiler, *C_FLAGS, f"-DN={n_floats}", "-o", str(binary), str(folder / "stream.c")],
        check=True,
        cwd=folder,
    )

    def run() -> float:
        lines = subprocess.run(
            [str(binary), str(calls)], capture_output=True, text=True, check=True
        ).stdout.split()
        return float(lines[0]) * 1e-9

    return run, None


def plain_numpy(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    h = x
    for W, b in zip(weights[0:-2:2], weights[1:-2:2], strict=True):
        h = np.maximum(h @ W + b, 0)
    z = h @ weights[-2] + weights[-1]
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def torch_contender(torch, weights: list[np.ndarray], x: np.ndarray, calls: int):
    net = peers.torch_mlp(torch, SIZES, softmax=True).eval()
    linears = [module for module in net if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        for layer, W, b in zip(linears, weights[0::2], weights[1::2], strict=True):
            layer.weight.copy_(torch.from_numpy(W.T.copy()))  # torch keeps (out, in)
            layer.bias.copy_(torch.from_numpy(b))

    def call() -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(x)).numpy()

    return python_timer(call, calls), call()


def onnx_contender(model_path: Path, x: np.ndarray, folder: Path, args):
    ort = common.import_optional("onnxruntime")
    if ort is None or common.import_optional("onnx") is None:
        return common.MISSING
    export_model(model_path, "onnx", folder / "mlp.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(
        str(folder / "mlp.onnx"), options, providers=["CPUExecutionProvider"]
    )
    feed = {"input": x}
    return python_timer(lambda: session.run(None, feed), args.calls), session.run(None, feed)[0]


def measure(found: dict[str, object], repeats: int, reference: np.ndarray) -> list[dict]:
    live = {name: item[0] for name, item in found.items() if not isinstance(item, str)}
    times: dict[str, list[float]] = {name: [] for name in live}
    for repeat in live.values():  # warm-up round
        repeat()
    for _ in range(repeats):
        for name, repeat in live.items():
            times[name].append(repeat())
    rows = []
    for name, item in found.items():
        if isinstance(item, str):
            rows.append({"system": name, "status": item})
            continue
        stats = common.summarize(times[name])
        diff = (
            None  # a floor computes no prediction
            if item[1] is None
            else float(np.abs(np.asarray(item[1], np.float64).ravel() - reference.ravel()).max())
        )
        rows.append(
            {
                "system": name,
                "status": "ok",
                "median_us": stats["median"] * 1e6,
                "iqr_us": stats["iqr"] * 1e6,
                "min_us": stats["min"] * 1e6,
                "max_abs_diff": diff,
                "repeats": repeats,
                "times_us": [t * 1e6 for t in times[name]],
            }
        )
    torch_us = next((r.get("median_us") for r in rows if r["system"] == "PyTorch"), None)
    for row in rows:
        row["speedup_vs_torch"] = common.ratio(torch_us, row.get("median_us"))
    return rows


def compiler_version() -> str:
    compiler = c_compiler()
    if compiler is None:
        return common.MISSING
    text = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    return text.splitlines()[0] if text else compiler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--threads",
        type=options.positive_int,
        default=1,
        help="threads for NumPy's BLAS, PyTorch and onnxruntime (default: 1)",
    )
    parser.add_argument(
        "--repeats",
        type=options.positive_int,
        default=None,
        help="timed repeats per contender (default: 31; --quick: 3)",
    )
    parser.add_argument(
        "--calls",
        type=options.positive_int,
        default=None,
        help="calls per repeat (default: 2000; --quick: 50)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the sample")
    parser.add_argument("--out", default=common.DEFAULT_OUT, help="folder for JSON and CSV")
    parser.add_argument("--quick", action="store_true", help="a smoke test: few short repeats")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 31)
    args.calls = args.calls or (50 if args.quick else 2000)
    settings = {
        "architecture": SIZES,
        "threads": args.threads,
        "repeats": args.repeats,
        "calls_per_repeat": args.calls,
        "c_flags": C_FLAGS,
    }
    payload = output.new_payload("latency", argv, settings)
    torch = common.import_optional("torch")
    threads = peers.same_threads(args.threads, torch, args.threads)
    with threads, tempfile.TemporaryDirectory() as folder:
        found = contenders(args, Path(folder))
        reference = np.asarray(found["runtime predict_one"][1], np.float64)
        rows = measure(found, args.repeats, reference)
        payload["machine"] = peers.machine_info(args.threads)
    for row in rows:
        row["calls_per_repeat"] = args.calls
    payload["machine"]["c_compiler"] = compiler_version()
    payload["rows"] = rows
    by_name = {row["system"]: row for row in rows}
    torch_us = by_name["PyTorch"].get("median_us")
    payload["targets"] = [
        targets.check(
            f"{name} >= {factor:g}x faster than PyTorch",
            by_name[name].get("median_us"),
            torch_us / factor if torch_us else float("nan"),
            " us",
        )
        for name, factor in TARGETS.items()
    ]
    print(machine.format_machine(payload["machine"]))
    print(
        f"C compiler: {payload['machine']['c_compiler']} {' '.join(C_FLAGS)}; "
        f"threads {args.threads}; median of {args.repeats} repeats x {args.calls} calls\n"
    )
    print(output.format_table(rows, COLUMNS))
    print()
    print(targets.format_targets(payload["targets"]))
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    output.write_json(folder / "latency.json", payload)
    output.write_csv(folder / "latency.csv", rows, CSV_KEYS)
    print(f"\nwrote {folder / 'latency.json'} and {folder / 'latency.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
