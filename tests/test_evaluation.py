"""Metrics from outputs, checked against cases worked out by hand."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from actbench.evaluation import (
    best_f1_threshold,
    binary_metrics,
    class_probabilities,
    classification_metrics,
    expected_calibration_error,
    reliability_bins,
)


def test_ece_of_a_known_case():
    # Bin (0.2667, 0.3333]: 4 predictions at 0.3, half right: gap 0.2. Bin (0.9333, 1]: 6 at 0.95, all right: gap 0.05.
    confidence = np.array([0.3] * 4 + [0.95] * 6)
    correct = np.array([1, 1, 0, 0] + [1] * 6, dtype=bool)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.4 * 0.2 + 0.6 * 0.05)
    # Perfectly calibrated: 90% confident and 90% right.
    assert expected_calibration_error(np.full(10, 0.9), np.arange(10) < 9) == pytest.approx(0.0)
    # An edge value belongs to the bin it closes: 1/15 goes to the first bin, not the second.
    table = reliability_bins(np.array([1 / 15, 0.0, 1.0]), np.array([True, True, True]))
    assert table["count"][0] == 2 and table["count"][-1] == 1 and table["count"].sum() == 3


def test_class_probabilities_for_every_output_layer():
    sigmoid_one = class_probabilities(np.array([[0.8], [0.3]]), "sigmoid")
    assert sigmoid_one == pytest.approx(np.array([[0.2, 0.8], [0.7, 0.3]]))
    logit_one = class_probabilities(np.array([[0.0], [np.log(3.0)]]), "linear")  # sigmoid(ln 3) = 0.75
    assert logit_one == pytest.approx(np.array([[0.5, 0.5], [0.25, 0.75]]))
    logits = np.array([[1.0, 2.0, 3.0]])
    assert class_probabilities(logits, "linear") == pytest.approx(np.exp(logits) / np.exp(logits).sum())
    one_vs_rest = class_probabilities(np.array([[0.9, 0.3, 0.3]]), "sigmoid")
    assert one_vs_rest == pytest.approx(np.array([[0.6, 0.2, 0.2]]))
    assert class_probabilities(np.array([[0.1, 0.7, 0.2]]), "softmax") == pytest.approx(np.array([[0.1, 0.7, 0.2]]))


def test_classification_metrics_match_counts_worked_by_hand():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    probabilities = np.full((8, 3), 0.2)
    probabilities[np.arange(8), predicted] = 0.6
    metrics, confusion = classification_metrics(probabilities, labels)
    assert confusion.tolist() == [[3, 1, 0], [0, 2, 0], [0, 1, 1]]
    assert metrics["test_accuracy"] == pytest.approx(6 / 8)
    assert metrics["per_class_recall"] == pytest.approx([0.75, 1.0, 0.5])
    assert metrics["min_class_recall"] == pytest.approx(0.5)
    assert metrics["macro_precision"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert metrics["log_loss"] == pytest.approx(log_loss(labels, probabilities))
    assert metrics["confidence_correct"] == pytest.approx(0.6) and metrics["confidence_wrong"] == pytest.approx(0.6)
    assert metrics["ece"] == pytest.approx(abs(0.75 - 0.6))


def test_threshold_tuned_on_validation_is_applied_to_test():
    # On validation the positives score 0.35-0.8: the F1-best threshold is 0.35, not 0.5.
    p_val = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.8])
    y_val = np.array([0, 0, 0, 1, 1, 1])
    assert best_f1_threshold(y_val, p_val) == pytest.approx(0.35)
    p_test = np.array([0.05, 0.1, 0.25, 0.38, 0.45, 0.9])
    y_test = np.array([0, 0, 0, 1, 1, 1])
    metrics = binary_metrics(p_test, y_test, p_val, y_val)
    assert (metrics["precision"], metrics["recall"]) == pytest.approx((1.0, 1 / 3))
    assert metrics["f1"] == pytest.approx(0.5)
    assert (metrics["threshold_tuned"], metrics["recall_tuned"], metrics["f1_tuned"]) == pytest.approx((0.35, 1.0, 1.0))
    assert metrics["roc_auc"] == pytest.approx(1.0) and metrics["pr_auc"] == pytest.approx(1.0)
    assert metrics["positive_share"] == pytest.approx(0.5)


def test_high_accuracy_with_low_recall_is_visible():
    # The seeds' self-check: 98% accuracy on a 2%-positive set while missing most positives.
    y = np.array([1] * 10 + [0] * 490)
    p = np.r_[np.full(8, 0.3), np.full(2, 0.9), np.full(490, 0.1)]
    probabilities = np.column_stack([1 - p, p])
    metrics, _ = classification_metrics(probabilities, y)
    binary = binary_metrics(p, y, p, y)
    assert metrics["test_accuracy"] == pytest.approx(0.984)
    assert binary["recall"] == pytest.approx(0.2)
    assert binary["recall_tuned"] == pytest.approx(1.0)
