"""The installed benchmark, ``tinynn bench depth``, and the helpers every benchmark shares.

No timing is asserted anywhere: these machines are shared and noisy. The tests check the
files (JSON keys, CSV columns, a real PNG), the recorded machine description, the memory split
and the roofline prediction of every point, and that an absent backend is reported as
"missing" rather than faked. Numba-backed runs are avoided
(their first compile is slow): the "numba" backend is reported missing. The peer comparisons
and target checks of the source checkout's ``benchmarks/`` scripts are tested in
``test_benchmarks_scripts.py``.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynn.bench
from tinynn import kernels
from tinynn.bench import common, depth, depth_report, machine, mlp, output
from tinynn.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY_DEPTH = ["--quick", "--depths", "1", "--widths", "16", "--samples", "256", "--epochs", "1"]
TINY_DEPTH += ["--families", "mlp"]


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
    """A tinynn whose kernels module does not list the Numba backend."""
    monkeypatch.setattr(kernels, "BACKENDS", ("auto", "numpy"))


def test_depth_quick(tmp_path, no_numba, capsys):
    argv = [*TINY_DEPTH, "--depths", "1,2", "--out", str(tmp_path)]
    assert depth.main(argv) == 0
    payload, rows = read_results(tmp_path, "depth")
    check_machine(payload)
    assert set(rows[0]) == set(depth.CSV_KEYS)
    tinynn_row = next(r for r in payload["rows"] if r["system"] == "tinynn-numpy")
    assert tinynn_row["family"] == "mlp"
    # 784·256 + 256 + 256·10 + 10 parameters; forward FLOPs from layer.flops()
    assert tinynn_row["params"] == 784 * 256 + 256 + 256 * 10 + 10
    assert tinynn_row["flops_per_sample"] == 2 * 784 * 256 + 2 * 256 + 2 * 256 * 10 + 2 * 10
    assert 0.0 <= tinynn_row["test_accuracy"] <= 1.0
    # Memory: the footprint of a training step, split into its parts, not a traced peak.
    memory = tinynn_row["memory"]
    assert tinynn_row["train_mb"] == memory["total"] / 1e6 > 0
    parts = ("parameters", "gradients", "optimizer_state", "activations", "workspace")
    assert sum(memory[part] for part in parts) == memory["total"]
    assert memory["activations"] > 0 and memory["workspace"] > 0
    # The roofline's prediction beside the measured time, from the point's profile.
    profile = tinynn_row["profile"]
    steps = 256 / profile["batch_size"]
    assert tinynn_row["roofline_s"] == pytest.approx(steps * profile["roofline_ms"] / 1e3)
    assert tinynn_row["ratio_roofline"] == pytest.approx(
        tinynn_row["epoch_s"] / tinynn_row["roofline_s"]
    )
    assert {row["layer"] for row in profile["rows"]} >= {"dense", "dense_1", "optimizer"}
    assert payload["roofline"]["peak_gflops"] > 0 and payload["roofline"]["bandwidth_gbs"] > 0
    floor_row = next(r for r in payload["rows"] if r["system"] == "floor")
    assert floor_row["ratio_floor"] == 1.0 and tinynn_row["ratio_floor"] > 0
    assert {r["sweep"] for r in payload["rows"]} == {"depth", "width"}
    numba_rows = [r for r in payload["rows"] if r["system"] == "tinynn-numba"]
    assert numba_rows and all(r["status"] == "missing" for r in numba_rows)
    # The marginal cost of one more layer, from depth 1 to 2 at width 256.
    (step,) = payload["marginal"]
    one, two = (
        next(r for r in payload["rows"] if (r["sweep"], r["depth"], r["system"]) == key)
        for key in (("depth", 1, "tinynn-numpy"), ("depth", 2, "tinynn-numpy"))
    )
    assert step["params_per_layer"] == 256 * 256 + 256 == two["params"] - one["params"]
    assert step["mb_per_layer"] == pytest.approx(two["train_mb"] - one["train_mb"])
    # The installed command checks no project targets and knows no peers.
    assert "targets" not in payload and "peers" not in payload
    printed = capsys.readouterr().out
    assert "missing" in printed and "CPU:" in printed and "target" not in printed
    assert "marginal cost of one more layer" in printed and "roofline:" in printed


def test_depth_sweeps_conv_blocks_and_channels(tmp_path, no_numba):
    argv = [
        "--quick",
        "--families",
        "conv",
        "--depths",
        "1,2",
        "--widths",
        "2",
        "--sweep-width",
        "2",
    ]
    assert depth.main([*argv, "--samples", "32", "--epochs", "1", "--out", str(tmp_path)]) == 0
    payload, _ = read_results(tmp_path, "depth")
    rows = [row for row in payload["rows"] if row["system"] == "tinynn-numpy"]
    assert {(row["sweep"], row["depth"], row["width"]) for row in rows} == {
        ("depth", 1, 2), ("depth", 2, 2), ("width", 2, 2)
    }  # fmt: skip
    assert all(row["family"] == "conv" and row["ratio_floor"] is None for row in rows)
    assert "floor" not in {row["system"] for row in payload["rows"]}
    conv_rows = [r for r in rows[0]["profile"]["rows"] if r["kind"] == "Conv2D"]
    assert {r["pass_name"] for r in conv_rows} == {"forward", "backward"}
    assert payload["labels"]["conv"] == ["conv blocks", "channels"]
    assert [entry["family"] for entry in payload["marginal"]] == ["conv"]


def test_depth_takes_a_family_of_your_own(tmp_path, no_numba, monkeypatch):
    (tmp_path / "my_family.py").write_text(
        "import tinynn\n"
        "from tinynn import layers\n\n"
        "def build(depth, width):\n"
        "    stack = [tinynn.Input((5,))]\n"
        "    stack += [layers.Dense(width, activation='tanh') for _ in range(depth)]\n"
        "    return tinynn.Sequential(stack + [layers.Dense(1)])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--quick", "--model", "my_family:build", "--depths", "1,3", "--widths", "4"]
    assert depth.main([*argv, "--samples", "64", "--out", str(tmp_path)]) == 0
    payload, _ = read_results(tmp_path, "depth")
    rows = [row for row in payload["rows"] if row["system"] == "tinynn-numpy"]
    assert {row["family"] for row in rows} == {"custom"} and len(rows) == 3
    assert all("test_accuracy" not in row and row["train_mb"] > 0 for row in rows)
    assert payload["marginal"][0]["params_per_layer"] == 16 * 16 + 16  # width 16 (--quick)
    assert payload["settings"]["model"] == "my_family:build"
    for bad, message in [
        (["--model", "my_family:nothing"], "no function"),
        (["--model", "no_such_module:build"], "cannot import"),
        (["--model", "my_family"], "module:function"),
        (["--families", "custom"], "needs --model"),
    ]:
        args = depth.build_parser().parse_args(["--quick", *bad])
        with pytest.raises(ValueError, match=message):
            depth.measure(args)


def test_depth_plot_draws_the_roofline_prediction():
    rows = [
        {"family": "mlp", "sweep": sweep, "depth": d, "width": w, "system": system,
         "status": "ok", "epoch_s": 0.1 * d, "roofline_s": 0.05 * d, "test_accuracy": 0.9}
        for sweep, d, w in [("depth", 1, 8), ("depth", 2, 8), ("width", 2, 4), ("width", 2, 8)]
        for system in ("tinynn-numpy", "tinynn-numba")
    ]  # fmt: skip
    figure = depth_report.plot({"rows": rows, "labels": {"mlp": ["hidden layers", "units"]}})
    labels = [line.get_label() for axis in figure.axes for line in axis.get_lines()]
    assert labels.count("roofline bound") == 2  # once per sweep, not per backend
    assert figure.axes[0].get_xlabel() == "mlp: hidden layers (width 8)"


def test_depth_measure_then_report_takes_extra_notes(tmp_path, no_numba, capsys):
    """What ``benchmarks/bench_depth.py`` builds on: measure, add to the payload, report."""
    args = depth.build_parser().parse_args([*TINY_DEPTH, "--out", str(tmp_path)])
    payload = depth.measure(args)
    assert not (tmp_path / "depth.json").exists()  # measuring writes nothing
    payload["extra"] = [1, 2]
    depth.report(payload, args.out, extra_notes=["an extra note"])
    printed = capsys.readouterr().out.splitlines()
    assert printed.index("an extra note") > printed.index(next(p for p in printed if "digits" in p))
    assert json.loads((tmp_path / "depth.json").read_text())["extra"] == [1, 2]


def test_cli_runs_depth_and_nothing_else(tmp_path, no_numba, capsys):
    parser = build_parser()
    args = parser.parse_args(["bench", "depth", *TINY_DEPTH, "--out", str(tmp_path)])
    assert args.run(args) == 0
    assert (tmp_path / "depth.json").exists()
    assert tinynn.bench.BENCHMARKS == ("depth",)
    capsys.readouterr()
    for moved in ("train", "kernels", "predict", "conv"):
        assert main(["bench", moved, "--quick"]) == 2  # a usage error: now a script
    assert "invalid choice" in capsys.readouterr().err
    assert main(["bench", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "{depth}" in help_text and "benchmarks/" in help_text


def test_depth_module_runs_with_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "tinynn.bench.depth", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("usage: tinynn bench depth")


def test_installed_package_has_no_peers_or_targets():
    """Peer comparisons and the project's targets live in the checkout's benchmarks/."""
    folder = ROOT / "tinynn" / "bench"
    names = {path.stem for path in folder.glob("*.py")}
    assert names == {
        "__init__", "common", "depth", "depth_report", "families", "machine", "mlp", "options",
        "output",
    }  # fmt: skip
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("torch", "sklearn", "scikit", "targets (from", "DEPTH_TARGET"):
            assert word not in text, f"{path.name} mentions {word!r}"
    # Each file name says what it holds, once in the package.
    everywhere = [path.name for path in (ROOT / "tinynn").rglob("*.py")]
    for name in names - {"__init__"}:
        assert everywhere.count(f"{name}.py") == 1, name


def test_tinynn_epoch_trains_the_model_with_fit():
    x, y = mlp.synthetic_data(64, 6, 3, seed=1)
    epoch = mlp.TinynnEpoch(
        x, y, [6, 5, 3], batch_size=16, optimizer="sgd", backend="numpy", seed=0
    )
    before = [param.copy() for param, _ in epoch.model.parameters()]
    epoch()
    assert np.isfinite(epoch.last_loss)
    after = [param for param, _ in epoch.model.parameters()]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


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
    with pytest.raises(ValueError, match="expected sizes"):
        mlp.GemmFloor(x, [7, 3], batch_size=8, seed=0)


def test_summary_statistics_and_ratios():
    stats = common.summarize([3.0, 1.0, 2.0, 10.0])
    assert stats["median"] == 2.5 and stats["min"] == 1.0 and stats["n"] == 4
    assert stats["iqr"] == pytest.approx(stats["q3"] - stats["q1"]) and stats["iqr"] > 0
    assert common.summarize([4.0])["iqr"] == 0.0
    assert common.ratio(3.0, None) is None and common.ratio(3.0, 2.0) == 1.5


def test_interleave_drops_a_failing_runner_and_keeps_the_others(capsys):
    def broken():
        raise RuntimeError("boom")

    times, errors = common.interleave({"ok": lambda: None, "bad": broken}, repeats=2, warmup=1)
    assert len(times["ok"]) == 2 and times["bad"] == []
    assert errors == {"bad": "RuntimeError: boom"}
    assert "bad failed" in capsys.readouterr().err


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


def test_machine_info_reports_the_packages_asked_for_with_their_notes():
    info = machine.machine_info(packages=(*machine.PACKAGES, "no-such-package"))
    assert set(info["versions"]) == {*machine.PACKAGES, "no-such-package"}
    assert info["versions"]["no-such-package"] == common.MISSING
    info["library_notes"]["no-such-package"] = "a note"
    libraries = machine.format_machine(info).splitlines()[2]
    assert libraries.startswith("numba ")
    assert libraries.endswith("no-such-package missing (a note)")
