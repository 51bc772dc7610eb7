"""The sink seam: every sink sees a sweep's events in order, the files sink writes first, and all are
closed at the end, after Ctrl-C too. An instant executor stands in for training (no TensorFlow)."""

import pandas as pd
import pytest

from actbench.config import load_config
from actbench.errors import ActbenchError
from actbench.results import RunRecord, has_metrics, run_dir
from actbench.sinks.console import ConsoleSink
from actbench.sweep import run_sweep
from actbench.terminal import Terminal
from helpers import write_config

SWEEP = "name: seam\ndatasets: [mnist]\ndata: {source: sample}\nhidden_activations: [relu, tanh, selu]\n"


class Instant:
    """Returns a finished record per job at once; raises `stop` when the job numbered `stop_at` comes."""

    parallelism = 1

    def __init__(self, stop_at=None, stop=KeyboardInterrupt):
        self.stop_at, self.stop_with = stop_at, stop

    def start(self):
        pass

    def stop(self):
        pass

    def run(self, packs, events):
        for number, job in enumerate((job for pack in packs for job in pack.jobs), start=1):
            if number == self.stop_at:
                raise self.stop_with
            events.started(job)
            events.epoch(job, 1, {"loss": 0.5})
            yield RunRecord(job.run_id, "finished", {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 1.0})


class Recording:
    def __init__(self, exp_dir, fail_on_close=False):
        self.exp_dir, self.fail_on_close, self.events = exp_dir, fail_on_close, []

    def opened(self, start):
        self.events.append(("opened", len(start.run_ids), len(start.pending_seconds)))

    def started(self, job):
        self.events.append(("started", job.run_id))

    def epoch(self, job, epoch, row):
        self.events.append(("epoch", job.run_id, epoch))

    def retrying(self, job, why):
        self.events.append(("retrying", job.run_id, why))

    def left(self, job, why):
        self.events.append(("left", job.run_id, why))

    def warned(self, message):
        self.events.append(("warned", message))

    def finished(self, job, record):
        written = has_metrics(run_dir(self.exp_dir, record.run_id))  # the files sink went first
        self.events.append(("finished", record.run_id, record.status, written))

    def closed(self):
        self.events.append(("closed",))
        if self.fail_on_close:
            raise ActbenchError("the recording sink cannot close")


def sweep(tmp_path, executor, **sink_options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = load_config(write_config(tmp_path, SWEEP))
    sink = Recording(tmp_path / "results" / "seam", **sink_options)
    console = ConsoleSink(Terminal(quiet=True))  # says what cannot be said otherwise (a sink that failed to close)
    return sink, lambda: run_sweep(
        config, tmp_path / "results", executor=lambda context: executor, sinks=[console, sink]
    )


def test_a_sink_sees_every_event_in_order_after_the_files_are_written(tmp_path):
    sink, run = sweep(tmp_path, Instant())
    summary = run()
    ids = [event[1] for event in sink.events if event[0] == "started"]
    assert len(set(ids)) == 3
    expected = [("opened", 3, 3)]
    for run_id in ids:
        expected += [("started", run_id), ("epoch", run_id, 1), ("finished", run_id, "finished", True)]
    assert sink.events == expected + [("closed",)]
    assert summary.counts["finished"] == 3 and len(pd.read_csv(summary.results_csv)) == 3
    again, rerun = sweep(tmp_path, Instant())
    rerun()
    assert again.events == [("opened", 3, 0), ("closed",)]  # everything done: nothing handed out


def test_sinks_are_closed_after_ctrl_c_and_results_csv_keeps_what_finished(tmp_path):
    sink, run = sweep(tmp_path, Instant(stop_at=2))
    with pytest.raises(KeyboardInterrupt):
        run()
    assert [event[0] for event in sink.events] == ["opened", "started", "epoch", "finished", "closed"]
    assert len(pd.read_csv(tmp_path / "results" / "seam" / "results.csv")) == 1


def test_a_sink_that_cannot_close_is_an_error_once_every_sink_is_closed(tmp_path, capsys):
    _, run = sweep(tmp_path, Instant(), fail_on_close=True)
    with pytest.raises(ActbenchError, match="the recording sink cannot close"):
        run()
    assert len(pd.read_csv(tmp_path / "results" / "seam" / "results.csv")) == 3  # the files sink still closed
    # When the sweep itself failed, that failure is what propagates; the sink's is only a warning.
    failing, rerun = sweep(
        tmp_path / "again", Instant(stop_at=1, stop=ActbenchError("data problem")), fail_on_close=True
    )
    with pytest.raises(ActbenchError, match="data problem"):
        rerun()
    assert failing.events == [("opened", 3, 3), ("closed",)]
    assert "warning: the recording sink cannot close" in capsys.readouterr().err


def test_a_run_left_to_another_invocation_is_dropped_from_the_display(tmp_path, capsys):
    import json
    import os

    from actbench.claims import Claims
    from actbench.planning import plan_runs

    config = load_config(write_config(tmp_path, SWEEP))
    root = tmp_path / "results"
    held = plan_runs(config, root, None)[0][0].run_id
    claims = root / "seam" / "claims"
    claims.mkdir(parents=True)
    (claims / held).write_text(json.dumps({"host": Claims(claims.parent).me["host"], "pid": os.getppid()}))
    sink = Recording(root / "seam")
    summary = run_sweep(config, root, executor=lambda context: Instant(), sinks=[ConsoleSink(Terminal()), sink])
    assert summary.counts["elsewhere"] == 1 and summary.counts["finished"] == 2
    left = [event for event in sink.events if event[0] == "left"]
    assert len(left) == 1 and left[0][1] == held and "left to it" in left[0][2]
    out = capsys.readouterr()
    assert "3 of 3 runs to do" in out.out
    assert [line.split()[0] for line in out.out.splitlines() if line.startswith("[")] == ["[1/2]", "[2/2]"]
    assert f"warning: {held}" in out.err and "left to it" in out.err
