"""actbench.stats: tests and intervals against textbook values, degenerate cases, and a simulation of the
verdicts' familywise error (the large version is benchmarks/bench_verdicts.py)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from actbench.stats import compare_block, holm, permutation_p, sign_flip_p
from actbench.verdict_simulation import simulate


def block(values: dict[str, dict[int, float]]) -> pd.DataFrame:
    """A block as compare_block takes it: groups x seeds, NaN where a group has no run for a seed."""
    return compare_block(pd.DataFrame(values).T)


def test_group_intervals_are_student_t_and_stay_inside_0_1():
    result = block({"a": {0: 0.90, 1: 0.92, 2: 0.94}, "b": {0: 0.99, 1: 1.0}, "c": {0: 0.0, 1: 0.05}, "d": {0: 0.9}})
    half = scipy_stats.t.ppf(0.975, 2) * 0.02 / math.sqrt(3)
    assert (result.loc["a", "ci_low"], result.loc["a", "ci_high"]) == pytest.approx((0.92 - half, 0.92 + half))
    assert (result.loc["b", "ci_low"], result.loc["b", "ci_high"]) == pytest.approx(
        (0.9314689763, 1.0)
    )  # unclipped: 1.0385
    assert result.loc["c", "ci_low"] == 0.0
    assert math.isnan(result.loc["d", "ci_low"]) and math.isnan(result.loc["d", "ci_high"])


def test_holm_matches_a_hand_computed_example():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running maximum 0.06.
    assert holm(np.array([0.01, 0.04, 0.03, 0.005])) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(np.array([0.5, 0.9])) == pytest.approx([1.0, 1.0])


def test_groups_on_common_seeds_get_the_paired_t_test():
    relu = {0: 0.950, 1: 0.962, 2: 0.941, 3: 0.957}
    leaky = {0: 0.947, 1: 0.960, 2: 0.937, 3: 0.955}  # the same seed effect, 0.0028 lower on average
    result = block({"relu": relu, "leaky": leaky})
    expected = scipy_stats.ttest_rel(list(leaky.values()), list(relu.values()))
    assert result.loc["leaky", "test"] == "paired t"
    assert result.loc["leaky", "p_value"] == pytest.approx(expected.pvalue)
    assert result.loc["leaky", "difference"] == pytest.approx(-0.00275)
    assert result.loc["leaky", "verdict"] == "worse"  # paired: p = 0.0019; Welch on the same numbers: p = 0.69
    assert scipy_stats.ttest_ind(list(leaky.values()), list(relu.values()), equal_var=False).pvalue > 0.5
    half = (result.loc["leaky", "diff_high"] - result.loc["leaky", "diff_low"]) / 2
    differences = np.array(list(leaky.values())) - np.array(list(relu.values()))
    assert half == pytest.approx(scipy_stats.t.ppf(0.975, 3) * differences.std(ddof=1) / 2)  # one pair: 95%, not wider
    assert result.loc["relu", "verdict"] == "best" and result.loc["relu", "rank"] == 1


def test_groups_without_common_seeds_fall_back_to_welch():
    result = block({"a": {0: 0.90, 1: 0.91, 2: 0.92}, "b": {3: 0.80, 4: 0.82, 5: 0.81}})
    expected = scipy_stats.ttest_ind([0.80, 0.82, 0.81], [0.90, 0.91, 0.92], equal_var=False).pvalue
    assert result.loc["b", "test"] == "Welch t"
    assert result.loc["b", "p_value"] == pytest.approx(expected)


def test_zero_variance_uses_exact_tests_that_cannot_invent_significance():
    # One test image apart on both seeds: the t statistic is infinite; no exact test goes below 0.5 (paired) or 1/3.
    paired = block({"a": {0: 0.9, 1: 0.9}, "b": {0: 0.8967, 1: 0.8967}})
    assert paired.loc["b", "test"] == "exact sign-flip"
    assert paired.loc["b", "p_value"] == pytest.approx(0.5) and paired.loc["b", "p_floor"] == pytest.approx(0.5)
    assert paired.loc["b", "verdict"] == "not distinguishable"
    unpaired = block({"a": {0: 0.9, 1: 0.9}, "b": {2: 0.8967, 3: 0.8967}})
    assert unpaired.loc["b", "test"] == "exact permutation" and unpaired.loc["b", "p_value"] == pytest.approx(1 / 3)
    same = block({"a": {0: 0.9, 1: 0.9}, "b": {0: 0.9, 1: 0.9}})
    assert same.loc["b", "p_value"] == 1.0 and same["rank"].tolist() == [1, 1]
    assert sign_flip_p(np.array([0.01, 0.01, 0.01])) == pytest.approx(0.25)
    assert permutation_p(3, 3) == pytest.approx(0.1)  # 2 of the 20 splits are as extreme


def test_equal_paired_differences_fall_back_to_welch_on_the_groups_own_spread():
    result = block(
        {"relu": {0: 0.97, 1: 0.98, 2: 0.99}, "sigmoid": {0: 0.80, 1: 0.81, 2: 0.82}}
    )  # 0.17 lower on every seed
    assert result.loc["sigmoid", "test"] == "Welch t, equal paired differences"
    expected = scipy_stats.ttest_ind([0.80, 0.81, 0.82], [0.97, 0.98, 0.99], equal_var=False).pvalue
    assert result.loc["sigmoid", "p_value"] == pytest.approx(expected) and result.loc["sigmoid", "verdict"] == "worse"


def test_cohens_d_is_pooled_over_both_groups_and_undefined_where_either_is_constant():
    result = block(
        {
            "relu": {0: 0.97, 1: 0.98, 2: 0.99},
            "tanh": {0: 0.95, 1: 0.97, 2: 0.96},
            "stuck": {0: 0.1135, 1: 0.1135, 2: 0.1135},
        }
    )  # at chance on every seed: no spread
    assert result.loc["tanh", "effect_size"] == pytest.approx(-0.02 / 0.01)  # both spreads 0.01
    assert math.isnan(result.loc["stuck", "effect_size"])  # was -122.5: 0.8665 over the top's 0.01 / sqrt(2)
    assert result.loc["stuck", "verdict"] == "worse"  # the verdict does not depend on d
    constant_top = block({"a": {0: 0.9, 1: 0.9, 2: 0.9}, "b": {0: 0.80, 1: 0.82, 2: 0.81}})
    assert math.isnan(constant_top.loc["b", "effect_size"]) and math.isnan(constant_top.loc["a", "effect_size"])


def test_a_group_with_one_finished_seed_is_never_best_and_does_not_block_the_others():
    result = block({"lucky": {0: 0.99}, "relu": {0: 0.95, 1: 0.96, 2: 0.955}, "sigmoid": {0: 0.80, 1: 0.83, 2: 0.81}})
    assert result.loc["lucky", "verdict"] == "too few seeds" and math.isnan(result.loc["lucky", "rank"])
    assert result.loc["relu", "verdict"] == "best"
    assert result.loc["sigmoid", "verdict"] == "worse"


def test_equal_means_share_a_rank_whatever_the_summation_order():
    result = block({"a": {0: 0.1, 1: 0.2, 2: 0.3}, "b": {0: 0.3, 1: 0.1, 2: 0.2}, "c": {0: 0.05, 1: 0.05, 2: 0.05}})
    assert result.loc["a", "rank"] == result.loc["b", "rank"] == 1
    assert result.loc["c", "rank"] == 3


# The suite's simulation: every configuration has 300 blocks of truly equal groups with a shared
# seed offset (90% of the variance) and own noise 1x to 3x between groups. Each rate must stay
# under 5% plus three binomial standard errors of 300 blocks (3.8 points); all together
# (3,600 blocks) under 5% plus 1.1 points.
CONFIGURATIONS = [(k, n) for k in (2, 5, 10, 20) for n in (2, 3, 5)]


def test_familywise_share_of_false_worse_verdicts_stays_at_5_percent():
    results = [
        simulate(k, n, correlation=0.9, blocks=300, noise_ratio=3.0, seed=100 * k + n) for k, n in CONFIGURATIONS
    ]
    for (k, n), result in zip(CONFIGURATIONS, results):
        assert result.false_rate <= 0.05 + result.tolerance, (k, n, result)
    pooled = sum(r.false_rate * r.blocks for r in results) / sum(r.blocks for r in results)
    assert pooled <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / sum(r.blocks for r in results)), pooled


def test_a_shared_seed_offset_cancels_in_the_paired_comparison():
    # Same draws, with or without the seed offset: the paired verdicts are identical, block for block.
    independent = simulate(5, 3, correlation=0.0, blocks=200, effect=1.0, worse=1, seed=7)
    shared = simulate(5, 3, correlation=0.9, blocks=200, effect=1.0 * math.sqrt(0.1), worse=1, seed=7)
    assert (independent.false_rate, independent.power) == (shared.false_rate, shared.power)


def test_pairing_finds_a_real_difference_that_welch_misses_and_some_groups_can_be_truly_worse():
    paired = simulate(5, 5, correlation=0.9, blocks=300, effect=1.0, worse=1, seed=3)
    unpaired = simulate(5, 5, correlation=0.9, blocks=300, effect=1.0, worse=1, paired=False, seed=3)
    assert paired.power > 0.5 > 0.2 > unpaired.power  # measured: 0.70 against 0.03
    partly = simulate(10, 3, correlation=0.5, blocks=300, effect=3.0, worse=5, noise_ratio=3.0, seed=5)
    assert partly.false_rate <= 0.05 + partly.tolerance
