"""Export to TensorBoard: one HParams session per run, grouped by seed group, written without TensorFlow.

    <logdir>/<experiment>/<group words>_seed<N>_<run_id>/        hparams, test metrics, group statistics
                                                   train/         epoch_loss, epoch_accuracy, epoch_seconds
                                                   validation/    epoch_loss, epoch_accuracy

The per-epoch runs follow the layout of Keras' TensorBoard callback, so train and validation curves
share a chart. A session's hparams are the run's settings without the seed, and its
SessionStartInfo.group_name is the seed group, so the HParams dashboard shows one row per group with
its metrics averaged over seeds (and each seed when expanded). actbench's own statistics for the
group are metrics beside them: actbench/acc_mean, acc_std, acc_ci_low, acc_ci_high, p_vs_best,
rank, n, and overall_rank (its hidden activation's average rank over the experiment's blocks, where the
report has an overall section); the verdict is the string hparam `verdict`.

Events are serialised with TensorBoard's record writer into bytes and written atomically; its
EventFileWriter is not used because it reaches for `tf.io.gfile`, which imports TensorFlow when
it is installed. Re-exporting replaces a run's event files, so nothing is counted twice.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2, summary_v2
from tensorboard.plugins.scalar.summary_v2 import scalar_pb
from tensorboard.summary.writer.record_writer import RecordWriter

from actbench.export.runs import ExportSummary, RecordedRun, read_experiment
from actbench.naming import ARROW
from actbench.results import RunStatus, ensure_writable, guarded, remove, write_atomic

SUFFIX = ".actbench"  # only event files ending so are ours to replace
ADVICE = "or pass another --logdir"
EPOCH_TAGS = {
    "train": {"loss": "epoch_loss", "accuracy": "epoch_accuracy", "seconds": "epoch_seconds"},
    "validation": {"val_loss": "epoch_loss", "val_accuracy": "epoch_accuracy"},
}


def export_tensorboard(
    exp_dir: Path, logdir: Path, progress: Callable[[int, int], None] = lambda done, total: None
) -> ExportSummary:
    runs, notes = read_experiment(exp_dir)
    ensure_writable(logdir, "--logdir")  # a logdir that is a file, or under one: one line before anything is written
    folder = logdir / exp_dir.name
    summary = ExportSummary(exp_dir.name, str(folder), notes=notes)
    for index, run in enumerate(runs, start=1):
        session = folder / session_name(run)
        _remove_stale_sessions(folder, run.run_id, keep=session)
        _replace_events(session, _session_events(run))
        for subrun, tags in EPOCH_TAGS.items():
            _replace_events(session / subrun, _epoch_events(run, tags))
        summary.written += 1
        progress(index, len(runs))
    return summary


def session_name(run: RecordedRun) -> str:
    """Readable in TensorBoard's run list, unique by the run id at its end."""
    words = re.sub(r"[^A-Za-z0-9_.=,()-]+", "_", run.group_label.replace(ARROW, "_"))
    return f"{words}_seed{run.seed}_{run.run_id}"


def _session_events(run: RecordedRun) -> list[event_pb2.Event]:
    hparams = {**run.settings, "verdict": run.stats.verdict if run.stats else "none"}
    start = summary_v2.hparams_pb(hparams, trial_id=f"{run.experiment}/{run.group_id}", start_time_secs=run.started)
    step = len(run.history)
    values = {**run.metrics, **{f"actbench/{k}": v for k, v in (run.stats.as_metrics() if run.stats else {}).items()}}
    events = [event_pb2.Event(wall_time=run.started, step=0, summary=start)]
    events += [
        event_pb2.Event(wall_time=run.ended, step=step, summary=scalar_pb(tag, value))
        for tag, value in sorted(values.items())
    ]
    events.append(event_pb2.Event(wall_time=run.ended, step=step, summary=_session_end(run)))
    return events


def _session_end(run: RecordedRun) -> summary_pb2.Summary:
    status = api_pb2.STATUS_SUCCESS if run.status == RunStatus.FINISHED else api_pb2.STATUS_FAILURE  # diverged
    data = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=run.ended)
    )
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.SESSION_END_INFO_TAG, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR
    )
    return summary


def _epoch_events(run: RecordedRun, tags: dict[str, str]) -> list[event_pb2.Event]:
    return [
        event_pb2.Event(wall_time=when, step=int(row["epoch"]), summary=scalar_pb(tag, row[column]))
        for row, when in zip(run.history, run.epoch_times())
        for column, tag in tags.items()
        if column in row
    ]


def _replace_events(directory: Path, events: list[event_pb2.Event]) -> None:
    """One new event file in place of the ones an earlier export wrote; written to a name TensorBoard ignores, then renamed."""
    wall = events[0].wall_time if events else 0.0
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for event in [event_pb2.Event(wall_time=wall, file_version="brain.Event:2"), *events]:
        writer.write(event.SerializeToString())
    _remove_our_events(directory)
    pending, final = directory / f".pending{SUFFIX}", directory / f"events.out.tfevents.{int(wall):010d}{SUFFIX}"
    write_atomic(pending, buffer.getvalue(), ADVICE)
    with guarded(final, ADVICE):
        os.replace(pending, final)


def _remove_our_events(directory: Path) -> None:
    for path in directory.glob(f"events.out.tfevents.*{SUFFIX}"):
        remove(path, ADVICE)


def _remove_stale_sessions(folder: Path, run_id: str, keep: Path) -> None:
    """A run exported before under another name (its settings' words changed) must not appear twice."""
    for old in folder.glob(f"*_{run_id}") if folder.is_dir() else []:
        if old != keep and old.is_dir():
            for directory in (old, *(old / subrun for subrun in EPOCH_TAGS)):
                _remove_our_events(directory)
                if directory.is_dir() and not any(directory.iterdir()):
                    with guarded(directory, ADVICE):
                        directory.rmdir()
            if old.is_dir() and not any(old.iterdir()):
                with guarded(old, ADVICE):
                    old.rmdir()
