"""How often the report's overall section claims that activations differ when they are one activation under
several names, and how often it finds an activation that is one rank worse.

    python benchmarks/bench_ranks.py [--studies 2000] [--seed 0]

Simulated studies of k activations over a number of blocks (actbench/rank_simulation.py): each block's
scores independent draws of one distribution (the null), or with the last activation lowered so that
its expected average rank is one rank behind the others' (the planted difference). Columns:

  claims a difference   null: share of studies whose Friedman test rejects, i.e. where the section
                        says the activations differ (target <= 5%); the section's permutation p
  names one worse       null: share of studies that name an activation "worse" than the best
                        (Friedman, then Nemenyi's critical difference)
  power, one rank       planted: share of studies naming the planted activation "worse"
  power, Wilcoxon-Holm  the same studies with the post-hoc the section does not use: Wilcoxon
                        signed-rank tests of every pair on the blocks' scores, Holm over all pairs
                        (as hfawaz/cd-diagram), after the same Friedman test
  chi-square claims     null: the Friedman test with scipy's chi-square p (friedmanchisquare), which
                        the section does not use: why its p is a permutation p

The same --seed gives the same numbers; tests/test_rank_stats.py runs a small version of this.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats as scipy_stats

from actbench.rank_simulation import draw_studies, one_rank_effect, simulate
from actbench.rank_stats import Design, rank_verdicts
from actbench.stats import ALPHA, holm

ACTIVATIONS = (2, 3, 5, 10, 20)
BLOCKS = (6, 8, 12, 20)


def wilcoxon_holm_power(k: int, blocks: int, studies: int, seed: int) -> float:
    """Share of planted studies where, after the section's Friedman test rejects, Wilcoxon-Holm over all
    pairs separates the planted (last) activation from the one with the best average rank."""
    design = Design.of(k, blocks)
    first, second = np.triu_indices(k, 1)
    found = 0
    for scores in draw_studies(k, blocks, studies, one_rank_effect(k), seed):
        verdicts = rank_verdicts(scores, design)
        if not verdicts.rejected:
            continue
        p = np.array([scipy_stats.wilcoxon(scores[:, a] - scores[:, b]).pvalue for a, b in zip(first, second)])
        separated = holm(p) < ALPHA
        best, planted = verdicts.best, k - 1
        pair = ((first == best) & (second == planted)) | ((first == planted) & (second == best))
        found += bool(np.any(separated & pair))  # no such pair where the planted one ranks best
    return found / studies


def chi_square_claims(k: int, blocks: int, studies: int, seed: int) -> float:
    """Share of null studies where scipy's chi-square Friedman p is below 5% (it needs 3 activations)."""
    if k < 3:
        return math.nan
    rejected = sum(
        scipy_stats.friedmanchisquare(*scores.T).pvalue < ALPHA for scores in draw_studies(k, blocks, studies, 0, seed)
    )
    return rejected / studies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"{args.studies} studies per row and column; a 5% rate is estimated within "
        f"±{3 * (0.05 * 0.95 / args.studies) ** 0.5:.1%} (3 SE); one rank: k = 2 loses every block"
    )
    print(
        "| k | blocks | claims a difference | names one worse | power, one rank | power, Wilcoxon-Holm "
        "| chi-square claims |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in ACTIVATIONS:
        for blocks in BLOCKS:
            seed = args.seed * 1000 + 10 * k + blocks
            null = simulate(k, blocks, args.studies, seed=seed)
            planted = simulate(k, blocks, args.studies, effect=one_rank_effect(k) if k > 2 else math.inf, seed=seed)
            wilcoxon = wilcoxon_holm_power(k, blocks, args.studies, seed) if k > 2 else math.nan
            chi = chi_square_claims(k, blocks, args.studies, seed)
            print(
                f"| {k} | {blocks} | {null.claims:.1%} | {null.false_worse:.1%} | {planted.power:.0%} "
                f"| {_share(wilcoxon, '.0%')} | {_share(chi, '.1%')} |",
                flush=True,
            )
    print(f"({time.perf_counter() - started:.0f} s)")


def _share(value: float, digits: str) -> str:
    return "-" if math.isnan(value) else f"{value:{digits}}"


if __name__ == "__main__":
    main()
