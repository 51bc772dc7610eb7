"""The plan of a sweep: its grid with each run's recorded status, the data sources resolved, and the lines of a dry run.

Planning reads (a dataset of your own, to know its digest and class count) but never writes, so a
dry run leaves results/ as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actbench import packing, results
from actbench.activations import is_custom
from actbench.config import (
    ExperimentConfig,
    OwnData,
    RunSpec,
    expand_runs,
    model_problems,
    model_size,
    output_problem,
    run_id,
    run_sizes,
)
from actbench.costs import SweepEstimate, estimate_sweep, format_seconds
from actbench.dataset_catalogue import DATASETS
from actbench.datasets import check_cut, fallback_fix, resolve_source, sources
from actbench.datasets.cache import DataCache, cut_key, data_request
from actbench.errors import ActbenchError
from actbench.naming import run_title
from actbench.packing import PackSetting


@dataclass
class PlannedRun:
    spec: RunSpec
    run_id: str
    status: results.RunStatus | None  # recorded status, None when it never completed
    parameters: int  # of its model, counted from the spec
    detail: str = ""  # what else varies in the grid, as report labels name it: 'mlp 100-10', 'dropout_kind=alpha'

    @property
    def done(self) -> bool:
        return self.status is not None and self.status.is_done()

    @property
    def title(self) -> str:
        return run_title(self.spec) + (f", {self.detail}" if self.detail else "")


Expand = Callable[[ExperimentConfig, dict[str, str], dict[str, OwnData]], list[RunSpec]]


def plan_runs(
    config: ExperimentConfig,
    results_root: Path,
    data_dir: Path | None,
    cache: DataCache | None = None,
    mirror: str | None = None,
    expand: Expand = expand_runs,
) -> tuple[list[PlannedRun], list[str]]:
    """The expanded grid (by `expand`: a tuned experiment's stages have their own) with each run's
    recorded status, and notes on how sources were resolved.

    Without a cache (dry run) nothing is loaded or downloaded: sources are decided from local files,
    and a note says what the real run will download, from where (`mirror`). With one (a real run)
    every dataset is loaded now, downloads included, so a data problem stops the sweep before it
    writes anything. Either way each cut of the data (its limits and validation split) is checked.
    """
    resolved: dict[str, str] = {}
    notes: list[str] = []
    own = own_data(config, cache or DataCache(data_request(config, data_dir)))
    for name in (name for name in config.dataset_names if name not in own):
        requested = config.data.source
        if cache is not None:
            raw = cache.load(name)
            resolved[name] = raw.source
            notes += filter(None, [raw.warning])
            continue
        resolved[name] = resolve_source(name, requested, data_dir)
        missing = sources.missing_note(name, data_dir, mirror) if requested != "sample" else None
        if missing and requested == "auto":
            notes.append(f"{missing}, else uses the sample. {fallback_fix(name)}")
        elif missing:
            notes.append(f"{missing}; if that cannot be reached, pass --data-dir DIR or --mirror URL")
    exp_dir = results.experiment_dir(results_root, config.name)
    notes += filter(None, [results.stale_note(exp_dir)])
    planned = []
    specs = expand(config, resolved, own)
    for spec in {
        cut_key(spec): spec for spec in specs
    }.values():  # refused here, as the executor would, before anything is written
        classes = spec.own_data.classes if spec.own_data else DATASETS[spec.dataset].classes
        sizes = (
            (spec.own_data.n_train, spec.own_data.n_test) if spec.own_data else DATASETS[spec.dataset].size(spec.source)
        )
        check_cut(spec.dataset, classes, sizes, spec.limit_train, spec.limit_test, spec.training.validation_split)
    for spec in specs:
        identifier = run_id(spec)
        parameters = model_size(
            spec.model, run_sizes(spec).image_shape, spec.output_units, spec.hidden_activation.name == "prelu"
        ).parameters
        planned.append(PlannedRun(spec, identifier, results.run_status(exp_dir, identifier), parameters))
    for run, detail in zip(planned, details([run.spec for run in planned])):
        run.detail = detail
    return planned, notes


# What run_title names already: the rest of what varies goes into a run's detail.
TITLED = {"dataset", "source", "task", "model", "hidden_activation", "output_activation", "output_units"}


def details(specs: list[RunSpec]) -> list[str]:
    """Per spec, the settings that vary among `specs` and its title does not name, as the report's labels
    write them ('mlp 100-10' where one model type has several widths, 'dropout_kind=alpha'), so no two
    lines of a dry run or a sweep's progress read alike for different runs."""
    from actbench.report.labels import model_labels, setting_text, varying_settings

    if len(specs) < 2:
        return [""] * len(specs)
    frame = results.runs_frame([results.flatten_run({**spec.as_json(), "run_id": ""}, {}) for spec in specs])
    shown = [column for column in varying_settings(frame) if column not in TITLED]
    texts = [[setting_text(column, row[column]) for column in shown] for _, row in frame.iterrows()]
    labels = model_labels(frame)
    if labels.nunique() > frame["model"].nunique():  # the type alone does not tell the models apart
        texts = [[label, *text] for label, text in zip(labels, texts)]
    return [", ".join(text) for text in texts]


def own_data(config: ExperimentConfig, cache: DataCache) -> dict[str, OwnData]:
    """Read each dataset of your own once (even for a dry run: its digest is part of every run id)
    and check the task and output layers against its class count, as the config does for the built-in ones."""
    facts = {}
    for name, entry in config.own_datasets.items():
        raw = cache.load(name)
        classes = len(raw.class_names)
        problems = [config.task.problem(classes)] + [
            output_problem(config.task, output, classes) for output in config.output_activations
        ]
        problem = next((p for p in problems if p), None)
        if problem:
            raise ActbenchError(f"{entry.location}: dataset '{name}' has {classes} classes: {problem}")
        for model_problem in model_problems(config, name, raw.image_shape, classes, len(raw.y_train)):
            field = ".".join(f"[{part}]" if isinstance(part, int) else part for part in model_problem.loc).replace(
                ".[", "["
            )
            raise ActbenchError(f"{entry.location}: dataset '{name}': {field}: {model_problem.text}")
        facts[name] = OwnData(
            sha256=raw.content_sha256,
            image_shape=raw.image_shape,
            classes=classes,
            n_train=len(raw.y_train),
            n_test=len(raw.y_test),
        )
    return facts


def estimate_plan(
    planned: list[PlannedRun], results_dir: Path, pack: PackSetting = "off", parallelism: int = 1
) -> tuple[list[list[PlannedRun]], SweepEstimate]:
    """The runs to do in the packs they would train in (`--pack`), and their estimates."""
    grouped = packing.plan_packs([run for run in planned if not run.done], pack, parallelism)
    return grouped, estimate_sweep([[run.spec for run in runs] for runs in grouped], results_dir, parallelism)


def plan_lines(
    planned: list[PlannedRun], results_dir: Path, pack: PackSetting = "off", parallelism: int = 1
) -> list[str]:
    """`actbench run --dry-run`: the packs (unless --pack off), each run with its status or estimated
    cost (in its pack), then the totals; the total is the packs' estimates, `parallelism` at a time."""
    grouped, estimate = estimate_plan(planned, results_dir, pack, parallelism)
    lines = []
    if pack != "off" and grouped:
        lines.append(f"{len(grouped)} pack{'' if len(grouped) == 1 else 's'} (--pack {pack}, {parallelism} at once):")
        for number, (runs, pack_seconds) in enumerate(zip(grouped, estimate.pack_seconds), start=1):
            ids = " ".join(run.run_id for run in runs)
            lines.append(f"  pack {number}: {len(runs)} runs  ~{format_seconds(pack_seconds)}  {ids}")
    seconds = {
        run.run_id: e.seconds
        for runs, pack_estimates in zip(grouped, estimate.packs)
        for run, e in zip(runs, pack_estimates)
    }
    for run in planned:
        cost = f"~{format_seconds(seconds[run.run_id])}" if run.run_id in seconds else ""
        lines.append(
            f"{run.run_id}  {run.status or 'todo':9}  {cost:>7}  {_count(run.parameters):>5} params  {run.title}"
        )
    done = sum(run.done for run in planned)
    exp_dir = results.experiment_dir(results_dir, planned[0].spec.experiment) if planned else results_dir
    lines.append(f"{len(planned)} runs, {done} already done, {len(planned) - done} to run; results in {exp_dir}")
    if grouped:
        lines.append(estimate.describe())
    modules = sorted(
        {
            run.spec.hidden_activation.name.partition(":")[0]
            for run in planned
            if is_custom(run.spec.hidden_activation.name)
        }
    )
    if modules:  # a config from elsewhere runs this code, as a Hydra target would: say so before anything trains
        lines.append(f"Python modules this config imports and runs (custom activations): {', '.join(modules)}")
    return lines


def _count(number: int) -> str:
    """'850', '102k', '1.2M': a parameter count at a glance."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= scale:
            return f"{number / scale:.1f}{suffix}" if number < 10 * scale else f"{number / scale:.0f}{suffix}"
    return str(number)
