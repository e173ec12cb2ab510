"""One-sample latency and size of three models shipped every way, against their floors.

    python benchmarks/latency.py                 # a few minutes; results in benchmarks/results/
    python benchmarks/latency.py --quick         # a smoke test

Models (the MLPs with random weights; the CNN is the one ``tinynn train --model cnn`` builds
for digits, trained for 5 epochs on 1,400 of them):

    mlp-256      784-256-256-10 MLP: ReLU hidden layers, softmax output
    mlp-1024     784-1024-1024-10 MLP, with weights (7.4 MB in float32) that leave the L2 cache
    digits-cnn   8x8x1 -> [Conv2D 3x3 ReLU -> BatchNorm -> MaxPool 2] x (32, 64 filters)
                 -> Dense 64 ReLU -> Dense 10 softmax

Contenders, each predicting one sample (float32 in, float32 out):

    C float32               ``tinynn export --format c``, compiled with C_FLAGS; a C driver times
                            the calls with clock_gettime
    C int8                  ``--quantize int8`` (calibrated on 200 inputs): quantize the input,
                            integer layers, dequantize the output
    NumPy runtime           ``tinynn.runtime`` (what ``--format python`` ships), predict_one
    onnxruntime             ``--format onnx``, one InferenceSession, NumPy in and out
    PyTorch                 the same network in torch.nn under inference_mode

and the floors, which compute no prediction:

    floor: NumPy products   the matrix products alone, on preallocated arrays: np.dot per Dense
                            layer, and per convolution its patch matrix (made once) times the
                            kernel; no im2col, bias, activation, pooling or checks
    floor: C reads weights  a compiled loop (same compiler and flags) that reads every weight
                            once per call and sums them, for float32 and for int8 weights: the
                            memory traffic of one prediction without its arithmetic

Every contender runs with one thread. A repeat is N back-to-back calls timed together (N
chosen so a repeat lasts about 20 ms); the table gives the median over repeats of the time per
call in microseconds, and the ratio to the floor of its kind. Contenders take turns, one repeat
each per round, so a slow spell on a shared machine hits them all. A missing peer is reported
as missing. The size table gives the bytes of constant weights (flash) and of activation
buffers (RAM) that each C header states.
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
from tinynn.cli.architectures import build_cnn
from tinynn.datasets import load_digits
from tinynn.export import export_model, header_footprint
from tinynn.layers import Dense
from tinynn.optimizers import Adam

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import peers
import targets

C_FLAGS = ["-std=c99", "-O3", "-march=native"]
#: Model name -> the MLP's widths (None: the digits CNN).
MODELS = {"mlp-256": [784, 256, 256, 10], "mlp-1024": [784, 1024, 1024, 10], "digits-cnn": None}
#: The issue's targets: (model, contender, its floor, largest ratio).
RATIO_TARGETS = [
    ("mlp-256", "C float32", "floor: C reads float32 weights", 1.25),
    ("mlp-1024", "C float32", "floor: C reads float32 weights", 1.25),
    ("mlp-256", "NumPy runtime", "floor: NumPy products", 1.4),
    ("mlp-1024", "NumPy runtime", "floor: NumPy products", 1.4),
    ("mlp-1024", "C int8", "C float32", 1.0),
]
FLASH_RATIO_TARGET = 0.27  # int8 flash bytes / float32 flash bytes
FLOOR_OF = {
    "C float32": "floor: C reads float32 weights",
    "C int8": "floor: C reads int8 weights",
    "NumPy runtime": "floor: NumPy products",
}
COLUMNS = [
    ("model", "model", ""),
    ("system", "system", ""),
    ("median_us", "median us", ",.2f"),
    ("iqr_us", "IQR us", ",.2f"),
    ("vs_floor", "x its floor", ".2f"),
    ("max_abs_diff", "max |diff|", ".1e"),
]
SIZE_COLUMNS = [
    ("model", "model", ""),
    ("float32_flash", "float32 flash B", ","),
    ("int8_flash", "int8 flash B", ","),
    ("flash_ratio", "int8 / float32", ".3f"),
    ("float32_ram", "float32 RAM B", ","),
    ("int8_ram", "int8 RAM B", ","),
]
CSV_KEYS = ["model", "system", "status", "median_us", "iqr_us", "min_us", "vs_floor"]
CSV_KEYS += ["max_abs_diff", "repeats", "calls_per_repeat"]

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

/* usage: stream CALLS -> ns per pass over N values of type T (-DN=... -DT=...), then their
 * sum. 64 running sums keep the adds independent, so the loop is bound by how fast the
 * values arrive. */
static T w[N] __attribute__((aligned(64)));

static double pass(void)
{
    T s[64] = {0};
    long i = 0;
    for (; i + 64 <= N; i += 64)
        for (int l = 0; l < 64; ++l)
            s[l] += w[i + l];
    for (; i < N; ++i)
        s[0] += w[i];
    double total = 0;
    for (int l = 0; l < 64; ++l)
        total += s[l];
    return total;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    long calls = atol(argv[1]);
    for (long i = 0; i < N; ++i)
        w[i] = (T)(i % 7);
    double total = 0;
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


# -- the models -----------------------------------------------------------------------------


def build_model(name: str, seed: int, epochs: int | None = None) -> tuple[tinynn.Model, np.ndarray]:
    """The model ``name`` and 200 calibration inputs for it."""
    rng = np.random.default_rng(seed)
    sizes = MODELS[name]
    if sizes is None:  # trained (5 epochs, 20 s): the int8 sizes depend on its ranges
        x, y = load_digits()
        x = x.reshape(-1, 8, 8, 1).astype(np.float32)
        model = build_cnn((8, 8, 1), 10, (32, 64), (64,), "relu", 0.0, seed)
        model.compile(optimizer=Adam(3e-3), loss="sparse_categorical_crossentropy")
        model.fit(x[:1400], y[:1400], epochs=5 if epochs is None else epochs, verbose=0)
        return model, x[:200]
    stack = [tinynn.Input((sizes[0],))]
    stack += [Dense(units, activation="relu") for units in sizes[1:-1]]
    stack.append(Dense(sizes[-1], activation="softmax"))
    return tinynn.Sequential(stack, seed=seed), rng.random((200, sizes[0]), dtype=np.float32)


def torch_model(torch, spec: runtime.ModelSpec):
    """The float network of ``spec`` (lowered: batch norms folded where they can be) in
    torch.nn: NHWC in, channels first inside, NHWC again before Flatten."""
    from tinynn.runtime.lowering import channel_affine, lower

    nn = torch.nn
    activations = {"relu": nn.ReLU, "softmax": lambda: nn.Softmax(dim=-1), "linear": nn.Identity}
    modules: list = [Permute(torch, (0, 3, 1, 2))] if len(spec.input_shape) == 3 else []
    for layer in lower(spec).layers:
        kind = layer.class_name
        if kind == "Conv2D":
            kh, kw, channels, filters = layer.kernel.shape
            conv = nn.Conv2d(channels, filters, (kh, kw), layer.strides, layer.pads[0])
            conv.weight.data = torch.from_numpy(layer.kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(layer.bias.copy())
            modules += [conv, activations[layer.activation]()]
        elif kind == "BatchNormalization":
            scale, shift = (torch.from_numpy(a.astype(np.float32)) for a in channel_affine(layer))
            modules.append(Affine(torch, scale.reshape(-1, 1, 1), shift.reshape(-1, 1, 1)))
        elif kind == "MaxPooling2D":
            modules.append(nn.MaxPool2d(layer.pool_size, layer.strides))
        elif kind == "Flatten":
            modules += [Permute(torch, (0, 2, 3, 1)), nn.Flatten()]
        elif kind == "Dense":
            linear = nn.Linear(*layer.kernel.shape)
            linear.weight.data = torch.from_numpy(layer.kernel.T.copy())
            linear.bias.data = torch.from_numpy(layer.bias.copy())
            modules += [linear, activations[layer.activation]()]
        else:
            raise ValueError(f"no PyTorch form for {kind} in this benchmark")
    return nn.Sequential(*modules).eval()


def Permute(torch, order):  # noqa: N802 - builds an nn.Module
    class Permute(torch.nn.Module):
        def forward(self, x):
            return x.permute(*order)

    return Permute()


def Affine(torch, scale, shift):  # noqa: N802 - builds an nn.Module
    class Affine(torch.nn.Module):
        def forward(self, x):
            return x * scale + shift

    return Affine()


# -- the contenders -------------------------------------------------------------------------


def c_compiler() -> str | None:
    """The C compiler on PATH that the C contenders are built with: cc, else gcc, else clang."""
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def python_repeat(fn, min_time: float):
    """(repeat function, calls per repeat): a repeat times enough back-to-back calls."""
    calls = common.calls_per_repeat(fn, min_time)

    def repeat() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls

    return repeat, calls


def c_program(source: str, folder: Path, name: str, defines: list[str]) -> Path:
    (folder / f"{name}.c").write_text(source)
    binary = folder / name
    command = [c_compiler(), *C_FLAGS, *defines, "-o", str(binary), f"{name}.c", "-lm"]
    subprocess.run(command, check=True, cwd=folder)
    return binary


def c_repeat(binary: Path, args: list[str], min_time: float):
    """(repeat function, calls per repeat, outputs) for a timing C program."""

    def run(calls: int) -> tuple[float, list[str]]:
        lines = subprocess.run(
            [str(binary), *args, str(calls)], capture_output=True, text=True, check=True
        ).stdout.split()
        return float(lines[0]) * 1e-9, lines[1:]

    seconds, outputs = run(10)
    calls = max(10, int(min_time / max(seconds, 1e-9)))
    return (lambda: run(calls)[0]), calls, outputs


def contenders(name: str, args, folder: Path) -> tuple[dict, dict]:
    """(system -> (repeat, calls, output) or a status string, sizes) for model ``name``."""
    model, calibration = build_model(name, args.seed, 1 if args.quick else None)
    path = folder / "model.npz"
    model.save(str(path))
    x = calibration[:1].copy()
    net = runtime.load_model(path)
    found: dict[str, object] = {}
    repeat, calls = python_repeat(lambda: net.predict_one(x[0]), args.min_time)
    found["NumPy runtime"] = (repeat, calls, net.predict_one(x[0]))
    found["floor: NumPy products"] = (*products_floor(net.spec, x[0], args.min_time), None)
    sizes = {"model": name}
    if c_compiler() is None:
        found["C float32"] = found["C int8"] = common.MISSING
    else:
        x.astype(np.float32).tofile(folder / "x.bin")
        for kind, quantize in (("float32", None), ("int8", "int8")):
            header = folder / "model.h"
            export_model(path, "c", header, quantize=quantize, calibration=calibration)
            footprint = header_footprint(header)
            sizes[f"{kind}_flash"], sizes[f"{kind}_ram"] = footprint.values()
            binary = c_program(C_DRIVER, folder, f"driver_{kind}", [])
            repeat, calls, out = c_repeat(binary, [str(folder / "x.bin")], args.min_time)
            found[f"C {kind}"] = (repeat, calls, np.array(out, np.float64))
            n = sum(w.size for w in model.get_weights())
            ctype = "float" if kind == "float32" else "signed char"
            stream = c_program(C_STREAM, folder, f"stream_{kind}", [f"-DN={n}", f"-DT={ctype}"])
            repeat, calls, _ = c_repeat(stream, [], args.min_time)
            found[f"floor: C reads {kind} weights"] = (repeat, calls, None)
        sizes["flash_ratio"] = sizes["int8_flash"] / sizes["float32_flash"]
    found["onnxruntime"] = onnx_contender(path, x, folder, args)
    torch = common.import_optional("torch")
    if torch is None:
        found["PyTorch"] = common.MISSING
    else:
        net_t = torch_model(torch, net.spec)

        def call() -> np.ndarray:
            with torch.inference_mode():
                return net_t(torch.from_numpy(x)).numpy()

        found["PyTorch"] = (*python_repeat(call, args.min_time), call())
    return found, sizes


def products_floor(spec: runtime.ModelSpec, x: np.ndarray, min_time: float):
    """The products of every Dense layer (np.dot(x, W)) and convolution (patches · W, the
    patch matrix made once) into preallocated outputs."""
    products = []
    for layer in spec.layers:
        if layer.class_name == "Dense":
            products.append((np.zeros(layer.kernel.shape[0], np.float32), layer.kernel))
        elif layer.class_name == "Conv2D":
            ho, wo, filters = layer.output_shape
            kernel = layer.kernel.reshape(-1, filters)
            products.append((np.zeros((ho * wo, kernel.shape[0]), np.float32), kernel))
    outs = [np.empty((*a.shape[:-1], w.shape[1]), np.float32) for a, w in products]

    def run() -> None:
        for (a, w), out in zip(products, outs, strict=True):
            np.dot(a, w, out=out)

    return python_repeat(run, min_time)


def onnx_contender(path: Path, x: np.ndarray, folder: Path, args):
    ort = common.import_optional("onnxruntime")
    if ort is None or common.import_optional("onnx") is None:
        return common.MISSING
    export_model(path, "onnx", folder / "model.onnx")
    settings = ort.SessionOptions()
    settings.intra_op_num_threads = 1
    settings.inter_op_num_threads = 1
    settings.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(
        str(folder / "model.onnx"), settings, providers=["CPUExecutionProvider"]
    )
    feed = {"input": x}
    repeat, calls = python_repeat(lambda: session.run(None, feed), args.min_time)
    return repeat, calls, session.run(None, feed)[0]


# -- measuring and reporting ----------------------------------------------------------------


def measure(name: str, found: dict, repeats: int, reference: np.ndarray) -> list[dict]:
    live = {system: item for system, item in found.items() if not isinstance(item, str)}
    times: dict[str, list[float]] = {system: [] for system in live}
    for item in live.values():  # warm-up round
        item[0]()
    for _ in range(repeats):
        for system, item in live.items():
            times[system].append(item[0]())
    rows = []
    for system, item in found.items():
        if isinstance(item, str):
            rows.append({"model": name, "system": system, "status": item})
            continue
        stats = common.summarize(times[system])
        out = item[2]
        diff = None if out is None else float(np.abs(np.ravel(out) - reference.ravel()).max())
        rows.append(
            {
                "model": name,
                "system": system,
                "status": "ok",
                "median_us": stats["median"] * 1e6,
                "iqr_us": stats["iqr"] * 1e6,
                "min_us": stats["min"] * 1e6,
                "max_abs_diff": diff,
                "repeats": repeats,
                "calls_per_repeat": item[1],
                "times_us": [t * 1e6 for t in times[system]],
            }
        )
    by_system = {row["system"]: row for row in rows}
    for row in rows:
        floor = by_system.get(FLOOR_OF.get(row["system"], ""), {})
        row["vs_floor"] = common.ratio(row.get("median_us"), floor.get("median_us"))
    return rows


def target_checks(rows: list[dict], sizes: list[dict]) -> list[dict]:
    median = {(r["model"], r["system"]): r.get("median_us") for r in rows}
    checks = []
    for model, system, baseline, limit in RATIO_TARGETS:
        value, base = median.get((model, system)), median.get((model, baseline))
        measured = None if value is None or base is None else value / base
        checks.append(targets.check(f"{model}: {system} / {baseline}", measured, limit, "x"))
    for row in sizes:
        checks.append(
            targets.check(
                f"{row['model']}: int8 flash / float32 flash",
                row.get("flash_ratio"),
                FLASH_RATIO_TARGET,
                "x",
            )
        )
    return checks


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
        "--repeats",
        type=options.positive_int,
        default=None,
        help="timed repeats per contender (default: 21; --quick: 3)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        help="seconds one repeat lasts at least (default: 0.02; --quick: 0.002)",
    )
    parser.add_argument(
        "--models",
        type=options.names(*MODELS),
        default=list(MODELS),
        help=f"which models, comma-separated (default: all: {', '.join(MODELS)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the sample")
    parser.add_argument("--out", default=common.DEFAULT_OUT, help="folder for JSON and CSV")
    parser.add_argument("--quick", action="store_true", help="a smoke test: few short repeats")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 21)
    args.min_time = args.min_time or (0.002 if args.quick else 0.02)
    settings = {
        "models": args.models,
        "threads": 1,
        "repeats": args.repeats,
        "min_time_per_repeat": args.min_time,
        "c_flags": C_FLAGS,
    }
    payload = output.new_payload("latency", argv, settings)
    torch = common.import_optional("torch")
    rows, sizes = [], []
    with peers.same_threads(1, torch, 1):
        # machine_info (called after the timings, as it must be) may report PyTorch's default
        # thread count again: record the one in force while timing
        settings["torch_threads_while_timing"] = torch.get_num_threads() if torch else None
        for name in args.models:
            with tempfile.TemporaryDirectory() as folder:
                found, size = contenders(name, args, Path(folder))
                reference = np.asarray(found["NumPy runtime"][2], np.float64)
                rows += measure(name, found, args.repeats, reference)
                sizes.append(size)
        payload["machine"] = peers.machine_info(1)
    payload["machine"]["c_compiler"] = compiler_version()
    payload["rows"], payload["sizes"] = rows, sizes
    payload["targets"] = target_checks(rows, sizes)
    print(machine.format_machine(payload["machine"]))
    print(
        f"C compiler: {payload['machine']['c_compiler']} {' '.join(C_FLAGS)}; one thread "
        f"(PyTorch: {settings['torch_threads_while_timing']}); "
        f"median of {args.repeats} repeats of at least {args.min_time * 1e3:g} ms\n"
    )
    print(output.format_table(rows, COLUMNS))
    print()
    print(output.format_table(sizes, SIZE_COLUMNS))
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
