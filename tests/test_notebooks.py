"""The teaching notebooks: each runs top to bottom without errors, and is stored with its outputs
and a closing "Try this" section.

Execution needs nbclient and a Jupyter kernel (ipykernel); without them those tests skip.
"""

import importlib.util
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
TIMEOUT_SECONDS = 120  # per notebook; each takes a few seconds on two cores

nbformat = pytest.importorskip("nbformat")


def test_all_ten_notebooks_are_there():
    names = [path.stem for path in NOTEBOOKS]
    assert [name[:2] for name in names] == [f"{i:02}" for i in range(1, 11)], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stored_with_outputs_and_exercises(path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook without code"
    unexecuted = [i for i, cell in enumerate(code_cells) if cell.execution_count is None]
    assert not unexecuted, f"code cells {unexecuted} are stored without being run"
    assert any(cell.outputs for cell in code_cells), "stored without outputs"
    errors = [o for cell in code_cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"stored with an error output: {errors[0].get('ename')}"
    last = notebook.cells[-1]
    assert last.cell_type == "markdown" and "## Try this" in last.source, "no closing 'Try this'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_hides_no_warnings(path):
    """A reader should see what a plain run shows; a filter would hide it (and it was only
    ever there for a tqdm warning that tinynn no longer triggers)."""
    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert not [source for source in sources if "filterwarnings" in source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    for module in ("nbclient", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed; it is needed to execute notebooks")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # files a notebook writes land here
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}")
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors, f"{path.name} produced an error: {errors[0].get('ename')}"
    warnings = [
        output.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr" and "Warning" in output.text
    ]
    assert not warnings, f"{path.name} printed a warning: {warnings[0]}"
