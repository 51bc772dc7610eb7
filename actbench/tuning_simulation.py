"""How often tuned verdicts are wrong, and what judging on the tuning runs' own scores does instead: a simulation.

The protocol (a config's `tune:` section): stage 1 trains each candidate (an activation in a block) at
every value of the tuned setting with T tuning seeds and chooses, per candidate, the value with the
best mean validation score; stage 2 trains each candidate at its choice with n fresh seeds and
`stats.block_verdicts` (the report's code) judges their scores. The way it avoids judges each
candidate on the very tuning scores that chose its value ("pick the best on validation, report that
number"): selection and judgement see the same numbers.

Scores are drawn as verdict_simulation draws a block, higher is better (a loss enters negated): every
run of a seed shares an offset (`correlation` of a run's variance: the same data order and initial
weights, whatever the candidate or the value), plus own noise per run whose size differs between
candidates (`noise_scales`; the last candidate is the noisiest). Every candidate's mean score follows
one response curve over the tuned values (`TunedDesign.curve`); the last candidate may be `effect`
lower at every value. Units: one run's standard deviation, as in verdict_simulation. The suite runs
a small version (tests/test_tuning_simulation.py), benchmarks/bench_tuning.py a large one; the same
seed gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from actbench.stats import block_verdicts
from actbench.verdict_simulation import binomial_tolerance, noise_scales


@dataclass(frozen=True)
class TunedDesign:
    """One simulated study: what is tuned, with how many seeds, and how the runs behave."""

    k: int = 3  # candidates in the block (activations)
    values: int = 4  # values of the tuned setting (e.g. four learning rates)
    tuning_seeds: int = 2  # T, stage 1, disjoint from the final seeds
    seeds: int = 5  # n, stage 2: the seeds the verdicts read
    correlation: float = 0.9  # share of a run's variance that every run of the same seed shares
    noise_ratio: float = 3.0  # the noisiest candidate's own noise over the steadiest's
    gap: float = 0.0  # how much lower each step away from the best value scores (0: all values equal)
    effect: float = 0.0  # how much lower the last candidate scores at every value (0: a null study)

    def curve(self) -> np.ndarray:
        """The mean score at each value, the same for every candidate: best at the second value of the
        grid (a rate between too slow and too fast), `gap` lower for each step away from it."""
        return -self.gap * np.abs(np.arange(self.values) - (self.values - 1) // 2)

    def means(self) -> np.ndarray:
        """Candidates x values: each candidate's true mean score at each value."""
        lower = self.effect * (np.arange(self.k) == self.k - 1)
        return self.curve()[None, :] - lower[:, None]


@dataclass(frozen=True)
class TunedBlock:
    """One simulated block through both stages."""

    tuning: np.ndarray  # candidates x values x tuning seeds: stage 1's validation scores
    choice: np.ndarray  # each candidate's chosen value (an index into the grid)
    final: np.ndarray  # candidates x seeds: stage 2's test scores at the chosen values
    truth: np.ndarray  # each candidate's true mean score at its chosen value

    @property
    def chose(self) -> np.ndarray:
        """Candidates x tuning seeds: the tuning scores that chose each candidate's value."""
        return self.tuning[np.arange(len(self.choice)), self.choice]


def draw_tuned_blocks(design: TunedDesign, blocks: int, seed: int = 0) -> Iterator[TunedBlock]:
    """`blocks` blocks: stage 1 drawn, each candidate's value chosen by its mean over the tuning seeds,
    then stage 2 drawn at the chosen values on fresh seeds."""
    rng = np.random.default_rng(seed)
    k, means = design.k, design.means()
    own = noise_scales(k, design.correlation, design.noise_ratio)
    shared = math.sqrt(design.correlation)
    for _ in range(blocks):
        offsets = shared * rng.normal(size=design.tuning_seeds)
        noise = rng.normal(size=(k, design.values, design.tuning_seeds)) * own[:, None, None]
        tuning = means[:, :, None] + offsets + noise
        choice = np.argmax(tuning.mean(axis=2), axis=1)
        truth = means[np.arange(k), choice]
        offsets = shared * rng.normal(size=design.seeds)
        final = truth[:, None] + offsets + rng.normal(size=(k, design.seeds)) * own[:, None]
        yield TunedBlock(tuning, choice, final, truth)


@dataclass(frozen=True)
class Judgement:
    """What one way of judging said over the simulated blocks."""

    false_rate: float  # blocks where a candidate as good as the others at every value was called "worse"
    false_as_tuned: float  # blocks where a candidate whose choice is truly as good as any other's was "worse"
    power: float  # share of blocks where the truly lower candidate was called "worse" (NaN in a null study)
    noisiest_best: float  # share of blocks where the noisiest candidate was called "best"
    errors: np.ndarray  # blocks x candidates: the mean score judged less the true score at the chosen value

    @property
    def optimism(self) -> np.ndarray:
        """Per candidate: how much higher its judged score is than its true score, on average (the winner's
        curse where the score judged is the one that chose)."""
        return self.errors.mean(axis=0)

    @property
    def optimism_se(self) -> np.ndarray:
        return self.errors.std(axis=0, ddof=1) / math.sqrt(len(self.errors))


@dataclass(frozen=True)
class TuningResult:
    design: TunedDesign
    blocks: int
    missed: float  # share of candidates whose choice is truly worse than their best value (tuning missed)
    protocol: Judgement  # the verdicts on stage 2's fresh seeds
    on_tuning_scores: Judgement  # the verdicts on the tuning scores that chose each value

    @property
    def tolerance(self) -> float:
        return binomial_tolerance(self.blocks)


def judge(scores: list[np.ndarray], truth: np.ndarray, design: TunedDesign) -> Judgement:
    """Run the report's verdicts on each block's scores (candidates x seeds) and compare them with the truth
    (blocks x candidates: each candidate's true score at its chosen value)."""
    verdicts = [block_verdicts(block)["verdict"] for block in scores]
    worse = np.array([verdict == "worse" for verdict in verdicts])
    best = np.array([verdict == "best" for verdict in verdicts])
    truly_lower = (np.arange(design.k) == design.k - 1) & (design.effect > 0)
    at_top = truth >= truth.max(axis=1, keepdims=True)
    return Judgement(
        false_rate=float(np.mean(np.any(worse & ~truly_lower, axis=1))),
        false_as_tuned=float(np.mean(np.any(worse & at_top, axis=1))),
        power=float(np.mean(worse[:, -1])) if design.effect > 0 else math.nan,
        noisiest_best=float(np.mean(best[:, -1])),
        errors=np.array([block.mean(axis=1) for block in scores]) - truth,
    )


def simulate_tuning(design: TunedDesign, blocks: int, seed: int = 0) -> TuningResult:
    """Both ways of judging on the same simulated blocks."""
    drawn = list(draw_tuned_blocks(design, blocks, seed))
    truth = np.array([block.truth for block in drawn])
    return TuningResult(
        design=design,
        blocks=blocks,
        missed=float(np.mean(truth < design.means().max(axis=1))),
        protocol=judge([block.final for block in drawn], truth, design),
        on_tuning_scores=judge([block.chose for block in drawn], truth, design),
    )
