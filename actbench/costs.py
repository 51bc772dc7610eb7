"""What a sweep will cost: seconds per run, from recorded runs of the same shape, else from a cost model.

A run's *shape* is what its speed depends on: the model, the batch size, whether diagnostics are
measured, and the hidden activation. Recorded finished runs of the same shape (anywhere under the
results folder) give the estimate directly, rescaled by the images it trains on and its epochs;
runs of the same shape with another activation come next. Without any, the cost model below says
it from the model's multiply-adds per image, measured on the 2-core development machine by
`python benchmarks/bench_cost_model.py` (which prints these constants and how well they fit).
A recorded run's wall time is its metrics.json `run_seconds`, which the runner measures.

Packed runs (actbench.packing) cost less than alone: a run in a pack of K pays only
PACK_FIXED_SHARE[K] of the cost model's fixed part per run, the rest as alone (pack_factor). So a
recorded run counts at its own pack size (`pack_size` in metrics.json; its run_seconds is its share
of the pack's wall time): a planned run in a pack of K is estimated from recorded runs of its shape
at that pack size where there are some, else from the others moved to K by the ratio of their
factors. A sweep's total is its packs handed out in order to the workers that train at once. The
live display's clock follows each run through the phases its estimate splits into (`phases`).

Plain Python: the dry run and the report use it, so it must never import TensorFlow.
"""

from __future__ import annotations

import heapq
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actbench import resources, results
from actbench.config import RunSpec, model_size, run_sizes, spec_key, steps_per_epoch, validation_images
from actbench.packing import STEPS_PER_CALL, use_xla

FORWARD_SHARE = 1 / 3  # an image only evaluated (validation, test) costs about a third of one trained on


@dataclass(frozen=True)
class CostModel:
    """seconds = per_run + work * (per_image + per_dense_mac * dense + per_conv_mac * conv) + per_call * calls."""

    per_run: float  # build, compile, test evaluation set-up, saving
    per_image: float  # per trained image, whatever the model
    per_dense_mac: float  # per multiply-add of a dense layer, per trained image
    per_conv_mac: float  # per multiply-add of a convolution, per trained image
    per_call: float  # per compiled training call (packing.STEPS_PER_CALL batches)


# Fitted by benchmarks/bench_cost_model.py on the development machine (2 cores, no GPU, TensorFlow
# 2.21): docs/speed.md, what a sweep costs, has the command and the fit.
MEASURED = CostModel(per_run=1.96, per_image=1.75e-05, per_dense_mac=3.44e-11, per_conv_mac=8.07e-11, per_call=0.00797)


# Of the cost model's per_run (building, tracing, testing a run), the share a run still pays in a
# pack of K (alone: all of it); the rest of a run's cost is the same in a pack as alone (but see
# XLA_STEP_SHARE). Printed by `python benchmarks/bench_estimates.py packing` (docs/speed.md); between
# two sizes interpolated linearly in 1/K, beyond the largest the largest's holds.
PACK_FIXED_SHARE = {1: 1.0, 2: 0.2, 4: 0.19, 8: 0.28}


def fixed_share(size: int) -> float:
    sizes = sorted(PACK_FIXED_SHARE)
    if size >= sizes[-1]:
        return PACK_FIXED_SHARE[sizes[-1]]
    above = next(k for k in sizes if k >= size)
    below = max(k for k in sizes if k <= size)
    if above == below:
        return PACK_FIXED_SHARE[size]
    t = (1 / below - 1 / size) / (1 / below - 1 / above)
    return PACK_FIXED_SHARE[below] + t * (PACK_FIXED_SHARE[above] - PACK_FIXED_SHARE[below])


# A run whose steps XLA compiles (packing.use_xla: an MLP without dropout that trains long enough), in
# a pack or alone (a pack of one since training rules 3), also costs less per image: its step's share of the cost model's, by the threads a run trains on
# (more than two: two's), from `python benchmarks/bench_pack.py steps` (docs/speed.md).
XLA_STEP_SHARE = {1: 0.40, 2: 0.25}


def pack_factor(size: int, alone: float, model: CostModel = MEASURED, xla_threads: int = 0) -> float:
    """A run's seconds in a pack of `size` over its seconds alone, for a run the cost model puts at
    `alone` seconds: packing saves a share of its fixed part, so small runs gain the most; a pack
    compiled by XLA on `xla_threads` threads (0: not by XLA) also a share of the rest."""
    fixed, total = model.per_run, max(alone, model.per_run)
    rest = XLA_STEP_SHARE[min(xla_threads, 2)] if xla_threads else 1.0
    return (fixed_share(size) * fixed + rest * (total - fixed)) / total


BASES = {
    "recorded": "recorded runs of the same shape",
    "other activation": "recorded runs with another activation",
    "model": "the cost model for 2 CPU cores",
}


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str  # a key of BASES
    at_most: bool = False  # early stopping may end the run before its `epochs`: the estimate counts them all


@dataclass(frozen=True)
class Recorded:
    """A finished run as the estimates see it."""

    seconds: float  # its wall time; in a pack, its share of the pack's
    work: float  # its image passes (see work())
    pack_size: int  # 1: it trained alone
    model_seconds: float  # the cost model's seconds for it alone
    xla: bool = False  # its pack's steps were compiled by XLA


@dataclass(frozen=True)
class SweepEstimate:
    """The estimates of a sweep's runs, pack by pack in the order they are handed out."""

    packs: list[list[Estimate]]
    parallelism: int  # how many packs train at once

    @property
    def pack_seconds(self) -> list[float]:
        return [sum(e.seconds for e in pack) for pack in self.packs]

    @property
    def runs(self) -> list[Estimate]:
        return [estimate for pack in self.packs for estimate in pack]

    @property
    def total(self) -> float:
        return makespan(self.pack_seconds, self.parallelism)

    def describe(self) -> str:
        """One line for --dry-run: the total and which basis each part came from."""
        counts: dict[str, int] = {}
        for estimate in self.runs:
            counts[estimate.basis] = counts.get(estimate.basis, 0) + 1
        bases = ", ".join(f"{n} from {BASES[basis]}" for basis, n in counts.items())
        at_once = f", {self.parallelism} packs at a time" if self.parallelism > 1 else ""
        stopping = sum(e.at_most for e in self.runs)
        if stopping:  # every planned epoch of theirs is counted
            which = "them" if stopping == len(self.runs) else f"{stopping} of them"
            return (
                f"estimated at most {format_seconds(self.total)} for the runs to do{at_once} "
                f"({bases}; early stopping may end {which} sooner)"
            )
        return f"estimated {format_seconds(self.total)} for the runs to do{at_once} ({bases})"


def makespan(packs: list[float], parallelism: int, busy: list[float] | None = None) -> float:
    """Wall seconds until the last of `packs` (seconds each) ends, each handed out in order to the first
    of `parallelism` workers that is free; `busy`: the seconds left of the packs already training."""
    free = sorted([*(busy or []), *[0.0] * max(0, max(1, parallelism) - len(busy or []))])
    for seconds in packs:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free, default=0.0)


def estimate_sweep(
    packs: list[list[RunSpec]], results_root: Path, parallelism: int = 1, model: CostModel = MEASURED
) -> SweepEstimate:
    """Each run of each pack estimated at its pack's size, from the finished runs recorded under `results_root`."""
    recorded = recorded_runs(results_root)
    threads = resources.threads_per_worker(max(parallelism, 1))  # as the workers' thread pools are sized
    return SweepEstimate(
        [[estimate_run(spec, recorded, model, len(pack), threads) for spec in pack] for pack in packs], parallelism
    )


def estimate_runs(specs: list[RunSpec], results_root: Path, model: CostModel = MEASURED) -> list[Estimate]:
    """One estimate per spec trained alone (--pack off)."""
    return estimate_sweep([[spec] for spec in specs], results_root, model=model).runs


def estimate_run(
    spec: RunSpec,
    recorded: dict[str, list[Recorded]],
    model: CostModel = MEASURED,
    pack_size: int = 1,
    threads: int = 2,
) -> Estimate:
    """A run's seconds in a pack of `pack_size` (1: alone), training on `threads` threads."""
    dumped = spec.as_json()
    at_most = spec.training.early_stopping is not None  # every planned epoch is counted
    alone = model_seconds(dumped, model)
    xla = use_xla([spec], run_sizes(spec).train)
    factor = pack_factor(pack_size, alone, model, threads if xla else 0)
    for key, basis in ((shape_key(dumped), "recorded"), (shape_key(dumped, with_activation=False), "other activation")):
        if key in recorded:
            overhead, planned = model.per_run, work(dumped)
            # Runs recorded at this pack size where there are some: no constant between them and this run.
            runs = [r for r in recorded[key] if r.pack_size == pack_size] or recorded[key]
            # Each as alone, rescaled to this run's images and epochs, then at this pack size; the
            # median resists one slow outlier.
            as_alone = [r.seconds / pack_factor(r.pack_size, r.model_seconds, model, threads * r.xla) for r in runs]
            rescaled = [
                factor * (overhead + max(seconds - overhead, 0.0) * planned / r.work)
                for seconds, r in zip(as_alone, runs)
            ]
            return Estimate(statistics.median(rescaled), basis, at_most)
    return Estimate(factor * alone, "model", at_most)


def model_seconds(spec: dict[str, Any], model: CostModel = MEASURED) -> float:
    return model.per_run + work(spec) * image_seconds(spec, model) + model.per_call * compiled_calls(spec)


def image_seconds(spec: dict[str, Any], model: CostModel = MEASURED) -> float:
    """The cost model's seconds per trained image of this run's model."""
    dense, conv = multiply_adds(spec)
    return model.per_image + model.per_dense_mac * dense + model.per_conv_mac * conv


@dataclass(frozen=True)
class Phases:
    """A run's estimated seconds in the order they pass: `before` its first epoch (building, tracing),
    each of its `epochs` (training and validation), `after` its last (testing)."""

    before: float
    epoch: float
    after: float
    epochs: int

    @property
    def total(self) -> float:
        return self.before + self.epochs * self.epoch + self.after

    def __add__(self, other: Phases) -> Phases:
        """A pack's phases: its runs' together (they read the same batches, so they share their epochs)."""
        epochs = max(self.epochs, other.epochs)
        return Phases(self.before + other.before, self.epoch + other.epoch, self.after + other.after, epochs)


def phases(spec: RunSpec, seconds: float, pack_size: int = 1, model: CostModel = MEASURED) -> Phases:
    """`seconds` (a run's estimate in a pack of `pack_size`) split in the cost model's proportions: the
    fixed part a run pays in such a pack before its first epoch, its test images after its last, the
    rest evenly over its epochs. (A pack that XLA compiles spends a larger share before: not counted.)"""
    dumped = spec.as_json()
    before = fixed_share(pack_size) * model.per_run
    after = FORWARD_SHARE * run_sizes(dumped).test * image_seconds(dumped, model)
    epochs = model_seconds(dumped, model) - model.per_run - after
    share = seconds / (before + epochs + after)
    count = spec.training.epochs
    return Phases(share * before, share * epochs / count, share * after, count)


def recorded_runs(results_root: Path) -> dict[str, list[Recorded]]:
    """Every finished run under `results_root`, by shape key (with and without activation)."""
    found: dict[str, list[Recorded]] = {}
    experiments = sorted(results_root.iterdir()) if results_root.is_dir() else []
    for directory in (run for exp_dir in experiments for run in results.run_directories(exp_dir)):
        try:
            spec, metrics = results.read_run(directory)
            if metrics.get("status") != results.RunStatus.FINISHED:
                continue
            run = Recorded(
                wall_seconds(metrics),
                # The epochs it ran: early stopping may have ended it before its `epochs`.
                work(spec, metrics["n_train"] + metrics["n_val"], metrics["n_test"], metrics.get("epochs_run")),
                int(metrics.get("pack_size") or 1),
                model_seconds(spec),
                bool(metrics.get("pack_xla")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # unreadable runs are the report's to name; here they just do not count
        for key in {shape_key(spec), shape_key(spec, with_activation=False)}:
            found.setdefault(key, []).append(run)
    return found


def wall_seconds(metrics: dict[str, Any]) -> float:
    """A run's wall time as the runner records it; for runs recorded before that, training time plus the fixed part."""
    if metrics.get("run_seconds") is not None:
        return float(metrics["run_seconds"])
    return float(metrics["train_seconds"]) + float(metrics.get("diagnostics_seconds") or 0.0) + MEASURED.per_run


# What a run's speed depends on: its model (but its initializer), batch size, diagnostics, output layer's
# width, a dataset of your own's image size, and its hidden activation.
SHAPE_FIELDS = ("model", "training.batch_size", "diagnostics", "output_units", "own_data.image_shape")


def shape_key(spec: dict[str, Any], with_activation: bool = True) -> str:
    fields = SHAPE_FIELDS + (("hidden_activation",) if with_activation else ())
    data = {**spec, "output_units": results.output_units(spec)}  # recorded before it was in the spec
    return spec_key(data, only=fields, without=("model.initializer",))


def work(
    spec: dict[str, Any], n_train: int | None = None, n_test: int | None = None, epochs: int | None = None
) -> float:
    """Image passes in trained-image units: epochs (the planned ones unless given) x (trained + a third
    of validation) + a third of test."""
    if n_train is None or n_test is None:
        sizes = run_sizes(spec)
        fit, validation, test = sizes.train, sizes.validation, sizes.test
    else:
        validation = validation_images(n_train, spec["training"]["validation_split"])
        fit, test = n_train - validation, n_test
    return (epochs or spec["training"]["epochs"]) * (fit + FORWARD_SHARE * validation) + FORWARD_SHARE * test


def compiled_calls(spec: dict[str, Any]) -> float:
    steps = steps_per_epoch(run_sizes(spec).train, spec["training"]["batch_size"])
    return spec["training"]["epochs"] * math.ceil(steps / STEPS_PER_CALL)


def multiply_adds(spec: dict[str, Any]) -> tuple[int, int]:
    """Multiply-adds per image in dense layers and in convolutions, as config.sizes counts them."""
    from actbench.config import CNNSpec, MLPSpec

    model = (CNNSpec if spec["model"]["type"] == "cnn" else MLPSpec).model_validate(spec["model"])
    size = model_size(model, run_sizes(spec).image_shape, results.output_units(spec))
    return size.dense_multiply_adds, size.conv_multiply_adds


def format_seconds(seconds: float) -> str:
    """'45s', '12m', '3.4h': an estimate's precision, no more."""
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
