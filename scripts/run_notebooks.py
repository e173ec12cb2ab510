"""Execute notebooks top to bottom and store them with their fresh outputs.

    python scripts/run_notebooks.py                       # every notebook
    python scripts/run_notebooks.py notebooks/06_*.ipynb  # some

Run it after changing a notebook or the code it shows, so the outputs a reader sees on GitHub
are the ones the code gives today. Needs the ``notebooks`` extra (nbclient, ipykernel).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.paths or sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        nbformat.write(notebook, path)
        print(f"ran {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
