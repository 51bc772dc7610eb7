"""Run identity: what changes the numbers changes the id, what does not, does not; older training rules are stale."""

import pytest

from actbench import results
from actbench.config import TRAINING_RULES, expand_runs, load_config, run_id
from actbench.plan import plan_runs
from helpers import write_config

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
    results.save_record(exp_dir, spec.model_dump(mode="json", exclude={"training_rules"}), results.RunRecord(planned[0].run_id, "finished", {}))
    assert results.run_status(exp_dir, planned[0].run_id) is None
