"""The documentation: every ```python block in docs/*.md and README.md runs, and the site
builds strictly.

Blocks of one page run in order in one shared namespace, inside a temporary working directory
(so files the examples save land there, and modules they write can be imported, as from a
script run in that directory). A block may be skipped only if it is not Python (a shell or C
example) and the line before its fence is ``<!-- skip-test -->``. A page whose example needs an
optional extra that is not installed (matplotlib, ONNX, Numba, PyTorch, mpi4py) is skipped from
there on.
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
OPTIONAL_MODULES = {"matplotlib", "onnx", "onnxruntime", "numba", "torch", "mpi4py"}
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


# ---- shell commands: each runs a program that the block's own `pip install` installed ----
#: A documented program -> the distribution that installs it ("jupyter lab" before "jupyter").
COMMAND_PROVIDERS = {
    "jupyter lab": "jupyterlab",
    "jupyter notebook": "notebook",
    "jupyter": "jupyter-core",
    "pytest": "pytest",
    "ruff": "ruff",
    "mkdocs": "mkdocs",
}
EXTRAS = re.compile(r"\.\[([\w,-]+)\]")


def requirement_name(requirement):
    """``"mkdocstrings[python]>=0.24"`` -> ``"mkdocstrings"`` (normalized as pip does)."""
    for stop in "[<>=!~; ":
        requirement = requirement.split(stop)[0]
    return requirement.strip().lower().replace("_", "-")


def installed_by_extras(extras, table):
    """Every distribution that ``pip install ".[extras]"`` brings, following tinynn[...]."""
    names, todo = {"tinynn"}, list(extras)
    while todo:
        for requirement in table[todo.pop()]:
            names.add(requirement_name(requirement))
            if requirement.startswith("tinynn["):
                todo += EXTRAS.search(requirement.replace("tinynn", ".", 1)).group(1).split(",")
    return names


def shell_commands(code):
    """The commands of a shell block, comments dropped, ``&&`` chains split."""
    for line in code.splitlines():
        line = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
        yield from (part.strip() for part in line.split("&&") if part.strip())


def provider(command):
    for program, distribution in COMMAND_PROVIDERS.items():
        if command == program or command.startswith(program + " "):
            return distribution
    return None


def test_documented_commands_run_only_what_the_documented_install_brings():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    table = table["optional-dependencies"]
    problems, checked = [], 0
    for page in PAGES:
        for language, code, _, line in code_blocks(page.read_text(encoding="utf-8")):
            commands = list(shell_commands(code)) if language in ("bash", "sh", "shell") else []
            installs = [c for c in commands if c.startswith("pip install")]
            if not installs:
                continue
            extras = [name for c in installs for m in EXTRAS.findall(c) for name in m.split(",")]
            unknown = sorted(set(extras) - set(table))
            assert not unknown, f"{page.name}:{line} installs unknown extras {unknown}"
            installed = installed_by_extras(extras, table)
            installed |= {requirement_name(word) for c in installs for word in c.split()[2:]}
            for command in commands:
                needed = provider(command)
                checked += needed is not None
                if needed and needed not in installed:
                    problems.append(f"{page.name}:{line}: {command!r} needs {needed}")
    assert checked, "no documented command was checked"
    assert not problems, problems
