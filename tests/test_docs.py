"""The documentation: every ```python block in docs/*.md and README.md runs, and the site
builds strictly.

Blocks of one page run in order in one shared namespace, inside a temporary working directory
(so files the examples save land there, and modules they write can be imported, as from a
script run in that directory). A block may be skipped only if it is not Python (a shell or C
example) and the line before its fence is ``<!-- skip-test -->``. A page whose example needs an
optional extra that is not installed (matplotlib, ONNX, Numba, PyTorch) is skipped from there on.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SKIP_MARKER = "<!-- skip-test -->"
#: Top-level modules of optional extras: an example that needs a missing one is skipped.
OPTIONAL_MODULES = {"matplotlib", "onnx", "onnxruntime", "numba", "torch"}
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def code_blocks(text):
    """[(language, code, skipped, line number)] for every fenced block of a Markdown page."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        skipped = bool(before) and before[-1].strip() == SKIP_MARKER
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((match.group(1).lower(), match.group(2), skipped, line))
    return blocks


PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
EXAMPLE_PAGES = [
    page
    for page in PAGES
    if any(language == "python" for language, *_ in code_blocks(page.read_text(encoding="utf-8")))
]


def test_the_docs_have_python_examples():
    counts = {page.name: sum(lang == "python" for lang, *_ in code_blocks(page.read_text()))
              for page in PAGES}  # fmt: skip
    assert counts.get("quickstart.md", 0) >= 3, counts
    assert sum(counts.values()) >= 15, counts


def test_code_blocks_are_found_with_their_language_and_skip_marker():
    page = f"Text\n\n{SKIP_MARKER}\n```bash\npip install .\n```\n\n```python\nx = 1\n```\n"
    assert code_blocks(page) == [
        ("bash", "pip install .\n", True, 4),
        ("python", "x = 1\n", False, 8),
    ]


def test_skip_marker_is_only_used_for_shell_or_c_examples():
    misused = [
        f"{page.relative_to(ROOT)}:{line} ({language or 'no language'})"
        for page in PAGES
        for language, _, skipped, line in code_blocks(page.read_text(encoding="utf-8"))
        if skipped and language not in ("bash", "sh", "shell", "console", "c", "text")
    ]
    assert not misused, f"{SKIP_MARKER} before blocks that should run: {misused}"


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=[p.name for p in EXAMPLE_PAGES])
def test_python_examples_run(page, tmp_path, monkeypatch):
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    python = [(code, line) for language, code, _, line in blocks if language == "python"]
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": f"docs_{page.stem}"}
    try:
        for code, line in python:
            try:
                exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
            except ModuleNotFoundError as error:
                if (error.name or "").split(".")[0] not in OPTIONAL_MODULES:
                    raise AssertionError(
                        f"the example at {page.relative_to(ROOT)} line {line} failed: {error!r}"
                    ) from error
                pytest.skip(f"line {line} needs the optional module {error.name}")
            except Exception as error:
                raise AssertionError(
                    f"the example at {page.relative_to(ROOT)} line {line} failed: {error!r}"
                ) from error
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def test_mkdocs_builds_strictly(tmp_path):
    for module in ("mkdocs", "mkdocstrings", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install the 'docs' extra)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "api" / "layers" / "index.html").exists()
