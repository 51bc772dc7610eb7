"""How often the report's verdicts are wrong, and how often they find a real difference: a simulation.

Blocks of k groups x n seeds are drawn as the runs of a sweep behave: each seed moves every group
of the block by the same offset (shared data order and initial weights; `correlation` is its share
of the variance), plus independent noise per run whose size can differ between groups (as a
noisy sigmoid beside a steady ReLU); effects are in units of one run's standard deviation
(shared and own noise together, for a group of average noise).
Each block goes through `stats.block_verdicts`, the code the report runs. The test suite runs a
small version, benchmarks/bench_verdicts.py a large one; the same seed gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from actbench.stats import ALPHA, block_verdicts


@dataclass(frozen=True)
class SimulationResult:
    blocks: int
    false_rate: float  # share of blocks where a truly equal-to-best group was called "worse"
    power: float  # share of truly worse groups called "worse" (NaN without any)

    @property
    def tolerance(self) -> float:
        return binomial_tolerance(self.blocks)


def binomial_tolerance(blocks: int) -> float:
    """Three binomial standard errors of a 5% rate estimated from this many blocks."""
    return 3 * math.sqrt(ALPHA * (1 - ALPHA) / blocks)


def noise_scales(k: int, correlation: float, noise_ratio: float) -> np.ndarray:
    """Each group's own-noise standard deviation: spread geometrically over [1, noise_ratio] across the
    groups, scaled so their mean square is 1 - correlation (a run's variance is 1 for an average group)."""
    scales = np.geomspace(1.0, noise_ratio, k)
    return scales / np.sqrt(np.mean(scales**2)) * math.sqrt(1 - correlation)


def draw_blocks(
    k: int,
    n: int,
    correlation: float,
    blocks: int,
    effect: float = 0.0,
    worse: int = 0,
    noise_ratio: float = 1.0,
    seed: int = 0,
) -> Iterator[np.ndarray]:
    """`blocks` arrays of k groups x n seeds; the last `worse` groups are `effect` lower (own noise as
    `noise_scales`)."""
    rng = np.random.default_rng(seed)
    lower = effect * (np.arange(k) >= k - worse)
    scales = noise_scales(k, correlation, noise_ratio)
    for _ in range(blocks):
        shared = rng.normal(size=n) * math.sqrt(correlation)
        yield shared + rng.normal(size=(k, n)) * scales[:, None] - lower[:, None]


def unpaired(values: np.ndarray) -> np.ndarray:
    """The same numbers as if no two groups shared a seed: each group on its own seed columns (NaN elsewhere)."""
    k, n = values.shape
    spread = np.full((k, k * n), np.nan)
    for group in range(k):
        spread[group, group * n : (group + 1) * n] = values[group]
    return spread


def report_verdicts(values: np.ndarray) -> np.ndarray:
    """Which groups the report calls "worse"."""
    return block_verdicts(values)["verdict"] == "worse"


def simulate(
    k: int,
    n: int,
    correlation: float,
    blocks: int,
    effect: float = 0.0,
    worse: int = 0,
    noise_ratio: float = 1.0,
    paired: bool = True,
    seed: int = 0,
    method: Callable[[np.ndarray], np.ndarray] = report_verdicts,
) -> SimulationResult:
    """Run `method` (default: the report's verdicts) over drawn blocks. `paired=False` analyses the
    same numbers as if no two groups shared a seed: Welch tests, as before pairing."""
    truly_worse = np.arange(k) >= k - worse
    false_blocks = found = 0
    for values in draw_blocks(k, n, correlation, blocks, effect, worse, noise_ratio, seed):
        called_worse = method(values if paired else unpaired(values))
        false_blocks += bool(np.any(called_worse & ~truly_worse))
        found += int(np.sum(called_worse & truly_worse))
    return SimulationResult(blocks, false_blocks / blocks, found / (blocks * worse) if worse else math.nan)
