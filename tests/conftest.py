"""Shared fixtures. Keep this file small: put helpers used by one test file in that file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture
def strict_numpy():
    """Make overflow, division by zero, invalid operations (NaN) and every warning an error.

    Underflow stays allowed: e^(−2e4) rounding to 0 is the correct float result, and stable
    kernels rely on it (that is what subtracting the row maximum in softmax is for).
    """
    with (
        np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        yield


@pytest.fixture
def away_from_zero():
    """``make(shape, seed, margin=0.05)``: normal samples with |x| ≥ margin.

    ReLU, leaky ReLU and ELU have a kink at 0, where central differences straddle two slopes
    and disagree with any one-sided derivative; keeping inputs off the kink avoids that.
    """

    def make(shape, seed=0, margin=0.05):
        x = np.random.default_rng(seed).normal(size=shape)
        return np.where(np.abs(x) < margin, np.copysign(margin + np.abs(x), x), x)

    return make


# ---- the skip summary: one line per missing peer, not one per test location ----
# pytest's -ra (our addopts) lists skips by file and line: with the optional peers absent that
# is some thirty lines repeating "could not import 'torch'". We fold them by reason instead;
# an explicit -r on the command line (e.g. -rs) gets pytest's own listing back.
FOLD_SKIPS = pytest.StashKey[bool]()
EVERY_PEER = 'pip install ".[test]"'  # the README's command


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    chose_r = any(arg.startswith("-r") for arg in config.invocation_params.args)
    fold = reporter is not None and "s" in reporter.reportchars and not chose_r
    if fold:
        reporter.reportchars = reporter.reportchars.replace("s", "")
    config.stash[FOLD_SKIPS] = fold


def skip_reason(report):
    """'torch is not installed' for every spelling of a failed import, else pytest's text."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if "No module named '" in reason:
        module = reason.split("No module named ")[1].strip("'")
        return f"{module} is not installed"
    return reason


def pytest_terminal_summary(terminalreporter, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if not config.stash.get(FOLD_SKIPS, False) or not skipped:
        return
    counts = {}
    for report in skipped:
        reason = skip_reason(report)
        counts[reason] = counts.get(reason, 0) + 1
    terminalreporter.section(f"{len(skipped)} skipped, by reason (-rs lists each)", sep="-")
    for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
        terminalreporter.line(f"{count:4d}  {reason}")
    terminalreporter.line(f"To run them all, install every optional peer: {EVERY_PEER}")
