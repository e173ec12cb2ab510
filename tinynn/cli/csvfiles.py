"""Reading and writing the CSV files the command line works with (stdlib ``csv``, no pandas).

Two shapes of file come in:

* a labelled table for ``tinynn train --dataset csv``: a header row naming the columns, one
  label column (any text: ``3``, ``cat``, …) and numeric feature columns;
* a feature table for ``tinynn predict``: numeric columns only, with an optional header.

Every problem (a missing column, a cell that is not a number, rows of different lengths)
raises ``ValueError`` naming the file, the line and the cell, so the command can print it as
one line.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np


def read_rows(path: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of ``path`` as ``(line number, stripped cells)`` pairs."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no CSV file at {path!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [
                (number, [cell.strip() for cell in row])
                for number, row in enumerate(csv.reader(stream), start=1)
                if any(cell.strip() for cell in row)
            ]
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{path!r} is not a readable text CSV file: {error}") from None
    if not rows:
        raise ValueError(f"{path!r} is empty; expected rows of comma-separated numbers")
    return rows


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _to_float(path: str, line: int, column: str, cell: str) -> float:
    """One cell as a finite float, or a ValueError that says where the bad cell is."""
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise ValueError(f"{path!r} line {line}, column {column}: {cell!r} is not a finite number")
    return value


def _numeric_matrix(path: str, rows: list[tuple[int, list[str]]], names: list[str]) -> np.ndarray:
    """Rows of numeric cells as a float64 (n_rows, n_columns) array; every row as wide."""
    matrix = np.empty((len(rows), len(names)), dtype=np.float64)
    for i, (line, cells) in enumerate(rows):
        if len(cells) != len(names):
            raise ValueError(
                f"{path!r} line {line} has {len(cells)} values; expected {len(names)} "
                "(the same number as the first row)"
            )
        for j, cell in enumerate(cells):
            matrix[i, j] = _to_float(path, line, names[j], cell)
    return matrix


def read_features(path: str, drop_column: str | None = None) -> tuple[list[str] | None, np.ndarray]:
    """A table of numbers with an optional header: ``(header or None, x (n_rows, n_cols))``.

    The first row is a header when any of its cells is not a number. If the header holds
    ``drop_column`` (the label column a model was trained with), that column is ignored, so
    a training file can be passed straight to ``predict``.
    """
    rows = read_rows(path)
    first = rows[0][1]
    header = None if all(_is_number(cell) for cell in first) else first
    if header is not None:
        rows = rows[1:]
        if not rows:
            raise ValueError(f"{path!r} has a header but no data rows")
    names = header or [str(j + 1) for j in range(len(first))]
    if header is not None and drop_column is not None and drop_column in header:
        keep = [j for j, name in enumerate(header) if name != drop_column]
        rows = [(line, [cells[j] for j in keep if j < len(cells)]) for line, cells in rows]
        names = [header[j] for j in keep]
    return header, _numeric_matrix(path, rows, names)


def _label_sort_key(label: Any) -> tuple[int, Any]:
    return (0, label) if isinstance(label, int) else (1, str(label))


def read_labelled(
    path: str, label_column: str, classes: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """A training table: ``(x (n, n_features) float64, y (n,) int64, classes)``.

    Labels that all look like integers are kept as ints and sorted numerically; other
    labels are sorted as text. Class index k means ``classes[k]``. Pass the ``classes`` a
    model was trained with to map a new file onto the same indices (an unseen label is an
    error).
    """
    rows = read_rows(path)
    header = rows[0][1]
    if label_column not in header:
        raise ValueError(
            f"{path!r} has no column named {label_column!r}; its header is {header} "
            "(choose the label column with --label-column)"
        )
    if header.count(label_column) > 1:
        raise ValueError(f"{path!r} has more than one column named {label_column!r}")
    if len(header) < 2:
        raise ValueError(f"{path!r} has only the label column; expected feature columns too")
    label_at = header.index(label_column)
    body = rows[1:]
    if not body:
        raise ValueError(f"{path!r} has a header but no data rows")
    labels = []
    features = []
    for line, cells in body:
        if len(cells) != len(header):
            raise ValueError(
                f"{path!r} line {line} has {len(cells)} values; the header has {len(header)}"
            )
        if not cells[label_at]:
            raise ValueError(f"{path!r} line {line}: the {label_column!r} cell is empty")
        labels.append(cells[label_at])
        features.append((line, cells[:label_at] + cells[label_at + 1 :]))
    names = header[:label_at] + header[label_at + 1 :]
    x = _numeric_matrix(path, features, names)

    if all(_is_integer_text(label) for label in labels):
        values: list[Any] = [int(label) for label in labels]
    else:
        values = labels
    if classes is None:
        classes = sorted(set(values), key=_label_sort_key)
    index = {_label_sort_key(label): k for k, label in enumerate(classes)}
    y = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        k = index.get(_label_sort_key(value))
        if k is None:
            raise ValueError(
                f"{path!r} line {body[i][0]}: label {value!r} is not one of the model's "
                f"classes {list(classes)}"
            )
        y[i] = k
    return x, y, list(classes)


def _is_integer_text(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit()


def write_predictions(
    path: str | None,
    labels: Sequence[Any],
    probabilities: np.ndarray | None,
    classes: Sequence[Any],
) -> str:
    """CSV text with a ``prediction`` column (and ``p_<class>`` columns if given).

    Written to ``path`` when it is not None; always returned.
    """
    header = ["prediction"]
    if probabilities is not None:
        header += [f"p_{label}" for label in classes]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i, label in enumerate(labels):
        cells = [str(label)]
        if probabilities is not None:
            cells += [f"{p:.6f}" for p in probabilities[i]]
        writer.writerow(cells)
    text = buffer.getvalue()
    if path is not None:
        with open(path, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
    return text
