"""predictions.npz holds what the metrics were computed from: recomputing them from the file gives metrics.json exactly."""

import numpy as np
import pytest

from actbench import evaluation, results
from actbench.config import load_config
from actbench.sweep import run_sweep
from helpers import write_config

SWEEP = """
name: saved
datasets: [mnist]
data: {{source: sample, limit_train: 300, limit_test: 200}}
task: {task}
models: [{{type: mlp, hidden_units: [16]}}]
hidden_activations: [relu]
output_activations: {outputs}
training: {{epochs: 1, batch_size: 64}}
seeds: [0]
"""


@pytest.mark.parametrize(
    "task, outputs",
    [
        ("{type: multiclass}", "[softmax, sigmoid, linear]"),
        ("{type: binary, positive: [0]}", "[sigmoid, linear, softmax, {name: sigmoid, units: 2}]"),
    ],
)
def test_every_metric_recomputed_from_the_saved_predictions_equals_metrics_json(tmp_path, task, outputs):
    config = load_config(write_config(tmp_path, SWEEP.format(task=task, outputs=outputs)))
    run_sweep(config, tmp_path / "results")
    run_dirs = results.run_directories(tmp_path / "results" / "saved")
    assert len(run_dirs) == len(config.output_activations)
    for directory in run_dirs:
        recorded = results.read_metrics(directory)
        probabilities, labels, _ = results.read_predictions(directory)
        recomputed, confusion = evaluation.classification_metrics(probabilities, labels)
        for name, value in recomputed.items():
            assert value == recorded[name], (directory.name, name)
        saved_confusion = results.read_confusion(directory).to_numpy()
        assert np.array_equal(saved_confusion, confusion)
        if probabilities.shape[1] == 2 and "roc_auc" in recorded:
            from sklearn.metrics import roc_auc_score

            assert roc_auc_score(labels, probabilities[:, 1]) == recorded["roc_auc"]


def test_a_tiny_probability_survives_saving(tmp_path):
    # float16 turned p = 1e-9 into 0 (and a log loss of 20.7 into 36.0); the raw outputs keep it.
    outputs = np.array([[20.7233, 0.0], [0.0, 20.7233]], dtype=np.float32)  # logits
    test = results.TestOutputs(outputs, "linear", np.array([1, 1]), ["a", "b"], np.array([[0, 0], [0, 2]]))
    for name, content in results.run_files(results.RunOutputs([], test)).items():
        results.write_atomic(tmp_path / name, content)
    probabilities, labels, names = results.read_predictions(tmp_path)
    assert np.array_equal(probabilities, evaluation.class_probabilities(outputs, "linear"))
    assert probabilities[0, 1] == pytest.approx(1e-9, rel=1e-3)
    assert evaluation.classification_metrics(probabilities, labels)[0]["log_loss"] == pytest.approx(
        20.7233 / 2, rel=1e-4
    )
    assert names == ["a", "b"]
