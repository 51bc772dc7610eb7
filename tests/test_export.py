"""Export to TensorBoard and MLflow: what the tools themselves read back, re-exports, `run --export`."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from actbench import training
from actbench.config import expand_runs, load_config, run_id
from actbench.report import build_report
from actbench.report.files import write_report_files
from actbench.results import RunOutputs, RunRecord, TestOutputs, collect_rows, run_files, save_record
from helpers import interrupted_at_call, invoke, write_config

ACCURACIES = {"relu": [0.97, 0.98, 0.99], "sigmoid": [0.80, 0.81, 0.82]}


def record(exp_dir: Path, spec, status: str, accuracy: float) -> str:
    """One run folder through actbench's own writer, as a finished, diverged or failed run leaves it."""
    identifier = run_id(spec)
    if status == "failed":
        save_record(exp_dir, spec.as_json(), RunRecord(identifier, "failed", {"error": "RuntimeError: boom"}))
        return identifier
    history = [
        {
            "epoch": e,
            "loss": 1 / e + spec.seed,
            "accuracy": 0.5 + e / 10,
            "val_loss": 2 / e,
            "val_accuracy": 0.6 + e / 20,
            "seconds": 0.5,
        }
        for e in (1, 2, 3)
    ]
    metrics = {
        "test_accuracy": accuracy,
        "test_loss": 0.3,
        "macro_f1": accuracy - 0.01,
        "best_val_accuracy": 0.75,
        "best_epoch": 3,
        "train_seconds": 1.5,
        "seconds_per_epoch": 0.5,
        "epochs_run": 3,
        "n_train": 900,
        "n_val": 100,
        "n_test": 100,
        "data_origin": "sample",
        "environment": {"python": "3.11"},
    }
    if status == "diverged":
        metrics.update(test_accuracy=None, test_loss=None, macro_f1=None)
    labels = np.repeat(np.arange(10), 10)  # each class 10 times, every one predicted right
    test = TestOutputs(np.eye(10, dtype=np.float32)[labels], "softmax", labels, list("0123456789"), np.diag([10] * 10))
    files = run_files(RunOutputs(history, test))
    save_record(exp_dir, spec.as_json(), RunRecord(identifier, status, metrics, files))
    return identifier


@pytest.fixture(scope="module")
def made_experiment(tmp_path_factory) -> Path:
    """relu and sigmoid x 3 finished seeds, a diverged relu seed 3, a failed sigmoid seed 3, and the report's files.

    Built once: the report's plots take seconds. Tests get a copy (`experiment`)."""
    tmp_path = tmp_path_factory.mktemp("made")
    config = load_config(
        write_config(tmp_path, "name: made\ndatasets: [mnist]\nhidden_activations: [relu, sigmoid]\nseeds: 4\n")
    )
    exp_dir = tmp_path / "results" / "made"
    for spec in expand_runs(config, {"mnist": "sample"}):
        if spec.seed < 3:
            record(exp_dir, spec, "finished", ACCURACIES[spec.hidden_activation.name][spec.seed])
        else:
            record(exp_dir, spec, "diverged" if spec.hidden_activation.name == "relu" else "failed", 0.0)
    write_report_files(build_report(exp_dir))
    return exp_dir


@pytest.fixture
def experiment(made_experiment, tmp_path) -> Path:
    """A copy of made_experiment of this test's own: exports write beside it and a test adds a run to it."""
    exp_dir = tmp_path / "results" / "made"
    shutil.copytree(made_experiment, exp_dir)
    return exp_dir


def probe_cli(args: list, cwd: Path) -> str:
    """Run the CLI in a fresh interpreter and say whether it imported TensorFlow."""
    code = (
        "import sys; from typer.testing import CliRunner; from actbench.cli import app; "
        f"r = CliRunner().invoke(app, {[str(a) for a in args]!r}); "
        "print(r.output); print(r.exit_code, 'TF' if 'tensorflow' in sys.modules else 'noTF')"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd, env=env)
    assert out.stdout.split()[-2:] == ["0", "noTF"], out.stdout + out.stderr
    return out.stdout


def load_events(path: Path) -> list:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    (file,) = path.glob("events.out.tfevents.*")
    return list(EventFileLoader(str(file)).Load())


def scalars(events: list) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.util import tensor_util

    found: dict[str, list[tuple[int, float]]] = {}
    for event in events:
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == "scalars":
                found.setdefault(value.tag, []).append((event.step, float(tensor_util.make_ndarray(value.tensor))))
    return found


def test_tensorboard_sessions_read_back_with_tensorboards_loader(experiment, tmp_path):
    from tensorboard.plugins.hparams import api_pb2, metadata

    logdir = tmp_path / "tb"
    output = probe_cli(["export", "tensorboard", experiment, "--logdir", logdir], tmp_path)
    assert "7 runs of made exported" in output and "failed, not exported" in output
    sessions = sorted((logdir / "made").iterdir())
    # Named by the report's group labels (one block: the activation alone).
    assert len(sessions) == 7 and {s.name.split("_seed")[0] for s in sessions} == {"relu", "sigmoid"}
    groups: dict[str, list] = {}
    for session in sessions:
        events = load_events(session)
        contents = {
            v.tag: v.metadata.plugin_data.content
            for e in events
            for v in e.summary.value
            if v.metadata.plugin_data.plugin_name == "hparams"
        }
        start = metadata.parse_session_start_info_plugin_data(contents[metadata.SESSION_START_INFO_TAG])
        end = metadata.parse_session_end_info_plugin_data(contents[metadata.SESSION_END_INFO_TAG])
        hparams = {k: v.string_value or v.number_value or v.bool_value for k, v in start.hparams.items()}
        assert "seed" not in hparams and hparams["model.hidden_units"] == "[128,64]"
        groups.setdefault(start.group_name, []).append((session.name, hparams, scalars(events), end.status))
        train = scalars(load_events(session / "train"))
        seed = int(session.name.split("_seed")[1][0])
        assert [step for step, _ in train["epoch_loss"]] == [1, 2, 3]
        assert [value for _, value in train["epoch_loss"]] == pytest.approx([1 / e + seed for e in (1, 2, 3)])
        assert [step for step, _ in scalars(load_events(session / "validation"))["epoch_accuracy"]] == [1, 2, 3]
    assert len(groups) == 2 and sorted(len(members) for members in groups.values()) == [3, 4]
    # The group ids results.csv holds, as the report groups by them.
    assert set(groups) == {
        f"made/{row['group_id']}" for row in collect_rows(experiment)[0] if row["status"] != "failed"
    }
    for members in groups.values():
        activation = members[0][1]["hidden_activation"]
        assert {m[1]["hidden_activation"] for m in members} == {activation}
        finished = [m for m in members if m[3] == api_pb2.STATUS_SUCCESS]
        assert sorted(m[2]["test_accuracy"][0][1] for m in finished) == pytest.approx(ACCURACIES[activation])
        mean = np.mean(ACCURACIES[activation])
        assert all(m[2]["actbench/acc_mean"][0][0] == 3 for m in members)
        assert [m[2]["actbench/acc_mean"][0][1] for m in members] == pytest.approx([mean] * len(members))
        assert {m[1]["verdict"] for m in members} == {"best" if activation == "relu" else "worse"}
        assert len(members) - len(finished) == (1 if activation == "relu" else 0)  # the diverged run: STATUS_FAILURE
    # Re-exporting replaces each event file: the same files, each session still read once.
    before = sorted(logdir.rglob("*"))
    assert invoke("export", "tensorboard", experiment.parent, "--logdir", logdir).exit_code == 0
    assert sorted(logdir.rglob("*")) == before
    assert len(scalars(load_events(sessions[0] / "train"))["epoch_loss"]) == 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask_hparams(port: int, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/data/plugin/hparams/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_tensorboard_serves_the_sessions_to_its_hparams_plugin(experiment, tmp_path):
    logdir = tmp_path / "tb"
    assert invoke("export", "tensorboard", experiment, "--logdir", logdir).exit_code == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    statuses = ["STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING", "STATUS_UNKNOWN"]
    body = {"experimentName": "", "allowedStatuses": statuses, "colParams": [], "startIndex": 0, "sliceSize": 100}
    try:
        answer, deadline = {}, time.monotonic() + 90
        while time.monotonic() < deadline and len(answer.get("sessionGroups", [])) < 2:
            try:
                answer = ask_hparams(port, "session_groups", body)
            except OSError:  # not listening yet
                time.sleep(0.3)
        experiment_info = ask_hparams(port, "experiment", {"experimentName": ""})
    finally:
        server.terminate()
        server.wait(timeout=30)
    groups = {g["hparams"]["hidden_activation"]: g for g in answer["sessionGroups"]}
    assert sorted(groups) == ["relu", "sigmoid"]
    assert len(groups["relu"]["sessions"]) == 4 and len(groups["sigmoid"]["sessions"]) == 3
    sigmoid = {
        m["name"]["tag"]: m["value"] for m in groups["sigmoid"]["metricValues"] if m["name"].get("group", "") == ""
    }
    assert sigmoid["test_accuracy"] == pytest.approx(0.81, abs=1e-6)  # TensorBoard's own average over the seeds
    assert sigmoid["actbench/acc_ci_low"] < 0.81 < sigmoid["actbench/acc_ci_high"]
    names = {info["name"] for info in experiment_info["hparamInfos"]}
    assert {"hidden_activation", "training.epochs", "verdict"} <= names and "seed" not in names


def test_mlflow_parents_children_and_re_export_that_updates(experiment, tmp_path):
    from mlflow.tracking import MlflowClient

    output = probe_cli(["export", "mlflow", experiment], tmp_path)  # default: a SQLite file beside the results
    database = experiment.parent / "mlflow.db"
    assert database.exists() and "7 runs of made exported" in output
    client = MlflowClient(f"sqlite:///{database}")
    (found,) = [e for e in client.search_experiments() if e.name == "made"]

    def runs(kind: str) -> list:
        return client.search_runs([found.experiment_id], filter_string=f"tags.`actbench.kind` = '{kind}'")

    parents = {p.data.params["hidden_activation"]: p for p in runs("group")}
    children = runs("seed")
    assert sorted(parents) == ["relu", "sigmoid"] and len(children) == 7
    sigmoid = parents["sigmoid"]
    assert sigmoid.data.metrics["acc_mean"] == pytest.approx(0.81) and sigmoid.data.metrics["n"] == 3
    assert sigmoid.data.metrics["acc_ci_low"] < 0.81 < sigmoid.data.metrics["acc_ci_high"]
    assert sigmoid.data.tags["actbench.verdict"] == "worse" and "seed" not in sigmoid.data.params
    child = next(
        c for c in children if c.data.params["hidden_activation"] == "sigmoid" and c.data.params["seed"] == "1"
    )
    assert child.data.tags["mlflow.parentRunId"] == sigmoid.info.run_id
    assert child.data.metrics["test_accuracy"] == pytest.approx(0.81)
    history = client.get_metric_history(child.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [1, 2, 3] and [m.value for m in history] == pytest.approx([0.65, 0.70, 0.75])
    assert sorted(a.path for a in client.list_artifacts(child.info.run_id)) == ["confusion_matrix.csv", "history.csv"]
    diverged = [c for c in children if c.data.tags["actbench.status"] == "diverged"]
    assert len(diverged) == 1 and diverged[0].info.status == "FAILED"
    (report,) = runs("report")
    assert sorted(a.path for a in client.list_artifacts(report.info.run_id)) == [
        "accuracy_vs_time.png",
        "activations.png",
        "confusion_matrices.png",
        "learning_curves.png",
        "reliability.png",
        "report.md",
        "summary.csv",
    ]

    uri = f"sqlite:///{database}"
    again = invoke("export", "mlflow", experiment, "--tracking-uri", uri)
    assert "0 runs of made exported, 7 unchanged" in again.output
    assert len(runs("seed")) == 7 and len(runs("group")) == 2 and len(runs("report")) == 1

    # A --force rerun of sigmoid seed 1 records a new accuracy: its child is replaced, its parent updated.
    config = load_config(
        write_config(tmp_path, "name: made\ndatasets: [mnist]\nhidden_activations: [sigmoid]\nseeds: [1]\n")
    )
    rerun_id = record(experiment, expand_runs(config, {"mnist": "sample"})[0], "finished", 0.90)
    assert rerun_id == child.data.tags["actbench.run_id"]
    assert (
        "1 runs of made exported, 6 unchanged" in invoke("export", "mlflow", experiment, "--tracking-uri", uri).output
    )
    replaced = [c for c in runs("seed") if c.data.tags["actbench.run_id"] == rerun_id]
    assert len(replaced) == 1 and replaced[0].data.metrics["test_accuracy"] == pytest.approx(0.90)
    (parent,) = [p for p in runs("group") if p.data.params["hidden_activation"] == "sigmoid"]
    assert parent.info.run_id == sigmoid.info.run_id and parent.data.metrics["acc_mean"] == pytest.approx(
        (0.80 + 0.90 + 0.82) / 3
    )


def test_run_exports_what_finished_even_after_ctrl_c(tiny_config, tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setattr(training, "train_runs", interrupted_at_call(2, training.train_runs))
    outcome = invoke(
        "run", tiny_config, "--results-dir", results, "--export", "tensorboard", "--pack", "off"
    )  # one run at a time, as patched
    assert outcome.exit_code == 130 and "1 runs of tiny exported" in outcome.output
    assert len(list((results / "tensorboard" / "tiny").iterdir())) == 1
    monkeypatch.undo()
    resumed = invoke("run", tiny_config, "--results-dir", results, "--export", "tensorboard")
    assert resumed.exit_code == 0 and "2 runs of tiny exported" in resumed.output
    sessions = sorted((results / "tensorboard" / "tiny").iterdir())
    assert len(sessions) == 2 and {s.name.split("_seed")[0] for s in sessions} == {"relu", "tanh"}


def test_a_missing_extra_or_unknown_tool_stops_before_training(tiny_config, tmp_path, monkeypatch):
    import actbench.export

    monkeypatch.setitem(actbench.export.TOOLS, "mlflow", "no_such_module_for_actbench")
    missing = invoke("run", tiny_config, "--results-dir", tmp_path / "results", "--export", "mlflow")
    assert missing.exit_code == 2 and "pip install 'actbench[mlflow]'" in missing.output
    unknown = invoke("run", tiny_config, "--results-dir", tmp_path / "results", "--export", "wandb")
    assert unknown.exit_code == 2 and "--export 'wandb': use one of tensorboard, mlflow" in unknown.output
    assert not (tmp_path / "results").exists()
    nothing = invoke("export", "tensorboard", tmp_path / "nowhere")
    assert nothing.exit_code == 2 and "no such folder" in nothing.output and "Traceback" not in nothing.output
