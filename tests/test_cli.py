"""The `actbench run` command end to end: results layout, resume, --force, failures, interrupts, exit codes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from actbench import training
from actbench.results import read_metrics
from helpers import REPO, TINY, interrupted_at_call, invoke, write_config


def run_dirs(results: Path, experiment: str = "tiny") -> list[Path]:
    return sorted((results / experiment / "runs").iterdir())


def test_run_writes_the_documented_layout(tiny_config, tmp_path):
    results = tmp_path / "results"
    outcome = invoke("run", tiny_config, "--results-dir", results)
    assert outcome.exit_code == 0, outcome.output
    assert "2 finished, 0 diverged, 0 failed, 0 already done" in outcome.output
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert sorted(table["hidden_activation"]) == ["relu", "tanh"]
    assert set(table["status"]) == {"finished"} and set(table["source"]) == {"sample"}
    assert {"test_accuracy", "test_loss", "train_seconds", "seconds_per_epoch", "n_train", "model.hidden_units"} <= set(
        table.columns
    )
    for directory in run_dirs(results):
        assert sorted(p.name for p in directory.iterdir()) == [
            "confusion_matrix.csv",
            "history.csv",
            "metrics.json",
            "predictions.npz",
            "spec.json",
        ]
        spec_text = (directory / "spec.json").read_text()
        assert list(json.loads(spec_text)) == sorted(json.loads(spec_text))
        metrics = json.loads((directory / "metrics.json").read_text())
        assert metrics["status"] == "finished" and metrics["environment"]["tensorflow"]
        assert list(pd.read_csv(directory / "history.csv").columns) == [
            "epoch",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
            "seconds",
        ]
    assert (results / "tiny" / "config.yaml").exists()


def test_diagnostics_flag_adds_per_layer_files_and_headline_columns(tiny_config, tmp_path):
    results = tmp_path / "results"
    outcome = invoke("run", tiny_config, "--results-dir", results, "--diagnostics")
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert table["diagnostics"].all()
    assert {"dead_fraction_max", "saturated_fraction_max", "grad_ratio_first_last", "diagnostics_seconds"} <= set(
        table.columns
    )
    for directory in run_dirs(results):
        diagnostics = pd.read_csv(directory / "diagnostics.csv")
        assert list(diagnostics["epoch"].unique()) == [0, 1] and list(diagnostics["name"][:2]) == ["act_1", "logits"]
        assert (directory / "activation_histograms.npz").exists()
    # The same grid without diagnostics is a different set of runs: they still have to be trained.
    assert "0 already done" in invoke("run", tiny_config, "--results-dir", results).output


def test_resume_skips_finished_runs_and_force_reruns_them(tiny_config, tmp_path, monkeypatch):
    results = tmp_path / "results"
    assert invoke("run", tiny_config, "--results-dir", results).exit_code == 0
    first_metrics = {d.name: (d / "metrics.json").read_text() for d in run_dirs(results)}

    def must_not_train(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(training, "train_runs", must_not_train)
    again = invoke("run", tiny_config, "--results-dir", results)
    assert (
        again.exit_code == 0 and "0 finished, 0 diverged, 0 failed, 2 already done" in again.output
    )  # nothing to run: only the summary
    assert {d.name: (d / "metrics.json").read_text() for d in run_dirs(results)} == first_metrics
    monkeypatch.undo()
    forced = invoke("run", tiny_config, "--results-dir", results, "--force")
    assert forced.exit_code == 0 and "2 finished" in forced.output
    assert len(pd.read_csv(results / "tiny" / "results.csv")) == 2


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tiny_config, tmp_path):
    results = tmp_path / "results"
    outcome = invoke(
        "run",
        tiny_config,
        "--results-dir",
        results,
        "--set",
        "hidden_activations=[relu, 'helpers_activations:explode']",
    )
    assert outcome.exit_code == 1
    table = pd.read_csv(results / "tiny" / "results.csv").set_index("hidden_activation")
    assert table.loc["relu", "status"] == "finished"
    assert table.loc["helpers_activations:explode", "status"] == "failed"
    assert "this activation always fails" in table.loc["helpers_activations:explode", "error"]
    # A failed run is not "done": the next invocation tries it again.
    retry = invoke(
        "run",
        tiny_config,
        "--results-dir",
        results,
        "--set",
        "hidden_activations=[relu, 'helpers_activations:explode']",
    )
    assert "1 of 2 runs to do" in retry.output and retry.exit_code == 1


def test_quiet_is_not_silent_about_failed_runs(tiny_config, tmp_path):
    # Quiet means no progress and no notes: each failed run is still one line on stderr, then their count.
    results = tmp_path / "results"
    outcome = invoke(
        "run",
        tiny_config,
        "--results-dir",
        results,
        "--quiet",
        "--set",
        "hidden_activations=['helpers_activations:explode']",
    )
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert list(table["status"]) == ["failed"]
    lines = [line for line in outcome.stderr.splitlines() if "warn" not in line.lower()]  # Python warnings aside
    (run_id,) = table["run_id"]
    assert (
        lines[0]
        == f"failed: {run_id} mnist/sample mlp helpers_activations:explode -> softmax seed=0: {table['error'][0]}"
    )
    assert "this activation always fails" in lines[0]
    assert lines[-1] == f"0 finished, 0 diverged, 1 failed, 0 already done; results in {(results / 'tiny').absolute()}"
    assert len(lines) == 2


def test_with_nothing_left_to_run_a_sweep_says_only_its_summary(tiny_config, tmp_path):
    results = tmp_path / "results"
    first = invoke("run", tiny_config, "--results-dir", results)
    assert first.exit_code == 0 and "2 of 2 runs to do" in first.stdout
    again = invoke("run", tiny_config, "--results-dir", results)
    assert again.exit_code == 0
    assert (
        again.stdout
        == f"0 finished, 0 diverged, 0 failed, 2 already done; results in {(results / 'tiny').absolute()}\n"
    )


def test_a_diverging_run_exits_zero_and_is_marked(tiny_config, tmp_path):
    results = tmp_path / "results"
    overrides = ["hidden_activations=[relu]", "training.optimizer=sgd", "training.learning_rate=1e12"]
    outcome = invoke("run", tiny_config, "--results-dir", results, *[a for o in overrides for a in ("--set", o)])
    assert outcome.exit_code == 0, outcome.output
    assert set(pd.read_csv(results / "tiny" / "results.csv")["status"]) == {"diverged"}


def test_ctrl_c_keeps_finished_runs_and_trusts_no_partial_one(tiny_config, tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setattr(training, "train_runs", interrupted_at_call(2, training.train_runs))
    outcome = invoke("run", tiny_config, "--results-dir", results, "--pack", "off")  # one run at a time, as patched
    assert outcome.exit_code == 130 and "interrupted" in outcome.output
    assert len(pd.read_csv(results / "tiny" / "results.csv")) == 1
    assert sum((d / "metrics.json").exists() for d in run_dirs(results)) == 1
    monkeypatch.undo()
    resumed = invoke("run", tiny_config, "--results-dir", results)
    assert "1 of 2 runs to do" in resumed.output and resumed.exit_code == 0
    assert len(pd.read_csv(results / "tiny" / "results.csv")) == 2


@pytest.mark.slow  # a killed actbench process, then a resume of six runs, twice
@pytest.mark.parametrize("executor", [[], ["--workers", "2"]], ids=["serial", "workers"])
def test_killed_process_leaves_nothing_a_later_run_trusts(tiny_config, tmp_path, executor):
    """SIGKILL mid-sweep (no cleanup code runs), then resume: every run completes exactly once, packed.
    With workers, the kill also ends them, and the dead driver's claims do not block the resume."""
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "actbench",
        "run",
        str(tiny_config),
        "--results-dir",
        str(results),
        "-q",
        "--seeds",
        "3",
        "--pack",
        "2",  # three packs of two: the kill comes after the first, with packs still to train
        *executor,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(results.glob("tiny/runs/*/metrics.json")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = len(list(results.glob("tiny/runs/*/metrics.json")))
    assert 1 <= finished_before < 6
    subprocess.run(command, env=env, check=True)
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert len(table) == 6 and table["run_id"].is_unique and set(table["status"]) == {"finished"}


def test_config_errors_exit_2_without_traceback_or_touching_results(tmp_path):
    results = tmp_path / "results"
    (results / "bad").mkdir(parents=True)
    (results / "bad" / "results.csv").write_text("kept\n")
    config = write_config(tmp_path, "name: bad\ndatasets: [mnist]\nhidden_activations: [rleu]\n")
    outcome = invoke("run", config, "--results-dir", results)
    assert outcome.exit_code == 2
    assert "unknown activation 'rleu'; did you mean 'relu'" in outcome.output
    assert "Traceback" not in outcome.output
    assert (results / "bad" / "results.csv").read_text() == "kept\n"
    assert sorted(p.name for p in (results / "bad").iterdir()) == ["results.csv"]
    missing = invoke("run", tmp_path / "nope.yaml")
    assert missing.exit_code == 2 and "no such config file" in missing.output


def test_a_missing_config_named_like_a_shipped_one_suggests_it(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    for typed in ("relu_vs_sigmoid.yaml", "relu_vs_sigmoid.yml"):
        result = invoke("run", typed, "--dry-run")
        assert result.exit_code == 2 and "did you mean configs/relu_vs_sigmoid.yaml?" in result.output, result.output
    unrelated = invoke("run", tmp_path / "my_own_sweep.yaml", "--dry-run")
    assert unrelated.exit_code == 2 and "did you mean" not in unrelated.output


def test_dry_run_lists_runs_and_their_status(tiny_config, tmp_path):
    results = tmp_path / "results"
    before = invoke("run", tiny_config, "--results-dir", results, "--dry-run")
    assert before.exit_code == 0 and "2 runs, 0 already done, 2 to run" in before.output
    assert not results.exists()
    invoke("run", tiny_config, "--results-dir", results, "--set", "hidden_activations=[relu]")
    after = invoke("run", tiny_config, "--results-dir", results, "--dry-run")
    assert "finished" in after.output and "1 already done, 1 to run" in after.output


def test_dry_run_lines_name_what_else_varies_so_no_two_runs_read_alike(tmp_path):
    models = "models=[{type: mlp, hidden_units: [16]}, {type: mlp, hidden_units: [16, 8], dropout_kind: alpha, dropout: 0.1}]"
    result = invoke("run", write_config(tmp_path, TINY), "--dry-run", "--set", models, "--results-dir", tmp_path / "r")
    lines = [line for line in result.output.splitlines() if "params  mnist/sample" in line]
    assert len(lines) == 4 and len({line.split("params  ")[1] for line in lines}) == 4
    assert lines[0].endswith("mlp relu -> softmax seed=0, mlp 16, dropout=0.0, dropout_kind=standard")
    plain = invoke("run", write_config(tmp_path, TINY), "--dry-run", "--results-dir", tmp_path / "r")
    assert next(line for line in plain.output.splitlines() if "params" in line).endswith("relu -> softmax seed=0")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--workers", "0"], "--workers '0': give a number of worker processes"),
        (["--workers", "two"], "--workers 'two': give a number"),
        (["--workers", "2", "--ray", "local"], "--workers and --ray: choose one"),
        (["--workers", "100000"], "--workers 100000: this machine lets actbench use"),
        (["--export", "wandb"], "--export 'wandb': use one of tensorboard, mlflow"),
    ],
)
def test_a_dry_run_refuses_the_executor_options_the_run_would_refuse(options, message, tiny_config, tmp_path):
    result = invoke("run", tiny_config, "--results-dir", tmp_path / "results", "--dry-run", *options)
    assert result.exit_code == 2 and f"error: {message}" in result.output


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["run", "{config}", "--dry-run"], ["run", "{bad}"], ["activations"]],
    ids=["help", "run-help", "dry-run", "config-error", "activations"],
)
def test_commands_that_train_nothing_do_not_import_tensorflow(args, tiny_config, tmp_path):
    bad = write_config(tmp_path, "name: x\n", "bad.yaml")
    argv = [a.format(config=tiny_config, bad=bad) for a in args]
    probe = (
        "import sys; from typer.testing import CliRunner; from actbench.cli import app; "
        f"r = CliRunner().invoke(app, {argv!r}); "
        "print('TF' if 'tensorflow' in sys.modules else 'no TF', r.exit_code)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split()[:2] == ["no", "TF"], out.stdout + out.stderr


def test_version_help_without_bool_types_and_activation_headers():
    from actbench import __version__

    assert invoke("--version").output.strip() == f"actbench {__version__}"
    for args in (["--help"], ["run", "--help"], ["report", "--help"], ["export", "mlflow", "--help"]):
        text = invoke(*args).output
        assert "<bool>" not in text and "--help" in text, args
    assert "--dry-run" in invoke("run", "--help").output and "PATH=VALUE" in invoke("run", "--help").output
    lines = invoke("activations").output.splitlines()
    assert lines[0].split() == ["name", "(default", "parameters)", "initialiser", "formula"]
    assert lines[1].split()[:2] == ["relu", "he_normal"] and any(
        line.startswith("leaky_relu(alpha=0.01) ") for line in lines
    )


@pytest.mark.parametrize("make", ["file", "under-a-file"])
def test_a_results_dir_that_cannot_hold_results_is_one_error_before_training(tiny_config, tmp_path, make):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder\n")
    target = blocker if make == "file" else blocker / "results"
    outcome = invoke("run", tiny_config, "--results-dir", target)
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output
    (line,) = outcome.output.strip().splitlines()
    assert line.startswith(f"error: --results-dir {target}: ") and ("is a file" in line or "cannot write there" in line)
    assert blocker.read_text() == "not a folder\n"


def test_a_disk_that_fills_mid_sweep_is_one_line_and_leaves_nothing_trusted(tiny_config, tmp_path, monkeypatch):
    """ENOSPC injected while the second run saves its files: the first run stays, the second is redone."""
    import errno

    results = tmp_path / "results"
    real_fsync, runs_saved = os.fsync, set()

    def full_disk_on_second_run(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if "/runs/" in path and ".predictions.npz." in path:
            runs_saved.add(Path(path).parent.name)
            if len(runs_saved) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk_on_second_run)
    outcome = invoke("run", tiny_config, "--results-dir", results, "-q")
    monkeypatch.undo()
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output
    error = [line for line in outcome.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "predictions.npz: cannot write (No space left on device)" in error[0]
    complete = [d for d in run_dirs(results) if (d / "metrics.json").exists()]
    assert len(complete) == 1 and (complete[0] / "spec.json").exists()
    assert not list(results.glob("tiny/runs/*/.*.tmp"))  # no half-written file left behind
    resumed = invoke("run", tiny_config, "--results-dir", results)
    assert resumed.exit_code == 0 and "1 of 2 runs to do" in resumed.output
    table = pd.read_csv(results / "tiny" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"finished"}


def test_each_run_records_its_wall_time(tiny_config, tmp_path):
    results = tmp_path / "results"
    assert invoke("run", tiny_config, "--results-dir", results).exit_code == 0
    for directory in run_dirs(results):
        metrics = read_metrics(directory)
        assert metrics["train_seconds"] < metrics["run_seconds"] < 300


def test_a_dry_run_lists_the_python_modules_a_config_imports(tmp_path):
    config = write_config(
        tmp_path,
        """
        name: custom
        datasets: [mnist]
        data: {source: sample}
        hidden_activations: [relu, 'helpers_activations:scaled_tanh', 'helpers_activations:explode']
        """,
    )
    result = invoke("run", config, "--results-dir", tmp_path / "results", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Python modules this config imports and runs (custom activations): helpers_activations\n" in result.output
    plain = invoke(
        "run", config, "--results-dir", tmp_path / "results", "--dry-run", "--set", "hidden_activations=[relu]"
    )
    assert "imports and runs" not in plain.output


@pytest.mark.parametrize(
    "option, message",
    [
        ("data.limit_train=5", "data.limit_train is 5: keep at least 10 images, one per class"),
        (
            "training.validation_split=0.01",
            "mnist: 300 training images with validation_split 0.01 leave too few images",
        ),
    ],
)
def test_a_data_cut_too_small_is_refused_before_anything_is_written(option, message, tiny_config, tmp_path):
    """A dry run refuses it too, and a real run leaves a finished sweep's plan and config as they were."""
    exp_dir = tmp_path / "results" / "tiny"
    exp_dir.mkdir(parents=True)
    for name in ("plan.json", "config.yaml"):
        (exp_dir / name).write_text(f"the finished sweep's {name}\n")
    for dry_run in (["--dry-run"], []):
        result = invoke("run", tiny_config, "--results-dir", tmp_path / "results", "--set", option, *dry_run)
        assert result.exit_code == 2 and message in result.output, result.output
    assert sorted(p.name for p in exp_dir.iterdir()) == ["config.yaml", "plan.json"]
    assert all(
        (exp_dir / name).read_text() == f"the finished sweep's {name}\n" for name in ("plan.json", "config.yaml")
    )


@pytest.mark.parametrize("command", [["report"], ["export", "tensorboard"]])
def test_report_and_export_stop_on_sigterm_with_one_line_and_143(command, tmp_path, monkeypatch):
    """SIGTERM (timeout, a scheduler) is a Ctrl-C for every command that writes, not only for `run`."""
    import actbench.export.console
    import actbench.report.command

    def terminated(*args, **kwargs):
        # Without a handler SIGTERM would end pytest itself: say so instead of sending it.
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None), (
            "no SIGTERM handler while the command works"
        )
        os.kill(os.getpid(), signal.SIGTERM)  # the handler turns it into an interrupt inside the command
        time.sleep(5)

    monkeypatch.setattr(actbench.report.command, "show_report", terminated)
    monkeypatch.setattr(actbench.export.console, "export_target", terminated)
    outcome = invoke(*command, tmp_path)
    assert outcome.exit_code == 143
    assert [line for line in outcome.output.splitlines() if line] == [outcome.output.strip()]  # one line
    assert outcome.output.startswith("error: terminated;") and "Traceback" not in outcome.output
