"""Judge a run from its outputs: class probabilities, decisions, and the metrics computed from them.

Plain NumPy and scikit-learn, no TensorFlow: training calls it once on the test predictions, and
anything new can be computed later from a run's saved predictions.npz without retraining.
Only the calibration error is written here by hand (scikit-learn has no binned ECE).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from actbench.outputs import output_layer

ECE_BINS = 15  # Guo et al. 2017, "On Calibration of Modern Neural Networks"


def class_probabilities(outputs: np.ndarray, activation: str) -> np.ndarray:
    """Model outputs (N, units) -> a probability per class (N, C), rows summing to 1.

    One unit is P(positive), or its logit where the output layer emits logits, so C = 2. With
    several units, logits go through a softmax and one-vs-rest sigmoid outputs are normalised over
    the classes.
    """
    logits = output_layer(activation).emits_logits
    z = np.asarray(outputs, dtype=np.float64)
    if z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0])) if logits else z[:, 0]
        z = np.column_stack([1.0 - p, p])
    elif logits:
        z = np.exp(z - z.max(axis=1, keepdims=True))
    z = np.clip(z, 0.0, None)
    totals = z.sum(axis=1, keepdims=True)
    return np.divide(z, totals, out=np.full_like(z, 1.0 / z.shape[1]), where=totals > 0)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Equal-width confidence bins (lo, hi] on [0, 1]: count, mean confidence and accuracy per bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct.astype(float), minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """sum over bins of (share of predictions in the bin) x |accuracy - mean confidence|."""
    table = reliability_bins(confidence, correct, bins)
    filled = table["count"] > 0
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    return float(np.sum(table["count"][filled] / len(confidence) * gaps))


def confidence_and_correct(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per prediction: the probability of the predicted class, and whether that class is the label."""
    return probabilities.max(axis=1), probabilities.argmax(axis=1) == labels


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Accuracy, cross-entropy, macro and per-class scores, calibration; and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

    classes = np.arange(probabilities.shape[1])
    predicted = probabilities.argmax(axis=1)
    confidence, correct = confidence_and_correct(probabilities, labels)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    metrics = {
        "test_accuracy": float(correct.mean()),
        "log_loss": float(log_loss(labels, probabilities, labels=classes)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "min_class_recall": float(recall.min()),
        "per_class_recall": [round(float(r), 6) for r in recall],
        "ece": expected_calibration_error(confidence, correct),
        "confidence_correct": _mean_or_none(confidence[correct]),
        "confidence_wrong": _mean_or_none(confidence[~correct]),
    }
    return metrics, confusion_matrix(labels, predicted, labels=classes)


def best_f1_threshold(labels: np.ndarray, p_positive: np.ndarray) -> float:
    """The probability threshold (predict positive when p >= it) with the highest F1 on these labels."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, p_positive)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return float(thresholds[int(np.argmax(f1))])


def binary_metrics(p_test: np.ndarray, y_test: np.ndarray, p_val: np.ndarray, y_val: np.ndarray) -> dict[str, Any]:
    """Positive-class scores at the default threshold and at the F1-best threshold found on validation."""
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

    def scores(predicted: np.ndarray) -> tuple[float, float, float]:
        p, r, f, _ = precision_recall_fscore_support(y_test, predicted, average="binary", zero_division=0)
        return float(p), float(r), float(f)

    threshold = best_f1_threshold(y_val, p_val)
    precision, recall, f1 = scores(p_test > 0.5)
    precision_tuned, recall_tuned, f1_tuned = scores(p_test >= threshold)
    both_classes = len(np.unique(y_test)) == 2
    return {
        "positive_share": float(np.mean(y_test)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "threshold_tuned": threshold,
        "precision_tuned": precision_tuned,
        "recall_tuned": recall_tuned,
        "f1_tuned": f1_tuned,
        "roc_auc": float(roc_auc_score(y_test, p_test)) if both_classes else None,
        "pr_auc": float(average_precision_score(y_test, p_test)) if both_classes else None,
    }


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None
