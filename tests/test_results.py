"""actbench.results: what run_files and save_record write, each reader gives back, and a run without
a file reads as having none."""

import numpy as np

from actbench import results
from actbench.config import TRAINING_RULES

HISTORY = [
    {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75, "seconds": 1.25},
    {"epoch": 2, "loss": float("nan"), "accuracy": 0.1, "val_loss": 0.7, "val_accuracy": 0.1, "seconds": 1.0},
]
OUTPUTS = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], dtype=np.float32)
LABELS = np.array([0, 1])
NAMES = ["cat", "dog", "owl"]
CONFUSION = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0]])
PROBE = [{"epoch": 0, "layer": 1, "dead_fraction": 0.25}, {"epoch": 1, "layer": 1, "dead_fraction": 0.5}]
HISTOGRAMS = {"act_1_counts": np.array([3, 1]), "act_1_edges": np.array([-1.0, 0.0, 1.0])}


def save(exp_dir, **outputs):
    files = results.run_files(results.RunOutputs(HISTORY, **outputs))
    record = results.RunRecord("abc", results.RunStatus.FINISHED, {"test_accuracy": 0.5}, files)
    return results.save_record(exp_dir, {"seed": 0}, record)


def test_every_file_written_reads_back_as_it_went_in(tmp_path):
    directory = save(
        tmp_path,
        test=results.TestOutputs(OUTPUTS, "linear", LABELS, NAMES, CONFUSION),
        diagnostics=PROBE,
        histograms=HISTOGRAMS,
    )
    assert results.run_directories(tmp_path) == [directory] and results.is_experiment_dir(tmp_path)
    spec, metrics = results.read_run(directory)
    assert spec == {"seed": 0, "run_id": "abc"} == results.read_spec(directory)
    assert metrics == {"status": "finished", "run_id": "abc", "test_accuracy": 0.5} == results.read_metrics(directory)
    assert results.has_metrics(directory) and results.ended_at(directory) > 0
    history = results.read_history(directory)
    assert history[0] == HISTORY[0] and np.isnan(history[1]["loss"])  # a diverged epoch keeps its NaN
    assert results.read_history_frame(directory)["val_accuracy"].tolist() == [0.75, 0.1]
    confusion = results.read_confusion(directory)
    assert confusion.to_numpy().tolist() == CONFUSION.tolist() and list(confusion.columns) == NAMES
    probabilities, labels, names = results.read_predictions(directory)
    assert np.allclose(probabilities.sum(axis=1), 1) and probabilities.argmax(axis=1).tolist() == [0, 2]
    assert labels.tolist() == [0, 1] and names == NAMES
    assert results.read_diagnostics(directory)["dead_fraction"].tolist() == [0.25, 0.5]
    saved = results.read_histograms(directory)
    assert sorted(saved) == sorted(HISTOGRAMS) and all(np.array_equal(saved[k], HISTOGRAMS[k]) for k in HISTOGRAMS)


def test_a_rerun_without_diagnostics_leaves_no_old_file_behind(tmp_path):
    save(tmp_path, diagnostics=PROBE, histograms=HISTOGRAMS)
    directory = save(tmp_path)  # --force, this time without diagnostics
    assert results.read_diagnostics(directory) is None and results.read_histograms(directory) is None
    assert sorted(p.name for p in directory.iterdir()) == sorted([results.SPEC, results.HISTORY, results.METRICS])


def test_a_failed_run_has_no_history_and_is_not_done_and_the_plan_reads_back(tmp_path):
    record = results.RunRecord("bad", "failed", {"error": "boom"})
    directory = results.save_record(tmp_path, {"seed": 1, "training_rules": TRAINING_RULES}, record)
    assert results.read_history(directory) == [] and results.run_status(tmp_path, "bad") == "failed"
    assert not results.is_done(tmp_path, "bad")
    results.save_record(tmp_path, {"seed": 2}, results.RunRecord("old", "finished", {}))  # no training_rules: stale
    assert results.run_status(tmp_path, "old") is None
    results.save_experiment(tmp_path, {"name": "x"}, ["bad"])
    assert results.read_plan(tmp_path) == ["bad"]


def test_results_csv_of_a_sweep_with_no_completed_run_has_its_header(tmp_path):
    """A sweep that fails before any run finishes: results.csv, load_runs and the report read it as zero runs."""
    import pandas as pd

    from actbench.api import load_runs
    from actbench.report import build_report

    exp_dir = tmp_path / "t"
    (results.runs_dir(exp_dir) / "0123456789ab").mkdir(parents=True)  # a run that never finished: no metrics.json
    path, count, skipped = results.rebuild_results_csv(exp_dir)
    assert count == 0 and "incomplete" in skipped[0]
    table = pd.read_csv(path)
    assert table.empty and list(table.columns) == results.LEADING_COLUMNS
    runs = load_runs(exp_dir)
    assert runs.empty and list(runs.columns) == results.LEADING_COLUMNS
    assert build_report(exp_dir).runs.empty
