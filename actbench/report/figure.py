"""Shared plotting plumbing: matplotlib without a display, and one way to save a figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, also on a headless machine
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    return path


def grid(count: int, columns: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A figure with `count` panels in rows of `columns`; unused panels are hidden."""
    plt = pyplot()
    rows = max(1, -(-count // columns))
    columns = max(1, min(columns, count))
    figure, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for axis in flat[count:]:
        axis.set_visible(False)
    return figure, flat[:count]


def group_label(row: Any) -> str:
    return f"{row.hidden_activation} -> {row.output_activation}"
