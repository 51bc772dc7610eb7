"""The grid: one RunSpec per combination of the config's lists, each run's id (the hash of what changes its numbers),
and the ids of its group (the same less the seed) and block (less the activations too)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import PositiveInt

from actbench import activations
from actbench import dataset_catalogue as builtin_datasets
from actbench.config.experiment import ExperimentConfig
from actbench.config.schema import (
    PREPROCESSING,
    ActivationSpec,
    ModelSpec,
    Strict,
    TaskSpec,
    TrainingSpec,
    output_units,
)
from actbench.settings_catalogue import activation_settings

# The version of the rules by which a run turns its spec into numbers (data order, models, losses,
# metrics, diagnostics). Bump it in every change that alters the numbers: it is part of the run id,
# so older run directories are then stale (reported as such, never mixed in, never counted as
# done) and their runs train again. 1: until the input pipeline reshuffled every epoch. 2: until
# every run trained in actbench's own loop (alone, a pack of one: its numbers those of Keras' fit to
# float rounding) and a packed run's train_seconds was its own share of its pack's, not an equal one.
TRAINING_RULES = 3


class OwnData(Strict):
    """What a run of a dataset of your own records about its content: the digest of its arrays (so a
    changed file makes new runs), and the facts that size the model and estimate its cost."""

    sha256: str
    image_shape: tuple[PositiveInt, ...]  # (H, W) grey or (H, W, C)
    classes: PositiveInt
    n_train: PositiveInt
    n_test: PositiveInt


class RunSpec(Strict):
    """One cell of the grid: everything that determines a run's numbers, plus the experiment name."""

    experiment: str
    dataset: str
    source: Literal["full", "sample", "own"]
    limit_train: PositiveInt | None
    limit_test: PositiveInt | None
    task: TaskSpec
    model: ModelSpec
    hidden_activation: ActivationSpec
    output_activation: str
    output_units: PositiveInt
    training: TrainingSpec
    seed: int
    deterministic: bool
    diagnostics: bool = False
    training_rules: int
    own_data: OwnData | None = None  # only for a dataset of your own
    preprocessing: Literal[PREPROCESSING] = "scale"  # type: ignore[valid-type]
    # A tuned experiment's (actbench/tuning.py): stage "tune" runs choose settings on validation data and
    # are never tested; "final" runs train a choice on the experiment's seeds, `tuned` naming what was
    # chosen (spec fields, dotted), which its block then leaves out: its groups compare activations each
    # at its own choice.
    stage: Literal["final", "tune"] = "final"
    tuned: tuple[str, ...] = ()

    # A built-in dataset's runs have no `own_data` key, so their spec (and run id) is what it was
    # before datasets of your own existed; the same for the settings added later, at their defaults.
    LATER = ("own_data", "preprocessing", "stage", "tuned")

    def as_json(self) -> dict[str, Any]:
        """The spec as spec.json holds it."""
        return self.model_dump(mode="json")


# Fields that do not change the numbers and therefore stay out of the run id (spec.json also holds the id itself).
NOT_IN_RUN_ID = ("experiment", "run_id")
# A group: the runs equal but for the seed. A block: the groups equal but for their activations and what
# follows them (the settings catalogue's `activation` rows: the resolved `initializer: auto`, the output width).
NOT_IN_GROUP_ID = (*NOT_IN_RUN_ID, "seed")


def spec_key(spec: RunSpec | dict[str, Any], *, only: Iterable[str] | None = None, without: Iterable[str] = ()) -> str:
    """The canonical JSON of a spec (as spec.json holds it) narrowed to the fields `only` (all by default),
    less the fields `without`, each dotted ('model.initializer'): the one key of every "runs alike in
    these" (run, group, block, pack, member, data cut, cost shape)."""
    data = _as_json(spec)
    if only is not None:
        picked: dict[str, Any] = {}
        for dotted in only:
            _copy_path(data, picked, dotted.split("."))
        data = picked
    for dotted in without:
        data = _without_path(data, dotted.split("."))
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def run_id(spec: RunSpec) -> str:
    """Short sha256 of the canonical JSON of everything that changes the numbers."""
    return _digest(spec_key(spec, without=NOT_IN_RUN_ID))


def group_id(spec: RunSpec | dict[str, Any]) -> str:
    """The id every seed of one group shares: the digest of the spec (as spec.json holds it) less the seed.
    A custom activation's source digest and a dataset's content digest are in the spec, so an edited
    function or a changed file makes another group."""
    return _digest(spec_key(spec, without=NOT_IN_GROUP_ID))


def block_id(spec: RunSpec | dict[str, Any]) -> str:
    """The id every group of one block shares: the spec less the seed, the activations (results.csv's
    names: 'model.initializer' is spec["model"]["initializer"]) and the settings tuning chose for each."""
    tuned = tuple(_as_json(spec).get("tuned", ()))
    return _digest(spec_key(spec, without=(*NOT_IN_GROUP_ID, *activation_settings(), *tuned)))


def _as_json(spec: RunSpec | dict[str, Any]) -> dict[str, Any]:
    return spec.as_json() if isinstance(spec, RunSpec) else spec


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: list[str]) -> None:
    if path[0] not in source:
        return
    if len(path) == 1:
        target[path[0]] = source[path[0]]
    elif isinstance(source[path[0]], dict):
        _copy_path(source[path[0]], target.setdefault(path[0], {}), path[1:])


def _without_path(data: dict[str, Any], path: list[str]) -> dict[str, Any]:
    if len(path) == 1:
        return {k: v for k, v in data.items() if k != path[0]}
    inner = data.get(path[0])
    return {**data, path[0]: _without_path(inner, path[1:])} if isinstance(inner, dict) else data


def _digest(canonical: str) -> str:
    """Short sha256 of a canonical JSON text."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def expand_runs(
    config: ExperimentConfig, sources: dict[str, str], own: dict[str, OwnData] | None = None
) -> list[RunSpec]:
    """The cartesian product of the config's lists; `sources` maps a built-in dataset -> 'full' |
    'sample', `own` each dataset of your own -> what its files hold (see plan.plan_runs).

    A limit at or above what the dataset holds means "all" and is recorded as None, so it gives the
    same run id as no limit.
    """
    own = own or {}

    def effective(limit: int | None, available: int) -> int | None:
        return None if limit is None or limit >= available else limit

    def facts(dataset: str) -> tuple[str, tuple[int, int], int]:
        """Source, (train, test) size and class count."""
        if dataset in own:
            return "own", (own[dataset].n_train, own[dataset].n_test), own[dataset].classes
        info = builtin_datasets.DATASETS[dataset]
        return sources[dataset], info.size(sources[dataset]), info.classes

    runs = []
    # Settings given as lists (config/axes.py) vary after the model and before the activations.
    grid = itertools.product(
        config.dataset_names,
        config.models,
        config.preprocessings,
        config.trainings,
        config.hidden_activations,
        config.output_activations,
        config.seeds,
    )
    for dataset, model, preprocessing, training, hidden, output, seed in grid:
        if model.initializer == "auto":
            model = model.model_copy(update={"initializer": activations.default_initializer(hidden.name)})
        source, (n_train, n_test), classes = facts(dataset)
        runs.append(
            RunSpec(
                experiment=config.name,
                dataset=dataset,
                source=source,
                limit_train=effective(config.data.limit_train, n_train),
                limit_test=effective(config.data.limit_test, n_test),
                task=config.task,
                model=model,
                hidden_activation=hidden,
                output_activation=output.name,
                output_units=output_units(config.task, output, classes),
                training=training,
                seed=seed,
                deterministic=config.deterministic,
                diagnostics=config.diagnostics,
                training_rules=TRAINING_RULES,
                own_data=own.get(dataset),
                preprocessing=preprocessing,
            )
        )
    return runs
