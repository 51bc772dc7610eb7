"""`actbench report`: statistics on constructed results with known answers, and reports of real pipeline runs."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from actbench.cli import app
from actbench.config import expand_runs, load_config, run_id
from actbench.report import build_report
from actbench.report.render import headline
from actbench.report.aggregate import confidence_interval, welch_test
from actbench.results import history_csv, run_dir, save_outcome, save_spec, write_json
from conftest import write_config


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def make_results(tmp_path, accuracies: dict[str, list[float]], statuses: dict[str, list[str]] | None = None, extra=None):
    """Construct an experiment folder by hand: one run per (activation, seed) with a chosen accuracy."""
    names = list(accuracies)
    config = load_config(
        write_config(tmp_path, f"name: made\ndatasets: [mnist]\nhidden_activations: {names}\nseeds: {max(map(len, accuracies.values()))}\n")
    )
    exp_dir = tmp_path / "results" / "made"
    ids = []
    for spec in expand_runs(config, {"mnist": "full"}):
        values = accuracies[spec.hidden_activation.name]
        if spec.seed >= len(values):
            continue
        identifier = run_id(spec)
        ids.append(identifier)
        status = (statuses or {}).get(spec.hidden_activation.name, ["finished"] * 10)[spec.seed]
        directory = run_dir(exp_dir, identifier)
        save_spec(directory, spec.model_dump(mode="json"), identifier)
        history = [{"epoch": e, "loss": 1 / e, "accuracy": 0.5, "val_loss": 1 / e, "val_accuracy": 0.5 + e / 10, "seconds": 1.0} for e in (1, 2, 3)]
        metrics = {"status": status, "test_accuracy": values[spec.seed], "test_loss": 0.3, "best_val_accuracy": 0.8,
                   "best_epoch": 3, "train_seconds": 3.0, "seconds_per_epoch": 1.0, "epochs_run": 3}
        metrics.update((extra or {}).get(spec.hidden_activation.name, lambda seed: {})(spec.seed))
        if status == "failed":
            metrics = {"status": "failed", "error": "RuntimeError: boom"}
        save_outcome(directory, metrics, {"history.csv": history_csv(history)})
    return exp_dir, ids


def test_confidence_interval_and_welch_match_textbook_values():
    values = np.array([0.90, 0.92, 0.94])
    low, high = confidence_interval(values)
    half_width = stats.t.ppf(0.975, 2) * 0.02 / math.sqrt(3)  # sd 0.02, n 3
    assert (low, high) == pytest.approx((0.92 - half_width, 0.92 + half_width))
    assert math.isnan(confidence_interval(np.array([0.9]))[0])
    a, b = np.array([0.90, 0.91, 0.92, 0.93]), np.array([0.80, 0.82, 0.81, 0.83])
    assert welch_test(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch_test(a, b) < 0.001
    assert math.isnan(welch_test(a, np.array([0.8])))


def test_groups_aggregate_over_seeds_rank_and_test(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.98, 0.99], "tanh": [0.955, 0.975, 0.995], "sigmoid": [0.80, 0.81, 0.82]})
    summary = build_report(exp_dir).aggregated.summary.set_index("hidden_activation")
    assert summary.loc["relu", "n"] == 3
    assert summary.loc["relu", "acc_mean"] == pytest.approx(0.98)
    assert summary.loc["tanh", "acc_std"] == pytest.approx(0.02)
    assert list(summary.sort_values("rank").index) == ["relu", "tanh", "sigmoid"]
    assert summary.loc["relu", "vs_best"] == "best"
    assert summary.loc["tanh", "vs_best"] == "not distinguishable"  # 0.005 lower, spread 0.02
    assert summary.loc["tanh", "p_vs_best"] > 0.5
    assert summary.loc["sigmoid", "vs_best"] == "worse (p<0.05)"


def test_one_seed_says_no_test_is_possible(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.98], "sigmoid": [0.90]})
    summary = build_report(exp_dir).aggregated.summary.set_index("hidden_activation")
    assert summary.loc["sigmoid", "vs_best"] == "no test (needs 2+ seeds)"
    assert math.isnan(summary.loc["sigmoid", "p_vs_best"])


def test_failed_and_diverged_runs_are_listed_not_averaged_and_missing_runs_counted(tmp_path):
    exp_dir, ids = make_results(
        tmp_path, {"relu": [0.98, 0.97, 0.5], "sigmoid": [0.9, 0.9]}, statuses={"relu": ["finished", "finished", "diverged"]}
    )
    write_json(exp_dir / "plan.json", {"run_ids": ids + ["not-run-yet-1", "not-run-yet-2"]})
    report = build_report(exp_dir)
    assert report.aggregated.summary.set_index("hidden_activation").loc["relu", "n"] == 2
    assert report.aggregated.summary.set_index("hidden_activation").loc["relu", "acc_mean"] == pytest.approx(0.975)
    assert list(report.aggregated.problems["status"]) == ["diverged"]
    assert report.missing == 2
    outcome = invoke("report", exp_dir, "--no-plots")
    assert "2 planned runs missing" in outcome.output and "diverged or failed runs" in outcome.output


def test_formats_filters_and_sorting(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99], "sigmoid": [0.80, 0.82]})
    as_json = json.loads(invoke("report", exp_dir, "--format", "json", "--no-plots").output)
    assert {g["hidden_activation"] for g in as_json["groups"]} == {"relu", "sigmoid"}
    as_csv = invoke("report", exp_dir, "-f", "csv", "--no-plots").output
    assert as_csv.startswith("dataset,") and len(as_csv.strip().splitlines()) == 3
    markdown = invoke("report", exp_dir, "-f", "markdown", "--no-plots").output
    assert "| rank | dataset |" in markdown and "0.9800 ± 0.0141" in markdown
    filtered = json.loads(invoke("report", exp_dir, "-f", "json", "--filter", "hidden_activation=sigmoid", "--no-plots").output)
    assert [g["hidden_activation"] for g in filtered["groups"]] == ["sigmoid"]
    table = invoke("report", exp_dir, "--sort-by", "train s", "--no-plots").output
    assert "+----" in table  # plain ASCII borders when not on a terminal
    bad = invoke("report", exp_dir, "--filter", "colour=red")
    assert bad.exit_code == 2 and "--filter 'colour=red'" in bad.output


def test_broken_inputs_give_a_message_and_report_what_they_can(tmp_path):
    assert "no such folder" in invoke("report", tmp_path / "nothing").output
    (tmp_path / "empty").mkdir()
    empty = invoke("report", tmp_path / "empty")
    assert empty.exit_code == 2 and "holds no experiment results" in empty.output
    exp_dir, ids = make_results(tmp_path, {"relu": [0.97, 0.99]})
    (exp_dir / "results.csv").write_text("this,was\nedited,by,hand,badly\n")
    (run_dir(exp_dir, ids[0]) / "metrics.json").unlink()
    (run_dir(exp_dir, "garbage") / "metrics.json").parent.mkdir(parents=True)
    (run_dir(exp_dir, "garbage") / "metrics.json").write_text("{not json")
    outcome = invoke("report", exp_dir.parent)
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    assert "incomplete (no metrics.json)" in outcome.output and "garbage: unreadable" in outcome.output
    assert "relu" in outcome.output


def test_report_of_a_real_sweep_writes_files_and_plots(tiny_config, tmp_path):
    results = tmp_path / "results"
    assert invoke("run", tiny_config, "--results-dir", results, "--seeds", "2").exit_code == 0
    outcome = invoke("report", results)
    assert outcome.exit_code == 0, outcome.output
    folder = results / "tiny" / "report"
    assert sorted(p.name for p in folder.iterdir()) == [
        "accuracy_vs_time.png", "activations.png", "confusion_matrices.png", "learning_curves.png", "reliability.png",
        "report.md", "summary.csv"]
    summary = pd.read_csv(folder / "summary.csv")
    assert sorted(summary["hidden_activation"]) == ["relu", "tanh"] and set(summary["n"]) == {2}
    assert "![learning curves](learning_curves.png)" in (folder / "report.md").read_text()
    assert all((folder / name).stat().st_size > 10_000 for name in ("learning_curves.png", "activations.png"))


def test_extra_metrics_average_over_seeds_and_a_keras_accuracy_gap_is_called_out(tmp_path):
    extra = {
        "relu": lambda seed: {"keras_accuracy": 0.97, "ece": [0.02, 0.04][seed], "dead_fraction_max": 0.25},
        "tanh": lambda seed: {"keras_accuracy": [0.90, 0.92][seed], "ece": 0.05},
    }
    exp_dir, _ = make_results(tmp_path, {"relu": [0.98, 0.99], "tanh": [0.90, 0.92]}, extra=extra)
    report = build_report(exp_dir)
    summary = report.aggregated.summary.set_index("hidden_activation")
    assert summary.loc["relu", "ece_mean"] == pytest.approx(0.03) and summary.loc["relu", "ece_std"] == pytest.approx(0.01414, abs=1e-4)
    assert summary.loc["relu", "dead_fraction_max_mean"] == 0.25 and math.isnan(summary.loc["tanh", "dead_fraction_max_mean"])
    lines = headline(report)
    assert any("misjudges relu -> softmax: 0.9700 instead of 0.9850 (-0.0150)" in line for line in lines)
    assert not any("misjudges tanh" in line for line in lines)
    text = invoke("report", exp_dir, "--no-plots").output
    assert "beyond accuracy" in text and "0.0300 ± 0.0141" in text and "inside the network" in text


def test_report_of_a_binary_sweep_with_diagnostics_draws_every_plot(tmp_path):
    config = write_config(tmp_path, """
        name: inside
        datasets: [mnist]
        task: {type: binary, positive: [0]}
        data: {source: sample, limit_train: 300, limit_test: 100}
        models: [{type: mlp, hidden_units: [16, 16]}]
        hidden_activations: [relu]
        output_activations: [sigmoid, linear]
        training: {epochs: 2, batch_size: 64}
        diagnostics: true
        """)
    results = tmp_path / "results"
    assert invoke("run", config, "--results-dir", results).exit_code == 0
    outcome = invoke("report", results)
    assert outcome.exit_code == 0, outcome.output
    assert "relu   | sigmoid (1 unit)" in outcome.output and "binary task, positive class" in outcome.output
    folder = results / "inside" / "report"
    for name in ("confusion_matrices", "reliability", "dead_units", "gradient_norms", "activation_histograms"):
        assert (folder / f"{name}.png").stat().st_size > 10_000, name
        assert f"({name}.png)" in (folder / "report.md").read_text()
    summary = pd.read_csv(folder / "summary.csv")
    assert {"roc_auc_mean", "f1_tuned_mean", "grad_ratio_first_last_mean"} <= set(summary.columns)


def test_report_never_imports_tensorflow(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99]})
    probe = (
        "import sys; from typer.testing import CliRunner; from actbench.cli import app; "
        f"r = CliRunner().invoke(app, ['report', {str(exp_dir)!r}]); "
        "print(r.exit_code, 'TF' if 'tensorflow' in sys.modules else 'noTF')"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "noTF"], out.stdout + out.stderr
