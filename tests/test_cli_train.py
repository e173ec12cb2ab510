"""``tinynn train``: where its progress and its model file go, and its data-set messages."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinynn import cli


def test_train_piped_with_stderr_keeps_the_header_before_the_progress(tmp_path):
    # Buffered as Python buffers a pipe by default: the header must be flushed by hand.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-m", "tinynn.cli", "train", "--epochs", "2", "--hidden", "8"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as in `tinynn train 2>&1 | tee log`
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Training a 64-8-10 MLP")
    assert lines[1].startswith("Epoch 1/2 - ") and lines[2].startswith("Epoch 2/2 - ")


def test_the_default_model_file_is_ignored_by_git():
    """The README's first command, ``tinynn train``, run in a clone, leaves this file behind."""
    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("needs git and a git checkout of tinynn")
    output = cli.build_parser().parse_args(["train"]).output
    for folder in (root, root / "notebooks"):
        check = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", str(folder / output)])
        assert check.returncode == 0, f"{folder / output} is not ignored by .gitignore"


def test_missing_mnist_files_are_explained_in_command_line_terms(tmp_path, monkeypatch, capsys):
    from tinynn.datasets import idx

    (tmp_path / "empty").mkdir()
    assert cli.main(["train", "--dataset", "mnist", "--data", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err
    assert "never downloaded into" in err and "leave out --data" in err
    assert "path=" not in err and "download=False" not in err  # Python's words, not ours

    def offline(url):
        raise OSError("offline")

    monkeypatch.setattr(idx, "_fetch", offline)
    monkeypatch.setenv("TINYNN_DATA", str(tmp_path / "cache"))
    assert cli.main(["train", "--dataset", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "download failed: offline" in err and "--data FOLDER" in err and "path=" not in err
