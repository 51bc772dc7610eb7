"""tuning.png: a tuned experiment's validation score against the tuned setting, per candidate, per block.

Each candidate (its colour as in every other plot) is a line over the values it was tuned at, each point
its mean over the tuning seeds with their spread (±1 sd), its chosen value circled: the sensitivity a
reader wants to see beside the verdicts. A learning rate (or any setting spanning a factor of ten or
more) is on a log axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actbench.report.figure import Looks, grid, legend_for_all, save
from actbench.report.tuning import Tuned


def tuning_figure(tuned: Tuned, looks: Looks, name: str, path: Path) -> Path | None:
    """The figure, or None where no value is a number (a tuned preprocessing, say: the table says it)."""
    values = tuned.values.dropna(subset=["number"])
    if values.empty:
        return None
    blocks = list(dict.fromkeys(values["block_id"]))
    labels = tuned.choices.drop_duplicates("block_id").set_index("block_id")["block_label"]
    figure, axes = grid(len(blocks), min(3, len(blocks)), 5.0, 3.6)
    for axis, block in zip(axes, blocks):
        in_block = values[values["block_id"] == block]
        for (label, hidden), candidate in in_block.groupby(["label", "hidden"], sort=True):
            candidate = candidate.sort_values("number")
            finite = candidate[np.isfinite(candidate["mean"])]
            style = looks.line(str(hidden), "")
            axis.errorbar(
                finite["number"], finite["mean"], yerr=finite["sd"].fillna(0.0), capsize=3, label=str(label), **style
            )
            chosen = finite[finite["chosen"]]
            axis.scatter(
                chosen["number"], chosen["mean"], s=160, facecolors="none", edgecolors=style["color"], linewidths=2
            )
        numbers = in_block["number"].astype(float)
        if (numbers > 0).all() and numbers.max() / numbers.min() >= 10:
            axis.set_xscale("log")
        axis.set_xlabel(", ".join(setting.rsplit(".", 1)[-1] for setting in tuned.settings))
        axis.set_ylabel(f"{tuned.score} ({'lower' if tuned.lower_is_better else 'higher'} is better)")
        axis.set_title(str(labels.get(block, "")) or name, fontsize=10)
        axis.grid(True, alpha=0.3)
    legend_for_all(figure, axes)
    seeds = len(tuned.tuning_seeds)
    figure.suptitle(
        f"{name}: validation {tuned.score} at each tuned value (mean ± sd over {seeds} tuning seeds; circled: chosen)",
        fontsize=11,
    )
    return save(figure, path)
