"""actbench.rank_stats: ranks within blocks, the Friedman test's permutation p, Nemenyi's critical difference; and
actbench.rank_simulation, the small version of benchmarks/bench_ranks.py."""

import math

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats

from actbench import rank_stats
from actbench.rank_simulation import one_rank_effect, simulate


def test_ranks_put_the_highest_score_first_and_share_ties():
    scores = np.array([[0.9, 0.8, 0.8, -math.inf], [0.1 + 0.2, 0.3, 0.2, 0.25]])
    assert rank_stats.block_ranks(scores).tolist() == [[1, 2.5, 2.5, 4], [1.5, 1.5, 4, 3]]


@pytest.mark.parametrize("k", [3, 5, 12])
def test_friedman_statistic_is_scipys_with_ties(k):
    scores = np.round(np.random.default_rng(k).normal(size=(7, k)), 0)  # rounded: many ties
    ours = rank_stats.friedman_statistic(rank_stats.block_ranks(scores))
    assert ours == pytest.approx(stats.friedmanchisquare(*scores.T).statistic)


def test_nemenyi_p_and_critical_difference_agree_with_scikit_posthocs():
    scores = np.random.default_rng(1).normal(size=(9, 5))
    scores[:, 0] += 1.5
    ranks = rank_stats.block_ranks(scores)
    average = ranks.mean(axis=0)
    theirs = scikit_posthocs.posthoc_nemenyi_friedman(scores).to_numpy()
    ours = rank_stats.nemenyi_p(average - average[0], 5, 9)
    assert ours[1:] == pytest.approx(theirs[0, 1:], abs=1e-6)
    cd = rank_stats.critical_difference(5, 9)
    assert ((np.abs(average - average[0]) > cd) == (theirs[0] < 0.05))[1:].all()


def test_permutation_p_is_the_exact_chance_of_the_most_extreme_order():
    ranks = np.tile(np.arange(1.0, 4.0), (4, 1))  # four blocks rank three activations alike: chance (1/6)^3
    p = rank_stats.permutation_p(ranks, rank_stats.friedman_null(3, 4))
    assert p == pytest.approx(6**-3, abs=0.0015)
    assert (
        rank_stats.permutation_p(
            np.array([[1.0, 2, 3], [3, 2, 1], [2, 1, 3], [2, 3, 1]]), rank_stats.friedman_null(3, 4)
        )
        > 0.5
    )


def test_too_few_blocks_are_not_tested():
    # Two activations need 6 blocks: with 5, winning all five has chance 1/16 > 5%.
    assert rank_stats.blocks_needed(2) == 6 and rank_stats.blocks_needed(5) == 3
    verdicts = rank_stats.rank_verdicts(np.array([[0.9, 0.1]] * 5))
    assert not verdicts.conclusive and math.isnan(verdicts.p_value) and not verdicts.rejected
    assert set(verdicts.verdict) == {rank_stats.NOT_TESTED}
    assert rank_stats.rank_verdicts(np.array([[0.9, 0.1]] * 6)).verdict.tolist() == ["best", "worse"]


def test_verdicts_separate_only_what_the_critical_difference_allows():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(12, 4)) * 0.01 + np.array([0.9, 0.89, 0.5, 0.1])  # two good, two far behind
    verdicts = rank_stats.rank_verdicts(scores)
    assert verdicts.rejected and verdicts.best == 0
    assert verdicts.verdict.tolist() == ["best", "not distinguishable", "worse", "worse"]
    assert (
        verdicts.separated[0, 3] and not verdicts.separated[0, 1] and (verdicts.separated == verdicts.separated.T).all()
    )
    flat = rank_stats.rank_verdicts(rng.normal(size=(12, 4)))
    assert not flat.rejected and "worse" not in set(flat.verdict) and np.isnan(flat.p_vs_best).all()


@pytest.mark.parametrize("k, blocks", [(3, 6), (5, 10), (10, 8)])
def test_null_studies_claim_a_difference_at_most_five_percent(k, blocks):
    result = simulate(k, blocks, studies=300, seed=k + blocks)
    assert result.claims <= 0.05 + result.tolerance
    assert result.false_worse <= result.claims  # a "worse" needs the Friedman test to reject first


def test_power_on_a_one_rank_difference():
    """Three activations over 20 blocks, one a rank behind: found in most studies (bench_ranks: 95% of 2,000)."""
    result = simulate(3, 20, studies=200, effect=one_rank_effect(3), seed=1)
    assert result.power >= 0.8
    assert result.false_worse <= 0.05 + result.tolerance


def test_one_rank_effect_moves_the_expected_rank_by_one():
    k, effect = 5, one_rank_effect(5)
    scores = np.random.default_rng(2).normal(size=(40_000, k))
    scores[:, -1] -= effect
    ranks = pd.DataFrame(rank_stats.block_ranks(scores)).mean()
    assert ranks.iloc[-1] - ranks.iloc[:-1].mean() == pytest.approx(1.0, abs=0.03)
