"""How often the report's overall section claims a difference between activations that are the same, and how
often it finds one that is there: a simulation.

A study is a (blocks x k) table of scores, one per block and activation, as the section ranks them.
Under the null every column is the same activation under another name: each block's scores are
independent draws of one distribution, so every ordering of the activations is equally likely.
A planted difference lowers the last activation by `one_rank_effect(k)`, the shift that puts its
expected average rank one rank behind the others'. Each study goes through
`rank_stats.rank_verdicts`, the code the report runs. The test suite runs a small version,
benchmarks/bench_ranks.py a large one; the same seed gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from actbench.rank_stats import Design, rank_verdicts
from actbench.stats import ALPHA


@dataclass(frozen=True)
class RankSimulationResult:
    studies: int
    claims: float  # share of studies where the section says the activations differ (Friedman rejects)
    false_worse: float  # share of studies naming a truly-equal activation "worse" than the best
    power: float  # share of studies naming the planted activation "worse" (NaN without one)

    @property
    def tolerance(self) -> float:
        """Three binomial standard errors of a 5% rate estimated from this many studies."""
        return 3 * math.sqrt(ALPHA * (1 - ALPHA) / self.studies)


def one_rank_effect(k: int) -> float:
    """The shift (in standard deviations of a score) that puts one activation's expected average rank one
    rank behind the other k - 1's: another beats it with probability 1/2 + 1/k. Infinite for k = 2 (there,
    one rank is the whole range: it loses every block)."""
    return math.sqrt(2) * float(stats.norm.ppf(0.5 + 1 / k))


def draw_studies(k: int, blocks: int, studies: int, effect: float = 0.0, seed: int = 0) -> Iterator[np.ndarray]:
    """`studies` tables of blocks x k independent standard normal scores, the last column `effect` lower."""
    rng = np.random.default_rng(seed)
    lower = np.where(np.arange(k) == k - 1, effect, 0.0) if effect else np.zeros(k)
    for _ in range(studies):
        yield rng.normal(size=(blocks, k)) - lower


def simulate(k: int, blocks: int, studies: int, effect: float = 0.0, seed: int = 0) -> RankSimulationResult:
    """Run the report's overall comparison over drawn studies; `effect` > 0 plants one worse activation."""
    design = Design.of(k, blocks)  # what rank_verdicts would prepare for each study: made once
    planted = effect > 0
    claims = false_worse = found = 0
    for scores in draw_studies(k, blocks, studies, effect, seed):
        verdicts = rank_verdicts(scores, design)
        worse = verdicts.verdict == "worse"
        claims += verdicts.rejected
        false_worse += bool(np.any(worse[: k - 1] if planted else worse))
        found += bool(planted and worse[k - 1])
    return RankSimulationResult(
        studies, claims / studies, false_worse / studies, found / studies if planted else math.nan
    )
