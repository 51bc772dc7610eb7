"""How often `actbench report` calls an activation "worse" when it is not, and how often it finds a real difference.

    python benchmarks/bench_verdicts.py [--blocks 2000] [--seed 0]

Simulated blocks of k groups x n seeds, drawn as sweeps behave (actbench/verdict_simulation.py):
a seed offset shared by every group of the block (90% of a run's variance, as on short sweeps
where ReLU and Leaky ReLU correlated +0.98 across seeds) plus own noise 1x to 3x between groups.
Columns:

  false "worse"     all groups truly equal: share of blocks with at least one "worse" verdict
                    (target <= 5%); the report's procedure (paired t, Holm over all pairs)
  power paired      one group truly lower by 1 (and 2) standard deviations of a run: share of
                    blocks where the report calls it "worse"
  power Welch       the same numbers analysed without the pairing (Welch), as before, 1 SD
  before            the procedure the report used before (Welch of each group against the top,
                    uncorrected), false "worse" with all groups equal and independent noise
                    (no seed offset, as the issue simulated it; the offset would hide its
                    errors behind Welch's wider spread). The report's own rate is the same
                    with or without the offset: a paired difference cancels it exactly.
  Holm vs top       paired t with Holm over only the k-1 comparisons with the top, false "worse":
                    why every pair must be in the family (the top is chosen from the same numbers)

The same --seed gives the same numbers; tests/test_stats.py runs a small version of this.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as scipy_stats

from actbench import stats
from actbench.verdict_simulation import simulate

CORRELATION, NOISE_RATIO, EFFECTS = 0.9, 3.0, (1.0, 2.0)


def before(values: np.ndarray) -> np.ndarray:
    """The old report: the top by mean, Welch's t of every other group against it, p < 0.05 is "worse"."""
    top = int(np.argmax(values.mean(axis=1)))
    p = np.array(
        [
            scipy_stats.ttest_ind(values[top], row, equal_var=False).pvalue if i != top else 1.0
            for i, row in enumerate(values)
        ]
    )
    return p < stats.ALPHA


def holm_against_top(values: np.ndarray) -> np.ndarray:
    """Paired t of every group against the top, Holm over those k-1 tests only."""
    top = int(np.argmax(values.mean(axis=1)))
    others = [i for i in range(len(values)) if i != top]
    p = np.array([scipy_stats.ttest_rel(values[top], values[i]).pvalue for i in others])
    called = np.zeros(len(values), dtype=bool)
    called[others] = stats.holm(p) < stats.ALPHA
    return called


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    common = {"correlation": CORRELATION, "blocks": args.blocks, "noise_ratio": NOISE_RATIO}
    print(
        f"{args.blocks} blocks per row; seed offset {CORRELATION:.0%} of a run's variance; own noise 1x-{NOISE_RATIO:g}x; "
        f"a 5% rate is estimated within ±{3 * (0.05 * 0.95 / args.blocks) ** 0.5:.1%} (3 SE)"
    )
    print(
        '| k | n | false "worse" | power paired, 1 SD | power paired, 2 SD | power Welch, 1 SD '
        '| before: false "worse" | Holm vs top: false "worse" |'
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in (2, 5, 10, 20):
        for n in (2, 3, 5, 10):
            seed = args.seed * 1000 + 10 * k + n
            null = simulate(k, n, seed=seed, **common)
            powers = [simulate(k, n, effect=effect, worse=1, seed=seed, **common).power for effect in EFFECTS]
            welch = simulate(k, n, effect=EFFECTS[0], worse=1, paired=False, seed=seed, **common)
            old = simulate(k, n, seed=seed, method=before, **{**common, "correlation": 0.0})
            top_only = simulate(k, n, seed=seed, method=holm_against_top, **common)
            print(
                f"| {k} | {n} | {null.false_rate:.1%} | {powers[0]:.0%} | {powers[1]:.0%} | {welch.power:.0%} "
                f"| {old.false_rate:.1%} | {top_only.false_rate:.1%} |",
                flush=True,
            )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
