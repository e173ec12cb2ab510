"""``benchmarks/bench_scaling.py``: its alpha-beta model, and a --quick run under MPI.

No timing is asserted (the machines are shared and noisy): the quick run must write what the
benchmark promises, with every row it describes.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import scaling_model  # noqa: E402
from test_distributed import needs_mpi  # noqa: E402


def test_parameter_count_of_the_two_mlps():
    assert scaling_model.parameter_count([784, 256, 256, 10]) == 269_322
    assert scaling_model.parameter_count([784, 2048, 2048, 10]) == 5_824_522


def test_the_alpha_beta_fit_recovers_latency_and_bandwidth():
    a, b = 8e-6, 1 / 3e9
    rows = [
        {"elements": m // 4, "bytes": m, "allreduce_ms": 1e3 * (a + b * m), "add_ms": 1e3 * m / 4e9}
        for m in (4_000, 40_000, 400_000, 4_000_000, 40_000_000)
    ]
    fit = scaling_model.fit_alpha_beta(rows)
    assert fit["a_s"] == pytest.approx(a, rel=1e-6)
    assert fit["b_s_per_byte"] == pytest.approx(b, rel=1e-6)
    assert fit["gamma_s_per_byte"] == pytest.approx(1 / 4e9)


def test_the_allreduce_model_follows_rabenseifner():
    assert scaling_model.allreduce_time(1, 1e6, 1e-6, 1e9, 0.0) == 0.0
    # 8 ranks: 2 log2(8) = 6 latencies, and 2 * 7/8 of the message over each link.
    expected = 6 * 1e-6 + 2 * 7 / 8 * 1e6 / 1e9
    assert scaling_model.allreduce_time(8, 1e6, 1e-6, 1e9, 0.0) == pytest.approx(expected)


def test_the_script_explains_itself():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_scaling.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("usage: bench_scaling.py")


@needs_mpi
def test_a_quick_run_writes_every_table(tmp_path):
    command = [sys.executable, str(BENCHMARKS / "bench_scaling.py"), "--quick", "--out", tmp_path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads((tmp_path / "bench_scaling.json").read_text())
    kinds = {row["kind"] for row in payload["rows"]}
    assert kinds == {"allreduce", "reduce", "step", "overlap", "prediction"}
    configs = {row["config"] for row in payload["rows"] if row["kind"] == "step"}
    assert configs == {"1x1", "1x2", "2x1"}
    assert all(np.isfinite(t["measured"]) for t in payload["targets"])
    assert payload["machine"]["cpu_model"]
    with (tmp_path / "bench_scaling.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(payload["rows"])
    assert (tmp_path / "bench_scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert "reduce_gradients / bare Allreduce" in result.stdout
