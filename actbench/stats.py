"""Which groups of runs differ: paired tests on common seeds, Holm over every pair of a block, intervals.

A *block* is a set of groups compared with each other (activations on one dataset, model and
training); a group's values are its test accuracies, one per seed. Runs that share a seed share
their data order and initial weights, so a seed moves every group of a block together: comparing
two groups seed by seed (paired) removes that shared part of the noise. Pairs that share fewer
than two seeds fall back to Welch's unpaired test and say so (see `_pair_tests`).

Why every pair and not only "each group against the top": the top is chosen from the same numbers
that are then tested, so the comparison against it is the block's largest gap. Holm's correction
over the k-1 comparisons with the top lets 5-15% of blocks of equal groups show a false "worse"
(k = 5-20, n = 2-10, measured in benchmarks/bench_verdicts.py); over all k(k-1)/2 pairs it holds
at 5% whatever the selection, the seeds' correlation or the groups' variances (Holm's guarantee).

Never imports TensorFlow (the report uses it).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
# Accuracies are multiples of 1/test images; a spread below this is rounding, not variation.
ZERO_SPREAD = 1e-9


def mean_intervals(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t intervals for several means at once, clipped to [0, 1] (an accuracy never leaves it).

    They cover seed-to-seed variation only: every run is scored on the same fixed test set, so
    the test set's own sampling error is not in them. NaN where n < 2.
    """
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, np.where(n >= 2, n - 1, np.nan)) * sd / np.sqrt(n)
    return np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject where adjusted < alpha; familywise error <= alpha."""
    p_values = np.asarray(p_values, dtype=float)
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p_values[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def sign_flip_p(differences: np.ndarray) -> float:
    """Exact two-sided sign-flip test of paired differences that are all equal (t is undefined there).

    Of the 2^n sign patterns only all-plus and all-minus reach the observed mean, so p = 2 / 2^n:
    0.5 with 2 seeds, 0.25 with 3. Equal to zero: p = 1.
    """
    if abs(float(differences[0])) <= ZERO_SPREAD:
        return 1.0
    return min(1.0, 2.0 / 2 ** len(differences))


def permutation_p(n_a: int, n_b: int) -> float:
    """Exact two-sided permutation test of two groups that are each constant (and differ).

    Relabelling the pooled values moves j of group a's values into a; the mean difference is
    linear in j and j = n_a is the observed, most extreme split. 2 against 2 gives 1/3.
    """
    split = stats.hypergeom(n_a + n_b, n_a, n_a)
    j = np.arange(max(0, n_a - n_b), n_a + 1)
    gap = np.abs(j / n_a - (n_a - j) / n_b)
    return float(split.pmf(j)[gap >= gap[-1] - 1e-12].sum())


@dataclass
class _Pairs:
    """Every pair (i, j), i < j, of a block: difference i - j, its standard error and degrees of freedom."""

    first: np.ndarray
    second: np.ndarray
    difference: np.ndarray
    se: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    test: np.ndarray
    p_floor: np.ndarray


def _pair_tests(matrix: np.ndarray) -> _Pairs:
    """Every pair of groups, by the first test that is defined for it:

    1. paired t on the seeds both have (two or more), the design's own test;
    2. Welch's t on each group's own seeds, where they share fewer than two seeds, or where the
       paired differences are all equal (t undefined) while the groups themselves vary: Welch
       ignores the shared seed effect, which only makes it more cautious;
    3. an exact test where both groups are constant: sign-flip on common seeds, else permutation.
    """
    k = len(matrix)
    first, second = np.triu_indices(k, 1)
    deltas = matrix[first] - matrix[second]
    common = np.sum(~np.isnan(deltas), axis=1)
    counts = np.sum(~np.isnan(matrix), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pairs without common seeds, groups with one value
        difference = np.nanmean(np.where((common >= 2)[:, None], deltas, np.nan), axis=1)
        se = np.nanstd(np.where((common >= 2)[:, None], deltas, np.nan), axis=1, ddof=1) / np.sqrt(common)
        means = np.nanmean(matrix, axis=1)
        variances = np.nanvar(matrix, axis=1, ddof=1) / counts
    paired = (common >= 2) & (se > ZERO_SPREAD)
    df = common - 1.0
    test = np.where(paired, "paired t", "").astype(object)
    p_floor = np.zeros(len(first))
    for index in np.flatnonzero(~paired):
        a, b = first[index], second[index]
        welch_se = math.sqrt(variances[a] + variances[b])
        if welch_se > ZERO_SPREAD:
            difference[index], se[index] = means[a] - means[b], welch_se
            df[index] = welch_se**4 / (variances[a] ** 2 / (counts[a] - 1) + variances[b] ** 2 / (counts[b] - 1))
            test[index] = "Welch t" if common[index] < 2 else "Welch t, equal paired differences"
        elif common[index] >= 2:
            test[index], se[index] = "exact sign-flip", np.nan
            p_floor[index] = min(1.0, 2.0 / 2 ** common[index])
        else:
            difference[index], se[index] = means[a] - means[b], np.nan
            test[index], p_floor[index] = "exact permutation", permutation_p(int(counts[a]), int(counts[b]))
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = 2 * stats.t.sf(np.abs(difference) / se, df)
    for index in np.flatnonzero(test == "exact sign-flip"):
        p_value[index] = sign_flip_p(deltas[index][~np.isnan(deltas[index])])
    for index in np.flatnonzero(test == "exact permutation"):
        p_value[index] = 1.0 if abs(difference[index]) <= ZERO_SPREAD else p_floor[index]
    return _Pairs(first, second, difference, se, df, p_value, test, p_floor)


def compare_block(values: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Compare the groups of one block: rows are groups, columns seeds, cells accuracies (NaN: no run).

    Returns one row per group (same index) with its mean, spread and interval, its rank (equal
    means share a rank), and its comparison with the top group: difference (group minus top, on
    common seeds when paired) with a simultaneous (1 - alpha) interval, Cohen's d (NaN where either
    group is constant), raw and Holm-adjusted p, the test used, the smallest p that test could give,
    the size of the Holm family, and the verdict: "best" (the top), "not distinguishable" (from the
    top: together they are the best set), "worse", or "too few seeds" (fewer than two values: never
    best, never tested).
    """
    return pd.DataFrame(
        block_verdicts(values.to_numpy(dtype=float).reshape(len(values), -1), alpha), index=values.index
    )


def block_verdicts(matrix: np.ndarray, alpha: float = ALPHA) -> dict[str, np.ndarray]:
    """compare_block on a plain (groups x seeds) array, returning its columns; the simulations call this."""
    k = len(matrix)
    n = np.sum(~np.isnan(matrix), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: a group without values
        mean: np.ndarray = np.nanmean(matrix, axis=1)
        sd = np.where(n >= 2, np.nanstd(matrix, axis=1, ddof=1), np.nan)
    sd[sd <= ZERO_SPREAD] = 0.0  # 0.1, 0.1, 0.1 must not come out as a spread of 1.7e-17
    ci_low, ci_high = mean_intervals(mean, sd, n)
    columns = {
        name: np.full(k, np.nan)
        for name in ("rank", "difference", "diff_low", "diff_high", "effect_size", "p_value", "p_holm", "p_floor")
    }
    test, verdict, family = np.full(k, "", dtype=object), np.full(k, "too few seeds", dtype=object), 0
    eligible = np.flatnonzero(n >= 2)
    if len(eligible):
        rounded = np.round(mean, 9)  # equal accuracies must rank equal, whatever the summation order
        columns["rank"][eligible] = stats.rankdata(-rounded[eligible], method="min")
        top = eligible[int(np.argmax(rounded[eligible]))]
        verdict[top] = "best"
    if len(eligible) > 1:
        pairs = _pair_tests(matrix[eligible])
        adjusted = holm(pairs.p_value)
        family = len(adjusted)
        critical = stats.t.ppf(1 - alpha / family / 2, pairs.df)  # Bonferroni-wide: simultaneous intervals
        top_position = int(np.flatnonzero(eligible == top)[0])
        touching = np.flatnonzero((pairs.first == top_position) | (pairs.second == top_position))
        top_first = pairs.first[touching] == top_position
        others = eligible[np.where(top_first, pairs.second[touching], pairs.first[touching])]
        difference = np.where(top_first, -1.0, 1.0) * pairs.difference[touching]
        half = critical[touching] * pairs.se[touching]
        # Cohen's d scales the gap by a spread both groups are assumed to share. Where either group scored
        # the same on every seed that assumption plainly fails, and the quotient is only the other group's
        # seed noise blown up (-115.4 for a network stuck at chance): d is undefined there (NaN).
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = np.sqrt((sd[others] ** 2 + sd[top] ** 2) / 2)
            both_vary = (sd[others] > ZERO_SPREAD) & (sd[top] > ZERO_SPREAD)
            columns["effect_size"][others] = np.where(both_vary, (mean[others] - mean[top]) / pooled, np.nan)
        columns["difference"][others] = difference
        # Not clipped to [-1, 1]: an interval wider than that says plainly that the seeds are too few.
        columns["diff_low"][others], columns["diff_high"][others] = difference - half, difference + half
        columns["p_value"][others], columns["p_holm"][others] = pairs.p_value[touching], adjusted[touching]
        columns["p_floor"][others], test[others] = pairs.p_floor[touching], pairs.test[touching]
        # A group is only "worse" when it is below the top on the seeds they share.
        verdict[others] = np.where((adjusted[touching] < alpha) & (difference < 0), "worse", "not distinguishable")
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "ci_low": ci_low,
        "ci_high": ci_high,
        **columns,
        "test": test,
        "pairs": np.full(k, family),
        "verdict": verdict,
    }
