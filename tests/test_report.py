"""`actbench report`: verdicts on constructed results with known answers, scope, views and formats, and
reports of real pipeline runs."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from actbench.report import build_report
from actbench.report.headline import headline
from actbench.results import run_dir
from helpers import invoke, write_config
from helpers_report import make_results


def flat(text: str) -> str:
    """Output with line breaks undone: sentences wrap at the terminal width."""
    return " ".join(text.split())


def summary_of(exp_dir, **options):
    return build_report(exp_dir, **options).aggregated.summary.set_index("hidden_activation")


def test_groups_aggregate_over_seeds_with_paired_verdicts(tmp_path):
    exp_dir, _ = make_results(
        tmp_path, {"relu": [0.97, 0.98, 0.99], "tanh": [0.955, 0.975, 0.995], "sigmoid": [0.80, 0.82, 0.81]}
    )
    summary = summary_of(exp_dir)
    assert summary.loc["relu", "n"] == 3 and summary.loc["relu", "acc_mean"] == pytest.approx(0.98)
    assert summary.loc["tanh", "acc_std"] == pytest.approx(0.02)
    assert summary.loc["relu", "verdict"] == "best" and summary.loc["relu", "rank"] == 1
    assert summary.loc["tanh", "verdict"] == "not distinguishable"  # 0.005 lower, spread 0.02
    assert summary.loc["sigmoid", "verdict"] == "worse"  # 0.16-0.18 lower on every seed
    assert summary.loc["sigmoid", "test"] == "paired t" and summary.loc["sigmoid", "pairs"] == 3
    assert summary.loc["sigmoid", "diff_vs_top"] == pytest.approx(-0.17)
    assert summary.loc["sigmoid", "p_holm"] == pytest.approx(min(1, 3 * summary.loc["sigmoid", "p_value"]))
    assert ((summary["acc_ci_low"] >= 0) & (summary["acc_ci_high"] <= 1)).all()


def test_the_issue_examples_zero_variance_chance_level_and_a_lone_seed(tmp_path):
    exp_dir, _ = make_results(
        tmp_path,
        {"relu": [0.9, 0.9, 0.2], "tanh": [0.8967, 0.8967], "sigmoid": [0.1, 0.1, 0.1], "selu": [0.95, 0.1, 0.1]},
        statuses={"relu": ["finished", "finished", "diverged"], "selu": ["finished", "diverged", "diverged"]},
    )
    report = build_report(exp_dir)
    summary = report.aggregated.summary.set_index("hidden_activation")
    assert summary.loc["selu", "verdict"] == "too few seeds"  # the highest accuracy, but one finished seed
    assert summary.loc["relu", "verdict"] == "best" and summary.loc["relu", "n"] == 2
    assert summary.loc["tanh", "test"] == "exact sign-flip" and summary.loc["tanh", "p_value"] == pytest.approx(0.5)
    assert summary.loc["tanh", "verdict"] == "not distinguishable"
    assert summary.loc["sigmoid", "did_not_learn"] and not summary.loc["relu", "did_not_learn"]
    text = "\n".join(headline(report))
    assert "with 2 seeds it cannot go below p = 0.50" in text
    assert "too few seeds to compare (fewer than 2 finished): selu (1 of 3 finished)" in text
    assert "did not learn" in text and "sigmoid (0.1000)" in text


def test_groups_on_different_seeds_are_compared_unpaired_and_the_report_says_so(tmp_path):
    exp_dir, _ = make_results(
        tmp_path, {"relu": [0.97, 0.98, 0.99], "sigmoid": [0.80, 0.83, 0.81]}, seeds={"sigmoid": [3, 4, 5]}
    )
    summary = summary_of(exp_dir)
    assert summary.loc["sigmoid", "test"] == "Welch t" and summary.loc["sigmoid", "verdict"] == "worse"
    shown = flat(invoke("report", exp_dir, "--no-plots").output)
    assert "† unpaired Welch test, these groups share fewer than 2 seeds with the top: sigmoid" in shown
    assert re.search(r"(\d\.\d{3}|<0\.001)†", shown)  # the p-value carries the mark


def test_default_scope_is_the_latest_plan_and_all_labels_each_sweep(tmp_path):
    make_results(tmp_path, {"relu": [0.50, 0.52], "sigmoid": [0.30, 0.31]}, epochs=1)
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.98], "sigmoid": [0.90, 0.91]}, epochs=5)
    latest = build_report(exp_dir)
    assert len(latest.runs) == 4 and latest.scope.others == 4
    assert "the folder holds 4 other runs from earlier sweeps (--all includes them)" in headline(latest)[0]
    assert set(latest.aggregated.summary["label"]) == {"relu", "sigmoid"}
    everything = build_report(exp_dir, all_runs=True).aggregated.summary
    assert sorted(everything["block_label"].unique()) == ["epochs=1", "epochs=5"]
    assert everything.groupby("block_label")["acc_mean"].max().to_dict() == pytest.approx(
        {"epochs=1": 0.51, "epochs=5": 0.975}
    )
    shown = flat(invoke("report", exp_dir, "--all", "--no-plots").output)
    assert "best on epochs=1: relu" in shown and "best on epochs=5: relu" in shown
    assert "epochs=1: test accuracy over seeds" in shown


def test_a_view_never_replaces_the_saved_report_and_out_writes_it_elsewhere(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99], "sigmoid": [0.80, 0.82]})
    assert invoke("report", exp_dir).exit_code == 0
    saved = {p.name: p.read_bytes() for p in (exp_dir / "report").iterdir()}
    assert {"report.md", "summary.csv", "learning_curves.png"} <= set(saved)
    for view in (["--filter", "hidden_activation=sigmoid"], ["--no-plots"], ["--format", "json"], ["--all"]):
        outcome = invoke("report", exp_dir, *view)
        assert outcome.exit_code == 0, (view, outcome.output)
        assert "this view is not saved" in flat(outcome.output)
        assert {p.name: p.read_bytes() for p in (exp_dir / "report").iterdir()} == saved, view
    out = tmp_path / "sigmoid-view"
    outcome = invoke("report", exp_dir, "--filter", "hidden_activation=sigmoid", "--out", out)
    assert outcome.exit_code == 0 and f"report written to {out}/" in outcome.output
    assert pd.read_csv(out / "summary.csv")["hidden_activation"].tolist() == ["sigmoid"]
    assert "missing" not in (out / "report.md").read_text()  # filtered-out runs are not "missing"
    refused = invoke("report", exp_dir, "--filter", "hidden_activation=sigmoid", "--out", exp_dir / "report")
    assert refused.exit_code == 2 and "saved full report" in refused.output


def test_a_reader_that_stops_early_still_gets_the_report_written(tmp_path):
    # `actbench report | head -1`: the pipe closes after the first line; the report is written all the same.
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99], "sigmoid": [0.80, 0.82]})
    command = [sys.executable, "-m", "actbench", "report", str(exp_dir)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stdout.readline()
        process.stdout.close()
        _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors.decode()
    assert "Traceback" not in errors.decode()
    assert {"report.md", "summary.csv", "learning_curves.png"} <= {p.name for p in (exp_dir / "report").iterdir()}


def test_machine_formats_are_one_document_for_several_experiments(tmp_path):
    make_results(tmp_path, {"relu": [0.97, 0.99], "sigmoid": [0.80, 0.82]}, name="first")
    make_results(tmp_path, {"relu": [0.96, 0.98], "tanh": [0.90, 0.92]}, name="second")
    results = tmp_path / "results"
    outcome = invoke("report", results, "--format", "json")
    document = json.loads(outcome.stdout)
    assert [e["experiment"] for e in document["experiments"]] == ["first", "second"]
    group = document["experiments"][0]["groups"][0]
    assert isinstance(group["n"], int) and isinstance(group["rank"], int) and isinstance(group["training.epochs"], int)
    assert (
        group["model.hidden_units"] == [128, 64]
        and group["task_positive"] == []
        and group["hidden_activation_params"] == {}
    )
    as_csv = invoke("report", results, "--format", "csv").stdout
    assert as_csv.count("experiment,") == 1 and len(as_csv.strip().splitlines()) == 5
    table = pd.read_csv(pd.io.common.StringIO(as_csv))
    assert table["n"].dtype.kind == "i" and set(table["experiment"]) == {"first", "second"}
    markdown = invoke("report", results, "-f", "markdown").stdout
    assert "# first" in markdown and "# second" in markdown and "| # | dataset |" in markdown


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "xml"], "'xml' is not one of 'table', 'markdown', 'csv', 'json'"),
        (["--sort-by", "colour"], "'rank', 'accuracy'"),
        (["--filter", "colour=red"], "model.hidden_units"),
        (["--filter", "dataset"], "write it as column=value"),
    ],
)
def test_an_unusable_option_value_exits_2_with_the_choices_whatever_the_folder(tmp_path, args, message):
    make_results(tmp_path, {"relu": [0.97, 0.99]}, name="first")
    make_results(tmp_path, {"relu": [0.96, 0.98]}, name="second")
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "results", tmp_path / "results" / "first", tmp_path / "empty"):
        outcome = invoke("report", target, *args)
        assert outcome.exit_code == 2, (target, outcome.output)
        assert message in outcome.output and "Traceback" not in outcome.output


def test_other_bad_values_say_what_to_do(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99]})
    (tmp_path / "a-file").write_text("x")
    assert "is a file" in invoke("report", exp_dir, "--out", tmp_path / "a-file").output
    # Equal numbers name the same runs however written: the column holds 0.001 and 0.0.
    assert (
        invoke("report", exp_dir, "--filter", "training.learning_rate=1e-3", "--filter", "model.dropout=0").exit_code
        == 0
    )
    nothing = invoke("report", exp_dir, "--filter", "hidden_activation=relu7")
    assert nothing.exit_code == 2 and "no run in" in nothing.output and "hidden_activation: relu" in nothing.output
    assert "no such folder" in invoke("report", tmp_path / "nothing").output
    (tmp_path / "empty").mkdir()
    empty = invoke("report", tmp_path / "empty")
    assert empty.exit_code == 2 and "holds no experiment results" in empty.output


def test_the_sample_note_says_all_or_some(tmp_path):
    exp_dir, ids = make_results(tmp_path, {"relu": [0.97, 0.99]})
    assert "note: all runs used the embedded data sample" in "\n".join(headline(build_report(exp_dir)))
    spec_path = run_dir(exp_dir, ids[0]) / "spec.json"
    spec_path.write_text(spec_path.read_text().replace('"source": "sample"', '"source": "full"'))
    assert "note: some runs (column 'source') used the embedded data sample" in "\n".join(
        headline(build_report(exp_dir))
    )


def test_the_header_says_where_initializer_auto_makes_a_second_difference_and_only_there(tmp_path):
    from actbench.report.formats import markdown

    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.98], "sigmoid": [0.90, 0.91], "tanh": [0.93, 0.94]})
    report = build_report(exp_dir)
    lines = headline(report)
    said = (
        "differs with the activation: initializer (auto: he_normal for relu; glorot_uniform for sigmoid, tanh), "
        "so each comparison changes both; give the model one initializer to compare the activations alone"
    )
    assert lines[lines.index(next(line for line in lines if line.startswith("same for every group"))) + 1] == said
    assert f"- {said}" in markdown(report).splitlines()
    # One initializer given for every group: nothing to say.
    (tmp_path / "given").mkdir()
    given, _ = make_results(
        tmp_path / "given", {"relu": [0.97], "sigmoid": [0.9]}, models="models: [{type: mlp, initializer: he_normal}]"
    )
    assert not any("differs with the activation" in line for line in headline(build_report(given)))


def test_a_second_difference_in_some_blocks_names_them():
    from actbench.report.headline import _second_differences

    summary = pd.DataFrame(
        {
            "block": [1, 1, 2, 2],
            "block_label": ["mlp 128-64", "mlp 128-64", "cnn 32-64", "cnn 32-64"],
            "hidden_activation": ["relu", "selu", "relu", "selu"],
            "model.initializer": ["he_normal", "lecun_normal", "glorot_uniform", "glorot_uniform"],
        }
    )
    assert _second_differences(summary) == [
        "differs with the activation on mlp 128-64: initializer (auto: he_normal for relu, lecun_normal for selu), "
        "so each comparison changes both; give the model one initializer to compare the activations alone"
    ]


def test_every_setting_that_follows_the_activations_is_named_in_a_label_or_said_in_the_header():
    """A new `activation` row of the settings catalogue has to be placed: shown by the labels, or a second difference."""
    from actbench.report.labels import FOLLOWS_ACTIVATION, NAMED_FOLLOWERS, UNNAMED_FOLLOWERS

    assert sorted(FOLLOWS_ACTIVATION) == sorted([*NAMED_FOLLOWERS, *UNNAMED_FOLLOWERS])
    assert not set(NAMED_FOLLOWERS) & set(UNNAMED_FOLLOWERS)


def test_broken_inputs_give_a_message_and_report_what_they_can(tmp_path):
    exp_dir, ids = make_results(tmp_path, {"relu": [0.97, 0.99, 0.98]})
    (exp_dir / "results.csv").write_text("this,was\nedited,by,hand,badly\n")
    (run_dir(exp_dir, ids[0]) / "metrics.json").unlink()
    (run_dir(exp_dir, "garbage") / "metrics.json").parent.mkdir(parents=True)
    (run_dir(exp_dir, "garbage") / "metrics.json").write_text("{not json")
    (exp_dir / "plan.json").write_text("{broken")
    outcome = invoke("report", exp_dir.parent, "--no-plots")
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    assert "incomplete (no metrics.json)" in outcome.output and "garbage: unreadable" in outcome.output
    assert "plan.json: unreadable, so every run in the folder is reported" in flat(outcome.output)


def test_extra_metrics_average_over_seeds_and_a_keras_accuracy_gap_is_called_out(tmp_path):
    extra = {
        "relu": lambda seed: {"keras_accuracy": 0.97, "ece": [0.02, 0.04][seed], "dead_fraction_max": 0.25},
        "tanh": lambda seed: {"keras_accuracy": [0.90, 0.92][seed], "ece": 0.05},
    }
    exp_dir, _ = make_results(tmp_path, {"relu": [0.98, 0.99], "tanh": [0.90, 0.92]}, extra=extra)
    report = build_report(exp_dir)
    summary = report.aggregated.summary.set_index("hidden_activation")
    assert summary.loc["relu", "ece_mean"] == pytest.approx(0.03) and summary.loc["relu", "ece_std"] == pytest.approx(
        0.01414, abs=1e-4
    )
    assert summary.loc["relu", "dead_fraction_max_mean"] == 0.25 and math.isnan(
        summary.loc["tanh", "dead_fraction_max_mean"]
    )
    lines = headline(report)
    assert any("misjudges relu -> softmax: 0.9700 instead of 0.9850 (-0.0150)" in line for line in lines)
    assert not any("misjudges tanh" in line for line in lines)
    text = invoke("report", exp_dir, "--no-plots").output
    assert "beyond accuracy" in text and "0.0300 ± 0.0141" in text and "inside the network" in text


def test_the_report_notes_the_seeds_of_a_group_that_early_stopping_ended_at_different_epochs(tmp_path):
    stopped = {"relu": lambda seed: {"epochs_run": [23, 41, 30][seed]}, "tanh": lambda seed: {"epochs_run": 50}}
    accuracies = {"relu": [0.97, 0.98, 0.99], "tanh": [0.95, 0.96, 0.97]}
    exp_dir, _ = make_results(
        tmp_path, accuracies, extra=stopped, epochs=50, training=", early_stopping: {patience: 2}"
    )
    lines = headline(build_report(exp_dir))
    assert "relu: seeds stopped at epochs 23-41 (early stopping)" in lines
    assert not any(line.startswith("tanh") for line in lines)  # its seeds all ran 50
    (tmp_path / "plain").mkdir()
    plain, _ = make_results(tmp_path / "plain", accuracies, extra=stopped, epochs=50)  # no early stopping: no note
    assert not any("early stopping" in line for line in headline(build_report(plain)))


def test_report_of_a_real_sweep_writes_files_plots_and_structured_columns(tiny_config, tmp_path):
    results = tmp_path / "results"
    assert invoke("run", tiny_config, "--results-dir", results, "--seeds", "2").exit_code == 0
    outcome = invoke("report", results)
    assert outcome.exit_code == 0, outcome.output
    folder = results / "tiny" / "report"
    assert sorted(p.name for p in folder.iterdir()) == [
        "accuracy_vs_time.png",
        "activations.png",
        "confusion_matrices.png",
        "learning_curves.png",
        "reliability.png",
        "report.md",
        "summary.csv",
    ]
    summary = pd.read_csv(folder / "summary.csv")
    assert sorted(summary["hidden_activation"]) == ["relu", "tanh"] and set(summary["n"]) == {2}
    assert set(summary["test"].dropna()) == {"paired t"}
    assert "![learning curves](learning_curves.png)" in (folder / "report.md").read_text()
    assert all((folder / name).stat().st_size > 10_000 for name in ("learning_curves.png", "activations.png"))
    rows = pd.read_csv(results / "tiny" / "results.csv")
    assert set(rows["task_type"]) == {"multiclass"} and set(rows["hidden_activation_name"]) == {"relu", "tanh"}
    assert set(rows["hidden_activation_params"]) == {"{}"} and set(rows["task_positive"]) == {"[]"}


def test_report_of_a_binary_sweep_with_diagnostics_draws_every_plot(tmp_path):
    config = write_config(
        tmp_path,
        """
        name: inside
        datasets: [mnist]
        task: {type: binary, positive: [0]}
        data: {source: sample, limit_train: 300, limit_test: 100}
        models: [{type: mlp, hidden_units: [16, 16]}]
        hidden_activations: [relu]
        output_activations: [sigmoid, linear]
        training: {epochs: 2, batch_size: 64}
        diagnostics: true
        """,
    )
    results = tmp_path / "results"
    assert invoke("run", config, "--results-dir", results).exit_code == 0
    outcome = invoke("report", results)
    assert outcome.exit_code == 0, outcome.output
    assert "sigmoid (1 unit)" in outcome.output and "binary task, positive class" in outcome.output
    assert "same for every group: mnist, binary(0 vs rest), sample" in outcome.output  # shared settings: one line
    folder = results / "inside" / "report"
    for name in ("confusion_matrices", "reliability", "dead_units", "gradient_norms", "activation_histograms"):
        assert (folder / f"{name}.png").stat().st_size > 10_000, name
        assert f"({name}.png)" in (folder / "report.md").read_text()
    summary = pd.read_csv(folder / "summary.csv")
    assert {"roc_auc_mean", "f1_tuned_mean", "grad_ratio_first_last_mean"} <= set(summary.columns)
    assert set(summary["chance_level"]) == {0.9}  # 10 of 100 test images are zeros: always "not 0" scores 0.9
    # Sigmoid under binary cross-entropy and a logit under it from_logits are one network: the plots draw one line.
    from actbench.report.figure import shared_lines

    runs = build_report(results / "inside").runs
    assert set(shared_lines(runs)["line"]) == {"linear = sigmoid (1 unit)"}


def test_report_never_imports_tensorflow(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.99]})
    probe = (
        "import sys; from typer.testing import CliRunner; from actbench.cli import app; "
        f"r = CliRunner().invoke(app, ['report', {str(exp_dir)!r}]); "
        "print(r.exit_code, 'TF' if 'tensorflow' in sys.modules else 'noTF')"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "noTF"], out.stdout + out.stderr


def rendered(report, width: int) -> list[str]:
    """The report's terminal output at `width` columns, as a pipe gets it."""
    from io import StringIO

    from rich.console import Console

    from actbench.report.formats import print_tables

    console = Console(file=StringIO(), width=width, color_system=None, highlight=False)
    print_tables([report], console)
    return console.file.getvalue().splitlines()


def test_metric_tables_keep_labels_whole_show_the_metrics_that_fit_and_name_the_rest(tmp_path):
    from actbench.metrics_catalogue import in_table

    labels = [metric.label for metric in in_table("output")]
    values = {metric.name: 0.5 for metric in in_table("output")}
    extra = {name: (lambda seed: {**values, "ece": 0.02 + seed / 100}) for name in ("leaky_relu", "sigmoid")}
    exp_dir, _ = make_results(tmp_path, {"leaky_relu": [0.97, 0.98], "sigmoid": [0.90, 0.92]}, extra=extra)
    report = build_report(exp_dir)
    title = "beyond accuracy: test-set metrics (mean ± std over seeds)"
    shown_counts = []
    for width in (80, 120, 160):
        lines = rendered(report, width)
        tables = lines[lines.index("test accuracy over seeds") :]  # (the sentences above are the console's to wrap)
        assert all(line == line.rstrip() for line in tables), width  # no blanks padded on for a pipe to keep
        assert max(map(len, lines)) <= width
        assert title in lines and not any(line.startswith(title + " (") for line in lines)  # one table, title whole
        start = lines.index(title)
        header = lines[start + 1]
        shown = [label for label in labels if label in header]
        assert shown == labels[: len(shown)] and shown, (width, header)  # the first metrics, in order
        rows = list(lines[start + 3 : start + 5])
        assert [row.split()[0] for row in rows] == ["leaky_relu(alpha=0.01)", "sigmoid"]  # labels whole, one line each
        below = " ".join(lines[start + 5 : start + 7])  # the sentence wraps at 80 columns
        if len(shown) < len(labels):
            assert below.startswith(
                f"left out at {width} columns: {', '.join(labels[len(shown) :])}; --wide shows every column"
            )
        else:
            assert "left out" not in below
        shown_counts.append(len(shown))
    assert shown_counts[0] < shown_counts[1] < shown_counts[2] == len(labels)  # 80 columns: 3; 120: 5; 160: all


def test_cohens_d_of_a_constant_group_is_undefined_in_every_format(tmp_path):
    from actbench.report.formats import markdown, to_csv, to_json
    from actbench.report.tables import block_tables

    exp_dir, _ = make_results(
        tmp_path, {"relu": [0.97, 0.98, 0.99], "tanh": [0.95, 0.97, 0.96], "sigmoid": [0.1, 0.1, 0.1]}
    )
    report = build_report(exp_dir)
    ((_, table),) = block_tables(report.aggregated.summary, wide=True)
    d = dict(zip(table["hidden"], table["d"]))
    assert d == {"relu": "-", "tanh": "-2.0", "sigmoid": "undefined"}  # was -122.5
    assert "Cohen's d undefined for sigmoid: it or the top scored the same on every seed" in flat(
        "\n".join(headline(report))
    )
    assert "| undefined |" in markdown(report)
    groups = pd.read_csv(pd.io.common.StringIO(to_csv([report]))).set_index("hidden_activation")
    assert math.isnan(groups.loc["sigmoid", "effect_size"]) and groups.loc["tanh", "effect_size"] == pytest.approx(-2.0)
    document = json.loads(to_json([report]))
    assert {g["hidden_activation"]: g["effect_size"] for g in document["experiments"][0]["groups"]}["sigmoid"] is None


def test_markdown_headings_keep_a_block_name_as_written_and_lines_end_without_blanks(tmp_path):
    from actbench.report.formats import markdown

    make_results(tmp_path, {"relu": [0.50, 0.52], "sigmoid": [0.30, 0.31]}, epochs=1)
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.98], "sigmoid": [0.90, 0.91]}, epochs=5)
    text = markdown(build_report(exp_dir, all_runs=True))
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert "## epochs=1: test accuracy over seeds" in headings and "## Accuracy by activation" in headings
    assert not any(line.startswith("## Epochs") for line in headings)
    assert "## Test accuracy over seeds" in markdown(build_report(exp_dir)).splitlines()  # no block name: a sentence
    assert all(line == line.rstrip() for line in text.splitlines())


def test_plot_lines_merge_groups_that_scored_alike_and_keep_one_order_in_every_panel(tmp_path):
    from actbench.report.plots import time_points

    seconds = {"relu": [4.0, 6.0], "tanh": [3.0, 3.0], "sigmoid": [9.0, 11.0]}
    extra = {name: (lambda seed, name=name: {"train_seconds": seconds[name][seed]}) for name in seconds}
    # epochs=1: sigmoid ranks first; epochs=5: relu and tanh, which score the same on both seeds.
    make_results(tmp_path, {"relu": [0.50, 0.52], "tanh": [0.40, 0.42], "sigmoid": [0.60, 0.61]}, epochs=1, extra=extra)
    exp_dir, _ = make_results(
        tmp_path, {"relu": [0.97, 0.98], "tanh": [0.97, 0.98], "sigmoid": [0.90, 0.91]}, epochs=5, extra=extra
    )
    report = build_report(exp_dir, all_runs=True)
    points = time_points(report.runs[report.runs["status"] == "finished"])
    by_block = {label: block["line"].tolist() for label, block in points.groupby("block_label")}
    assert by_block == {"epochs=1": ["relu", "sigmoid", "tanh"], "epochs=5": ["relu = tanh", "sigmoid"]}
    merged = points.set_index(["block_label", "line"]).loc[("epochs=5", "relu = tanh")]
    assert merged["seconds_mean"] == pytest.approx(4.0) and merged["seconds_std"] == pytest.approx(
        math.sqrt(2)
    )  # 4, 6, 3, 3
    assert merged["acc_mean"] == pytest.approx(0.975) and merged["acc_std"] == pytest.approx(math.sqrt(0.00005))


def test_two_versions_of_one_own_dataset_never_share_a_chance_level(tmp_path):
    """Runs share a chance level only when every setting that says which test images they are scored on is equal."""
    from actbench.report import _chance_levels
    from actbench.results import CONFUSION

    exp_dir = tmp_path / "own"
    rows = []
    for run_id, digest, per_class in (("r1", "a" * 64, [8, 2]), ("r2", "b" * 64, [5, 5])):
        folder = run_dir(exp_dir, run_id)
        folder.mkdir(parents=True)
        pd.DataFrame([[count, 0] for count in per_class], index=["x", "y"], columns=["x", "y"]).to_csv(
            folder / CONFUSION
        )
        rows.append(
            {
                "run_id": run_id,
                "status": "finished",
                "dataset": "d2",
                "source": "own",
                "limit_test": None,
                "task": "multiclass",
                "task_type": "multiclass",
                "task_positive": "[]",
                "data_sha256": digest,
            }
        )
    assert list(_chance_levels(exp_dir, pd.DataFrame(rows))) == [0.8, 0.5]


def kept_figures(monkeypatch, module) -> list:
    """The figures a plotting module draws, kept open instead of saved."""
    figures: list = []
    monkeypatch.setattr(module, "save", lambda figure, path: figures.append(figure) or path)
    return figures


def pixels(artist, figure):
    figure.canvas.draw()
    return artist.get_window_extent(figure.canvas.get_renderer())


def test_the_learning_curves_and_activations_name_each_group_once_under_every_panel(tmp_path, monkeypatch):
    from actbench.report import plots
    from actbench.report.figure import Looks

    make_results(tmp_path, {"relu": [0.5, 0.52], "sigmoid": [0.3, 0.31], "tanh": [0.4, 0.41]}, epochs=1)
    exp_dir, _ = make_results(tmp_path, {"relu": [0.97, 0.98], "sigmoid": [0.9, 0.91], "tanh": [0.93, 0.94]})
    report = build_report(exp_dir, all_runs=True)  # two blocks (epochs=1, epochs=3): four panels
    looks = Looks(report.aggregated.summary)
    figures = kept_figures(monkeypatch, plots)
    plots.learning_curves(report, report.runs, looks, tmp_path / "curves.png")
    plots.activation_functions(report.aggregated.summary, looks, tmp_path / "activations.png")
    for figure in figures:
        assert all(axis.get_legend() is None for axis in figure.axes)  # no panel has one of its own
        [legend] = figure.legends
        assert [text.get_text() for text in legend.get_texts()] == ["relu", "sigmoid", "tanh"]
        assert min(text.get_fontsize() for text in legend.get_texts()) >= 9
        box = pixels(legend, figure)
        for axis in figure.axes:  # below every panel, its tick labels and axis title included
            assert box.y1 <= axis.get_tightbbox(figure.canvas.get_renderer()).y0
    assert len(figures[0].axes) == 4 and len(figures[1].axes) == 2


def write_confusions(exp_dir, ids, classes: int, diagonal: int) -> None:
    """A confusion matrix in each run's folder: `classes` digits, `diagonal` right answers per class, a few wrong."""
    names = [str(c) for c in range(classes)]
    matrix = np.full((classes, classes), 3) + np.diag(np.full(classes, diagonal - 3))
    for run_id in ids:
        pd.DataFrame(matrix, index=names, columns=names).to_csv(run_dir(exp_dir, run_id) / "confusion_matrix.csv")


@pytest.mark.parametrize(("classes", "diagonal", "size"), [(10, 1135, (8, 10)), (2, 4000, (10, 10)), (60, 900, None)])
def test_confusion_matrix_counts_are_readable_and_inside_their_cells(tmp_path, monkeypatch, classes, diagonal, size):
    """Full MNIST's test set has 1,135 ones: four digits in a 10-class matrix, beside other groups' panels."""
    from actbench.report import output_plots

    several = classes < 60  # four panels, two blocks; one 60-class panel is enough (and quicker to draw)
    names = ["relu", "sigmoid"] if several else ["relu"]
    if several:
        make_results(tmp_path, {name: [0.5, 0.6] for name in names}, epochs=1)
    exp_dir, _ = make_results(tmp_path, {name: [0.9, 0.95] for name in names})
    report = build_report(exp_dir, all_runs=True)
    write_confusions(exp_dir, report.runs["run_id"], classes, diagonal)
    figures = kept_figures(monkeypatch, output_plots)
    output_plots.confusion_matrices(report, report.runs, tmp_path / "confusion.png")
    [figure] = figures
    panels = [axis for axis in figure.axes if axis.get_visible()]
    counts = [text for axis in panels for text in axis.texts]
    if size is None:  # 60 classes leave no room: colour only, and the title says why
        assert not counts and "60 classes leave no room to print the counts" in figure.get_suptitle()
        return
    assert len(panels) == 4 and len(counts) == 4 * classes**2
    assert all(size[0] <= text.get_fontsize() <= size[1] for text in counts)
    renderer = (figure.canvas.draw(), figure.canvas.get_renderer())[1]
    for axis in panels:
        cell = axis.get_window_extent(renderer).width / classes
        assert max(text.get_window_extent(renderer).width for text in axis.texts) < cell
