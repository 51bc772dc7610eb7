"""Run identity: what changes the numbers changes the id, what does not, does not; older training rules are stale."""

import io
import json
import sys

import pandas as pd
import pytest

from actbench import results
from actbench.config import (
    TRAINING_RULES,
    OwnData,
    block_id,
    config_as_dict,
    expand_runs,
    group_id,
    load_config,
    run_id,
)
from actbench.planning import plan_runs
from actbench.report import build_report
from actbench.report.labels import header_line
from helpers import REPO, invoke, write_config

BASE = """
name: t
datasets: [mnist]
hidden_activations: [relu]
"""


def only_run(tmp_path, text, source="sample"):
    config = load_config(write_config(tmp_path, text))
    (spec,) = expand_runs(config, dict.fromkeys(config.datasets, source))
    return spec


def test_the_training_rules_version_is_part_of_the_id(tmp_path):
    spec = only_run(tmp_path, BASE)
    assert spec.training_rules == TRAINING_RULES
    assert run_id(spec) != run_id(spec.model_copy(update={"training_rules": TRAINING_RULES - 1}))


@pytest.mark.parametrize("source, train, test", [("sample", 4000, 1000), ("full", 60000, 10000)])
def test_a_limit_at_or_above_the_dataset_size_means_all(tmp_path, source, train, test):
    unlimited = run_id(only_run(tmp_path, BASE, source))
    for limits in ((train, test), (train * 10, test + 1)):
        text = BASE + f"data: {{limit_train: {limits[0]}, limit_test: {limits[1]}}}\n"
        spec = only_run(tmp_path, text, source)
        assert (spec.limit_train, spec.limit_test) == (None, None) and run_id(spec) == unlimited
    assert run_id(only_run(tmp_path, BASE + f"data: {{limit_train: {train - 1}}}\n", source)) != unlimited


def test_a_custom_activation_is_identified_by_its_source(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "my_acts.py"
    config = BASE.replace("[relu]", "[{name: 'my_acts:scaled', beta: 1}]")

    module.write_text("def scaled(x, beta):\n    return x * beta\n")
    first = only_run(tmp_path, config)
    same = only_run(tmp_path, config.replace("beta: 1}", "beta: 1.0}"))
    assert run_id(first) == run_id(same)  # 1 and 1.0 are the same parameter
    module.write_text("def scaled(x, beta):\n    return x * beta * 2.0  # changed\n")
    edited = only_run(tmp_path, config)
    assert edited.hidden_activation.source_digest != first.hidden_activation.source_digest
    assert run_id(edited) != run_id(first)


def test_catalogue_parameters_one_and_one_point_zero_are_the_same_run(tmp_path):
    one = only_run(tmp_path, BASE.replace("[relu]", "[{name: elu, alpha: 1}]"))
    assert one.hidden_activation.params == {"alpha": 1.0}
    assert run_id(one) == run_id(only_run(tmp_path, BASE.replace("[relu]", "[elu]")))


def write_old_run(exp_dir, spec):
    """A run folder as actbench wrote it before training_rules existed (rules version 1)."""
    old = spec.model_dump(mode="json", exclude={"training_rules"})
    return results.save_record(exp_dir, old, results.RunRecord("0123456789ab", "finished", {"test_accuracy": 0.9}))


def test_runs_made_under_older_rules_are_stale_never_reported_or_counted_done(tmp_path):
    config = load_config(write_config(tmp_path, BASE + "data: {source: sample}\n"))
    exp_dir = tmp_path / "results" / "t"
    (spec,) = expand_runs(config, {"mnist": "sample"})
    write_old_run(exp_dir, spec)
    rows, notes = results.collect_rows(exp_dir)
    assert rows == []
    assert any("1 run made under older training rules" in note and "stale" in note for note in notes)
    planned, plan_notes = plan_runs(config, tmp_path / "results", None)
    assert [run.done for run in planned] == [False]
    assert any("stale" in note for note in plan_notes)
    # A current run folder whose spec is stale (or missing) is not done either.
    results.save_record(
        exp_dir,
        spec.model_dump(mode="json", exclude={"training_rules"}),
        results.RunRecord(planned[0].run_id, "finished", {}),
    )
    assert results.run_status(exp_dir, planned[0].run_id) is None


# Groups and blocks: digests of the spec, computed in one place (config.grid), read by every reader.


def test_a_group_is_the_spec_less_the_seed_and_a_block_the_group_less_its_activations(tmp_path):
    config = load_config(write_config(tmp_path, BASE.replace("[relu]", "[relu, tanh]") + "seeds: [0, 1]\n"))
    runs = expand_runs(config, {"mnist": "sample"})
    by = {(spec.hidden_activation.name, spec.seed): spec for spec in runs}
    assert group_id(by["relu", 0]) == group_id(by["relu", 1]) != group_id(by["tanh", 0])
    assert block_id(by["relu", 0]) == block_id(by["tanh", 1])  # initializer auto differs: it follows the activation
    assert by["relu", 0].model.initializer != by["tanh", 0].model.initializer
    # Computed alike from a RunSpec and from spec.json as written, which holds the run id too.
    written = {**by["relu", 0].as_json(), "run_id": run_id(by["relu", 0])}
    assert (group_id(written), block_id(written)) == (group_id(by["relu", 0]), block_id(by["relu", 0]))
    epochs = by["relu", 0].model_copy(update={"training": by["relu", 0].training.model_copy(update={"epochs": 9})})
    assert group_id(epochs) != group_id(by["relu", 0]) and block_id(epochs) != block_id(by["relu", 0])


def test_an_edited_custom_function_makes_a_second_group_in_the_report_and_the_exports(tmp_path, monkeypatch):
    """Two real sweeps into one results folder, the function edited between them: `report --all` and the
    exports show two groups of one run each, never one group holding seed 0 twice."""
    from actbench.export.runs import read_experiment

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = tmp_path / "my_acts.py"
    config = write_config(
        tmp_path,
        """
        name: edited
        datasets: [mnist]
        data: {source: sample, limit_train: 300, limit_test: 100}
        models: [{type: mlp, hidden_units: [8]}]
        hidden_activations: ['my_acts:scaled']
        training: {epochs: 1, batch_size: 64}
        seeds: [0]
        """,
    )
    for body in ("x * 0.5", "x * 0.25"):
        module.write_text(f"import keras\n\ndef scaled(x):\n    return keras.ops.relu({body})\n")
        sys.modules.pop("my_acts", None)  # each sweep reads the file as it is now, as a new process would
        assert invoke("run", config, "--results-dir", tmp_path / "results", "--quiet").exit_code == 0
    exp_dir = tmp_path / "results" / "edited"
    rows, _ = results.collect_rows(exp_dir)
    assert len(rows) == 2 and len({row["hidden_activation_source"] for row in rows}) == 2
    assert len({row["group_id"] for row in rows}) == 2 and len({row["block_id"] for row in rows}) == 1

    shown = invoke("report", exp_dir, "--all", "--format", "json")
    assert shown.exit_code == 0, shown.output
    (experiment,) = json.loads(shown.stdout)["experiments"]
    groups = experiment["groups"]
    assert [group["runs"] for group in groups] == [1, 1] and len({group["label"] for group in groups}) == 2
    assert all("code=" in group["label"] for group in groups)  # the labels say what tells the two apart
    exported, _ = read_experiment(exp_dir)
    assert {run.group_id for run in exported} == {group["group_id"] for group in groups}
    assert {run.group_label for run in exported} == {group["label"] for group in groups}


def write_runs(exp_dir, config, own=None, accuracy=0.9):
    """Run folders written through actbench's own writer, as a sweep of `config` would leave them."""
    ids = []
    for spec in expand_runs(config, {"mnist": "sample"}, own):
        ids.append(run_id(spec))
        metrics = {"test_accuracy": accuracy + spec.seed / 100, "test_loss": 0.3, "n_test": 1000, "epochs_run": 1}
        results.save_record(
            exp_dir,
            spec.as_json(),
            results.RunRecord(ids[-1], results.RunStatus.FINISHED, metrics, results.run_files(results.RunOutputs([]))),
        )
    results.save_experiment(exp_dir, config_as_dict(config), ids)
    return ids


def test_a_changed_own_dataset_makes_a_second_group_and_block(tmp_path):
    from actbench.export.runs import read_experiment

    config = load_config(
        write_config(
            tmp_path,
            """
        name: own
        datasets: [{name: digits, path: digits.npz}]
        hidden_activations: [relu, tanh]
        seeds: [0, 1]
        """,
        )
    )
    exp_dir = tmp_path / "results" / "own"
    for sha in ("a" * 64, "b" * 64):  # the file changed between two sweeps
        write_runs(
            exp_dir, config, {"digits": OwnData(sha256=sha, image_shape=(14, 14), classes=5, n_train=800, n_test=200)}
        )
    report = build_report(exp_dir, all_runs=True)
    summary = report.aggregated.summary
    assert len(summary) == 4 and list(summary["runs"]) == [2] * 4 and summary["block"].nunique() == 2
    assert set(summary["block_label"]) == {"data=aaaaaaaa", "data=bbbbbbbb"}
    assert summary.groupby("block")["label"].apply(sorted).tolist() == [["relu", "tanh"]] * 2
    exported, _ = read_experiment(exp_dir)
    assert {run.group_id for run in exported} == set(summary["group_id"])
    blocks = ("data=aaaaaaaa", "data=bbbbbbbb")
    assert {run.group_label for run in exported} == {
        f"{block} / {label}" for block in blocks for label in ("relu", "tanh")
    }


def test_a_group_never_holds_two_runs_of_one_seed(tmp_path):
    """Two runs of one spec and seed cannot be told apart: an error naming them, not one silently dropped."""
    from actbench.errors import ActbenchError
    from actbench.metrics_catalogue import in_table
    from actbench.report.aggregate import aggregate

    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2", "r3"],
            "group_id": ["g"] * 3,
            "block_id": ["b"] * 3,
            "hidden_activation": ["relu"] * 3,
            "output_activation": ["softmax"] * 3,
            "model": ["mlp 16"] * 3,
            "status": ["finished"] * 3,
            "seed": [0, 0, 1],
            "test_accuracy": [0.9, 0.8, 0.85],
            "chance_level": [0.1] * 3,
            "n_test": [1000] * 3,
            "task_type": ["multiclass"] * 3,
            **{metric.name: [1.0] * 3 for metric in in_table("accuracy")},
        }
    )
    with pytest.raises(ActbenchError, match=r"group g: runs r1, r2 have the same seed 0"):
        aggregate(runs)
    assert list(aggregate(runs.drop(index=1)).summary["runs"]) == [2]


def test_integer_settings_print_as_integers_where_some_runs_have_none(tmp_path):
    """A full sweep (limit_train: all) and a quick look (2000) in one folder: 'limit_train=2000', not '2000.0'."""
    text = BASE + "seeds: [0, 1]\n"
    exp_dir = tmp_path / "results" / "t"
    write_runs(exp_dir, load_config(write_config(tmp_path, text)))
    write_runs(exp_dir, load_config(write_config(tmp_path, text + "data: {limit_train: 2000}\n")))
    summary = build_report(exp_dir, all_runs=True).aggregated.summary
    assert sorted(summary["block_label"]) == ["limit_train=-", "limit_train=2000"]
    assert str(summary["limit_train"].dtype) == "Int64"
    # The default view, the quick look alone: the limit on the header line (and the plots' subtitles).
    latest = build_report(exp_dir).aggregated.summary
    assert "limit_train=2000" in header_line(latest) and "2000.0" not in header_line(latest)
    shown = invoke("report", exp_dir, "--all", "--filter", "limit_train=2000", "--format", "csv")
    assert shown.exit_code == 0, shown.output
    table = pd.read_csv(io.StringIO(shown.stdout))
    assert list(table["limit_train"]) == [2000] and "2000.0" not in shown.output


def test_every_column_of_a_run_row_is_in_a_catalogue(tmp_path):
    """A setting added to the spec must get its row in the settings catalogue (type, label, filter), or the
    report could neither type, label nor filter it."""
    from actbench.metrics_catalogue import METRICS, NOT_METRICS
    from actbench.settings_catalogue import SETTINGS

    for model in ("{type: mlp}", "{type: cnn, dense_units: [16]}"):
        config = load_config(write_config(tmp_path, BASE + f"models: [{model}]\n"))
        (spec,) = expand_runs(config, {"mnist": "sample"})
        row = results.flatten_run(
            {**spec.as_json(), "run_id": run_id(spec)}, {"status": "finished", "test_accuracy": 0.9}
        )
        assert set(row) - set(SETTINGS) - set(METRICS) - NOT_METRICS == set()


def test_the_main_examples_run_ids_move_only_with_the_training_rules():
    # Pinned at TRAINING_RULES 3: a change to how specs are written (a new setting, a new axis, a new
    # stage of a tuned experiment) must leave the ids of a config that uses none of it as they are, or
    # raise the version. Settings given as lists and tuning added no key to these specs.
    config = load_config(REPO / "configs" / "relu_vs_sigmoid.yaml")
    specs = expand_runs(config, {"mnist": "sample"})
    assert TRAINING_RULES == 3
    assert [run_id(spec) for spec in specs] == [
        "8a2588febc9a", "234b48172f61", "25cb49b1fb4c", "5d90185d5756", "d278d77f346e", "df5d3682f1b2",
        "9355d2cd30ee", "2d587552eaae", "6ca4af5f2eee", "6c8fcef6515d", "f4ae09928ccf", "618c9e197a24",
    ]  # fmt: skip
