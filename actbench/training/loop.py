"""The one way a run trains: as a member of a pack (a run alone is a pack of one), epoch by epoch on the
pack's trainer, and then tested once.

Each epoch, every member still training takes its batches in its own seed's order (pipeline.batch_order),
up to packing.STEPS_PER_CALL steps per compiled call; a member whose loss stops being finite trains no
further and is recorded diverged at the end of that epoch, one whose early stopping says stop (or whose
epochs are done) leaves the pack too, and the others train on. The epoch's last, smaller batch is padded
to the batch size (the padding weighs nothing) so the steps have one shape, compiled once; not where the
padding would count: batch normalisation's batch statistics, dropout masks drawn for the batch's shape.

A pack's epoch takes one wall time for all its members. Each member's own share of it is its training
step's cost as timed alone (Trainer.step_seconds: a few steps after the first epoch, outside the training time), so
a slow activation's run records the larger time, as it would alone (docs/speed.md, time per run).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actbench.config import RunSpec
from actbench.context import TrainingContext
from actbench.datasets import Dataset
from actbench.errors import ActbenchError
from actbench.packing import STEPS_PER_CALL, PackEpochCallback, pack_key, structure_of, use_xla
from actbench.pipeline import batch_order, epoch_batches, model_input_shape
from actbench.training.member import Member, cost_key, own_shares
from actbench.training.result import RunResult, finish_run
from actbench.training.setup import PreparedRun, prepare_run
from actbench.training.trainer import STEPS_TIMED, Trainer, build_trainer

# Timings of each kind of step in a pack of several (Trainer.step_seconds), taken after its first epoch:
# a step costs the same every epoch, and timing every epoch slowed short sweeps (docs/speed.md).
STEP_TIMINGS = 3


@dataclass
class TrainedPack:
    """A pack after training: per spec, its prepared run or the exception that kept it from being built;
    the members that trained (each with its model, history and time); their trainer; and the pack's
    training seconds."""

    prepared: list[PreparedRun | BaseException]
    members: list[Member]
    trainer: Trainer | None  # None when no run could be built
    seconds: float

    def tested(self, data: Dataset) -> list[RunResult | BaseException]:
        """Per spec, in order, its RunResult (each member tested once), or the exception that kept its
        model from being built. Every result's metrics say `pack_size`, the pack's training seconds
        (`pack_train_seconds`), their equal share (`pack_share_seconds`) and its own `train_seconds`,
        its share by its step's cost."""
        assert self.trainer is not None, "no run of the pack was built"
        results = _tested(self.members, self.trainer, data)
        for result in results.values():
            result.metrics.update(
                pack_size=len(self.prepared),
                pack_train_seconds=round(self.seconds, 4),
                pack_share_seconds=round(self.seconds / len(self.members), 4),
                pack_xla=self.trainer.jit,
            )
        return [results[id(run)] if isinstance(run, PreparedRun) else run for run in self.prepared]


def train_runs(
    specs: Sequence[RunSpec], data: Dataset, context: TrainingContext, on_epoch: PackEpochCallback | None = None
) -> list[RunResult | BaseException]:
    """Train the runs of one pack together and test each (TrainedPack.tested); an ActbenchError raises."""
    trained = train_pack(specs, data, context, on_epoch)
    if not trained.members:  # not one run could be built: each its own exception
        return [error for error in trained.prepared if isinstance(error, BaseException)]
    return trained.tested(data)


def train_pack(
    specs: Sequence[RunSpec], data: Dataset, context: TrainingContext, on_epoch: PackEpochCallback | None = None
) -> TrainedPack:
    """Train the runs of one pack together on a trainer the context keeps for their structure (or a new
    one); `on_epoch` is told each epoch with the run's index in `specs`."""
    if len({pack_key(spec) for spec in specs}) != 1:
        raise ValueError("a pack's runs must read the same batches (packing.pack_key)")
    # A fresh global state for each pack: layer names counted from 1 again, graphs and memory given
    # back (a kept trainer's models and compiled steps live on).
    keras.backend.clear_session()
    if any(spec.deterministic for spec in specs):
        tf.config.experimental.enable_op_determinism()
    structure = structure_of(specs, len(data.x_train))
    kept = context.kept_trainer(structure, data.x_train)
    scaling = context.scaling(specs[0].preprocessing, data.x_train)  # one preprocessing: it is in the pack key
    prepared = [_prepared(spec, data, scaling, check=kept is None) for spec in specs]
    runs = [run for run in prepared if isinstance(run, PreparedRun)]
    if not runs:
        return TrainedPack(prepared, [], None, 0.0)
    trainer = kept if kept is not None and len(runs) == len(specs) else None
    if trainer is None:
        images = context.tensor(data.x_train, tf.constant)
        trainer = build_trainer(structure, runs, data.x_train, images, scaling, use_xla(specs, len(data.x_train)))
        if len(runs) == len(specs) and not any(spec.model.dropout for spec in specs):
            # Dropout draws its masks from a state of its own in each layer, which loading weights would
            # not reset: a pack with dropout always builds its own trainer.
            context.keep_trainer(structure, trainer)
    else:
        trainer.load(runs)
    index = {id(run): number for number, run in enumerate(prepared)}
    members = [
        Member(run, slot, trainer.models[slot], on_epoch and functools.partial(on_epoch, index[id(run)]))
        for slot, run in enumerate(runs)
    ]
    pad_last = not any(spec.model.dropout or spec.model.batch_norm != "none" for spec in specs)
    seconds = _fit(trainer, members, data, specs[0].training.batch_size, pad_last)
    return TrainedPack(prepared, members, trainer, seconds)


def _prepared(spec: RunSpec, data: Dataset, scaling: Any, check: bool) -> PreparedRun | BaseException:
    """A run prepared (training.setup), or the exception that kept it from being built. `check`: its
    model called once alone (without dropout, which would draw a mask) and traced as the pack's step
    will trace it, so an activation that raises fails its own run, not the pack's step (a kept
    trainer's runs were traced before)."""
    try:
        run = prepare_run(spec, data, scaling)
        if check:
            shape = model_input_shape(data.x_train)
            run.model(np.zeros((1, *shape), "float32"), training=False)
            traced = tf.function(lambda x, model=run.model: model(x, training=True))
            traced.get_concrete_function(tf.TensorSpec([None, *shape], tf.float32))
    except ActbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a custom activation that raises: that run fails alone
        return exc
    return run


def _fit(trainer: Trainer, members: list[Member], data: Dataset, batch_size: int, pad_last: bool) -> float:
    """Train the members until none is training: the pack's training seconds, its epochs' wall time
    (steps and validation, not diagnostics or step timings), which the members share."""
    for member in members:
        member.begin()
    y_val, seconds = members[0].run.targets[1], 0.0
    step_seconds: dict[str, list[float]] = {}  # by the cost_key of the members timed
    for epoch in range(1, max(member.epochs for member in members) + 1):
        active = [member for member in members if member.training]
        if not active:
            break
        started = time.perf_counter()
        _train_epoch(trainer, active, epoch, len(data.x_train), batch_size, pad_last)
        raw_val = trainer.outputs([member.slot for member in active], data.x_val)
        epoch_seconds = time.perf_counter() - started
        seconds += epoch_seconds
        if len(active) > 1 and not step_seconds:
            _time_steps(trainer, active, len(data.x_train), min(batch_size, len(data.x_train)), step_seconds)
        for member, raw, share in zip(active, raw_val, own_shares(active, step_seconds)):
            figures = trainer.epoch_figures(member.slot, raw, y_val, member.run.loss)
            member.end_epoch(epoch, figures, epoch_seconds * share)
    for member in members:
        member.end()
    return seconds


def _train_epoch(
    trainer: Trainer, active: list[Member], epoch: int, images: int, batch_size: int, pad_last: bool
) -> None:
    """One epoch of steps for the members in `active`, each over its own seed's batch order."""
    trainer.start_epoch([member.slot for member in active])
    orders = np.stack([batch_order(member.run.spec.seed, epoch, images) for member in active])
    training = list(active)
    for indices, sizes in epoch_batches(orders, batch_size, pad_last):
        position = 0
        while training and position < len(sizes):
            rows = [active.index(member) for member in training]
            chunk, chunk_sizes, count = _chunk(indices[rows], sizes, position)
            done, losses = trainer.run_steps(tuple(member.slot for member in training), chunk, chunk_sizes, count)
            position += done
            for member, finite in zip(training, np.isfinite(losses)):
                if not finite:
                    member.diverged = member.diverged_now = True
            training = [member for member in training if not member.diverged]


def _chunk(indices: np.ndarray, sizes: np.ndarray, position: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The next call's batches from `position` on: up to STEPS_PER_CALL, padded to that many (the padding
    not trained on) so XLA compiles one shape."""
    chunk, chunk_sizes = indices[:, position : position + STEPS_PER_CALL], sizes[position : position + STEPS_PER_CALL]
    count = len(chunk_sizes)
    if count < STEPS_PER_CALL < len(sizes):
        chunk = np.pad(chunk, ((0, 0), (0, STEPS_PER_CALL - count), (0, 0)), mode="edge")
        chunk_sizes = np.pad(chunk_sizes, (0, STEPS_PER_CALL - count), mode="edge")
    return chunk, chunk_sizes, count


def _time_steps(
    trainer: Trainer, active: list[Member], images: int, batch_size: int, step_seconds: dict[str, list[float]]
) -> None:
    """Each kind of step the members take (cost_key: their layers and activation) timed alone on the
    first STEPS_TIMED batches of the training images, on the first member of that kind, STEP_TIMINGS
    rounds, the kinds in another order each round so a busy moment of the machine does not fall on one
    of them alone. Once per pack: the first epoch any two members of different kinds train together."""
    batches = np.arange(STEPS_TIMED * batch_size, dtype=np.int32).reshape(STEPS_TIMED, batch_size) % images
    kinds = list({cost_key(member): member for member in active}.items())
    if len(kinds) < 2:
        return  # every member's step costs the same: equal shares, nothing to time
    for round_ in range(STEP_TIMINGS):
        shift = round_ % len(kinds)
        for key, member in kinds[shift:] + kinds[:shift]:
            step_seconds.setdefault(key, []).append(trainer.step_seconds(member.slot, batches))


def _tested(members: list[Member], trainer: Trainer, data: Dataset) -> dict[int, RunResult]:
    """Each member tested once (training.result), the outputs of all that did not diverge computed
    together on each image array: by the id of its run."""
    finished = [member for member in members if not member.diverged]
    computed: dict[int, dict[Member, np.ndarray]] = {}

    def predict(member: Member, images: np.ndarray) -> np.ndarray:
        if id(images) not in computed:
            outputs = trainer.outputs([m.slot for m in finished], images)
            computed[id(images)] = dict(zip(finished, outputs))
        return computed[id(images)][member]

    return {
        id(member.run): finish_run(
            member.run, data, member.history, member.seconds, member.diverged, functools.partial(predict, member)
        )
        for member in members
    }


def train_alone(
    spec: RunSpec, data: Dataset, context: TrainingContext | None = None, on_epoch: PackEpochCallback | None = None
) -> RunResult:
    """One run alone, a pack of one (in a context of its own unless given); an error building it raises."""
    from actbench.datasets.cache import DataRequest

    owned = context is None
    context = context or TrainingContext(DataRequest(spec.source))
    try:
        [outcome] = train_runs([spec], data, context, on_epoch)
    finally:
        if owned:
            context.close()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
