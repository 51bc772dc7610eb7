"""How often a tuned comparison calls an activation "worse" when it is not, and what judging on the tuning scores does.

    python benchmarks/bench_tuning.py [--blocks 2000] [--seed 0]

Simulated blocks of k candidates (actbench/tuning_simulation.py), each tuned over a grid of values
with T tuning seeds (stage 1: the value with the best mean validation score) and judged by the
report's verdicts either on n fresh seeds at that value (stage 2, the protocol) or on the T tuning
scores that chose it (what the protocol avoids). Runs as bench_verdicts draws them: a seed offset
shared by every run of a seed (90% of a run's variance unless said), own noise 1x to 3x between
candidates (the last the noisiest). Every candidate's mean score follows one curve over the grid:
best at the second value, `gap` run SDs lower for each step away from it. Three tables:

  flat curve        every value equally good for everyone: a null study with nothing to miss, only
                    the winner's curse. False "worse": share of blocks with at least one "worse"
                    (target <= 5%). Noisiest "best": share of blocks where the noisiest candidate is
                    called best (all are equal). Optimism: a candidate's judged mean score less its
                    true score at its chosen value, run SDs, steadiest / noisiest
  peaked curve      k = 3, n = 5: neighbouring values `gap` apart, so tuning can miss. Missed: share
                    of candidates whose choice is truly below their best value. False "worse": as
                    above (every candidate is as good as the others at every value); as tuned: only
                    "worse" verdicts on a candidate whose choice is truly as good as any other's
  planted           k = 3, 4 values, T = 2: the noisiest candidate truly lower by `effect` at every
                    value. Power: share of blocks where it is called "worse"; false "worse": one of
                    the two equal ones called "worse"

Rates are printed with their 95% (Wilson) intervals. The same --seed gives the same numbers;
tests/test_tuning_simulation.py runs a small version of this.
"""

from __future__ import annotations

import argparse
import itertools
import time

from scipy import stats as scipy_stats

from actbench.tuning_simulation import TunedDesign, TuningResult, simulate_tuning

FLAT = [(k, tuning, final) for k in (2, 3, 5) for tuning, final in ((2, 3), (2, 5), (3, 5), (5, 5))]
GAPS = (0.1, 0.25, 0.5, 1.0, 2.0)
PEAKED = [
    *((values, tuning, 0.9) for values, tuning in ((4, 2), (4, 3), (3, 2))),
    (4, 2, 0.5),  # a weaker seed offset: more own noise, so tuning misses at larger gaps
]
PLANTED = [(final, gap, effect) for final, gap in ((3, 0.0), (5, 0.0), (5, 0.5)) for effect in (0.5, 1.0, 2.0)]


def rate(share: float, blocks: int) -> str:
    """A share with its 95% Wilson interval: `5.0% (4.1-6.0)`."""
    interval = scipy_stats.binomtest(round(share * blocks), blocks).proportion_ci(method="wilson")
    return f"{share:.1%} ({100 * interval.low:.1f}-{100 * interval.high:.1f})"


def optimism(result: TuningResult, fresh: bool) -> str:
    judged = result.protocol if fresh else result.on_tuning_scores
    return f"{judged.optimism[0]:+.2f} / {judged.optimism[-1]:+.2f}"


def table(header: list[str]) -> None:
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |", flush=True)


def row(cells: list[object]) -> None:
    print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started, blocks, seeds = time.perf_counter(), args.blocks, itertools.count(args.seed * 1000)
    largest_se = 0.0

    def run(design: TunedDesign) -> TuningResult:
        nonlocal largest_se
        result = simulate_tuning(design, blocks, seed=next(seeds))
        for judged in (result.protocol, result.on_tuning_scores):
            largest_se = max(largest_se, float(judged.optimism_se.max()))
        return result

    print(
        f"{blocks} blocks per row; own noise 1x-3x between candidates; "
        f"a 5% rate is estimated within ±{3 * (0.05 * 0.95 / blocks) ** 0.5:.1%} (3 SE)\n"
    )
    print("Flat curve: 4 values, every one equally good for every candidate; seed offset 90% of a run's variance")
    table(
        [
            "k",
            "T",
            "n",
            'false "worse": fresh seeds',
            'false "worse": tuning scores',
            'noisiest "best": fresh seeds',
            'noisiest "best": tuning scores',
            "optimism: fresh seeds",
            "optimism: tuning scores",
        ]
    )
    for k, tuning, final in FLAT:
        result = run(TunedDesign(k=k, values=4, tuning_seeds=tuning, seeds=final))
        fresh, reused = result.protocol, result.on_tuning_scores
        row(
            [
                k,
                tuning,
                final,
                rate(fresh.false_rate, blocks),
                rate(reused.false_rate, blocks),
                rate(fresh.noisiest_best, blocks),
                rate(reused.noisiest_best, blocks),
                optimism(result, fresh=True),
                optimism(result, fresh=False),
            ]
        )

    print("\nPeaked curve: k = 3, n = 5; each step away from the best value `gap` run SDs lower")
    table(
        [
            "values",
            "T",
            "seed offset",
            "gap",
            "missed",
            'false "worse": fresh seeds',
            'false "worse" as tuned: fresh seeds',
            'false "worse": tuning scores',
        ]
    )
    for (values, tuning, correlation), gap in itertools.product(PEAKED, GAPS):
        design = TunedDesign(k=3, values=values, tuning_seeds=tuning, seeds=5, correlation=correlation, gap=gap)
        result = run(design)
        row(
            [
                values,
                tuning,
                f"{correlation:.0%}",
                gap,
                f"{result.missed:.0%}",
                rate(result.protocol.false_rate, blocks),
                rate(result.protocol.false_as_tuned, blocks),
                rate(result.on_tuning_scores.false_rate, blocks),
            ]
        )

    print("\nPlanted difference: k = 3, 4 values, T = 2; the noisiest candidate `effect` run SDs lower at every value")
    table(["n", "gap", "effect", "power: fresh seeds", "power: tuning scores", 'false "worse": fresh seeds'])
    for final, gap, effect in PLANTED:
        result = run(TunedDesign(k=3, values=4, tuning_seeds=2, seeds=final, gap=gap, effect=effect))
        row(
            [
                final,
                gap,
                effect,
                rate(result.protocol.power, blocks),
                rate(result.on_tuning_scores.power, blocks),
                rate(result.protocol.false_rate, blocks),
            ]
        )
    print(f"\n(optimism's largest standard error {largest_se:.3f} run SDs; {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
