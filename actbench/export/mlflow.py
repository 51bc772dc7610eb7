"""Export to MLflow: one parent run per seed group, one nested child run per seed, one run for the report.

    parent  (tags actbench.kind=group, actbench.group)  params: the group's settings
            metrics: acc_mean, acc_std, acc_ci_low, acc_ci_high, p_vs_best, rank, n, overall_rank (the
            report's overall section: its activation's average rank over the blocks); tag actbench.verdict
      child (tags actbench.kind=seed, actbench.run_id)   params: settings and seed; per-epoch loss,
            accuracy, val_loss, val_accuracy, epoch_seconds by step; final test metrics;
            artifacts history.csv, confusion_matrix.csv
    report  (tag actbench.kind=report)  the report's summary.csv, report.md and PNGs (with the overall
            section's overall.csv, ranks.csv and ranks.png), when written

Runs are found again by their tags, so re-exporting updates instead of duplicating: a child whose
files did not change is left alone, one rerun with --force is replaced, a parent gets only the
metrics and tags that changed (MLflow keeps a metric's earlier values as its history).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from actbench.export.runs import ExportSummary, RecordedRun, read_experiment
from actbench.results import CONFUSION, HISTORY, RunStatus, guarded

KIND, RUN_ID, GROUP, DIGEST = "actbench.kind", "actbench.run_id", "actbench.group", "actbench.digest"
EPOCH_METRICS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "val_loss": "val_loss",
    "val_accuracy": "val_accuracy",
    "seconds": "epoch_seconds",
}
ARTIFACTS = (HISTORY, CONFUSION)  # the run files worth a look in MLflow's UI
BATCH = 1000  # MLflow's limit of metrics per log_batch call
STORE_ADVICE = "or choose another store with --tracking-uri or MLFLOW_TRACKING_URI"


def export_mlflow(
    exp_dir: Path, tracking_uri: str, progress: Callable[[int, int], None] = lambda done, total: None
) -> ExportSummary:
    for name in ("mlflow", "alembic"):  # database set-up chatter on first use
        logging.getLogger(name).setLevel(logging.WARNING)
    runs, notes = read_experiment(exp_dir)
    _check_local_store(tracking_uri)
    # Artifacts are copied into a folder beside a SQLite store: a full disk there is one line too.
    with guarded(tracking_uri, STORE_ADVICE):
        client = MlflowClient(tracking_uri)
        experiment_id = _experiment(client, exp_dir.name, tracking_uri)
        existing = _existing_runs(client, experiment_id)
        summary = ExportSummary(
            exp_dir.name, f"{tracking_uri} (experiment {exp_dir.name!r}, id {experiment_id})", notes=notes
        )
        parents: dict[str, str] = {}
        for index, run in enumerate(runs, start=1):
            if run.group_id not in parents:
                parents[run.group_id] = _update_parent(client, experiment_id, run, existing.get((GROUP, run.group_id)))
            old = existing.get((RUN_ID, run.run_id))
            if old is not None and old.data.tags.get(DIGEST) == run.digest:
                summary.unchanged += 1
            else:
                if old is not None:
                    client.delete_run(old.info.run_id)  # rerun: its metric history would mix two trainings
                _create_child(client, experiment_id, run, parents[run.group_id])
                summary.written += 1
            progress(index, len(runs))
        _update_report_run(client, experiment_id, exp_dir, existing.get((KIND, "report")))
        return summary


def _check_local_store(tracking_uri: str) -> None:
    """A SQLite store whose folder cannot be made or written is one line here, not MLflow's traceback."""
    if tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).parent
        with guarded(folder, STORE_ADVICE):
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()


def _experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:///"):  # keep artifacts beside the database, not in the working folder
        location = (Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlflow-artifacts" / name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location, tags={"actbench.experiment": name})


def _existing_runs(client: MlflowClient, experiment_id: str) -> dict[tuple[str, str | None], Any]:
    """actbench's active runs in the experiment, by (tag, value): ('actbench.run_id', id), ('actbench.group', id)..."""
    found, token = {}, None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string=f"tags.`{KIND}` != ''", max_results=1000, page_token=token
        )
        for run in page:
            tags = run.data.tags
            kind = tags.get(KIND, "")
            key = {
                "seed": (RUN_ID, tags.get(RUN_ID)),
                "group": (GROUP, tags.get(GROUP)),
                "report": (KIND, "report"),
            }.get(kind)
            if key:
                found[key] = run
        token = page.token
        if not token:
            return found


def _update_parent(client: MlflowClient, experiment_id: str, run: RecordedRun, old: Any) -> str:
    if old is None:
        parent_id = client.create_run(
            experiment_id,
            start_time=int(run.started * 1000),
            run_name=run.group_label,
            tags={KIND: "group", GROUP: run.group_id, "actbench.experiment": run.experiment},
        ).info.run_id
        logged_params: dict[str, str] = {}
        logged_metrics: dict[str, float] = {}
    else:
        parent_id, logged_params, logged_metrics = old.info.run_id, old.data.params, old.data.metrics
    figures = run.stats.as_metrics() if run.stats else {}
    # A parameter cannot change its value in MLflow; a group's settings never do, so only add new ones.
    params = [Param(k, str(v)) for k, v in sorted(run.settings.items()) if k not in logged_params]
    metrics = [Metric(k, v, int(run.ended * 1000), 0) for k, v in sorted(figures.items()) if logged_metrics.get(k) != v]
    # The name is the report's label, which names what varies in the folder: it changes when a sweep adds a variation.
    tags = [
        RunTag("actbench.verdict", run.stats.verdict if run.stats else "none"),
        RunTag("mlflow.runName", run.group_label),
    ]
    _log(client, parent_id, metrics, params, tags)
    client.set_terminated(parent_id, "FINISHED", end_time=int(run.ended * 1000))
    return parent_id


def _create_child(client: MlflowClient, experiment_id: str, run: RecordedRun, parent_id: str) -> None:
    child_id = client.create_run(
        experiment_id,
        start_time=int(run.started * 1000),
        run_name=f"seed {run.seed}",
        tags={
            "mlflow.parentRunId": parent_id,
            KIND: "seed",
            RUN_ID: run.run_id,
            GROUP: run.group_id,
            DIGEST: run.digest,
            "actbench.status": run.status,
            "actbench.experiment": run.experiment,
        },
    ).info.run_id
    metrics = [
        Metric(name, row[column], int(when * 1000), int(row["epoch"]))
        for row, when in zip(run.history, run.epoch_times())
        for column, name in EPOCH_METRICS.items()
        if column in row
    ]
    metrics += [Metric(k, v, int(run.ended * 1000), len(run.history)) for k, v in sorted(run.metrics.items())]
    params = [Param(k, str(v)) for k, v in sorted({**run.settings, "seed": run.seed}.items())]
    _log(client, child_id, metrics, params, [])
    for name in ARTIFACTS:
        if (run.directory / name).exists():
            client.log_artifact(child_id, str(run.directory / name))
    client.set_terminated(
        child_id, "FINISHED" if run.status == RunStatus.FINISHED else "FAILED", end_time=int(run.ended * 1000)
    )


def _update_report_run(client: MlflowClient, experiment_id: str, exp_dir: Path, old: Any) -> None:
    """The report's files, once per experiment rather than in every run; re-logging overwrites them."""
    folder = exp_dir / "report"
    files = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".md", ".csv")) if folder.is_dir() else []
    if not files:
        return
    run_id = (
        old.info.run_id
        if old is not None
        else client.create_run(
            experiment_id, run_name=f"{exp_dir.name} report", tags={KIND: "report", "actbench.experiment": exp_dir.name}
        ).info.run_id
    )
    for path in files:
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")


def _log(client: MlflowClient, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
    for start in range(0, max(len(metrics), 1), BATCH):
        client.log_batch(
            run_id,
            metrics=metrics[start : start + BATCH],
            params=params if start == 0 else [],
            tags=tags if start == 0 else [],
        )
