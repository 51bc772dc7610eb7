"""Shared plotting plumbing: matplotlib without a display, one look for a group in every plot, one way to save.

A group keeps its look across all plots of a report: the colour follows its hidden activation,
the line style (or marker) its output layer. Legends sit outside the axes, and a figure that
leaves something out says so on the figure.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actbench.report.labels import header_line
from actbench.results import write_atomic

REPORT_ADVICE = "or write the report elsewhere with --out DIR"  # what a failed write of a report file says

LINE_STYLES = ["-", "--", ":", "-."]
NOTE = "note"  # the gid of a note under a figure, which save() keeps below the figure's legends
MARKERS = ["o", "s", "^", "D", "v", "P"]


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, also on a headless machine
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Path) -> Path:
    _notes_below_legends(figure)
    image = io.BytesIO()
    # bbox_inches="tight" grows the image to hold legends outside the axes and long titles.
    figure.savefig(image, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(figure)
    write_atomic(path, image.getvalue(), REPORT_ADVICE)  # never half a PNG, and a full disk is one line
    return path


def _notes_below_legends(figure: Any) -> None:
    """Hang the notes under the figure (NOTE) below its legend (legend_for_all), each below the one before: a
    figure legend sits at the figure's bottom edge, where the notes would otherwise fall across it."""
    notes = [text for text in figure.texts if text.get_gid() == NOTE]
    if not notes or not figure.legends:
        return
    from matplotlib.text import Annotation

    above = figure.legends[0]
    for note in notes:
        note.remove()
        above = Annotation(
            note.get_text(),
            xy=(0.5, 0),
            xycoords=above,  # placed when drawn, wherever the layout puts what it hangs from
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=note.get_fontsize(),
            color=note.get_color(),
        )
        figure.add_artist(above)


def grid(count: int, columns: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A figure with `count` panels in rows of `columns`; unused panels are hidden."""
    plt = pyplot()
    rows = max(1, -(-count // columns))
    columns = max(1, min(columns, count))
    figure, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for axis in flat[count:]:
        axis.set_visible(False)
    return figure, flat[:count]


class Looks:
    """Colour per hidden activation, line style and marker per output layer, the same in every plot."""

    def __init__(self, summary: pd.DataFrame) -> None:
        plt = pyplot()
        # tab10, then tab20's lighter partners: 20 colours before any repeats; past that the marker changes too.
        colours = [plt.cm.tab10(i) for i in range(10)] + [plt.cm.tab20(2 * i + 1) for i in range(10)]
        hidden = sorted(summary["hidden_activation"].unique()) if not summary.empty else []
        outputs = sorted(summary["output_activation"].unique()) if not summary.empty else []
        self.colour = {name: colours[i % len(colours)] for i, name in enumerate(hidden)}
        self._repeat = {name: i // len(colours) for i, name in enumerate(hidden)}
        self._output = {name: i for i, name in enumerate(outputs)}

    def line(self, hidden: str, output: str) -> dict[str, Any]:
        """Keyword arguments for axis.plot: colour, line style and marker of this group."""
        index = self._output.get(output, 0) + self._repeat.get(hidden, 0)
        return {
            "color": self.colour.get(hidden, "black"),
            "linestyle": LINE_STYLES[index % len(LINE_STYLES)],
            "marker": MARKERS[index % len(MARKERS)],
        }


def title(figure: Any, name: str, what: str, summary: pd.DataFrame, fontsize: float | None = None) -> None:
    """'<experiment>: <what the figure shows>', and below it the settings every group shares."""
    shared = header_line(summary) if not summary.empty else ""
    figure.suptitle(f"{name}: {what}" + (f"\n{shared}" if shared else ""), fontsize=fontsize)


def legend_outside(axis: Any, title: str | None = None, fontsize: int = 8) -> None:
    """The legend to the right of the axes, never over the data (save() makes room for it)."""
    if axis.get_legend_handles_labels()[0]:
        axis.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0,
            fontsize=fontsize,
            title=title,
            title_fontsize=fontsize,
        )


def legend_for_all(figure: Any, axes: list[Any], title: str | None = None, fontsize: float = 9) -> None:
    """One legend for every panel, under them: a group looks the same in every panel, so it is
    named once, in as many columns as the figure's width holds, sorted by name as every legend is."""
    entries: dict[str, Any] = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        return
    labels = sorted(entries)
    # An entry is about 0.6 em per character, plus the line sample and the gaps around it (about 4 em).
    entry_points = fontsize * (0.6 * max(map(len, labels)) + 4)
    fit = max(1, int(figure.get_figwidth() * 72 // entry_points))
    rows = -(-len(labels) // fit)
    columns = -(-len(labels) // rows)  # as many rows as the width needs, the entries spread evenly over them
    figure.legend(
        [entries[label] for label in labels],
        labels,
        # Hung below the figure's edge, outside the constrained layout: save() grows the image to hold it, and the
        # notes under the figure hang below it in turn (a legend placed inside the layout moves when the image grows).
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=columns,
        fontsize=fontsize,
        title=title,
        title_fontsize=fontsize,
    )


def shared_lines(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with the plot line each belongs to: `line`, the group's label, except that groups of one block
    which scored alike on every seed (the same test accuracy, the same loss up to float rounding; e.g. a sigmoid
    output and a linear one under the same binary cross-entropy: one network, its output read two ways) share
    one line named 'a = b', so that one curve never hides another. `first`: the run is of the set's first group
    (the one drawn where each group would repeat the same curve); `outputs`: the set's output layers.
    Lines sort by name, which is the order of every legend."""
    sets: list[tuple[Any, list[Any], pd.DataFrame]] = []  # per block, in label order: its sets of groups
    for (block, label), group in runs.groupby(["block", "label"], sort=True):
        scores = group.sort_values("seed")[["seed", "test_accuracy", "test_loss"]].reset_index(drop=True)
        same = next((s for s in sets if s[0] == block and _alike(s[2], scores)), None)
        if same is None:
            sets.append((block, [label], scores))
        else:
            same[1].append(label)
    line, first, outputs = {}, {}, {}
    for block, labels, _ in sets:
        same = runs[(runs["block"] == block) & runs["label"].isin(labels)]
        for label in labels:
            line[(block, label)] = _joined(labels)
            first[(block, label)] = label == labels[0]
            outputs[(block, label)] = " = ".join(dict.fromkeys(same.sort_values("label")["output_activation"]))
    keys = list(zip(runs["block"], runs["label"]))
    return runs.assign(line=[line[k] for k in keys], first=[first[k] for k in keys], outputs=[outputs[k] for k in keys])


def _joined(labels: list[str]) -> str:
    """'relu -> linear (1 unit)' and 'relu -> sigmoid (1 unit)' -> 'relu -> linear = sigmoid (1 unit)': what they
    share is said once, around what differs."""
    words = [label.split(" ") for label in labels]
    lead = len(os.path.commonprefix(words))  # noqa: RUF071 - lists of words: compared word by word, as wanted
    tail = len(os.path.commonprefix([w[::-1] for w in words]))  # noqa: RUF071 - as above
    middles = [w[lead : len(w) - tail] for w in words]
    if len(labels) == 1 or not all(middles):
        return " = ".join(labels)
    return " ".join([*words[0][:lead], " = ".join(" ".join(m) for m in middles), *words[0][len(words[0]) - tail :]])


def _alike(one: pd.DataFrame, other: pd.DataFrame) -> bool:
    """The same seeds, accuracies and losses: equal but for float32 rounding (a logit's loss and a probability's
    differ in the 7th digit)."""
    if one.isna().any().any() or other.isna().any().any() or len(one) != len(other):
        return False
    return bool(
        (one["seed"] == other["seed"]).all()
        and np.allclose(one["test_accuracy"], other["test_accuracy"], rtol=0, atol=1e-9)
        and np.allclose(one["test_loss"], other["test_loss"], rtol=1e-5, atol=1e-7)
    )


def shared_note(figure: Any, lines: pd.DataFrame) -> None:
    """Say on the figure that an 'a = b' line stands for several groups."""
    if (~lines["first"]).any():
        figure.text(
            0.5,
            -0.01,
            "a = b: groups that scored alike on every seed (the same test accuracy and loss), drawn as one",
            ha="center",
            va="top",
            fontsize=9,
            gid=NOTE,
        )


def left_out_note(figure: Any, shown: int, total: int, what: str) -> None:
    """Say on the figure itself what it does not show."""
    if total > shown:
        figure.text(
            0.5,
            -0.01,
            f"showing {shown} of {total} {what}; {total - shown} left out "
            "(report --filter ... --out DIR draws a view of the others)",
            ha="center",
            va="top",
            fontsize=10,
            color="darkred",
            gid=NOTE,
        )
