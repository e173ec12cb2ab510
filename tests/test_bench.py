"""The benchmark suite: each benchmark runs in --quick mode and writes what it promises.

No timing is asserted anywhere: these machines are shared and noisy. The tests check the
files (JSON keys, CSV columns, a real PNG), the recorded machine description, and that an
absent peer or backend is reported as "missing" rather than faked. Numba-backed runs are
avoided (their first compile is slow); the "numba" slot is either reported missing or filled
with the NumPy kernels to exercise the code path that picks a second backend up.
"""

import argparse
import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tinynn import kernels
from tinynn.bench import common, conv, depth, machine, mlp, output, predict, train
from tinynn.bench import kernels as bench_kernels
from tinynn.kernels import numpy_ops

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_results(folder: Path, name: str) -> tuple[dict, list[dict]]:
    """The JSON payload and the CSV rows; also checks that the PNG is a real PNG."""
    payload = json.loads((folder / f"{name}.json").read_text())
    with (folder / f"{name}.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert (folder / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    return payload, rows


def check_machine(payload: dict) -> None:
    info = payload["machine"]
    assert info["cpu_model"] and info["logical_cores"] >= 1
    assert info["versions"]["numpy"] == np.__version__
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        assert name in info["environment"]
    if common.import_optional("threadpoolctl") is not None:
        assert info["numpy_blas"]["num_threads"] >= 1
        assert "kernel" in info["numpy_blas"]


@pytest.fixture
def no_numba(monkeypatch):
    """A tinynn whose kernels module does not list the Numba backend (yet)."""
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


def test_train_quick_writes_results_and_reports_missing_peers_and_backend(
    tmp_path, no_numba, no_peers, capsys
):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "300", "--batch-sizes", "64,100"]
    assert train.main(argv) == 0
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
    assert payload["settings"]["gemm_flops_per_sample"] == mlp.gemm_flops_per_sample(
        [784, 256, 256, 10]
    )
    assert {t["status"] for t in payload["targets"]} <= {"PASS", "MISS", "n/a"}
    printed = capsys.readouterr().out
    assert "missing" in printed and "CPU:" in printed


def test_train_runs_pytorch_when_installed(tmp_path, no_numba):
    pytest.importorskip("torch")
    argv = ["--quick", "--out", str(tmp_path), "--samples", "128", "--backends", "numpy"]
    assert train.main([*argv, "--peers", "torch", "--optimizers", "sgd"]) == 0
    payload = json.loads((tmp_path / "train.json").read_text())
    torch_row = next(r for r in payload["rows"] if r["system"] == "torch")
    assert torch_row["status"] == "ok" and torch_row["ratio_torch"] == 1.0
    assert payload["machine"]["torch"]["num_threads"] >= 1


def test_conv_quick_writes_results_and_reports_missing_torch_and_backend(
    tmp_path, no_numba, no_peers, capsys
):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "48", "--batch-size", "32"]
    assert conv.main(argv) == 0
    payload, rows = read_results(tmp_path, "conv")
    check_machine(payload)
    assert set(rows[0]) == set(conv.CSV_KEYS)
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
    assert "missing" in printed and "CPU:" in printed


def test_conv_runs_the_same_network_in_pytorch_when_installed(tmp_path, no_numba):
    torch = pytest.importorskip("torch")
    argv = ["--quick", "--out", str(tmp_path), "--samples", "40", "--batch-size", "16"]
    assert conv.main([*argv, "--backends", "numpy", "--threads", "1"]) == 0
    payload = json.loads((tmp_path / "conv.json").read_text())
    torch_row = next(r for r in payload["rows"] if r["system"] == "torch")
    assert torch_row["status"] == "ok" and torch_row["ratio_torch"] == 1.0
    assert torch_row["optimizer"] in ("adam", "adam-fused")
    assert ("fused=True" in payload["settings"]["torch_adam"]) == (
        torch_row["optimizer"] == "adam-fused"
    )
    assert payload["rows"][0]["ratio_torch"] > 0
    assert payload["targets"][0]["status"] in ("PASS", "MISS")
    assert payload["machine"]["torch"]["num_threads"] >= 1
    # The twin has the same layers, so the same parameter count (Keras-style vs PyTorch).
    tinynn_params = conv.build_lenet("numpy", seed=0).count_params()
    torch_params = sum(p.numel() for p in conv.torch_lenet(torch, seed=0).parameters())
    assert tinynn_params == torch_params == 225_034


def test_an_unknown_peer_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--quick", "--out", str(tmp_path), "--peers", "torch,jax"])
    assert exit_info.value.code == 2
    assert "'jax'" in capsys.readouterr().err
    assert not (tmp_path / "train.json").exists()


def test_kernels_quick_with_numba_missing(tmp_path, no_numba):
    assert bench_kernels.main(["--quick", "--out", str(tmp_path)]) == 0
    payload, rows = read_results(tmp_path, "kernels")
    check_machine(payload)
    assert set(rows[0]) == set(bench_kernels.CSV_KEYS)
    kernels_seen = {row["kernel"] for row in rows}
    assert {"dense_forward[relu]", "dense_backward[softmax]", "sparse_softmax_ce"} <= kernels_seen
    assert {"gather_rows", "dropout_forward", "sgd_update", "adam_update"} <= kernels_seen
    assert all(row["numba_status"] == "missing" and row["numba_us"] == "" for row in rows)
    assert all(float(row["numpy_us"]) > 0 for row in rows)


def test_kernels_picks_up_a_second_backend(tmp_path, monkeypatch):
    """Once the kernels module lists "numba", its column fills in (NumPy stands in here)."""
    monkeypatch.setattr(
        common, "tinynn_backends", lambda names: {"numpy": numpy_ops, "numba": numpy_ops}
    )
    argv = ["--quick", "--out", str(tmp_path), "--batch-sizes", "8", "--min-time", "0.0005"]
    assert bench_kernels.main(argv) == 0
    payload = json.loads((tmp_path / "kernels.json").read_text())
    assert all(row["numba_status"] == "ok" for row in payload["rows"])
    assert all(row["speedup"] > 0 for row in payload["rows"])


def test_depth_quick(tmp_path, no_numba):
    argv = ["--quick", "--out", str(tmp_path), "--depths", "1", "--widths", "16"]
    assert depth.main([*argv, "--samples", "256"]) == 0
    payload, rows = read_results(tmp_path, "depth")
    check_machine(payload)
    assert set(rows[0]) == set(depth.CSV_KEYS)
    tinynn_row = next(r for r in payload["rows"] if r["system"] == "tinynn-numpy")
    # 784·256 + 256 + 256·10 + 10 parameters; forward FLOPs from layer.flops()
    assert tinynn_row["params"] == 784 * 256 + 256 + 256 * 10 + 10
    assert tinynn_row["flops_per_sample"] == 2 * 784 * 256 + 2 * 256 + 2 * 256 * 10 + 2 * 10
    assert 0.0 <= tinynn_row["test_accuracy"] <= 1.0
    assert tinynn_row["peak_mb"] > 0
    assert {r["sweep"] for r in payload["rows"]} == {"depth", "width"}
    assert any("not traced" in note for note in payload["notes"])
    numba_rows = [r for r in payload["rows"] if r["system"] == "tinynn-numba"]
    assert numba_rows and all(r["status"] == "missing" for r in numba_rows)


def test_predict_quick_reports_missing_torch(tmp_path, no_numba, no_peers, capsys):
    argv = ["--quick", "--out", str(tmp_path), "--samples", "1,20", "--min-time", "0.002"]
    assert predict.main(argv) == 0
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


def test_cli_registers_every_benchmark(tmp_path, no_numba, no_peers):
    from tinynn.cli import bench

    parser = argparse.ArgumentParser(prog="tinynn")
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bench", "predict", "--quick", "--out", str(tmp_path), "--samples", "1"]
    )
    assert args.run(args) == 0
    assert (tmp_path / "predict.json").exists()
    for name in ("kernels", "train", "depth", "conv"):
        assert callable(parser.parse_args(["bench", name, "--quick"]).run)


@pytest.mark.parametrize("name", ["kernels", "train", "depth", "predict", "conv"])
def test_wrapper_scripts_call_the_package(name):
    path = ROOT / "benchmarks" / f"bench_{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the __main__ guard keeps it from running
    assert module.main is importlib.import_module(f"tinynn.bench.{name}").main


def test_gemm_floor_computes_the_products_it_claims():
    x, _ = mlp.synthetic_data(20, 6, seed=1)
    floor = mlp.GemmFloor(x, [6, 5, 4, 3], batch_size=8, seed=0)
    indices = np.array([3, 0, 7, 7, 19])
    floor.step(indices)
    w1, w2, w3 = floor.weights
    h1 = x[indices] @ w1
    np.testing.assert_allclose(floor.outputs[0][:5], h1, rtol=1e-5)
    np.testing.assert_allclose(floor.outputs[2][:5], h1 @ w2 @ w3, rtol=1e-4)
    grad_out = floor.grad_outputs[2][:5]
    np.testing.assert_allclose(floor.grad_weights[2], (h1 @ w2).T @ grad_out, rtol=1e-4)
    np.testing.assert_allclose(floor.grad_outputs[1][:5], grad_out @ w3.T, rtol=1e-4)
    # 2·Σab forward + 2·Σab for dW + 2·Σab for dX of every layer but the first
    assert mlp.gemm_flops_per_sample([6, 5, 4, 3]) == 2 * 62 + 2 * 62 + 2 * 32


def test_gemm_floor_with_sgd_steps_every_weight_with_the_backend_kernel():
    calls = []

    class Optim:
        @staticmethod
        def sgd_update(param, grad, momentum_buffer, lr, *rest):
            calls.append((param, grad, lr))

    class Ops:
        optim = Optim

    x, _ = mlp.synthetic_data(20, 6, seed=1)
    floor = mlp.GemmFloorWithSgd(x, [6, 5, 4, 3], batch_size=8, seed=0, ops=Ops)
    floor.step(np.array([3, 0, 7]))
    assert len(calls) == 3
    assert all(
        param is weight and grad is grad_weight
        for (param, grad, _), weight, grad_weight in zip(
            calls, floor.weights, floor.grad_weights, strict=True
        )
    )
    for (_, _, lr), w, dw in zip(calls, floor.weights, floor.grad_weights, strict=True):
        assert 0 < lr <= 1e-9  # small enough to leave the weights, and the timing, alone
        assert np.abs(lr * dw).max() < 1e-6 * np.abs(w).max()


def test_summary_statistics_and_targets():
    stats = common.summarize([3.0, 1.0, 2.0, 10.0])
    assert stats["median"] == 2.5 and stats["min"] == 1.0 and stats["n"] == 4
    assert stats["iqr"] == pytest.approx(stats["q3"] - stats["q1"]) and stats["iqr"] > 0
    assert common.summarize([4.0])["iqr"] == 0.0
    assert common.ratio(3.0, None) is None and common.ratio(3.0, 2.0) == 1.5
    assert output.target("t", 1.2, 1.1)["status"] == "MISS"
    assert output.target("t", 1.0, 1.1)["status"] == "PASS"
    assert output.target("t", None, 1.1)["status"] == "n/a"


def test_table_shows_status_in_place_of_missing_numbers():
    rows = [{"name": "a", "t": 1.23456, "status": "ok"}, {"name": "b", "status": "missing"}]
    table = output.format_table(rows, [("name", "name", ""), ("t", "time", ".2f")])
    assert "1.23" in table and "missing" in table
    markdown = output.format_markdown(rows, [("name", "name", ""), ("t", "time", ".2f")])
    assert markdown.splitlines()[0] == "| name | time |"


def test_machine_info_records_the_openblas_variables(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    info = machine.machine_info(requested_threads=2)
    assert info["environment"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert info["environment"]["OPENBLAS_L2_SIZE"] == "unset"
    assert info["threads"]["requested"] == 2
    assert "OPENBLAS_CORETYPE=Haswell" in machine.format_machine(info)


def test_machine_line_leaves_out_the_commit_outside_a_git_checkout(monkeypatch):
    info = machine.machine_info(requested_threads=1)
    info["tinynn_source"] = None  # what source_state() returns without git
    text = machine.format_machine(info)
    assert f"tinynn {info['versions']['tinynn']}\n" in text + "\n"
    assert "?" not in text and "commit" not in text
    info["tinynn_source"] = {"commit": "abc1234", "modified_files": 2}
    assert "at commit abc1234 (2 tracked files modified)" in machine.format_machine(info)
