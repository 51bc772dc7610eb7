"""How often the report's verdicts are wrong, and how often they find a real difference: a simulation.

Blocks of k groups x n seeds are drawn as the runs of a sweep behave: each seed moves every group
of the block by the same offset (shared data order and initial weights; `correlation` is its share
of the variance), plus independent noise per run whose size can differ between groups (as a
noisy sigmoid beside a steady ReLU); effects are in units of one run's standard deviation
(shared and own noise together, for a group of average noise). Some groups can be made truly worse by `effect`.
Each block goes through `stats.block_verdicts`, the code the report runs. The test suite runs a
small version, benchmarks/bench_verdicts.py a large one; the same seed gives the same numbers.
"""

from __future__ import annotations

import math
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
        """Three binomial standard errors of a 5% rate estimated from this many blocks."""
        return 3 * math.sqrt(ALPHA * (1 - ALPHA) / self.blocks)


def simulate(k: int, n: int, correlation: float, blocks: int, effect: float = 0.0, worse: int = 0,
             noise_ratio: float = 1.0, paired: bool = True, seed: int = 0) -> SimulationResult:
    """Draw `blocks` blocks; the last `worse` groups are `effect` lower. Own-noise sizes spread
    geometrically over [1, noise_ratio] across the groups (scaled so their mean square is 1).
    `paired=False` analyses the same numbers as if no two groups shared a seed (each group gets its
    own seed labels): Welch tests, as before pairing."""
    rng = np.random.default_rng(seed)
    truly_worse = np.arange(k) >= k - worse
    scales = np.geomspace(1.0, noise_ratio, k)
    scales = scales / np.sqrt(np.mean(scales ** 2)) * math.sqrt(1 - correlation)
    false_blocks = found = 0
    for _ in range(blocks):
        shared = rng.normal(size=n) * math.sqrt(correlation)
        values = shared + rng.normal(size=(k, n)) * scales[:, None] - effect * truly_worse[:, None]
        if not paired:  # every group on its own seeds: a block-diagonal layout with NaN elsewhere
            spread = np.full((k, k * n), np.nan)
            for group in range(k):
                spread[group, group * n:(group + 1) * n] = values[group]
            values = spread
        called_worse = block_verdicts(values)["verdict"] == "worse"
        false_blocks += bool(np.any(called_worse & ~truly_worse))
        found += int(np.sum(called_worse & truly_worse))
    return SimulationResult(blocks, false_blocks / blocks, found / (blocks * worse) if worse else math.nan)
