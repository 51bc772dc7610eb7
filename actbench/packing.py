"""Packed training: several runs that differ only in their hidden activation and seed, trained together.

A sweep is many small models; trained alone, each pays Keras' per-step overhead, which on a small
MLP costs more than its arithmetic. A pack trains K runs in one compiled step: each model is the
very Keras model the run builds alone (train.prepare_run: same seed, same initial weights, each
layer initialised with its own fan-in, its own activation layer, PReLU slopes, dropout seed
generator and optimizer), and one tf.function takes a batch per model (each in its own seed's
batch_order), sums the models' mean losses and applies each model's gradients with its own
optimizer. Nothing couples the models: d(sum of losses)/d(model k's weights) is model k's own
gradient, and each optimizer holds only its own model's state. So a packed run's numbers are
those of the run alone, up to float rounding (tests/test_packing.py).

One compiled call runs up to STEPS_PER_EXECUTION steps and stops after a step whose loss is not
finite; an MLP pack that trains long enough is compiled by XLA (use_xla). Each model's loss
includes its own regularisation (`model.losses`: the L2 penalty), as Keras' fit adds it; batch
normalisation keeps its statistics in the model's own layers. A model whose loss stops being finite
trains no further and is recorded diverged at the end of that epoch; one whose early stopping (its
own Keras EarlyStopping, fed its epoch rows) says stop leaves the pack too, finished; the others
train on. After training each run is tested by train.finish_run, as alone, with the outputs of all
the pack's models computed together.

Runs pack when their specs agree on everything but the hidden activation, its initializer (which
`auto` derives from it) and the seed: `pack_key`. `plan_packs` cuts planned runs into packs.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from actbench.config import RunSpec
from actbench.errors import ActbenchError

PackEpochCallback = Callable[[int, int, dict[str, float]], None]  # (the run's index in its pack, epoch, history row)

# What may differ inside a pack: each model is built from its own spec, so its activation, the
# initializer `auto` picks for it, and its seed (hence its initial weights, dropout masks and
# batch order) are its own.
_FREE = {"experiment", "hidden_activation", "seed"}


def pack_key(spec: RunSpec) -> str:
    """Runs with equal keys can train in one pack."""
    identity = {k: v for k, v in spec.as_json().items() if k not in _FREE}
    identity["model"] = {k: v for k, v in identity["model"].items() if k != "initializer"}
    return json.dumps(identity, sort_keys=True, separators=(",", ":"))


T = TypeVar("T")

AUTO_LARGEST = (
    8  # `--pack auto`'s largest pack: more saves little (benchmarks/bench_pack.py sizes) and idles workers at the end
)
MEMORY_SHARE = 0.25  # of the memory available when the sweep starts, what the packs training at once may take


def plan_packs(
    items: Sequence[T],
    option: str,
    parallelism: int,
    spec_of: Callable[[T], RunSpec] = lambda item: item.spec,  # type: ignore[attr-defined]
) -> list[list[T]]:
    """The packs of a sweep by `--pack`: off (one run each); K: as few packs of at most K runs as can
    be (a pack as large as asked, e.g. for a GPU); auto: at most AUTO_LARGEST, fewer where memory is
    short, cut to finish soonest on an executor that trains `parallelism` packs at once (_cut)."""
    if option == "off":
        return [[item] for item in items]
    limit = None if option == "auto" else pack_limit(option)
    result = []
    for group in _groups(items, spec_of):
        largest = limit or max(1, min(AUTO_LARGEST, memory_limit(spec_of(group[0]), parallelism)))
        result += _cut(group, spec_of, largest, parallelism, fewest=limit is not None)
    return result


def pack_limit(option: str) -> int:
    """`--pack K`'s K; refuses anything but off, auto or a number >= 1."""
    try:
        size = int(option)
    except ValueError:
        size = 0
    if size < 1:
        raise ActbenchError(f"--pack {option!r}: give auto, off or the most runs one pack trains together (1 or more)")
    return size


def check_option(option: str) -> None:
    if option not in ("auto", "off"):
        pack_limit(option)


def memory_limit(spec: RunSpec, parallelism: int) -> int:
    """How many of this run's models fit in the memory share of one of `parallelism` packs."""
    import os

    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return AUTO_LARGEST
    return int(MEMORY_SHARE * available / max(parallelism, 1) // model_bytes(spec))


def model_bytes(spec: RunSpec) -> int:
    """One packed model's training memory, as the config's limit counts it (config.model_size: weights,
    gradients, Adam's moments, and a batch of every layer's outputs and their gradients)."""
    from actbench.config import model_size
    from actbench.costs import image_shape

    size = model_size(
        spec.model, image_shape(spec.as_json()), spec.output_units, spec.hidden_activation.name == "prelu"
    )
    return size.training_bytes(spec.training.batch_size)


def _groups(items: Sequence[T], spec_of: Callable[[T], RunSpec]) -> list[list[T]]:
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(pack_key(spec_of(item)), []).append(item)
    return list(groups.values())


def member_key(spec: RunSpec) -> str:
    """What a run brings to its pack's compiled steps: its whole spec but the seed (its activation above all)."""
    return json.dumps({k: v for k, v in spec.as_json().items() if k not in ("experiment", "seed")}, sort_keys=True)


def _cut(group: list[T], spec_of: Callable[[T], RunSpec], largest: int, workers: int, fewest: bool) -> list[list[T]]:
    """One group's runs (equal pack_key) cut into packs of at most `largest` runs, rectangles of its grid.

    The grid's rows are the runs' member_keys (their activations), its columns their seeds (a
    resumed sweep's grid has holes where runs are done). A pack is a block of rows by a block of
    columns, so the packs of one row block hold the same activations in the same order, and a
    process that trained one trains the next with the same compiled steps (_Trainer) instead of
    tracing and compiling its own. Besides the blocks, the runs in grid order cut into as few packs
    as `largest` allows (on a grid with holes that may take fewer packs). The cut chosen finishes
    soonest on `workers` by _finish, then makes the fewest packs; with `fewest`, the other way round.
    """
    seeds = sorted({spec_of(item).seed for item in group})
    rows: dict[str, dict[int, list[T]]] = {}
    for item in group:
        spec = spec_of(item)
        rows.setdefault(member_key(spec), {}).setdefault(seeds.index(spec.seed), []).append(item)
    grid = list(rows.values())
    ordered = [run for row in grid for column in sorted(row) for run in row[column]]
    cuts = [[ordered[span] for span in _near_equal(len(ordered), largest)]]
    for height in range(1, len(grid) + 1):
        for width in range(1, min(len(seeds), largest // height) + 1):
            cuts.append(
                [
                    pack
                    for block in _near_equal(len(grid), height)
                    for span in _near_equal(len(seeds), width)
                    if (pack := [run for row in grid[block] for c in range(len(seeds))[span] for run in row.get(c, [])])
                ]
            )
    best: tuple[float, float, list[list[T]]] | None = None
    for cut in cuts:
        if any(len(pack) > largest for pack in cut):
            continue  # a column holding two runs of one activation and seed (two experiments) overfills it
        structures = [tuple(member_key(spec_of(run)) for run in pack) for pack in cut]
        finish = round(_finish(structures, workers), 6)
        score = (len(cut), finish) if fewest else (finish, len(cut))
        if best is None or score < best[:2]:
            best = (*score, cut)
    assert best is not None
    return best[2]


# What _cut weighs a cut by, in units of one run's training: a pack's own fixed costs (building,
# testing, writing its runs) and, where the worker has not trained that structure yet, tracing and
# compiling its steps. Rough shares of an MLP 128-64 run on full Fashion-MNIST (5 epochs, one
# thread: about 2 s of steps; the first epoch of a pack of 3 or 4 took 2.5-4.5 s more, tracing and
# compiling; a pack's testing and writing 0.3-1.1 s: docs/speed.md, packed training).
PACK_COST, COMPILE_COST, MEMBER_COMPILE_COST = 0.3, 0.5, 0.15


def _finish(structures: list[tuple[str, ...]], workers: int) -> float:
    """When the last of `workers` finishes packs of these structures, handed out in order, each to the
    first free worker, in units of a run's training (a worker compiles each structure once)."""
    free = [0.0] * workers
    seen: list[set[tuple[str, ...]]] = [set() for _ in range(workers)]
    for structure in structures:
        worker = free.index(min(free))
        compile_cost = 0.0 if structure in seen[worker] else COMPILE_COST + MEMBER_COMPILE_COST * len(structure)
        free[worker] += len(structure) + PACK_COST + compile_cost
        seen[worker].add(structure)
    return max(free)


def _near_equal(length: int, most: int) -> list[slice]:
    """range(length) in as few slices of at most `most` as can be, whose lengths differ by one at most."""
    count = math.ceil(length / most)
    small, extra = divmod(length, count)
    ends = [(index + 1) * small + min(index + 1, extra) for index in range(count)]
    return [slice(end - small - (index < extra), end) for index, end in enumerate(ends)]


# XLA (jit_compile) fuses the many small operations of an MLP's step, Adam's updates above all, and
# runs it nearly twice as fast on CPU, but compiles for seconds per structure (once per batch shape:
# one, as the last smaller batch is padded, but with batch norm or dropout). Measured on the 2-core
# development machine (7 MLPs 128-64, full Fashion-MNIST, CPU seconds): an epoch of 422 steps 4.3
# with XLA, 7.8 without; the first epoch, tracing and compiling, 27 against 19. So XLA from about 1,000 steps on, and only for MLPs
# (a convolution's arithmetic outweighs its step's small operations) without dropout: XLA draws other
# dropout masks from the same seeds (weights 0.004 apart after two steps), no longer the run alone.
XLA_MIN_STEPS = 1000


def use_xla(spec: RunSpec, images: int) -> bool:
    """Whether a pack of these runs, on `images` training images, trains its steps compiled by XLA."""
    steps = spec.training.epochs * math.ceil(images / spec.training.batch_size)
    return spec.model.type == "mlp" and not spec.model.dropout and steps >= XLA_MIN_STEPS


@dataclass(eq=False)  # a member is itself: `in` and index() by identity, not by comparing runs
class _Member:
    run: Any  # train.PreparedRun: its spec, its own model (the weights it starts from and ends with), callbacks
    slot: int = -1  # its model's place in the pack's _Trainer
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    diverged_now: bool = False  # within the current epoch
    xla: bool = False  # its steps were compiled by XLA (use_xla)
    error: BaseException | None = None  # its model could not be built: it takes no part

    @property
    def training(self) -> bool:
        """Still in the pack: neither diverged nor stopped by its early stopping."""
        return not (self.diverged or self.run.stopped_early)


@dataclass
class _Trainer:
    """The models a pack trains, with their optimizers, metrics and compiled steps.

    A pack builds its trainer from its own runs' models. Tracing and compiling its steps takes as
    long as training a run or two of a small model, so the process keeps the trainer for the next
    pack of the same structure (its runs' member_keys in order: same activations, same everything
    but the seeds) and that pack trains on it: each
    run's initial weights are copied into the trainer's model, each optimizer is reset to its
    state as built, and the weights are copied back to the run's model at the end (and at every
    epoch where early stopping or diagnostics look at them). The same compiled program, the same
    starting values: the numbers of a fresh trainer (tests/test_packing.py).
    """

    structure: str
    models: list[Any]
    losses: list[Any]
    loss_means: list[Any]
    accuracies: list[Any]
    optimizer_start: list[list[Any]]  # each optimizer's variables as built
    x_train: Any  # the training images and targets the steps hold
    y_train: Any
    images: Any
    targets: Any
    jit: bool
    steps: dict[tuple[int, ...], Any] = field(default_factory=dict)
    outputs: _Outputs = field(default_factory=lambda: _Outputs())

    def holds(self, data: Any, targets: Any) -> bool:
        import numpy as np

        return all(
            mine is theirs or (mine.shape == theirs.shape and np.array_equal(mine, theirs))
            for mine, theirs in ((self.x_train, data.x_train), (self.y_train, targets))
        )

    def reset(self) -> None:
        """Each optimizer as it was built (moments, step count): a new pack's runs start from nothing."""
        for model, start in zip(self.models, self.optimizer_start):
            for variable, value in zip(model.optimizer.variables, start):
                variable.assign(value)


TRAINERS_KEPT = 4  # per process: the structures a worker alternates between (_cut's row blocks)
_trainers: OrderedDict[str, _Trainer] = OrderedDict()


def forget_trainers() -> None:
    """Drop the trainers this process keeps: the next pack traces and compiles its own (benchmarks timing that)."""
    _trainers.clear()


def structure_of(specs: Sequence[RunSpec], images: int) -> str:
    """What a trainer is kept for: whether XLA compiles it and each run's member_key (which holds the
    pack key) in order."""
    return json.dumps([use_xla(specs[0], images), [member_key(spec) for spec in specs]])


def train_pack(specs: Sequence[RunSpec], data: Any, on_epoch: PackEpochCallback | None = None) -> list[Any]:
    """Train the runs of one pack together and test each: per spec, in order, its train.RunResult, or
    the exception that kept its model from being built (that run fails alone; an ActbenchError is raised).

    Every result's metrics say `pack_size` and the pack's training seconds (`pack_train_seconds`);
    its own `train_seconds` is its share of them (cost estimates learn the packed cost per run).
    """
    from actbench import train

    members, pack_seconds, trainer = _fit(specs, data, on_epoch)
    finished = [m for m in members if m.error is None and not m.diverged]
    # The finished models' outputs on an image array (the test set), computed once for all of them
    # by the trainer's models, which hold the runs' final weights.
    seen: dict[int, list[Any]] = {}

    def predict(index: int, images: Any) -> Any:
        if id(images) not in seen:
            models = [trainer.models[m.slot] for m in finished]
            seen[id(images)] = trainer.outputs(models, images, finished[0].run.scaling)
        return seen[id(images)][index]

    results: list[Any] = []
    for m in members:
        if m.error is not None:
            results.append(m.error)
            continue
        share = pack_seconds / len(members)
        index = finished.index(m) if m in finished else -1  # a diverged run predicts nothing
        result = train.finish_run(m.run, data, m.history, share, m.diverged, functools.partial(predict, index))
        result.metrics.update(pack_train_seconds=round(pack_seconds, 4), pack_xla=m.xla)
        results.append(result)
    return results


def fit_pack(
    specs: Sequence[RunSpec], data: Any, on_epoch: PackEpochCallback | None = None
) -> tuple[list[_Member], float]:
    """Train the pack: its members (each with its run, whose model holds the trained weights, its
    history and whether it diverged) and the pack's training seconds without diagnostics. The first
    pack of a structure trains its runs' own models and the process keeps them for the next one:
    read the weights before training another pack of the same structure."""
    members, seconds, _ = _fit(specs, data, on_epoch)
    return members, seconds


def _fit(
    specs: Sequence[RunSpec], data: Any, on_epoch: PackEpochCallback | None
) -> tuple[list[_Member], float, _Trainer]:
    import keras
    import numpy as np
    import tensorflow as tf

    from actbench.models import STEPS_PER_EXECUTION
    from actbench.pipeline import batch_order

    if len({pack_key(spec) for spec in specs}) != 1:
        raise ValueError("a pack's runs must agree on everything but their hidden activation and seed")
    structure = structure_of(specs, len(data.x_train))
    trainer = _trainers.get(structure)
    # A fresh global state, as for a run alone (layer names counted from 1 again); a kept trainer's
    # models and compiled steps live on.
    keras.backend.clear_session()
    if specs[0].deterministic:
        tf.config.experimental.enable_op_determinism()
    members = [_prepared(spec, data, check=trainer is None) for spec in specs]
    built = [m for m in members if m.error is None]
    if not built:
        return members, 0.0, trainer  # type: ignore[return-value]
    if trainer is not None and (len(built) < len(members) or not trainer.holds(data, built[0].run.targets[0])):
        trainer = None
    if trainer is None:
        trainer = _new_trainer(structure, built, data)
        if len(built) == len(members) and not specs[0].model.dropout:
            # Dropout draws its masks from a state of its own in each layer, which copying the
            # weights would not reset: a pack with dropout always builds its own trainer.
            _trainers[structure] = trainer
            while len(_trainers) > TRAINERS_KEPT:
                _trainers.popitem(last=False)
    else:
        _trainers.move_to_end(structure)
        trainer.reset()
    for slot, m in enumerate(built):
        m.slot = slot
        if trainer.models[slot] is not m.run.model:
            trainer.models[slot].set_weights(m.run.model.get_weights())

    training = specs[0].training
    n, batch_size = len(data.x_train), training.batch_size
    x_val, y_val = data.x_val, built[0].run.targets[1]
    scaling = built[0].run.scaling  # the same preprocessing for all: it is in the pack key
    # The epoch's last, smaller batch is padded to the batch size (the padding weighs nothing), so the
    # steps have one shape, compiled once; not where the padding would count: batch normalisation's
    # batch statistics, dropout masks drawn for the batch's shape.
    pad_last = not specs[0].model.dropout and specs[0].model.batch_norm == "none"
    for m in built:
        for callback in (m.run.probe, m.run.early_stopping):
            if callback:
                callback.set_model(m.run.model)
                callback.on_train_begin()
    probe_seconds = 0.0
    started = time.perf_counter()
    for epoch in range(1, training.epochs + 1):
        active = tuple(m.slot for m in built if m.training)
        if not active:
            break
        epoch_started = time.perf_counter()
        orders = {built[s].run.spec.seed: batch_order(built[s].run.spec.seed, epoch, n) for s in active}
        for s in active:
            trainer.loss_means[s].reset_state()
            trainer.accuracies[s].reset_state()
        training_now = active
        for indices, sizes in _epoch_chunks(
            np.stack([orders[built[s].run.spec.seed] for s in active]), batch_size, pad_last
        ):
            position = 0
            while training_now and position < len(sizes):
                rows = [active.index(s) for s in training_now]
                chunk, chunk_sizes = (
                    indices[rows, position : position + STEPS_PER_EXECUTION],
                    sizes[position : position + STEPS_PER_EXECUTION],
                )
                count = len(chunk_sizes)
                if count < STEPS_PER_EXECUTION < len(sizes):
                    # Padded to the usual length (the padding is not trained on): XLA compiles once per shape.
                    chunk = np.pad(chunk, ((0, 0), (0, STEPS_PER_EXECUTION - count), (0, 0)), mode="edge")
                    chunk_sizes = np.pad(chunk_sizes, (0, STEPS_PER_EXECUTION - count), mode="edge")
                try:
                    done, losses = trainer_steps(trainer, training_now, scaling)(chunk, chunk_sizes, count)
                except tf.errors.OpError:
                    if not trainer.jit:
                        raise
                    # XLA cannot compile an op of the step (a custom activation's, say), which XLA does
                    # before running any of it: the same steps without XLA.
                    trainer.jit = False
                    trainer.steps.clear()
                    continue
                position += int(done)
                finite = np.isfinite(losses.numpy())
                if not finite.all():
                    for s, ok in zip(training_now, finite):
                        if not ok:
                            built[s].diverged = built[s].diverged_now = True
                    training_now = tuple(s for s in training_now if not built[s].diverged)
        raw_val = trainer.outputs([trainer.models[s] for s in active], x_val, scaling)
        seconds = time.perf_counter() - epoch_started
        for s, raw in zip(active, raw_val):
            m, model = built[s], trainer.models[s]
            val_loss = float(m.run.loss(y_val, raw) + _penalty(model))  # as Keras' validation counts it
            accuracy = trainer.accuracies[s]
            val_metric = type(accuracy).from_config(accuracy.get_config())
            val_metric.update_state(y_val, raw)
            row = {
                "epoch": epoch,
                "loss": float("nan") if m.diverged_now else float(trainer.loss_means[s].result()),
                "accuracy": float(accuracy.result()),
                "val_loss": val_loss,
                "val_accuracy": float(val_metric.result()),
                "seconds": round(seconds / len(active), 4),  # this run's share of the pack's epoch
            }
            if not all(math.isfinite(v) for v in row.values()):
                m.diverged = True
            m.diverged_now = False
            m.history.append(row)
            if on_epoch:
                on_epoch(members.index(m), epoch, row)
            if (m.run.early_stopping or m.run.probe) and model is not m.run.model:
                m.run.model.set_weights(model.get_weights())  # they look at the run's own model
            if m.run.early_stopping and not m.diverged:
                m.run.early_stopping.on_epoch_end(epoch - 1, row)
            if m.run.probe:
                probe_started = time.perf_counter()
                m.run.probe.on_epoch_end(epoch - 1)
                probe_seconds += time.perf_counter() - probe_started
    for m in built:
        model = trainer.models[m.slot]
        if model is not m.run.model:
            m.run.model.set_weights(model.get_weights())
        if m.run.early_stopping:
            m.run.early_stopping.on_train_end()  # restore_best: the best epoch's weights, as Keras' fit
            if model is not m.run.model:
                model.set_weights(m.run.model.get_weights())  # the trainer's model tests the run
        m.xla = trainer.jit
        if m.run.probe:
            probe_started = time.perf_counter()
            m.run.probe.on_train_end()
            probe_seconds += time.perf_counter() - probe_started
    return members, time.perf_counter() - started - probe_seconds, trainer


def _prepared(spec: RunSpec, data: Any, check: bool) -> _Member:
    """A pack member with its run prepared as alone (train.prepare_run); `check`: its model called once
    alone (without dropout, which would draw a mask) and traced as the pack's step will trace it, so an
    activation that raises fails its own run, not the pack's step (a kept trainer's runs traced before)."""
    import numpy as np
    import tensorflow as tf

    from actbench import train
    from actbench.pipeline import model_input_shape

    try:
        run = train.prepare_run(spec, data)
        if check:
            shape = model_input_shape(data.x_train)
            run.model(np.zeros((1, *shape), "float32"), training=False)
            traced = tf.function(lambda x, model=run.model: model(x, training=True))
            traced.get_concrete_function(tf.TensorSpec([None, *shape], tf.float32))
    except ActbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a custom activation that raises: that run fails alone
        return _Member(None, diverged=True, error=exc)
    run.model.optimizer.build(run.model.trainable_variables)
    return _Member(run)


def _new_trainer(structure: str, built: list[_Member], data: Any) -> _Trainer:
    """A trainer whose models are these runs' own (the first pack of its structure trains them directly)."""
    import keras
    import tensorflow as tf

    from actbench.outputs import accuracy_metric

    first = built[0].run
    targets = first.targets[0]  # the same task and output for every member: they are in the pack key
    return _Trainer(
        structure=structure,
        models=[m.run.model for m in built],
        losses=[m.run.loss for m in built],
        # Its own loss mean and accuracy per model, as Keras' fit keeps them per run.
        loss_means=[keras.metrics.Mean() for _ in built],
        accuracies=[accuracy_metric(m.run.spec.output_activation, m.run.spec.output_units) for m in built],
        optimizer_start=[[v.numpy() for v in m.run.model.optimizer.variables] for m in built],
        x_train=data.x_train,
        y_train=targets,
        images=_images_tensor(data.x_train),
        targets=tf.constant(targets),
        jit=use_xla(first.spec, len(data.x_train)),
    )


def _images_tensor(images: Any) -> Any:
    """The training images as a tensor, one copy for all the trainers kept that train on them."""
    import tensorflow as tf

    for trainer in _trainers.values():
        if trainer.x_train is images:
            return trainer.images
    return tf.constant(images)


def _epoch_chunks(orders: Any, batch_size: int, pad_last: bool) -> list[tuple[Any, Any]]:
    """An epoch's batches, each model in its own order (`orders`: [models, images]), as chunks of
    ([models, batches, batch_size] image indices, [batches] real images per batch). The last,
    smaller batch is padded with repeats of its last index (weighing nothing) where `pad_last`,
    else it is a chunk of its own."""
    import numpy as np

    models, n = orders.shape
    whole = n // batch_size
    chunks = [(orders[:, : whole * batch_size].reshape(models, whole, batch_size), np.full(whole, batch_size, "int32"))]
    rest = n - whole * batch_size
    if rest:
        last = orders[:, whole * batch_size :]
        if pad_last:
            padded = np.pad(last, ((0, 0), (0, batch_size - rest)), mode="edge")[:, np.newaxis, :]
            chunks[0] = (np.concatenate([chunks[0][0], padded], axis=1), np.append(chunks[0][1], rest).astype("int32"))
        else:
            chunks.append((last[:, np.newaxis, :], np.array([rest], "int32")))
    return [chunk for chunk in chunks if chunk[0].shape[1]]


def trainer_steps(trainer: _Trainer, active: tuple[int, ...], scaling: Any) -> Any:
    """The trainer's compiled training steps for the models still training (traced again when one leaves)."""
    if active in trainer.steps:
        return trainer.steps[active]
    import tensorflow as tf

    from actbench.pipeline import to_model_input

    models = [trainer.models[s] for s in active]
    losses = [trainer.losses[s] for s in active]
    loss_means = [trainer.loss_means[s] for s in active]
    accuracies = [trainer.accuracies[s] for s in active]
    images, targets = trainer.images, trainer.targets

    def one_step(indices: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
        x = to_model_input(tf.gather(images, indices), scaling)
        y = tf.gather(targets, indices)
        # The real images of the batch weigh 1, a padded last batch's repeats 0: each loss is the mean
        # over the real images (as Keras' sum over the batch divided by its size, to the bit when unpadded).
        weights = tf.cast(tf.range(tf.shape(indices)[1]) < size, tf.float32)
        real = tf.cast(size, tf.float32)
        with tf.GradientTape() as tape:
            predictions = [model(x[k], training=True) for k, model in enumerate(models)]
            step_losses = [
                tf.reduce_sum(loss.call(y[k], p) * weights) / real + _penalty(model)
                for k, (model, loss, p) in enumerate(zip(models, losses, predictions))
            ]
            total = tf.add_n(step_losses)
        variables = [model.trainable_variables for model in models]
        gradients = tape.gradient(total, variables)
        for k, model in enumerate(models):
            model.optimizer.apply(gradients[k], variables[k])
            loss_means[k].update_state(step_losses[k], sample_weight=real)
            accuracies[k].update_state(y[k], predictions[k], sample_weight=weights)
        return tf.stack(step_losses)

    @tf.function(
        input_signature=[
            tf.TensorSpec([len(active), None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
        ],
        jit_compile=trainer.jit,
    )
    def run_steps(indices: tf.Tensor, sizes: tf.Tensor, count: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One step per indices[:, s] (sizes[s] real images), in turn, until the `count`th or until a
        loss is not finite (that step applied): how many steps ran and the last step's losses. Many
        steps per call, as Keras' steps_per_execution: a call and a look at the losses cost more than
        a small step."""

        def going(done: tf.Tensor, step_losses: tf.Tensor) -> tf.Tensor:
            return tf.logical_and(done < count, tf.reduce_all(tf.math.is_finite(step_losses)))

        def step(done: tf.Tensor, step_losses: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return done + 1, one_step(indices[:, done], sizes[done])

        return tf.while_loop(going, step, (tf.constant(0), tf.zeros([len(active)])))

    trainer.steps[active] = run_steps
    return run_steps


def _penalty(model: Any) -> Any:
    """The model's regularisation losses, summed as Keras' fit adds them to its loss (0 without any)."""
    return sum(model.losses) if model.losses else 0.0


class _Outputs:
    """Several models' raw outputs on uint8 images: one compiled call per batch for all of them, traced
    once per set of models (called eagerly, a model pays Keras' per-layer overhead on every batch)."""

    def __init__(self) -> None:
        self.functions: dict[tuple[int, ...], Any] = {}

    def __call__(self, models: Sequence[Any], images: Any, scaling: Any) -> list[Any]:
        """`scaling`: the pack's input preprocessing (train.PreparedRun.scaling), the same for all its models."""
        import numpy as np
        import tensorflow as tf

        from actbench.pipeline import to_model_input
        from actbench.train import EVAL_BATCH_SIZE

        key = tuple(id(model) for model in models)
        if key not in self.functions:

            @tf.function(input_signature=[tf.TensorSpec([None, *images.shape[1:]], images.dtype)])
            def outputs_of(batch: tf.Tensor) -> list[tf.Tensor]:
                x = to_model_input(batch, scaling)
                return [model(x, training=False) for model in models]

            self.functions[key] = outputs_of
        parts = [
            self.functions[key](images[start : start + EVAL_BATCH_SIZE])
            for start in range(0, len(images), EVAL_BATCH_SIZE)
        ]
        return [np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(len(models))]
