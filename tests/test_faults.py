"""Faults injected into every write a sweep makes, and signals: one error line, nothing half-written, and the next
invocation resumes everything, training each run once.

The sweep is trained for real once per module; every other invocation replays those records in
place of training, so each of the many faulted sweeps takes a fraction of a second.
"""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest

from helpers import TINY, invoke, write_config


@pytest.fixture(scope="module", autouse=True)
def one_run_per_job():
    """These tests stand in for training one run at a time (a pack of one each); packs have tests of their own."""
    from actbench import packing

    plan_packs = packing.plan_packs
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            packing, "plan_packs", lambda items, option, *args, **kwargs: plan_packs(items, "off", *args, **kwargs)
        )
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny sweep trained for real once: its config, and each run's record by run id."""
    import actbench.executors.serial as serial

    folder = tmp_path_factory.mktemp("trained")
    config = write_config(folder, TINY)
    records, real_execute = {}, serial.execute_pack

    def keep(specs, data, context, on_epoch=None):
        trained = real_execute(specs, data, context, on_epoch=on_epoch)
        records.update((record.run_id, record) for record in trained)
        return trained

    serial.execute_pack = keep
    try:
        assert invoke("run", config, "--results-dir", folder / "results", "-q").exit_code == 0
    finally:
        serial.execute_pack = real_execute
    assert len(records) == 2
    return config, records


@pytest.fixture
def replay(trained, monkeypatch):
    """Training replaced by the records trained once; returns the run ids trained, in order."""
    import actbench.executors.serial as serial
    from actbench.config import run_id

    _, records = trained
    calls: list[str] = []

    def replayed(specs, data, context, on_epoch=None):
        calls.extend(run_id(spec) for spec in specs)
        return [records[run_id(spec)] for spec in specs]

    monkeypatch.setattr(serial, "execute_pack", replayed)
    return calls


def _writes_failing_at(monkeypatch, n: int | None, code: int) -> list[str]:
    """Every write_atomic fsyncs its temporary file once: count them (their final names, in order), and
    make the n-th fail with `code` as a full disk or a folder made read-only would."""
    real_fsync, seen = os.fsync, []

    def fsync(fd):
        temporary = Path(os.readlink(f"/proc/self/fd/{fd}"))
        seen.append(str(temporary.parent / temporary.name[1:].rsplit(".", 2)[0]))  # .<name>.<random>.tmp -> <name>
        if len(seen) == n:
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def _check_nothing_half_written(results: Path) -> None:
    files = [p for p in results.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.endswith(".tmp")], "a temporary file was left behind"
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())  # every JSON file whole: metrics.json, spec.json, plan.json
    claims = results / "tiny" / "claims"
    assert not [p.name for p in claims.iterdir() if p.name != ".takeover.lock"] if claims.is_dir() else True, (
        "a claim was left"
    )


def _check_resumes_everything(config: Path, results: Path, replay: list[str]) -> None:
    """The next invocation trains exactly the runs that had not completed, and the table shows each run once."""
    complete = {d.name for d in (results / "tiny" / "runs").glob("*") if (d / "metrics.json").exists()}
    before = len(replay)
    resumed = invoke("run", config, "--results-dir", results, "-q")
    assert resumed.exit_code == 0, resumed.output
    trained_now = replay[before:]
    assert len(trained_now) == len(set(trained_now)) and not complete & set(trained_now)
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert sorted(table["run_id"]) == sorted(complete | set(trained_now)) and len(table) == 2
    assert set(table["status"]) == {"finished"}


WRITE_SITES = {
    "config.yaml",
    "plan.json",
    "spec.json",
    "history.csv",
    "predictions.npz",
    "confusion_matrix.csv",
    "metrics.json",
    "results.csv",
}


def test_every_write_of_a_sweep_is_guarded_and_the_next_run_resumes(trained, replay, tmp_path):
    config, _ = trained
    with pytest.MonkeyPatch.context() as patch:
        seen = _writes_failing_at(patch, None, 0)
        assert invoke("run", config, "--results-dir", tmp_path / "clean", "-q").exit_code == 0
    names = [Path(path).name for path in seen]
    # Every file of the results folder was written through write_atomic, claims included.
    assert set(names) >= WRITE_SITES and any("/claims/." in path for path in seen)
    written = {p for p in (tmp_path / "clean").rglob("*") if p.is_file() and p.name != ".takeover.lock"}
    assert written <= {Path(path) for path in seen}

    for code in (errno.ENOSPC, errno.EACCES):
        for n, path in enumerate(seen, start=1):
            results = tmp_path / f"{errno.errorcode[code]}-{n}"
            with pytest.MonkeyPatch.context() as patch:
                _writes_failing_at(patch, n, code)
                outcome = invoke("run", config, "--results-dir", results, "-q")
            where = f"{errno.errorcode[code]} at write {n} ({Path(path).name})"
            assert outcome.exit_code == 2 and "Traceback" not in outcome.output, f"{where}: {outcome.output}"
            errors = [line for line in outcome.output.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1 and f"{Path(path).name}: cannot write ({os.strerror(code)})" in errors[0], (
                f"{where}: {outcome.output}"
            )
            _check_nothing_half_written(results)
            _check_resumes_everything(config, results, replay)


@pytest.mark.parametrize("site", ["claim link", "claim release", "old run file removal"])
def test_claims_and_removals_that_fail_are_one_line_too(trained, replay, tmp_path, monkeypatch, site):
    """The writes that are not files: linking a claim into place, releasing it, removing a rerun's old files."""
    config, _ = trained
    results = tmp_path / "results"
    if site == "old run file removal":
        assert invoke("run", config, "--results-dir", results, "-q").exit_code == 0
    real_link, real_unlink = os.link, os.unlink

    def link(source, target, *args, **kwargs):
        if site == "claim link":
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return real_link(source, target, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        name = str(path)
        if (site == "claim release" and "/claims/" in name and "/claims/." not in name) or (
            site == "old run file removal" and name.endswith("metrics.json")
        ):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "unlink", unlink)
    outcome = invoke(
        "run", config, "--results-dir", results, "-q", *(["--force"] if site == "old run file removal" else [])
    )
    monkeypatch.setattr(os, "link", real_link)
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output, outcome.output
    (error,) = [line for line in outcome.output.splitlines() if line.startswith("error: ")]
    assert f"cannot write ({os.strerror(errno.EACCES)}); make it writable" in error
    assert ("/claims/" in error) if site.startswith("claim") else error.split(":")[1].strip().endswith("metrics.json")
    if site != "old run file removal":  # --force reruns every run: nothing to compare with before
        _check_resumes_everything(config, results, replay)


def test_sigterm_keeps_finished_runs_releases_claims_and_exits_143(trained, replay, tmp_path, monkeypatch):
    import actbench.executors.serial as serial

    config, _ = trained
    results = tmp_path / "results"
    replayed = serial.execute_pack

    def terminated_during_second(specs, data, context, on_epoch=None):
        if len(replay) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # what `timeout` or a scheduler sends
        return replayed(specs, data, context, on_epoch)

    monkeypatch.setattr(serial, "execute_pack", terminated_during_second)
    before = signal.getsignal(signal.SIGTERM)
    outcome = invoke("run", config, "--results-dir", results, "-q")
    assert outcome.exit_code == 143 and "Traceback" not in outcome.output, outcome.output
    assert "error: terminated; completed runs are saved" in outcome.output
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the run command's alone
    complete = [d for d in (results / "tiny" / "runs").glob("*") if (d / "metrics.json").exists()]
    assert len(complete) == 1
    _check_nothing_half_written(results)
    monkeypatch.setattr(serial, "execute_pack", replayed)
    _check_resumes_everything(config, results, replay)
    assert len(replay) == 2  # the first before the signal; the second, stopped by it, on resume


def test_ctrl_c_during_a_dry_run_starts_no_export(trained, tmp_path, monkeypatch):
    import actbench.sweep

    config, _ = trained
    exported = []

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(actbench.sweep, "plan_lines", interrupted)
    monkeypatch.setattr(actbench.sweep, "export_after_run", lambda *args: exported.append(args))
    outcome = invoke("run", config, "--results-dir", tmp_path / "results", "--dry-run", "--export", "tensorboard")
    assert outcome.exit_code == 130 and exported == []
    assert not (tmp_path / "results").exists()


def test_a_sweep_that_cannot_get_its_data_changes_nothing_and_its_dry_run_says_what_is_missing(
    trained, replay, tmp_path, monkeypatch
):
    from actbench.datasets import sources

    config, _ = trained
    results = tmp_path / "results"
    assert invoke("run", config, "--results-dir", results, "-q").exit_code == 0
    before = {name: (results / "tiny" / name).read_bytes() for name in ("plan.json", "config.yaml")}
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("ACTBENCH_DATA_DIR", raising=False)
    monkeypatch.setattr(sources, "SYSTEM_DIR", tmp_path / "system")
    dead_mirror = "http://127.0.0.1:9/"  # discard port: nothing listens

    dry = invoke("run", config, "--results-dir", results, "--source", "full", "--dry-run", "--mirror", dead_mirror)
    assert dry.exit_code == 0
    (note,) = [line for line in dry.output.splitlines() if line.startswith("note: mnist")]
    assert "full data not found locally" in note and f"the run will download mnist.npz from {dead_mirror}" in note
    assert str(tmp_path / "keras" / "datasets") in note

    real = invoke("run", config, "--results-dir", results, "--source", "full", "--mirror", dead_mirror)
    assert real.exit_code == 2 and "Traceback" not in real.output and "mnist: full data not found" in real.output
    assert {name: (results / "tiny" / name).read_bytes() for name in before} == before
    assert len(replay) == 2  # the first sweep only


def test_a_report_with_nothing_to_show_says_so_and_keeps_the_previous_one(trained, replay, tmp_path):
    config, _ = trained
    results = tmp_path / "results"
    assert invoke("run", config, "--results-dir", results, "-q").exit_code == 0
    assert invoke("report", results / "tiny").exit_code == 0
    saved = results / "tiny" / "report"
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    assert any(name.endswith(".png") for name in before)
    (results / "tiny" / "plan.json").write_text(
        json.dumps({"run_ids": ["000000000000"]})
    )  # a plan with no run done yet
    outcome = invoke("report", results / "tiny")
    assert outcome.exit_code == 0 and "tiny: no completed run to report; nothing written" in outcome.output
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before


@pytest.mark.parametrize("tool", ["tensorboard", "mlflow"])
def test_an_export_to_a_place_that_cannot_be_written_is_one_line(trained, replay, tmp_path, tool):
    pytest.importorskip(tool)
    config, _ = trained
    results = tmp_path / "results"
    assert invoke("run", config, "--results-dir", results, "-q").exit_code == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    where = (
        ["--logdir", blocker] if tool == "tensorboard" else ["--tracking-uri", f"sqlite:///{blocker}/store/mlflow.db"]
    )
    outcome = invoke("export", tool, results / "tiny", *where)
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output, outcome.output
    (line,) = outcome.output.strip().splitlines()
    expected = (
        f"error: --logdir {blocker}: is a file"
        if tool == "tensorboard"
        else f"error: {blocker}/store: cannot write (Not a directory)"
    )
    assert line.startswith(expected), line
    assert blocker.read_text() == "not a folder\n"
