"""Where runs train: serial, worker processes and Ray give the same numbers; dead workers are retried, then recorded."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from actbench import results
from actbench.claims import Claims
from actbench.config import load_config
from actbench.context import TrainingContext
from actbench.datasets.cache import DataRequest
from actbench.errors import ActbenchError
from actbench.planning import plan_runs
from actbench.sweep import run_sweep
from helpers import REPO, write_config

SWEEP = """
name: where
datasets: [mnist]
data: {source: sample, limit_train: 400, limit_test: 200}
models: [{type: mlp, hidden_units: [16]}]
hidden_activations: [relu, tanh]
training: {epochs: 2, batch_size: 64}
seeds: [0]
"""


def sweep(tmp_path, text=SWEEP, **options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = load_config(write_config(tmp_path, text))
    root = tmp_path / "results"
    summary = run_sweep(
        config,
        root,
        workers=options.get("workers", 1),
        ray=options.get("ray"),
        retries=options.get("retries", 2),
        pack=options.get("pack", "off"),
    )
    return summary, pd.read_csv(root / config.name / "results.csv").set_index("run_id").sort_index()


@pytest.mark.slow  # three sweeps, one on a private Ray instance: minutes on 2 cores
def test_serial_workers_and_ray_give_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "")  # never join a cluster by accident
    _, serial = sweep(tmp_path / "serial")
    _, workers = sweep(tmp_path / "workers", workers=2)
    _, ray = sweep(tmp_path / "ray", ray="local")
    columns = ["test_accuracy", "test_loss", "log_loss", "best_val_accuracy"]
    assert len(serial) == 2 and set(serial["status"]) == {"finished"}
    pd.testing.assert_frame_equal(serial[columns], workers[columns])
    pd.testing.assert_frame_equal(serial[columns], ray[columns])


class EpochRecorder:
    """A sink that keeps each run's epochs and every retry, as the console sink gets them."""

    def __init__(self):
        self.epochs, self.warnings = {}, []

    def opened(self, start): ...

    def started(self, job): ...

    def left(self, job, why): ...

    def finished(self, job, record): ...

    def warned(self, message): ...

    def closed(self): ...

    def retrying(self, job, why):
        self.warnings.append(f"{job.run_id[:12]} {job.title}: {why}")

    def epoch(self, job, epoch, row):
        self.epochs.setdefault(job.run_id, []).append((epoch, round(row["val_accuracy"], 6)))


def test_worker_epochs_reach_the_live_display_as_they_finish(tmp_path):
    config = load_config(write_config(tmp_path, SWEEP))
    reporter = EpochRecorder()
    run_sweep(config, tmp_path / "results", workers=2, sinks=[reporter])
    for run in results.run_directories(tmp_path / "results" / "where"):
        history = results.read_history_frame(run)
        assert reporter.epochs[run.name] == [
            (e, round(v, 6)) for e, v in zip(history["epoch"], history["val_accuracy"])
        ]


def test_a_worker_that_dies_is_retried_then_recorded_failed_and_the_sweep_goes_on(tmp_path):
    text = SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:die']")
    summary, table = sweep(tmp_path, text, workers=2, retries=1)
    assert summary.counts == {"finished": 1, "diverged": 0, "failed": 1, "skipped": 0, "elsewhere": 0}
    failed = table[table["status"] == "failed"]
    assert failed["error"].iloc[0] == "its worker process died 2 times (killed, out of memory or crashed)"


@pytest.mark.slow
def test_a_retried_run_is_said_when_its_worker_dies(tmp_path):
    config = load_config(write_config(tmp_path, SWEEP.replace("[relu, tanh]", "['helpers_activations:die']")))
    reporter = EpochRecorder()
    run_sweep(config, tmp_path / "results", workers=2, retries=1, sinks=[reporter])
    assert [w.split(": ", 1)[1] for w in reporter.warnings] == ["its worker process died; trying it again (1 of 1)"]


@pytest.mark.slow
def test_a_python_error_in_a_worker_is_failed_without_retry(tmp_path):
    text = SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:explode']")
    summary, table = sweep(tmp_path, text, workers=2)
    failed = table[table["status"] == "failed"]
    assert summary.counts["failed"] == 1
    assert (
        failed["error"].iloc[0].startswith("RuntimeError") and "this activation always fails" in failed["error"].iloc[0]
    )


# The error policy (actbench.executors): a data or config problem stops the sweep; a dead worker is
# retried, then recorded failed (above); any other error fails that run alone.
@pytest.mark.parametrize(
    "where",
    [{}, {"workers": 2}, pytest.param({"ray": "local"}, marks=pytest.mark.slow)],
    ids=["serial", "workers", "ray"],
)
def test_an_actbench_error_in_a_run_stops_the_sweep(tmp_path, monkeypatch, where):
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tests"))  # Ray's workers import the custom activation
    monkeypatch.setenv("RAY_ADDRESS", "")
    text = SWEEP.replace("[relu, tanh]", "['helpers_activations:misconfigured']")
    # Its own line: Keras wraps an error raised inside a layer in a multi-line, coloured message.
    with pytest.raises(
        ActbenchError, match=r"^helpers_activations:misconfigured: this stands for a problem only the user can fix$"
    ):
        sweep(tmp_path, text, **where)
    assert not list((tmp_path / "results" / "where").glob("runs/*/metrics.json"))  # no run recorded as failed


def test_any_other_error_fails_that_run_alone_in_this_process_too(tmp_path):
    summary, table = sweep(tmp_path, SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:explode']"))
    assert summary.counts == {"finished": 1, "diverged": 0, "failed": 1, "skipped": 0, "elsewhere": 0}
    error = table[table["status"] == "failed"]["error"].iloc[0]
    assert error == "RuntimeError: this activation always fails"  # its own line, not Keras' wrapping around it


@pytest.mark.slow
def test_a_ray_task_whose_worker_dies_is_recorded_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tests"))  # Ray's workers import the custom activation
    monkeypatch.setenv("RAY_ADDRESS", "")
    text = SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:die']")
    summary, table = sweep(tmp_path, text, ray="local", retries=0)
    assert summary.counts["finished"] == 1 and summary.counts["failed"] == 1
    assert table[table["status"] == "failed"]["error"].iloc[0].startswith("Ray task failed after 0 retries")


def test_a_run_claimed_by_a_live_process_is_left_to_it_and_a_dead_ones_claim_is_taken(tmp_path):
    config = load_config(write_config(tmp_path, SWEEP))
    root = tmp_path / "results"
    planned, _ = plan_runs(config, root, None)
    exp_dir = root / "where"
    live, dead = planned[0].run_id, planned[1].run_id
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = Claims(exp_dir).me["host"]
    (exp_dir / "claims").mkdir(parents=True)
    (exp_dir / "claims" / live).write_text(json.dumps({"host": host, "pid": os.getppid()}))
    (exp_dir / "claims" / dead).write_text(json.dumps({"host": host, "pid": int(finished.stdout)}))
    summary = run_sweep(config, root)
    assert summary.counts["elsewhere"] == 1 and summary.counts["finished"] == 1
    assert results.run_status(exp_dir, dead) == "finished" and results.run_status(exp_dir, live) is None
    claims = sorted(p.name for p in (exp_dir / "claims").iterdir() if p.name != ".takeover.lock")
    assert claims == [live]  # ours released, theirs untouched


def actbench(*args, **popen):
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    return subprocess.Popen([sys.executable, "-m", "actbench", "run", *map(str, args)], env=env, cwd=REPO, **popen)


@pytest.mark.slow  # two actbench processes training six runs between them
def test_two_invocations_on_one_folder_train_each_run_once(tmp_path):
    config = write_config(tmp_path, SWEEP.replace("seeds: [0]", "seeds: [0, 1, 2]"))
    root = tmp_path / "results"
    first, second = (actbench(config, "--results-dir", root, stdout=subprocess.PIPE, text=True) for _ in range(2))
    outputs = [first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]]
    trained = [{line.split()[1] for line in out.splitlines() if line.startswith("[")} for out in outputs]
    table = pd.read_csv(root / "where" / "results.csv")
    assert len(table) == 6 and set(table["status"]) == {"finished"}
    assert not trained[0] & trained[1], outputs  # no run trained twice ...
    assert trained[0] | trained[1] == {run_id[:12] for run_id in table["run_id"]}  # ... and every run once


@pytest.mark.slow  # an actbench process with two workers, interrupted; Ctrl-C of a serial sweep stays in test_cli
def test_ctrl_c_stops_the_workers_keeps_what_finished_and_exits_130(tmp_path):
    # Enough runs that some are still to do when the first is recorded: a run alone, a pack of one since
    # training rules 3, trains these in well under a second once its worker has compiled its steps.
    config = write_config(tmp_path, SWEEP.replace("seeds: [0]", f"seeds: {list(range(24))}"))
    root = tmp_path / "results"
    process = actbench(
        config,
        "--results-dir",
        root,
        "--workers",
        "2",
        "--pack",
        "off",  # a run at a time: packs of these tiny runs, once a worker has compiled, end within a second
        "-q",
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not list(root.glob("where/runs/*/metrics.json")):
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).stdout:
        time.sleep(0.2)
    leftover = subprocess.run(["pgrep", "-a", "-s", str(process.pid)], capture_output=True, text=True).stdout
    assert leftover == ""  # no worker trains on
    done = [d for d in results.run_directories(root / "where") if results.has_metrics(d)]
    assert 1 <= len(done) < 48
    assert not list((root / "where" / "claims").iterdir())


def test_ray_knows_how_many_runs_train_at_once_before_the_sweep_starts(monkeypatch):
    from actbench.executors.ray_cluster import RayCluster

    monkeypatch.setenv("RAY_ADDRESS", "")
    cluster = RayCluster("local", TrainingContext(DataRequest("sample")), retries=0)
    cluster.local_cpus = 3
    cluster.start()  # the runner calls this before it hands the sweep's estimates to the display
    try:
        assert cluster.parallelism == 3
    finally:
        cluster.stop()
    assert cluster.parallelism == 3 and cluster._ray is None


@pytest.mark.slow
def test_a_ray_run_is_shown_started_when_its_task_starts_not_when_it_is_queued(tmp_path, monkeypatch):
    """One CPU, two runs: the second is queued at once (QUEUE_PER_SLOT) but starts only when the first ends."""
    from actbench.executors import Job, Pack
    from actbench.executors.ray_cluster import RayCluster

    def slow(specs, data, request, threads):
        import time

        from actbench.executors import failed_record

        began = time.time()
        time.sleep(3)
        return [failed_record(spec, f"began {began}") for spec in specs]  # a stand-in for training: when it began

    monkeypatch.setenv("RAY_ADDRESS", "")
    planned, _ = plan_runs(load_config(write_config(tmp_path, SWEEP)), tmp_path / "results", None)
    cluster = RayCluster("local", TrainingContext(DataRequest("sample")), retries=0, train=slow)
    cluster.local_cpus = 1
    shown: dict[str, float] = {}

    class Events:
        def started(self, job):
            shown[job.run_id] = time.time()  # the wall clock, shared with the Ray worker on this machine

        def epoch(self, job, epoch, row): ...

        def retrying(self, job, why): ...

    jobs = [Job(p.spec, p.run_id, p.title) for p in planned]
    packs = iter([Pack((job,)) for job in jobs])  # one run each: two tasks, queued at once
    began = {record.run_id: float(record.metrics["error"].split()[1]) for record in cluster.run(packs, Events())}
    assert set(began) == set(shown) == {job.run_id for job in jobs}
    # Both are queued at once, the second starts when the first ends (3 s later): shown when queued, it would
    # be shown seconds before it began. Late is allowed (start messages lag on a loaded machine), early is not.
    assert all(shown[run] >= began[run] - 0.05 for run in began), (shown, began)


# Packs (actbench.packing): one job of several runs, claimed run by run, its failures kept to the run.
def test_a_run_claimed_elsewhere_is_left_out_of_its_pack(tmp_path):
    config = load_config(write_config(tmp_path, SWEEP.replace("seeds: [0]", "seeds: [0, 1]")))
    root = tmp_path / "results"
    planned, _ = plan_runs(config, root, None)
    exp_dir = root / "where"
    (exp_dir / "claims").mkdir(parents=True)
    held = planned[1].run_id
    (exp_dir / "claims" / held).write_text(json.dumps({"host": Claims(exp_dir).me["host"], "pid": os.getppid()}))
    summary = run_sweep(config, root, pack=4)
    assert summary.counts["elsewhere"] == 1 and summary.counts["finished"] == 3
    packed = [results.read_metrics(exp_dir / "runs" / p.run_id) for p in planned if p.run_id != held]
    assert [m["pack_size"] for m in packed] == [3, 3, 3] and results.run_status(exp_dir, held) is None


def test_a_python_error_in_a_packed_run_fails_that_run_alone(tmp_path):
    summary, table = sweep(
        tmp_path, SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:explode', tanh]"), pack=3
    )
    assert summary.counts["finished"] == 2 and summary.counts["failed"] == 1
    assert "this activation always fails" in table[table["status"] == "failed"]["error"].iloc[0]


@pytest.mark.slow
def test_a_pack_whose_worker_dies_is_tried_again_run_by_run(tmp_path):
    text = SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:die', tanh]")
    summary, table = sweep(tmp_path, text, workers=2, retries=1, pack=3)
    assert summary.counts == {"finished": 2, "diverged": 0, "failed": 1, "skipped": 0, "elsewhere": 0}
    assert (
        table[table["status"] == "failed"]["error"].iloc[0]
        == "its worker process died 2 times (killed, out of memory or crashed)"
    )
    assert set(table[table["status"] == "finished"]["hidden_activation"]) == {"relu", "tanh"}


@pytest.mark.slow
def test_a_ray_pack_whose_task_dies_is_tried_again_run_by_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tests"))
    monkeypatch.setenv("RAY_ADDRESS", "")
    text = SWEEP.replace("[relu, tanh]", "[relu, 'helpers_activations:die']")
    summary, table = sweep(tmp_path, text, ray="local", retries=0, pack=2)
    assert summary.counts["finished"] == 1 and summary.counts["failed"] == 1
    assert table[table["status"] == "failed"]["error"].iloc[0].startswith("Ray task failed after 0 retries")
