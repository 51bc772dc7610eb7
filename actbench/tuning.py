"""Fair comparisons: each candidate (an activation in its block) at its own best settings, chosen on
validation data with tuning seeds, then judged on the experiment's own, fresh seeds.

A config's `tune:` section names settings given as lists (training.learning_rate: [...]). Stage 1 trains
every candidate at every value of them with the tuning seeds (runs of stage "tune", never tested); a
candidate's choice is the value whose mean validation score over those seeds is best (val_loss lowest,
or val_accuracy highest; read at the last epoch, or at the best one where early stopping restores it; a
run that diverged scores worst). Stage 2 trains each candidate's choice with the experiment's seeds
(stage "final", `tuned` naming what was chosen) and only those are tested and judged, so the numbers a
verdict reads are not the ones the choice was made on (docs/statistics.md, tuned comparisons).

The choice is made anew from stage 1's records whenever a sweep runs (a seed added to stage 1 may change
it, and the sweep says so); selection.json records every score and choice.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actbench import results
from actbench.config import ExperimentConfig, OwnData, RunSpec, block_id, expand_runs, group_id, run_id, spec_key
from actbench.config.experiment import PER_CANDIDATE
from actbench.config.schema import TUNE_SCORES
from actbench.naming import run_label

# The spec fields of what tune.per names besides the settings given as lists.
PER_FIELDS = {
    "dataset": ("dataset", "source", "own_data", "limit_train", "limit_test"),
    "model": ("model",),
    "hidden_activation": ("hidden_activation", "model.initializer"),
    "output_activation": ("output_activation", "output_units"),
}
assert set(PER_FIELDS) == set(PER_CANDIDATE)


def stage_one(
    config: ExperimentConfig, sources: dict[str, str], own: dict[str, OwnData] | None = None
) -> list[RunSpec]:
    """Every candidate at every value of the tuned settings, with the tuning seeds: never tested."""
    grid = expand_runs(config.model_copy(update={"seeds": config.tuning_seeds}), sources, own)
    return [spec.model_copy(update={"stage": "tune"}) for spec in grid]


def stage_two(
    config: ExperimentConfig, sources: dict[str, str], own: dict[str, OwnData] | None, selection: Selection
) -> list[RunSpec]:
    """Each candidate at its chosen values, with the experiment's seeds; candidates without a choice
    (every tuning run failed) are left out."""
    chosen = {choice.candidate: choice.chosen for choice in selection.choices if choice.chosen is not None}
    tuned = config.tuned_fields
    return [
        spec.model_copy(update={"tuned": tuned})
        for spec in expand_runs(config, sources, own)
        if chosen.get(candidate_key(spec, config)) == values_of(spec, tuned)
    ]


def candidate_key(spec: RunSpec, config: ExperimentConfig) -> str:
    """What a choice is made for: the spec less its seed, stage and tuned settings, and less what tune.per
    leaves out (by default nothing else: each activation in each block has a choice of its own)."""
    tune = config.tune
    assert tune is not None
    shared: list[str] = []
    if tune.per is not None:
        named = set(tune.per)
        shared += [f for name, fields in PER_FIELDS.items() if name not in named for f in fields]
        axes = {config_axis: field for config_axis, field in _axis_fields(config).items() if config_axis not in named}
        shared += [field for field in axes.values() if field not in config.tuned_fields]
    return spec_key(spec, without=("experiment", "seed", "stage", "tuned", *config.tuned_fields, *shared))


def values_of(spec: RunSpec | dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The spec's values of these dotted fields."""
    data = spec.as_json() if isinstance(spec, RunSpec) else spec
    found = {}
    for dotted in fields:
        value: Any = data
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        found[dotted] = value
    return found


@dataclass
class Scored:
    """One value of the tuned settings for one candidate: its tuning runs and their scores."""

    setting: dict[str, Any]
    run_ids: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)  # inf (val_loss) or -inf (val_accuracy): diverged

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else math.nan

    @property
    def sd(self) -> float:
        finite = [s for s in self.scores if math.isfinite(s)]
        return statistics.stdev(finite) if len(finite) > 1 else math.nan


@dataclass
class Choice:
    candidate: str  # candidate_key
    label: str  # what the candidate is, as a run's title names it (less its seed)
    values: list[Scored]  # in the order of the settings' lists
    chosen: dict[str, Any] | None  # None: no value had a run to score
    runner_up: dict[str, Any] | None = None
    at_edge: bool = False  # the chosen value is the first or last of a list: a wider list might do better
    close: bool = False  # the runner-up's mean lies within the chosen value's spread over the tuning seeds
    block_id: str | None = None  # the block its stage-2 runs are judged in
    group_id: str | None = None  # its stage-2 group (None where one choice serves several activations)


@dataclass
class Selection:
    tuned: list[str]
    score: str
    tuning_seeds: list[int]
    seeds: list[int]
    choices: list[Choice]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for choice, source in zip(data["choices"], self.choices):
            for value, scored in zip(choice["values"], source.values):
                value.update(mean=_number(scored.mean), sd=_number(scored.sd))
                value["scores"] = [_number(score) for score in value["scores"]]
        return data


def choose(config: ExperimentConfig, specs: list[RunSpec], exp_dir: Path) -> Selection:
    """Each candidate's choice from stage 1's recorded runs (`specs`: stage one's planned runs)."""
    tune = config.tune
    assert tune is not None
    tuned, best = config.tuned_fields, TUNE_SCORES[tune.score]
    by_candidate: dict[str, dict[str, Scored]] = {}
    labels: dict[str, str] = {}
    for spec in specs:
        setting, key = values_of(spec, tuned), candidate_key(spec, config)
        labels.setdefault(key, run_label(spec, leave_out=("seed",)))
        scored = by_candidate.setdefault(key, {}).setdefault(repr(sorted(setting.items())), Scored(setting))
        identifier = run_id(spec)
        score = _score(exp_dir, identifier, tune.score, spec)
        if score is not None:
            scored.run_ids.append(identifier)
            scored.seeds.append(spec.seed)
            scored.scores.append(score)
    choices = [_choice(key, labels[key], list(values.values()), best) for key, values in by_candidate.items()]
    at_value = {(candidate_key(spec, config), repr(values_of(spec, tuned))): spec for spec in specs}
    for choice in choices:  # where its judged runs will be: its stage-2 spec (the seed aside)
        setting = choice.chosen or choice.values[0].setting
        final = at_value[choice.candidate, repr(setting)].model_copy(update={"stage": "final", "tuned": tuned})
        choice.block_id = block_id(final)
        choice.group_id = group_id(final) if tune.per is None and choice.chosen else None
    return Selection(list(tuned), tune.score, config.tuning_seeds, list(config.seeds), choices)


def _choice(candidate: str, label: str, values: list[Scored], best: str) -> Choice:
    ranked = sorted(
        (scored for scored in values if scored.scores),
        key=lambda scored: scored.mean if best == "min" else -scored.mean,
    )
    if not ranked:
        return Choice(candidate, label, values, None)
    chosen, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
    position = values.index(chosen)
    close = runner_up is not None and math.isfinite(chosen.sd) and abs(runner_up.mean - chosen.mean) <= chosen.sd
    return Choice(
        candidate,
        label,
        values,
        chosen.setting,
        runner_up.setting if runner_up else None,
        at_edge=len(values) > 2 and position in (0, len(values) - 1),
        close=close,
    )


def _score(exp_dir: Path, identifier: str, score: str, spec: RunSpec) -> float | None:
    """A tuning run's validation score, or None where it has none (not finished, failed)."""
    directory = results.run_dir(exp_dir, identifier)
    status = results.run_status(exp_dir, identifier)
    worst = math.inf if TUNE_SCORES[score] == "min" else -math.inf
    if status == results.RunStatus.DIVERGED:
        return worst
    if status != results.RunStatus.FINISHED:
        return None
    try:
        history, metrics = results.read_history(directory), results.read_metrics(directory)
    except (OSError, ValueError, KeyError):
        return None
    stopping = spec.training.early_stopping
    epoch = metrics.get("best_epoch") if stopping is not None and stopping.restore_best else None
    row = next((row for row in history if row["epoch"] == epoch), history[-1]) if history else None
    value = row.get(score) if row else None
    return float(value) if value is not None and math.isfinite(value) else worst


def changes(previous: dict[str, Any] | None, selection: Selection) -> list[str]:
    """What changed against the selection a sweep recorded before (its stage 1 grew or changed)."""
    if not previous:
        return []
    before = {choice["candidate"]: choice["chosen"] for choice in previous.get("choices", [])}
    return [
        f"{choice.label}: {_text(before[choice.candidate])} -> {_text(choice.chosen)}"
        for choice in selection.choices
        if choice.candidate in before and before[choice.candidate] != choice.chosen
    ]


def _axis_fields(config: ExperimentConfig) -> dict[str, str]:
    """Each setting the config gives as a list (as tune.per names it) -> its spec field."""
    from actbench.config.axes import axis_names, spec_field

    names = axis_names(config.setting_axes)
    return {name: field for name in names if (field := spec_field(name, config.setting_axes))}


def _text(setting: dict[str, Any] | None) -> str:
    return ", ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in (setting or {}).items()) or "none"


def _number(value: float) -> float | str | None:
    """A float JSON can hold: NaN as null, infinities as text."""
    if math.isnan(value):
        return None
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
