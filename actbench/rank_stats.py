"""Which activations differ across blocks: ranks within each block, Friedman's test, Nemenyi's critical difference.

Demšar's procedure (JMLR 7:1-30, 2006, "Statistical comparisons of classifiers over multiple data
sets"): a block's scores are on its own scale (a hard dataset, a weak model), so only their order
within the block is compared. Each block ranks its activations (1 = highest score, ties share the
average of their places); the Friedman test asks whether the average ranks differ more than chance
orderings would; only if it says so does Nemenyi's post-hoc test separate pairs whose average ranks
are further apart than the critical difference (CD), which the diagram draws.

The Friedman p-value is a permutation p: the share of studies whose blocks order the activations at
random (drawn with a fixed seed, so the same scores give the same p) whose statistic reaches the
observed one. scipy's chi-square approximation (`scipy.stats.friedmanchisquare`) is off with few
blocks and few activations (benchmarks/bench_ranks.py measures both). A block with ties is compared
with orderings that have none, which spread the rank sums wider: a cautious p.

Pure NumPy and scipy on (blocks x activations) arrays: the report and the simulation
(actbench/rank_simulation.py) call the same `rank_verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from actbench.stats import ALPHA

# Orderings drawn for the permutation p: its Monte Carlo error at p = 0.05 is 0.0015.
NULL_DRAWS = 20_000
NULL_SEED = 0
NOT_TESTED = "too few blocks"


def block_ranks(scores: np.ndarray) -> np.ndarray:
    """Each block's (row's) ranks: 1 for the highest score, ties share the average of their places.

    Scores equal to 9 decimals tie (accuracies are multiples of 1/test images, whatever the summation
    order); -inf (every seed diverged) ranks last."""
    return stats.rankdata(-np.round(scores, 9), axis=1, method="average")


def spread_of_rank_sums(ranks: np.ndarray) -> np.ndarray:
    """Sum over activations of (rank sum - its expectation)^2: what Friedman's statistic scales, per study
    for a stack of (..., blocks, activations) ranks."""
    blocks, k = ranks.shape[-2:]
    return ((ranks.sum(axis=-2) - blocks * (k + 1) / 2) ** 2).sum(axis=-1)


def friedman_statistic(ranks: np.ndarray) -> float:
    """Friedman's chi-square statistic with the correction for ties, as scipy.stats.friedmanchisquare
    computes it (which refuses two activations; this one does not)."""
    blocks, k = ranks.shape
    tied = (ranks[:, :, None] == ranks[:, None, :]).sum(axis=2)  # per entry, how many in its block share its rank
    ties = float(np.sum(tied**2 - 1))  # each set of t equal ranks adds t^3 - t
    correction = 1 - ties / (blocks * (k**3 - k))
    statistic = 12 * spread_of_rank_sums(ranks) / (blocks * k * (k + 1))
    return float(statistic / correction) if correction > 0 else 0.0


def friedman_null(k: int, blocks: int, draws: int = NULL_DRAWS, seed: int = NULL_SEED) -> np.ndarray:
    """`spread_of_rank_sums` of `draws` studies in which every block orders the k activations at random, sorted."""
    rng = np.random.default_rng(seed)
    places = np.tile(np.arange(1, k + 1, dtype=float), (draws, 1))
    sums = np.zeros((draws, k))
    for _ in range(blocks):  # a block at a time: memory stays draws x k
        sums += rng.permuted(places, axis=1)
    return np.sort(((sums - blocks * (k + 1) / 2) ** 2).sum(axis=1))


def permutation_p(ranks: np.ndarray, null: np.ndarray) -> float:
    """The share of the null's studies (and the observed one) that spread their rank sums at least as far."""
    observed = float(spread_of_rank_sums(ranks))
    reached = len(null) - int(np.searchsorted(null, observed - 1e-9, side="left"))
    return (1 + reached) / (1 + len(null))


def critical_difference(k: int, blocks: int, alpha: float = ALPHA) -> float:
    """Nemenyi's CD: two average ranks further apart than this differ (familywise error alpha over all pairs)."""
    return _critical_difference_of_one(k, alpha) / math.sqrt(blocks)


def _critical_difference_of_one(k: int, alpha: float) -> float:
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / 6))


def nemenyi_p(gaps: np.ndarray, k: int, blocks: int) -> np.ndarray:
    """Nemenyi's p for gaps between average ranks (as scikit-posthocs' posthoc_nemenyi_friedman)."""
    q = np.abs(gaps) * math.sqrt(2) / math.sqrt(k * (k + 1) / (6 * blocks))
    return np.asarray(stats.studentized_range.sf(q, k, np.inf), dtype=float)


def can_conclude(k: int, blocks: int, alpha: float = ALPHA) -> bool:
    """Whether the data could let the test separate anything (see `blocks_needed`)."""
    return k >= 2 and blocks >= blocks_needed(k, alpha)


def blocks_needed(k: int, alpha: float = ALPHA) -> int:
    """The fewest blocks with which the test could separate anything from k activations: had every block
    ranked them alike, Friedman's p ((k!)^(1 - blocks), the chance of that) would be below alpha, and the
    first and last (k - 1 ranks apart) would be further apart than the CD. Below it a p-value says nothing."""
    for_p = 1 + -math.log(alpha) / math.lgamma(k + 1)  # (k!)^(1 - blocks) < alpha
    for_cd = (_critical_difference_of_one(k, alpha) / (k - 1)) ** 2  # CD < k - 1
    return max(2, math.floor(for_p) + 1, math.floor(for_cd) + 1)


@dataclass(frozen=True)
class Design:
    """What the comparison of k activations over so many blocks needs before any score: whether it can
    conclude, the CD and the permutation null. A caller comparing many studies of one shape makes it once."""

    k: int
    blocks: int
    alpha: float
    conclusive: bool
    critical_difference: float
    null: np.ndarray  # friedman_null(k, blocks); empty when not conclusive

    @classmethod
    def of(cls, k: int, blocks: int, alpha: float = ALPHA) -> Design:
        conclusive = can_conclude(k, blocks, alpha)  # k >= 2: the caller ranks two or more
        return cls(
            k,
            blocks,
            alpha,
            conclusive,
            critical_difference(k, blocks, alpha) if k >= 2 else math.nan,
            friedman_null(k, blocks) if conclusive else np.empty(0),
        )


@dataclass(frozen=True)
class RankVerdicts:
    """The overall comparison of k activations over the blocks: per activation (in the input's order) and for
    the whole. Without `conclusive` no p-value or separation is given (NaN, verdicts NOT_TESTED)."""

    ranks: np.ndarray  # blocks x k, 1 = best in its block
    average: np.ndarray  # k average ranks
    best: int  # the activation with the lowest average rank (the first of equals)
    conclusive: bool
    statistic: float  # Friedman's chi-square, corrected for ties
    p_value: float  # its permutation p; NaN when not conclusive
    rejected: bool  # the Friedman test rejected: the section says the activations differ
    critical_difference: float  # Nemenyi's CD at these k and blocks
    p_vs_best: np.ndarray  # Nemenyi's p against the best; NaN unless the Friedman test rejected
    separated: np.ndarray  # k x k: pairs the data separate (only where the Friedman test rejected)
    verdict: np.ndarray  # "best", "not distinguishable", "worse" (than the best), or NOT_TESTED

    @property
    def blocks(self) -> int:
        return int(self.ranks.shape[0])


def rank_verdicts(scores: np.ndarray, design: Design | None = None) -> RankVerdicts:
    """Compare the activations (columns) over the blocks (rows) of `scores`, higher better, no NaN.

    `design`: `Design.of(k, blocks)`, passed by a caller that compares many studies of one shape."""
    blocks, k = scores.shape
    design = design or Design.of(k, blocks)
    ranks = block_ranks(scores)
    average = ranks.mean(axis=0)
    best = int(np.argmin(np.round(average, 9)))
    p_value = math.nan
    p_vs_best = np.full(k, math.nan)
    separated = np.zeros((k, k), dtype=bool)
    verdict = np.full(k, NOT_TESTED, dtype=object)
    if design.conclusive:
        p_value = permutation_p(ranks, design.null)
        verdict[:] = "not distinguishable"
        if p_value < design.alpha:
            p_vs_best = nemenyi_p(average - average[best], k, blocks)
            separated = np.abs(average[:, None] - average[None, :]) > design.critical_difference
            verdict[separated[best]] = "worse"
        verdict[best] = "best"
        p_vs_best[best] = math.nan
    return RankVerdicts(
        ranks=ranks,
        average=average,
        best=best,
        conclusive=design.conclusive,
        statistic=friedman_statistic(ranks),
        p_value=p_value,
        rejected=design.conclusive and p_value < design.alpha,
        critical_difference=design.critical_difference,
        p_vs_best=p_vs_best,
        separated=separated,
        verdict=verdict,
    )
