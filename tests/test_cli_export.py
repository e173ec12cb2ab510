"""Tests for tinynn.cli.export: ``tinynn export MODEL --format {python,c,onnx} [--output]``."""

from __future__ import annotations

import argparse

import pytest

import tinynn
from tinynn.cli import export as export_command
from tinynn.layers import Dense
from tinynn.runtime import ModelFileError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tinynn")
    export_command.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@pytest.fixture
def model_file(tmp_path):
    model = tinynn.Sequential([tinynn.Input((4,)), Dense(3, activation="softmax")], seed=0)
    model.save(str(tmp_path / "net.npz"))
    return tmp_path / "net.npz"


def test_c_export_with_an_output_path(model_file, tmp_path, capsys):
    args = parse("export", str(model_file), "--format", "c", "--output", str(tmp_path / "x.h"))
    assert args.run(args) == 0
    assert "tinynn_predict" in (tmp_path / "x.h").read_text()
    assert capsys.readouterr().out.splitlines() == [
        f"Wrote {tmp_path / 'x.h'}",
        "Footprint: 60 bytes of weights (flash), 12 bytes of activations (RAM)",
    ]


def test_default_outputs_sit_beside_the_model(model_file, capsys):
    for fmt, names in [("c", ["net.h"]), ("python", ["net.py", "net_weights.npz"])]:
        args = parse("export", str(model_file), "--format", fmt)
        assert args.run(args) == 0
        assert all((model_file.parent / name).is_file() for name in names)
    assert capsys.readouterr().out.count("Wrote") == 3


def test_onnx_export(model_file):
    pytest.importorskip("onnx")
    args = parse("export", str(model_file), "--format", "onnx")
    assert args.run(args) == 0
    assert (model_file.parent / "net.onnx").stat().st_size > 0


def test_usage_errors(model_file, capsys):
    with pytest.raises(SystemExit) as missing:
        parse("export", str(model_file))
    assert missing.value.code == 2
    with pytest.raises(SystemExit):
        parse("export", str(model_file), "--format", "java")
    assert "invalid choice: 'java'" in capsys.readouterr().err


def test_bad_model_files_raise_errors_the_cli_reports(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"junk")
    args = parse("export", str(tmp_path / "junk.npz"), "--format", "c")
    with pytest.raises(ModelFileError, match="not a readable tinynn model file"):
        args.run(args)
    args = parse("export", str(tmp_path / "absent.npz"), "--format", "c")
    with pytest.raises(FileNotFoundError):
        args.run(args)
    assert not (tmp_path / "junk.h").exists()


def test_through_the_tinynn_command_when_registered(model_file, capsys):
    from tinynn import cli

    if export_command not in getattr(cli, "COMMAND_MODULES", ()):
        pytest.skip("tinynn.cli does not register the export command yet")
    assert cli.main(["export", str(model_file), "--format", "c"]) == 0
    assert cli.main(["export", str(model_file.parent / "absent.npz"), "--format", "c"]) == 1
    assert "tinynn: error: no model file" in capsys.readouterr().err


def test_int8_export_with_calibration_prints_the_footprint(model_file, tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50, 4)).astype("float32"))
    argv = ["export", str(model_file), "--format", "c", "--quantize", "int8"]
    args = parse(*argv, "--calibration", str(tmp_path / "x.npy"))
    assert args.run(args) == 0
    text = (model_file.parent / "net.h").read_text()
    assert "tinynn_predict_int8(const int8_t *x, int8_t *y)" in text
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Wrote {model_file.parent / 'net.h'}"
    assert lines[1].startswith("Footprint: ") and "(flash)" in lines[1] and "(RAM)" in lines[1]


def test_quantization_usage_errors(model_file, tmp_path, capsys):
    args = parse("export", str(model_file), "--format", "c", "--quantize", "int8")
    with pytest.raises(ValueError, match="calibration"):
        args.run(args)
    args = parse("export", str(model_file), "--format", "c", "--quantize", "float16")
    with pytest.raises(ValueError, match="half-precision"):
        args.run(args)
    args = parse("export", str(model_file), "--format", "c", "--calibration", "x.npy")
    with pytest.raises(ValueError, match="--calibration is for --quantize int8"):
        args.run(args)
    with pytest.raises(SystemExit):
        parse("export", str(model_file), "--format", "c", "--quantize", "int4")
    assert "invalid choice: 'int4'" in capsys.readouterr().err
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    args = parse(
        "export",
        str(model_file),
        "--format",
        "c",
        "--quantize",
        "int8",
        "--calibration",
        str(tmp_path / "bad.npy"),
    )
    with pytest.raises(ValueError, match="cannot read calibration data"):
        args.run(args)
    assert not (model_file.parent / "net.h").exists()
