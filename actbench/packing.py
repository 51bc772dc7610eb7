"""Which runs train together, and how: packs cut from a sweep's runs, and the few facts about a pack's
training that planning and the cost model need. Plain Python, no TensorFlow (actbench.training trains).

A pack is runs that read the same batches (the same data, cut, preprocessing and batch size, each run
in its own seed's order) and may differ in anything each model holds itself (MEMBER_FIELDS): `pack_key`. Each trains
as it would alone, its own model, optimizer and metrics, in one compiled step with the others
(actbench/training/loop.py); a run alone is a pack of one. `plan_packs` cuts planned runs into packs
by `--pack`: off (one run each), K (as few packs of at most K as can be) or auto (_cut: what finishes
soonest on the executor's workers, as large as memory allows).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from actbench import resources
from actbench.config import RunSpec, model_size, spec_key, steps_per_epoch
from actbench.errors import ActbenchError, named

PackSetting = Literal["auto", "off"] | int  # --pack: auto, off, or the most runs one pack trains together
PackEpochCallback = Callable[[int, int, dict[str, float]], None]  # (a run's index in its pack, epoch, its history row)

# What may differ inside a pack: what each model holds itself. Its activation, initializer, seed (its
# initial weights, dropout masks and batch order), its dropout and batch normalisation layers, its
# optimizer and learning rate (schedule included), its penalties, its epochs and early stopping.
# Everything else (the data, its cut and preprocessing, the batch size, the layers' sizes, the task
# and output layer) the pack's runs share.
MEMBER_FIELDS = (
    "experiment",
    "seed",
    "hidden_activation",
    "model.initializer",
    "model.dropout",
    "model.dropout_kind",
    "model.batch_norm",
    "training.optimizer",
    "training.learning_rate",
    "training.momentum",
    "training.nesterov",
    "training.weight_decay",
    "training.l2",
    "training.schedule",
    "training.epochs",
    "training.early_stopping",
)
# One compiled call runs up to this many steps, as Keras' steps_per_execution: a call and a look at
# the losses cost more than a small step.
STEPS_PER_CALL = 50
# XLA (jit_compile) fuses an MLP step's many small operations and runs it faster on a CPU, but compiles
# for seconds per structure: only for MLPs that train long enough, and never with dropout (XLA draws
# other masks from the same seeds, no longer the run alone). Figures: docs/speed.md, packed training.
XLA_MIN_STEPS = 1000
AUTO_LARGEST = 8  # --pack auto's largest pack: more saves little and idles workers at the end (docs/speed.md)
MEMORY_SHARE = 0.25  # of the memory free when the sweep starts, what the packs training at once may take

T = TypeVar("T")


def pack_setting(value: str | int, where: str = "--pack") -> PackSetting:
    """--pack (or a program's `pack=`) as a typed value; an error names `where` the value came from."""
    if value in ("auto", "off"):
        return value  # type: ignore[return-value]
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 1 or isinstance(value, bool) or (isinstance(value, float) and value != size):
        raise ActbenchError(
            f"{named(where, value)}: give auto, off or the most runs one pack trains together (1 or more)"
        )
    return size


def pack_key(spec: RunSpec) -> str:
    """Runs with equal keys can train in one pack."""
    return spec_key(spec, without=MEMBER_FIELDS)


def member_key(spec: RunSpec) -> str:
    """What a run brings to its pack's compiled steps: its whole spec but the seed (its activation above all)."""
    return spec_key(spec, without=("experiment", "seed"))


def use_xla(specs: Sequence[RunSpec], train_images: int) -> bool:
    """Whether a pack of these runs, on `train_images` training images, trains its steps compiled by XLA."""
    return all(
        spec.model.type == "mlp"
        and not spec.model.dropout
        and spec.training.epochs * steps_per_epoch(train_images, spec.training.batch_size) >= XLA_MIN_STEPS
        for spec in specs
    )


def structure_of(specs: Sequence[RunSpec], train_images: int) -> str:
    """What a process keeps a trainer for: whether XLA compiles it and each run's member_key (which holds
    the pack key) in order."""
    return json.dumps([use_xla(specs, train_images), [member_key(spec) for spec in specs]])


def plan_packs(
    items: Sequence[T],
    setting: PackSetting,
    parallelism: int,
    spec_of: Callable[[T], RunSpec] = lambda item: item.spec,  # type: ignore[attr-defined]
) -> list[list[T]]:
    """The packs of a sweep by `setting`: off (one run each); K: as few packs of at most K runs as can
    be (a pack as large as asked, e.g. for a GPU); auto: at most AUTO_LARGEST, fewer where memory is
    short, cut to finish soonest on an executor that trains `parallelism` packs at once (_cut)."""
    if setting == "off":
        return [[item] for item in items]
    result = []
    for group in _groups(items, spec_of):
        if setting == "auto":
            largest = max(1, min(AUTO_LARGEST, memory_limit(spec_of(group[0]), parallelism)))
            result += _cut(group, spec_of, largest, parallelism, fewest=False)
        else:
            result += _cut(group, spec_of, setting, parallelism, fewest=True)
    return result


def memory_limit(spec: RunSpec, parallelism: int) -> int:
    """How many of this run's models fit in the memory share of one of `parallelism` packs."""
    available = resources.available_memory_bytes()
    if available is None:
        return AUTO_LARGEST
    return int(MEMORY_SHARE * available / max(parallelism, 1) // model_bytes(spec))


def model_bytes(spec: RunSpec) -> int:
    """One packed model's training memory, as the config's limit counts it (config.sizes: weights,
    gradients, Adam's moments, and a batch of every layer's outputs and their gradients)."""
    from actbench.config import run_sizes

    size = model_size(
        spec.model, run_sizes(spec).image_shape, spec.output_units, spec.hidden_activation.name == "prelu"
    )
    return size.training_bytes(spec.training.batch_size)


def _groups(items: Sequence[T], spec_of: Callable[[T], RunSpec]) -> list[list[T]]:
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(pack_key(spec_of(item)), []).append(item)
    return list(groups.values())


def _cut(group: list[T], spec_of: Callable[[T], RunSpec], largest: int, workers: int, fewest: bool) -> list[list[T]]:
    """One group's runs (equal pack_key) cut into packs of at most `largest` runs, rectangles of its grid.

    The grid's rows are the runs' member_keys (their activations), its columns their seeds (a
    resumed sweep's grid has holes where runs are done). A pack is a block of rows by a block of
    columns, so the packs of one row block hold the same activations in the same order, and a
    process that trained one trains the next with the same compiled steps (a kept trainer) instead
    of tracing and compiling its own. Besides the blocks, the runs in grid order cut into as few packs
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
            cuts.append(_blocks(grid, len(seeds), height, width))
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


def _blocks(grid: list[dict[int, list[T]]], seeds: int, height: int, width: int) -> list[list[T]]:
    """The grid cut into blocks of about `height` rows by `width` seed columns, each block a pack."""
    packs = []
    for rows in _near_equal(len(grid), height):
        for columns in _near_equal(seeds, width):
            pack = [run for row in grid[rows] for column in range(seeds)[columns] for run in row.get(column, [])]
            if pack:
                packs.append(pack)
    return packs


# What _cut weighs a cut by, in units of one run's training: a pack's own fixed costs (building,
# testing, writing its runs) and, where the worker has not trained that structure yet, tracing and
# compiling its steps (rough shares measured on the 2-core machine: docs/speed.md, packed training).
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
