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
`auto` derives from it) and the seed: `pack_key`. `packs` cuts planned runs into packs.
"""

from __future__ import annotations

import functools
import json
import math
import time
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


def packs(items: Sequence[T], spec_of: Callable[[T], RunSpec], size: int) -> list[list[T]]:
    """`items` cut into packs of at most `size` runs with equal pack_key, in the order of their first run.

    Runs of one key are split into as few packs as `size` allows, of sizes that differ by one at
    most (7 runs at size 4: 4 + 3, never 4 + 1 + ... ).
    """
    if size < 1:
        raise ValueError(f"pack size must be at least 1, not {size}")
    return _split(_groups(items, spec_of), lambda group: math.ceil(len(group) / size), items)


def plan_packs(
    items: Sequence[T],
    option: str,
    parallelism: int,
    spec_of: Callable[[T], RunSpec] = lambda item: item.spec,  # type: ignore[attr-defined]
) -> list[list[T]]:
    """The packs of a sweep by `--pack`: off (one run each), K (at most K runs) or auto.

    auto: at most AUTO_LARGEST runs, fewer where memory is short, and the packs of a group as many
    as the executor trains at once (or a multiple of it), so no worker idles while the last pack of
    a group trains.
    """
    if option == "off":
        return [[item] for item in items]
    if option != "auto":
        return packs(items, spec_of, pack_limit(option))

    def count(group: list[T]) -> int:
        largest = max(1, min(AUTO_LARGEST, memory_limit(spec_of(group[0]), parallelism)))
        needed = math.ceil(len(group) / largest)
        return min(len(group), math.ceil(needed / parallelism) * parallelism)

    return _split(_groups(items, spec_of), count, items)


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


def _split(groups: list[list[T]], count: Callable[[list[T]], int], items: Sequence[T]) -> list[list[T]]:
    """Each group split into `count(group)` packs whose sizes differ by one at most, in the order of their first run."""
    result = []
    for group in groups:
        number = max(1, count(group))
        small, extra = divmod(len(group), number)
        start = 0
        for index in range(number):
            end = start + small + (index < extra)
            result.append(group[start:end])
            start = end
    first = {id(item): index for index, item in enumerate(items)}
    return sorted(result, key=lambda pack: first[id(pack[0])])


# XLA (jit_compile) fuses the many small operations of an MLP's step, Adam's updates above all, and
# runs it nearly twice as fast on CPU, but compiles for seconds per pack (once per batch shape: the
# usual chunk and the smaller last batch). Measured on the 2-core development machine (7 MLPs 128-64,
# full Fashion-MNIST, CPU seconds): an epoch of 422 steps 4.3 with XLA, 7.8 without; the first
# epoch, tracing and compiling, 27 against 19. So XLA from about 1,000 steps on, and only for MLPs
# (a convolution's arithmetic outweighs its step's small operations) without dropout: XLA draws other
# dropout masks from the same seeds (weights 0.004 apart after two steps), no longer the run alone.
XLA_MIN_STEPS = 1000


def use_xla(spec: RunSpec, images: int) -> bool:
    """Whether a pack of these runs, on `images` training images, trains its steps compiled by XLA."""
    steps = spec.training.epochs * math.ceil(images / spec.training.batch_size)
    return spec.model.type == "mlp" and not spec.model.dropout and steps >= XLA_MIN_STEPS


@dataclass
class _Member:
    run: Any  # train.PreparedRun
    optimizer: Any
    loss_mean: Any
    accuracy: Any
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    diverged_now: bool = False  # within the current epoch
    xla: bool = False  # its steps were compiled by XLA (use_xla)
    error: BaseException | None = None  # its model could not be built: it takes no part

    @property
    def training(self) -> bool:
        """Still in the pack: neither diverged nor stopped by its early stopping."""
        return not (self.diverged or self.run.stopped_early)


def train_pack(specs: Sequence[RunSpec], data: Any, on_epoch: PackEpochCallback | None = None) -> list[Any]:
    """Train the runs of one pack together and test each: per spec, in order, its train.RunResult, or
    the exception that kept its model from being built (that run fails alone; an ActbenchError is raised).

    Every result's metrics say `pack_size` and the pack's training seconds (`pack_train_seconds`);
    its own `train_seconds` is its share of them (cost estimates learn the packed cost per run).
    """
    from actbench import train

    outputs = _Outputs()
    members, pack_seconds = fit_pack(specs, data, on_epoch, outputs)
    finished = [m for m in members if m.error is None and not m.diverged]
    models = [m.run.model for m in finished]
    # The finished models' outputs on an image array (the test set), computed once for all of them.
    seen: dict[int, list[Any]] = {}

    def predict(index: int, images: Any) -> Any:
        if id(images) not in seen:
            seen[id(images)] = outputs(models, images, finished[0].run.scaling)
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
    specs: Sequence[RunSpec], data: Any, on_epoch: PackEpochCallback | None = None, outputs: _Outputs | None = None
) -> tuple[list[_Member], float]:
    """Train the pack: its members (each with its model, history and whether it diverged) and the
    pack's training seconds without diagnostics. `outputs` computes validation outputs (train_pack
    passes its own, which then has the last epoch's models traced)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from actbench import train
    from actbench.models import STEPS_PER_EXECUTION
    from actbench.pipeline import batch_order, model_input_shape, to_model_input

    if len({pack_key(spec) for spec in specs}) != 1:
        raise ValueError("a pack's runs must agree on everything but their hidden activation and seed")
    keras.backend.clear_session()
    if specs[0].deterministic:
        tf.config.experimental.enable_op_determinism()
    from actbench.outputs import accuracy_metric

    members = []
    for spec in specs:
        try:
            run = train.prepare_run(spec, data)
            # Called once alone (without dropout, which would draw a mask), and traced as the pack's step
            # will trace it: an activation that raises fails its own run, not the pack's step.
            shape = model_input_shape(data.x_train)
            run.model(np.zeros((1, *shape), "float32"), training=False)
            traced = tf.function(lambda x, model=run.model: model(x, training=True))
            traced.get_concrete_function(tf.TensorSpec([None, *shape], tf.float32))
        except ActbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a custom activation that raises: that run fails alone
            members.append(_Member(None, None, None, None, diverged=True, error=exc))
            continue
        run.model.optimizer.build(run.model.trainable_variables)
        # The pack keeps its own loss mean and accuracy per model, as Keras' fit keeps them per run.
        accuracy = accuracy_metric(spec.output_activation, spec.output_units)
        members.append(_Member(run, run.model.optimizer, keras.metrics.Mean(), accuracy))

    training = specs[0].training
    built = [m for m in members if m.error is None]
    if not built:
        return members, 0.0
    images = tf.constant(data.x_train)
    targets = tf.constant(built[0].run.targets[0])  # the same task and output for every member
    scaling = built[0].run.scaling  # the same preprocessing too: it is in the pack key
    steps: dict[tuple[int, ...], Any] = {}

    def steps_for(active: tuple[int, ...], jit: bool) -> Any:
        """The compiled training steps of the members still training (a new trace when one leaves)."""
        chosen = [members[i] for i in active]

        def one_step(indices: tf.Tensor) -> tf.Tensor:
            x = to_model_input(tf.gather(images, indices), scaling)
            y = tf.gather(targets, indices)
            with tf.GradientTape() as tape:
                predictions = [m.run.model(x[k], training=True) for k, m in enumerate(chosen)]
                losses = [
                    m.run.loss(y[k], p) + _penalty(m.run.model) for k, (m, p) in enumerate(zip(chosen, predictions))
                ]
                total = tf.add_n(losses)
            variables = [m.run.model.trainable_variables for m in chosen]
            gradients = tape.gradient(total, variables)
            batch = tf.cast(tf.shape(indices)[1], tf.float32)
            for k, m in enumerate(chosen):
                m.optimizer.apply(gradients[k], variables[k])
                m.loss_mean.update_state(losses[k], sample_weight=batch)
                m.accuracy.update_state(y[k], predictions[k])
            return tf.stack(losses)

        @tf.function(
            input_signature=[tf.TensorSpec([len(active), None, None], tf.int32), tf.TensorSpec([], tf.int32)],
            jit_compile=jit,
        )
        def run_steps(indices: tf.Tensor, count: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            """One step per indices[:, s], in turn, until the `count`th or until a loss is not finite
            (that step applied): how many steps ran and the last step's losses. Many steps per call, as
            Keras' steps_per_execution: a call and a look at the losses cost more than a small step."""

            def going(done: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
                return tf.logical_and(done < count, tf.reduce_all(tf.math.is_finite(losses)))

            def step(done: tf.Tensor, losses: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                return done + 1, one_step(indices[:, done])

            return tf.while_loop(going, step, (tf.constant(0), tf.zeros([len(active)])))

        return run_steps

    x_val = data.x_val
    y_val = built[0].run.targets[1]
    outputs = outputs or _Outputs()

    n, batch_size = len(data.x_train), training.batch_size
    jit = use_xla(specs[0], n)
    for m in built:
        for callback in (m.run.probe, m.run.early_stopping):
            if callback:
                callback.set_model(m.run.model)
                callback.on_train_begin()
    probe_seconds = 0.0
    started = time.perf_counter()
    for epoch in range(1, training.epochs + 1):
        active = tuple(i for i, m in enumerate(members) if m.error is None and m.training)
        if not active:
            break
        epoch_started = time.perf_counter()
        orders = {members[i].run.spec.seed: batch_order(members[i].run.spec.seed, epoch, n) for i in active}
        stacked = np.stack([orders[members[i].run.spec.seed] for i in active])
        for m in built:
            m.loss_mean.reset_state()
            m.accuracy.reset_state()
        training_now = active
        # Whole batches as [models, batches, batch_size], then the smaller last batch on its own.
        whole = n // batch_size
        chunks = [stacked[:, : whole * batch_size].reshape(len(active), whole, batch_size)]
        if whole * batch_size < n:
            chunks.append(stacked[:, whole * batch_size :][:, np.newaxis, :])
        for chunk in chunks:
            position = 0
            while training_now and position < chunk.shape[1]:
                if training_now not in steps:
                    steps[training_now] = steps_for(training_now, jit)
                rows = [active.index(i) for i in training_now]
                indices = chunk[rows, position : position + STEPS_PER_EXECUTION]
                count = indices.shape[1]
                if count < STEPS_PER_EXECUTION < chunk.shape[1]:
                    # Padded to the usual length (the padding is not trained on): XLA compiles once per shape.
                    indices = np.pad(indices, ((0, 0), (0, STEPS_PER_EXECUTION - count), (0, 0)), mode="edge")
                try:
                    done, losses = steps[training_now](indices, count)
                except tf.errors.OpError:
                    if not jit:
                        raise
                    # XLA cannot compile an op of the step (a custom activation's, say), which XLA does
                    # before running any of it: the same steps without XLA.
                    jit = False
                    steps.clear()
                    continue
                position += int(done)
                finite = np.isfinite(losses.numpy())
                if not finite.all():
                    for i, ok in zip(training_now, finite):
                        if not ok:
                            members[i].diverged = members[i].diverged_now = True
                    training_now = tuple(i for i in training_now if not members[i].diverged)
        raw_val = outputs([members[i].run.model for i in active], x_val, scaling)
        seconds = time.perf_counter() - epoch_started
        for i, raw in zip(active, raw_val):
            m = members[i]
            val_loss = float(m.run.loss(y_val, raw) + _penalty(m.run.model))  # as Keras' validation counts it
            val_metric = type(m.accuracy).from_config(m.accuracy.get_config())
            val_metric.update_state(y_val, raw)
            row = {
                "epoch": epoch,
                "loss": float("nan") if m.diverged_now else float(m.loss_mean.result()),
                "accuracy": float(m.accuracy.result()),
                "val_loss": val_loss,
                "val_accuracy": float(val_metric.result()),
                "seconds": round(seconds / len(active), 4),  # this run's share of the pack's epoch
            }
            if not all(math.isfinite(v) for v in row.values()):
                m.diverged = True
            m.diverged_now = False
            m.history.append(row)
            if on_epoch:
                on_epoch(i, epoch, row)
            if m.run.early_stopping and not m.diverged:
                m.run.early_stopping.on_epoch_end(epoch - 1, row)
            if m.run.probe:
                probe_started = time.perf_counter()
                m.run.probe.on_epoch_end(epoch - 1)
                probe_seconds += time.perf_counter() - probe_started
    for m in built:
        if m.run.early_stopping:
            m.run.early_stopping.on_train_end()  # restore_best: the best epoch's weights, as Keras' fit
        m.xla = jit
        if m.run.probe:
            probe_started = time.perf_counter()
            m.run.probe.on_train_end()
            probe_seconds += time.perf_counter() - probe_started
    return members, time.perf_counter() - started - probe_seconds


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
