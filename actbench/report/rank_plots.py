"""ranks.png: the critical-difference diagram of the overall section, and each block's ranks as a heatmap.

The diagram is scikit-posthocs' `critical_difference_diagram` (Demšar's figure): average ranks on an
axis, 1 (best) at the left, and a bar joining each largest set of activations the test cannot separate
(all of them where the Friedman test did not reject, or where the blocks are too few to test). The
heatmap below shows what the averages come from: blocks as rows, activations as columns in the
diagram's order, each cell the rank in that block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actbench.report.figure import pyplot, save
from actbench.report.ranks import Overall, p_phrase


def ranks_figure(overall: Overall, path: Path) -> Path:
    import scikit_posthocs  # imports matplotlib, seaborn and statsmodels: only when drawing

    plt = pyplot()
    verdicts = overall.verdicts
    assert verdicts is not None  # drawn only where activations were ranked
    table = overall.table()
    k, blocks = len(overall.labels), verdicts.blocks
    label_width = max(len(label) for label in overall.settings)
    width = max(8.0, 0.45 * k + 0.075 * label_width + 2.5)
    diagram_height = 1.2 + 0.28 * ((k + 1) // 2 + 2)
    heatmap_height = 1.6 + 0.32 * blocks
    figure, (diagram, heatmap) = plt.subplots(
        2,
        1,
        figsize=(width, diagram_height + heatmap_height),
        gridspec_kw={"height_ratios": [diagram_height, heatmap_height]},
        layout="constrained",
    )
    order = list(table["label"])
    average = pd.Series(verdicts.average, index=overall.labels)
    # scikit-posthocs joins pairs whose p is at least alpha: 1 where the data do not separate them, 0 where they do.
    joined = pd.DataFrame(np.where(verdicts.separated, 0.0, 1.0), index=overall.labels, columns=overall.labels)
    scikit_posthocs.critical_difference_diagram(
        average,
        joined,
        ax=diagram,
        label_fmt_left="{label} ({rank:.2f})",
        label_fmt_right="({rank:.2f}) {label}",
        label_props={"fontsize": 9},
        crossbar_props={"color": "black", "linewidth": 2.5},
    )
    diagram.set_xlim(0.8, k + 0.2)
    diagram.set_xticks(range(1, k + 1, 1 if k <= 20 else 2))  # whole ranks
    diagram.set_title(_diagram_title(overall), fontsize=10)
    _heatmap(heatmap, overall.block_ranks()[order], k)
    figure.suptitle(f"{overall.scope}: which {overall.what} ranks best overall", fontsize=12)
    return save(figure, path)


def _diagram_title(overall: Overall) -> str:
    verdicts = overall.verdicts
    assert verdicts is not None
    count = f"{len(overall.settings)} blocks"
    if not verdicts.conclusive:
        return f"average rank over {count}: too few blocks to test, so none is separated"
    if not verdicts.rejected:
        return f"average rank over {count}; Friedman {p_phrase(verdicts.p_value)}: the data separate none (one bar)"
    return (
        f"average rank over {count}; Friedman {p_phrase(verdicts.p_value)}; "
        f"bars join what Nemenyi cannot separate (CD = {verdicts.critical_difference:.2f})"
    )


def _heatmap(axis: Any, ranks: pd.DataFrame, k: int) -> None:
    """Ranks as colours (dark: first) with the number in each cell."""
    axis.imshow(ranks.to_numpy(), cmap="viridis", vmin=1, vmax=max(k, 2), aspect="auto")
    axis.set_xticks(range(k), ranks.columns, rotation=40, ha="right", fontsize=9)
    axis.set_yticks(range(len(ranks)), ranks.index, fontsize=9)
    for (row, column), rank in np.ndenumerate(ranks.to_numpy()):
        axis.text(
            column,
            row,
            f"{rank:g}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if rank < (k + 1) / 2 else "black",
        )
    axis.set_title("rank in each block (1 = highest mean test accuracy there; darker is better)", fontsize=10)
