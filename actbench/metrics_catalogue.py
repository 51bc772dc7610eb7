"""The metric catalogue: one row per figure a run records in metrics.json, and how the report shows it.

A metric is added here once. results.csv's leading columns, the report's averaging over seeds, its
tables (which table, what header, how many digits), `--sort-by` and the exporters all read these
rows. tests/test_metrics_catalogue.py trains real runs and fails when one saves a figure that is
neither a row nor listed in NOT_METRICS, so no figure is saved and then silently never reported.

Row order is the order of results.csv's leading columns, of the report's summary columns and of
the columns within each table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "verdict": the figure the report's statistics compare. "accuracy": its mean beside the verdict
# in the accuracy table (--wide, markdown). The others are tables of their own (mean ± std).
Table = Literal["verdict", "accuracy", "output", "positive_class", "diagnostics"]
EXTRA_TABLES: dict[Table, str] = {
    "output": "beyond accuracy: test-set metrics (mean ± std over seeds)",
    "positive_class": "binary task, positive class: at threshold 0.5 and at the F1-best threshold found on validation",
    "diagnostics": "inside the network: diagnostics after the last epoch (mean ± std over seeds)",
}
# metrics.json keys that are bookkeeping or text, not measurements: never averaged, tabled or exported as numbers.
NOT_METRICS = {
    "status",
    "run_id",
    "error",
    "traceback",
    "data_origin",
    "data_sha256",
    "data_verified_by",
    "decision_rule",
    "environment",
}


@dataclass(frozen=True)
class Metric:
    name: str  # its key in metrics.json and its column in results.csv
    label: str  # its header in the report
    table: Table | None  # None: recorded and exported, shown in no report table
    digits: str = ".4f"  # how the report prints it
    higher_is_better: bool | None = True  # None: neither (a size, a threshold, a ratio best near 1)
    leading: bool = False  # among results.csv's first columns
    sort_name: str | None = None  # accuracy-table metrics: the `--sort-by` name, when not the label
    mean_name: str | None = None  # its mean's column in the report summary, when not `<name>_mean`

    @property
    def mean_column(self) -> str:
        return self.mean_name or f"{self.name}_mean"

    @property
    def std_column(self) -> str:
        """Its standard deviation over seeds in the report summary (the extra tables' metrics)."""
        return f"{self.name}_std"

    @property
    def sort_key(self) -> str:
        return self.sort_name or self.label


def _rows(*rows: Metric) -> dict[str, Metric]:
    return {row.name: row for row in rows}


METRICS: dict[str, Metric] = _rows(
    Metric("test_accuracy", "test accuracy", "verdict", leading=True),
    Metric("keras_accuracy", "Keras 'accuracy'", "output", leading=True),
    Metric(
        "test_loss",
        "test loss",
        "accuracy",
        higher_is_better=False,
        leading=True,
        sort_name="loss",
        mean_name="loss_mean",
    ),
    Metric("log_loss", "log loss", "output", higher_is_better=False, leading=True),
    Metric("macro_f1", "macro F1", "output", leading=True),
    Metric("min_class_recall", "worst-class recall", "output"),
    Metric("ece", "ECE", "output", higher_is_better=False, leading=True),
    Metric("confidence_correct", "confidence right", "output"),
    Metric("confidence_wrong", "confidence wrong", "output", higher_is_better=False),
    Metric("best_val_accuracy", "best val acc", "accuracy", leading=True, mean_name="best_val_acc_mean"),
    Metric("best_epoch", "best epoch", "accuracy", ".1f", higher_is_better=False, leading=True),  # sooner is better
    Metric("train_seconds", "train s", "accuracy", ".1f", higher_is_better=False, leading=True),
    Metric("seconds_per_epoch", "s/epoch", "accuracy", ".2f", higher_is_better=False, leading=True),
    Metric("recall", "recall@0.5", "positive_class"),
    Metric("f1", "F1@0.5", "positive_class"),
    Metric("recall_tuned", "recall@tuned", "positive_class"),
    Metric("f1_tuned", "F1@tuned", "positive_class"),
    Metric("roc_auc", "ROC-AUC", "positive_class"),
    Metric("pr_auc", "PR-AUC", "positive_class"),
    Metric("dead_fraction_max", "dead units, worst layer", "diagnostics", higher_is_better=False),
    Metric("saturated_fraction_max", "saturated, worst layer", "diagnostics", higher_is_better=False),
    # Far below 1: the gradient vanishes on its way to the first layer; far above: it explodes.
    Metric("grad_ratio_initial", "grad norm first/last, at init", "diagnostics", ".3g", higher_is_better=None),
    Metric("grad_ratio_first_last", "grad norm first/last, at end", "diagnostics", ".3g", higher_is_better=None),
    Metric("diagnostics_seconds", "diagnostics s", "diagnostics", higher_is_better=False),
    # Recorded for programs and exporters; no report table shows them.
    Metric("macro_precision", "macro precision", None),
    Metric("macro_recall", "macro recall", None),
    Metric("per_class_recall", "recall per class", None),  # a list, one per class
    Metric("positive_share", "positive share of the test set", None, higher_is_better=None),
    Metric("precision", "precision@0.5", None),
    Metric("threshold_tuned", "F1-best threshold", None, ".3f", higher_is_better=None),
    Metric("precision_tuned", "precision@tuned", None),
    Metric("params", "weights", None, ".0f", higher_is_better=None),
    Metric("epochs_run", "epochs run", None, ".0f", higher_is_better=None),
    Metric("stopped_early", "stopped early", None, ".0f", higher_is_better=None),  # by training.early_stopping
    Metric("n_train", "training images", None, ".0f", higher_is_better=None),
    Metric("n_val", "validation images", None, ".0f", higher_is_better=None),
    Metric("n_test", "test images", None, ".0f", higher_is_better=None),  # the chance threshold's sample size
    Metric("probe_size", "diagnostics probe images", None, ".0f", higher_is_better=None),
    Metric("run_seconds", "run s", None, ".1f", higher_is_better=False),  # its share of its pack's wall time
    # How it trained: alone a pack of 1. Its train_seconds is its own share of the pack's training time,
    # by its step's cost; pack_share_seconds the equal share.
    Metric("pack_size", "pack size", None, ".0f", higher_is_better=None),
    Metric("pack_train_seconds", "pack train s", None, ".1f", higher_is_better=None),
    Metric("pack_share_seconds", "pack share s", None, ".1f", higher_is_better=None),
    Metric("pack_seconds", "pack s", None, ".1f", higher_is_better=None),
    Metric("pack_xla", "compiled by XLA", None, ".0f", higher_is_better=None),
)


def in_table(table: Table) -> list[Metric]:
    """The table's metrics, in column order."""
    return [row for row in METRICS.values() if row.table == table]


def leading_columns() -> list[str]:
    """The metrics results.csv shows first, after the run's identity and status."""
    return [row.name for row in METRICS.values() if row.leading]


def averaged_with_spread() -> list[Metric]:
    """The metrics the report averages over seeds with their standard deviation: those of the extra tables."""
    return [row for row in METRICS.values() if row.table in EXTRA_TABLES]
