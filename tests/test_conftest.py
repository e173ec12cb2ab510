"""The skip summary that conftest.py folds: one line per reason, not one per test location."""

import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
NEEDS_A_PEER = """
import pytest

def test_{name}_one():
    pytest.importorskip("{module}.sub")

def test_{name}_two():
    pytest.importorskip("{module}")
"""


def run_pytest(folder, *options):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


def test_skips_are_folded_by_missing_module_and_rs_restores_the_listing(tmp_path):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")  # as pyproject.toml
    # Two files need one missing peer, a third another: 4 + 2 skips at 6 locations.
    for name, module in (("first", "no_such_peer_f"), ("second", "no_such_peer_s")):
        (tmp_path / f"test_{name}.py").write_text(NEEDS_A_PEER.format(name=name, module=module))
    third = NEEDS_A_PEER.format(name="third", module="no_such_peer_f")
    (tmp_path / "test_third.py").write_text(third)

    out = run_pytest(tmp_path)
    assert "6 skipped, by reason" in out
    assert "   4  no_such_peer_f is not installed" in out
    assert "   2  no_such_peer_s is not installed" in out
    assert 'install every optional peer: pip install ".[test]"' in out
    assert "SKIPPED [" not in out  # pytest's per-location lines

    listed = run_pytest(tmp_path, "-rs")
    assert "SKIPPED [" in listed and "by reason" not in listed
