"""The scripts of the source checkout's ``benchmarks/`` folder: peer comparisons and targets.

Each benchmark runs in --quick mode (tiny sizes) and must write what it promises; no timing is
asserted (these machines are shared and noisy). An absent peer or backend must be reported as
"missing" and its target as "n/a", never faked. Numba-backed runs are avoided (their first
compile is slow): the "numba" slot is either reported missing or filled with a stand-in, except
in one test that holds the kernel benchmark's NumPy references to the real twins.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynn import kernels
from tinynn.bench import common, machine, mlp

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# The scripts import their helper modules (peers, targets, …) as a script run from that
# folder does: Python puts the folder on sys.path.
sys.path.insert(0, str(BENCHMARKS))

import bench_conv  # noqa: E402
import bench_depth  # noqa: E402
import bench_imported  # noqa: E402
import bench_kernels  # noqa: E402
import bench_predict  # noqa: E402
import bench_train  # noqa: E402
import epochs  # noqa: E402
import peers  # noqa: E402
import targets  # noqa: E402
from numpy_references import NumpyReference  # noqa: E402
from torchvision_models import import_torchvision  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPTS = [
    "bench_train",
    "bench_kernels",
    "bench_depth",
    "bench_predict",
    "bench_conv",
    "bench_imported",
    "latency",
]


def read_results(folder: Path, name: str) -> tuple[dict, list[dict]]:
    """The JSON payload and the CSV rows; also checks that the PNG is a real PNG."""
    payload = json.loads((folder / f"{name}.json").read_text())
    with (folder / f"{name}.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert (folder / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    return payload, rows


def check_machine(payload: dict, with_peers: bool = True) -> None:
    info = payload["machine"]
    assert info["cpu_model"] and info["logical_cores"] >= 1
    assert info["versions"]["numpy"] == np.__version__
    assert "OPENBLAS_CORETYPE" in info["environment"]
    peer_packages = {"torch", "scikit-learn"}
    if with_peers:  # a benchmark with peers records their versions too
        assert peer_packages <= set(info["versions"])
    else:
        assert not peer_packages & set(info["versions"])


@pytest.fixture
def no_numba(monkeypatch):
    """A tinynn whose kernels module does not list the Numba backend."""
    monkeypatch.setattr(kernels, "BACKENDS", ("auto", "numpy"))


@pytest.fixture
def no_peers(monkeypatch):
    """Neither PyTorch nor scikit-learn importable, whatever is installed."""
    real = common.import_optional
    absent = ("torch", "sklearn")
    monkeypatch.setattr(
        common,
        "import_optional",
        lambda name: None if name.split(".")[0] in absent else real(name),
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_runs_from_the_command_line(script):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{script}.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith(f"usage: {script}.py")


def test_train_quick_writes_results_and_reports_missing_peers_and_backend(
    tmp_path, no_numba, no_peers, capsys
):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "300", "--batch-sizes", "64,100"]
    assert bench_train.main(argv) == 0
    payload, rows = read_results(tmp_path, "train")
    check_machine(payload)
    assert payload["peers"] == {"torch": "missing", "sklearn": "missing"}
    assert payload["backends"] == {"numpy": "ok", "numba": "missing"}
    assert set(rows[0]) >= {"batch_size", "system", "optimizer", "epoch_s", "ratio_floor"}
    status = {(r["system"], r["optimizer"], r["batch_size"]): r["status"] for r in rows}
    assert status[("floor", "-", "64")] == "ok"
    assert status[("floor+update", "sgd", "64")] == "ok"  # on the NumPy backend here
    assert status[("tinynn-numpy", "adam", "100")] == "ok"
    assert status[("tinynn-numba", "sgd", "64")] == "missing"
    assert status[("torch", "adam-fused", "100")] == "missing"
    assert status[("sklearn", "sgd", "64")] == "missing"
    floor = [r for r in payload["rows"] if r["system"] == "floor"]
    assert all(r["ratio_floor"] == 1.0 for r in floor)
    tinynn_rows = [r for r in payload["rows"] if r["system"] == "tinynn-numpy"]
    assert all(np.isfinite(r["final_loss"]) for r in tinynn_rows)  # model.fit's own loss
    assert payload["settings"]["gemm_flops_per_sample"] == epochs.gemm_flops_per_sample(
        [784, 256, 256, 10]
    )
    statuses = {t["target"]: t["status"] for t in payload["targets"]}
    assert statuses["tinynn-numba SGD / floor at batch 128"] == "n/a"
    assert set(statuses.values()) <= {"PASS", "MISS", "n/a"}
    printed = capsys.readouterr().out
    assert "missing" in printed and "CPU:" in printed
    assert "targets (from the performance issue):" in printed


def test_train_runs_pytorch_when_installed(tmp_path, no_numba):
    pytest.importorskip("torch")
    argv = ["--quick", "--out", str(tmp_path), "--samples", "128", "--backends", "numpy"]
    assert bench_train.main([*argv, "--peers", "torch", "--optimizers", "sgd"]) == 0
    payload = json.loads((tmp_path / "train.json").read_text())
    torch_row = next(r for r in payload["rows"] if r["system"] == "torch")
    assert torch_row["status"] == "ok" and torch_row["ratio_torch"] == 1.0
    assert payload["machine"]["torch"]["num_threads"] >= 1
    assert "torch" in payload["machine"]["library_notes"]


def test_an_unknown_peer_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_train.main(["--quick", "--out", str(tmp_path), "--peers", "torch,jax"])
    assert exit_info.value.code == 2
    assert "'jax'" in capsys.readouterr().err
    assert not (tmp_path / "train.json").exists()


def test_conv_quick_writes_results_and_reports_missing_torch_and_backend(
    tmp_path, no_numba, no_peers, capsys
):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "48", "--batch-size", "32"]
    assert bench_conv.main(argv) == 0
    payload, rows = read_results(tmp_path, "conv")
    check_machine(payload)
    assert set(rows[0]) == set(bench_conv.CSV_KEYS)
    assert payload["peers"] == {"torch": "missing"}
    assert payload["backends"] == {"numpy": "ok", "numba": "missing"}
    status = {(r["system"], r["optimizer"]): r["status"] for r in rows}
    assert status == {
        ("tinynn-numpy", "adam"): "ok",
        ("tinynn-numba", "adam"): "missing",
        ("torch", "adam"): "missing",
    }
    numpy_row = payload["rows"][0]
    assert numpy_row["epoch_s"] > 0 and numpy_row["batch_size"] == 32
    assert numpy_row["ratio_torch"] is None and np.isfinite(numpy_row["final_loss"])
    settings = payload["settings"]
    assert settings["samples"] == 48 and settings["torch_adam"] == "missing"
    # im2col GEMMs (rows per image, k, n): 26·26 patches of 3·3·1, 11·11 of 3·3·32, then Dense
    assert settings["gemm_shapes"] == [[676, 9, 32], [121, 288, 64], [1, 1600, 128], [1, 128, 10]]
    products = [2 * 676 * 9 * 32, 2 * 121 * 288 * 64, 2 * 1600 * 128, 2 * 128 * 10]
    assert settings["gemm_flops_per_sample"] == 2 * sum(products) + sum(products[1:])
    assert [t["status"] for t in payload["targets"]] == ["n/a", "n/a"]
    printed = capsys.readouterr().out
    assert "missing" in printed and 'targets (from the "Images" issue):' in printed


def test_conv_runs_the_same_network_in_pytorch_when_installed(tmp_path, no_numba):
    torch = pytest.importorskip("torch")
    argv = ["--quick", "--out", str(tmp_path), "--samples", "40", "--batch-size", "16"]
    assert bench_conv.main([*argv, "--backends", "numpy", "--threads", "1"]) == 0
    payload = json.loads((tmp_path / "conv.json").read_text())
    torch_row = next(r for r in payload["rows"] if r["system"] == "torch")
    assert torch_row["status"] == "ok" and torch_row["ratio_torch"] == 1.0
    assert torch_row["optimizer"] in ("adam", "adam-fused")
    assert ("fused=True" in payload["settings"]["torch_adam"]) == (
        torch_row["optimizer"] == "adam-fused"
    )
    assert payload["rows"][0]["ratio_torch"] > 0
    assert payload["targets"][0]["status"] in ("PASS", "MISS")
    # The twin has the same layers, so the same parameter count (Keras-style vs PyTorch).
    tinynn_params = bench_conv.build_lenet("numpy", seed=0).count_params()
    torch_params = sum(p.numel() for p in bench_conv.torch_lenet(torch, seed=0).parameters())
    assert tinynn_params == torch_params == 225_034


def test_kernels_quick_with_numba_missing(tmp_path, no_numba):
    assert bench_kernels.main(["--quick", "--out", str(tmp_path)]) == 0
    payload, rows = read_results(tmp_path, "kernels")
    check_machine(payload, with_peers=False)
    assert payload["backends"] == {"numpy": "ok", "numba": "missing"}
    assert set(rows[0]) == set(bench_kernels.CSV_KEYS)
    kernels_seen = {row["kernel"] for row in rows}
    assert {"dense_forward[relu]", "dense_backward[softmax]", "sparse_softmax_ce"} <= kernels_seen
    assert {"dense_forward[leaky_relu]", "softmax_ce", "gather_rows"} <= kernels_seen
    assert {"sgd_update", "sgd_update[momentum]", "rmsprop_update", "adam_update"} <= kernels_seen
    assert all(row["numba_status"] == "missing" and row["numba_us"] == "" for row in rows)
    assert all(row["numpy_status"] == "ok" and float(row["numpy_us"]) > 0 for row in rows)


def test_kernels_fill_the_numba_column_from_the_twins_namespace(tmp_path, monkeypatch):
    """Any namespace with the twins' names and signatures fills the column (here the
    references themselves stand in for Numba, which would compile)."""
    monkeypatch.setattr(common, "tinynn_backends", lambda names: {"numba": NumpyReference()})
    argv = ["--quick", "--out", str(tmp_path), "--batch-sizes", "8", "--min-time", "0.0005"]
    assert bench_kernels.main(argv) == 0
    payload = json.loads((tmp_path / "kernels.json").read_text())
    assert all(row["numba_status"] == "ok" for row in payload["rows"]), payload["rows"]
    assert all(row["speedup"] > 0 for row in payload["rows"])


def test_kernel_references_compute_what_the_numba_twins_compute():
    """The two columns of the kernel benchmark time the same maths."""
    pytest.importorskip("numba")
    from tinynn import activations
    from tinynn.kernels import numba_ops

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5), dtype=np.float32)
    W = rng.standard_normal((5, 4), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    grad_y = rng.standard_normal((6, 4), dtype=np.float32)
    reference = NumpyReference()
    for side in (reference, numba_ops):
        y = side.dense_forward(x, W, b, activations.get("elu"), np.empty((6, 4), np.float32))
        grads = [np.empty_like(W), np.empty_like(b), np.empty_like(y), np.empty_like(x)]
        side.dense_backward(x, W, y, grad_y, activations.get("elu"), *grads)
        labels = np.array([0, 3, 1, 2, 3, 0])
        grad_ce = np.empty_like(y)
        loss = side.sparse_softmax_cross_entropy(y, labels, grad_ce)
        if side is reference:
            expected = [y, *grads, grad_ce, loss]
    for got, want in zip([y, *grads, grad_ce, loss], expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_depth_script_adds_the_depth_target(tmp_path, no_numba, capsys):
    argv = ["--quick", "--out", str(tmp_path), "--depths", "1", "--widths", "16"]
    assert bench_depth.main([*argv, "--samples", "256", "--epochs", "1"]) == 0
    payload, _ = read_results(tmp_path, "depth")
    assert [t["status"] for t in payload["targets"]] == ["n/a", "n/a"]  # depth 8 not measured
    assert "targets (from the performance issue):" in capsys.readouterr().out
    hidden, width, limit = bench_depth.DEPTH_TARGET
    rows = [
        {"sweep": "depth", "depth": hidden, "width": width, "system": system, "ratio_floor": r}
        for system, r in (("tinynn-numpy", limit + 0.1), ("tinynn-numba", limit - 0.1))
    ]
    checks = bench_depth.check_targets(rows, ["numpy", "numba"])
    assert [check["status"] for check in checks] == ["MISS", "PASS"]


def test_imported_quick_times_both_converted_models_against_torch(tmp_path, capsys):
    import_torchvision()  # or skip, naming what is missing
    argv = ["--quick", "--batch", "1", "--backends", "numpy", "--out", str(tmp_path)]
    assert bench_imported.main(argv) == 0
    payload = json.loads((tmp_path / "imported.json").read_text())
    check_machine(payload)
    systems = {(row["model"], row["system"]): row for row in payload["rows"]}
    assert set(systems) == {
        (model, system) for model in bench_imported.MODELS for system in ("tinynn-numpy", "torch")
    }
    assert all(row["status"] == "ok" and row["median_ms"] > 0 for row in systems.values())
    assert systems[("resnet18", "torch")]["ratio_torch"] == 1.0
    assert set(payload["breakdown_s"]["resnet18"]) >= {"Conv2D", "BatchNormalization"}
    assert "targets (from the extensibility issue):" in capsys.readouterr().out


def test_imported_without_torch_says_so(tmp_path, no_peers, capsys):
    assert bench_imported.main(["--quick", "--out", str(tmp_path)]) == 1
    assert "PyTorch is not installed" in capsys.readouterr().err


def test_predict_quick_reports_missing_torch(tmp_path, no_numba, no_peers, capsys):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "1,20", "--min-time", "0.002"]
    assert bench_predict.main(argv) == 0
    payload, rows = read_results(tmp_path, "predict")
    check_machine(payload)
    assert payload["peers"] == {"torch": "missing"}
    calls = {(r["system"], r["samples"], r["call"]): r["status"] for r in rows}
    assert calls[("tinynn-numpy", "1", "predict(x)")] == "ok"
    assert calls[("tinynn-numpy", "20", "predict(x, batch_size=20)")] == "ok"
    assert calls[("torch", "1", "model(x), inference_mode")] == "missing"
    assert calls[("tinynn-numba", "1", "predict(x)")] == "missing"
    target_names = [t["target"] for t in payload["targets"]]
    assert target_names == ["tinynn-numpy one-sample predict", "tinynn-numba one-sample predict"]
    assert payload["targets"][1]["status"] == "n/a"
    assert "missing" in capsys.readouterr().out


def test_gemm_flops_of_an_mlp_step():
    # 2·Σab forward + 2·Σab for dW + 2·Σab for dX of every layer but the first
    assert epochs.gemm_flops_per_sample([6, 5, 4, 3]) == 2 * 62 + 2 * 62 + 2 * 32


def test_gemm_floor_with_sgd_steps_every_weight_with_the_backend_kernel():
    calls = []

    class Optim:
        @staticmethod
        def sgd_update(param, grad, momentum_buffer, lr, *rest):
            calls.append((param, grad, lr))

    class Ops:
        optim = Optim

    x, _ = mlp.synthetic_data(20, 6, seed=1)
    floor = epochs.GemmFloorWithSgd(x, [6, 5, 4, 3], batch_size=8, seed=0, ops=Ops)
    floor.step(np.array([3, 0, 7]))
    assert len(calls) == 3
    for (param, grad, lr), weight, grad_weight in zip(
        calls, floor.weights, floor.grad_weights, strict=True
    ):
        assert param is weight and grad is grad_weight
        assert 0 < lr <= 1e-9  # small enough to leave the weights, and the timing, alone
        assert np.abs(lr * grad).max() < 1e-6 * np.abs(weight).max()


def test_time_epochs_gives_a_row_per_runner_with_its_status(capsys):
    def broken():
        raise RuntimeError("boom")

    runners = {("a", "sgd"): lambda: None, ("b", "-"): common.MISSING, ("c", "adam"): broken}
    rows = epochs.time_epochs(
        runners, repeats=2, warmup=0, batch_size=4, n_samples=8, flops_per_sample=10
    )
    assert [row["status"] for row in rows] == ["ok", "missing", "error"]
    assert rows[0]["samples_per_s"] > 0 and len(rows[0]["times_s"]) == 2
    assert rows[2]["error"] == "RuntimeError: boom"
    capsys.readouterr()


def test_target_checks_and_their_lines():
    assert targets.check("t", 1.2, 1.1)["status"] == "MISS"
    assert targets.check("t", 1.0, 1.1)["status"] == "PASS"
    assert targets.check("t", None, 1.1)["status"] == "n/a"
    heading, body = targets.report_lines("targets:", [targets.check("speed", 1.0, 1.1, "x")])
    assert heading == "targets:" and body == "  [PASS] speed: 1x (limit 1.1x)"


def test_peer_machine_info_adds_the_peers_versions():
    info = peers.machine_info(requested_threads=1)
    assert set(info["versions"]) == set(peers.PACKAGES)
    torch = info["torch"]  # None unless an earlier test imported torch
    assert info["threads"]["torch"] == (torch["num_threads"] if torch else None)
    assert ("torch" in info["library_notes"]) == (torch is not None)
    libraries = machine.format_machine(info).splitlines()[2]
    assert libraries.startswith("numba ") and "torch " in libraries and "scikit-learn " in libraries
    assert peers.peer_versions(["torch"], {"torch": (None, "torch")}) == {"torch": "missing"}
