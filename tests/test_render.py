"""The terminal tables at 80 and 100 columns: nothing wider than the terminal, no number or word broken."""

import re
from io import StringIO

import numpy as np
import pytest
from rich.console import Console

from actbench.config import Override, config_as_dict, expand_runs, load_config, run_id
from actbench.report import build_report
from actbench.report.formats import print_tables
from actbench.report.terminal import pieces, wrap_cell
from actbench.results import RunOutputs, RunRecord, run_files, save_experiment, save_record
from helpers import REPO


@pytest.fixture(scope="module")
def catalogue_report(tmp_path_factory):
    """The shipped catalogue config on an MLP and a CNN, 3 seeds, constructed accuracies and extra metrics:
    18 groups with the longest labels actbench prints, two blocks (a pivot), wide metric tables."""
    config = load_config(REPO / "configs" / "activation_catalogue.yaml", [Override.of("models", ["mlp", "cnn"])])
    exp_dir = tmp_path_factory.mktemp("render") / "activation_catalogue"
    rng = np.random.default_rng(0)
    ids = []
    for spec in expand_runs(config, {"mnist": "sample"}):
        identifier = run_id(spec)
        ids.append(identifier)
        accuracy = float(rng.uniform(0.1, 0.99))
        metrics = {
            "test_accuracy": round(accuracy, 4),
            "test_loss": 0.3,
            "best_val_accuracy": 0.8,
            "best_epoch": 5,
            "train_seconds": 5.0,
            "seconds_per_epoch": 1.0,
            "n_test": 1000,
            "keras_accuracy": round(accuracy, 4),
            **{
                m: float(rng.uniform(0, 1))
                for m in ("log_loss", "macro_f1", "min_class_recall", "ece", "confidence_correct", "confidence_wrong")
            },
        }
        save_record(exp_dir, spec.as_json(), RunRecord(identifier, "finished", metrics, run_files(RunOutputs())))
    save_experiment(exp_dir, config_as_dict(config), ids)
    return build_report(exp_dir)


def rendered(report, width: int, terminal: bool) -> str:
    console = Console(file=StringIO(), width=width, force_terminal=terminal, color_system=None, highlight=False)
    print_tables([report], console)
    return console.file.getvalue()


def test_wrap_cell_breaks_between_words_and_before_parameters():
    assert pieces("thresholded_relu(threshold=1.0) -> softmax") == [
        "thresholded_relu",
        "(threshold=1.0) ",
        "-> ",
        "softmax",
    ]
    assert pieces("softmax (2 units)") == ["softmax ", "(2 units)"]
    assert (
        wrap_cell("thresholded_relu(threshold=1.0) -> softmax", 18) == "thresholded_relu\n(threshold=1.0) ->\nsoftmax"
    )
    assert wrap_cell("not distinguishable", 5) == "not\ndistinguishable"  # a word longer than the width stays whole


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("terminal", [False, True])
def test_tables_fit_the_width_without_breaking_a_number_or_a_word(catalogue_report, width, terminal):
    text = rendered(catalogue_report, width, terminal)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in text  # rich's mark for a cut cell
    summary = catalogue_report.aggregated.summary
    assert len(summary) == 36 and summary["block"].nunique() == 2
    for mean, sd in zip(summary["acc_mean"], summary["acc_std"]):
        assert f"{mean:.4f} ± {sd:.4f}" in text  # every accuracy whole, on one line
    for label in summary["label"]:
        for part in pieces(label):
            assert part.strip() in text, part  # a label breaks only between its name and its parameters
    words = set(re.findall(r"[a-z_]{6,}", text))  # a word cut in two would show up as two shorter ones
    assert "thresholded_relu" in words
    if (summary["verdict"] == "not distinguishable").any():
        assert "distinguishable" in words and not words & {"distingu", "ishable"}
    assert "accuracy by activation" in text and "beyond accuracy" in text


def test_wide_keeps_every_column(catalogue_report):
    console = Console(file=StringIO(), width=100_000, color_system=None)
    print_tables([catalogue_report], console, wide=True)
    text = console.file.getvalue()
    header = next(line for line in text.splitlines() if line.startswith("# "))
    for column in ("dataset", "source", "model", "95% CI", "vs top ± 95% CI", "d", "p (raw)", "test loss", "train s"):
        assert f" {column} " in header + " ", column
    assert "left out at" not in text


def test_a_piped_report_keeps_no_trailing_spaces(catalogue_report):
    from actbench.report.formats import print_report
    from actbench.terminal import Terminal

    piped = StringIO()
    print_report([catalogue_report], "table", Terminal(stdout=piped))
    lines = piped.getvalue().splitlines()
    assert len(lines) > 40 and max(len(line) for line in lines) <= 100  # a pipe gets 100 columns
    assert not [line for line in lines if line != line.rstrip()]
    padded = rendered(catalogue_report, 100, terminal=False)  # rich pads every cell of a table
    assert any(line != line.rstrip() for line in padded.splitlines())
