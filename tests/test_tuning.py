"""Fair comparisons (actbench.tuning): settings given as lists are axes of the grid, runs that differ in
them pack together as each would train alone, and a `tune:` section chooses each candidate's settings on
validation data with tuning seeds (never tested), then trains and tests its choice on the experiment's seeds."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from helpers_keras import keras_weights

import actbench
from actbench import packing, results, tuning
from actbench.config import RunSpec, expand_runs, load_config, parse_set, run_id
from actbench.context import TrainingContext
from actbench.datasets import load_dataset, split_dataset
from actbench.datasets.cache import DataRequest
from actbench.errors import ActbenchError
from actbench.training import train_pack
from helpers import invoke, write_config

BASE = """
name: t
datasets: [mnist]
data: {source: sample, limit_train: 400, limit_test: 200}
models: [{type: mlp, hidden_units: [16]}]
hidden_activations: [relu, sigmoid]
training: {epochs: 1, batch_size: 64}
seeds: [0]
"""


def config_for(tmp_path, text=BASE, *overrides):
    return load_config(write_config(tmp_path, text), [parse_set(o) for o in overrides])


def specs_for(tmp_path, *overrides):
    return expand_runs(config_for(tmp_path, BASE, *overrides), {"mnist": "sample"})


def test_a_list_makes_a_setting_an_axis_with_each_value_a_run(tmp_path):
    plain = specs_for(tmp_path)
    listed = specs_for(
        tmp_path, "training.learning_rate=[0.001, 0.01]", "models=[{type: mlp, hidden_units: [16], dropout: [0, 0.2]}]"
    )
    assert len(plain) == 2 and len(listed) == 2 * 2 * 2
    assert {(s.training.learning_rate, s.model.dropout) for s in listed} == {
        (a, b) for a in (0.001, 0.01) for b in (0.0, 0.2)
    }
    preprocessed = specs_for(tmp_path, "data.preprocessing=[scale, standardize]", "training.epochs=[1, 3]")
    assert {(s.preprocessing, s.training.epochs) for s in preprocessed} == {
        (p, e) for p in ("scale", "standardize") for e in (1, 3)
    }
    # A config that varies none of them keeps its runs' specs, and ids, as they were.
    assert all("stage" not in s.as_json() and "tuned" not in s.as_json() for s in plain)
    config = config_for(tmp_path, BASE, "training.learning_rate=[0.001, 0.01]")
    assert config.setting_axes == {"training.learning_rate": [0.001, 0.01]}
    written = load_config(config_as_yaml(tmp_path, config))
    assert [run_id(s) for s in expand_runs(written, {"mnist": "sample"})] == [
        run_id(s) for s in expand_runs(config, {"mnist": "sample"})
    ]


def config_as_yaml(tmp_path, config):
    import yaml

    from actbench.config import config_as_dict

    path = tmp_path / "written.yaml"
    path.write_text(yaml.safe_dump(config_as_dict(config)))
    return path


@pytest.mark.parametrize(
    "override, says",
    [
        ("training.learning_rate=[0.001, -1]", "training.learning_rate: must be greater than 0 (got -1)"),
        ("training.learning_rate=[]", "training.learning_rate: must list at least 1 entry"),
        ("models=[{type: mlp, dropout: [0, 1.5]}]", "models[0].dropout: must be less than 1"),
        ("training.momentum=[0, 0.9]", "adam takes no momentum"),
        ("data.preprocessing=[scale, whiten]", "data.preprocessing: must be"),
    ],
)
def test_a_bad_value_in_a_list_names_its_field_and_the_override(tmp_path, override, says):
    with pytest.raises(ActbenchError) as caught:
        config_for(tmp_path, BASE, override)
    message = str(caught.value)
    assert says in message and message.startswith(f"--set '{override}'"), message


def test_runs_that_differ_in_what_each_model_holds_pack_together(tmp_path):
    specs = specs_for(
        tmp_path,
        "training.learning_rate=[0.001, 0.01]",
        "training.l2=[0, 0.001]",
        "models=[{type: mlp, hidden_units: [16], dropout: [0, 0.2], batch_norm: [none, after]}]",
        "data.preprocessing=[scale, center]",
        "training.batch_size=[32, 64]",
    )
    keys = {packing.pack_key(s) for s in specs}
    # The same batches: the preprocessing and the batch size split packs; the rest may differ inside one.
    assert len(keys) == 4 and len(specs) == 2 * 2 * 2 * 2 * 2 * 2 * 2
    packs = packing.plan_packs(specs, 64, 1, lambda s: s)
    assert len(packs) == 4 and {len(p) for p in packs} == {32}


@pytest.fixture(scope="module")
def data():
    return split_dataset(load_dataset("mnist", "sample"), 400, 200, 0.1)


def test_a_pack_of_runs_with_their_own_settings_gives_each_the_weights_keras_fit_gives_it(tmp_path, data):
    # Two steps (64 images in batches of 32) of four members that differ in optimizer, learning rate,
    # momentum, L2, dropout, batch normalisation, initializer and epochs, each against Keras' fit alone.
    few = dataclasses.replace(data, x_train=data.x_train[:64], y_train=data.y_train[:64])
    text = BASE.replace("training: {epochs: 1, batch_size: 64}", "training: {batch_size: 32}")
    grid = expand_runs(config_for(tmp_path, text), {"mnist": "sample"})
    relu, sigmoid = grid
    members = [
        _with(relu, training={"learning_rate": 0.01, "l2": 0.001, "epochs": 2}),
        _with(sigmoid, training={"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "epochs": 1}),
        _with(relu, model={"dropout": 0.3, "initializer": "glorot_uniform"}, training={"epochs": 2}, seed=1),
        _with(sigmoid, model={"batch_norm": "after"}, training={"epochs": 2}),
    ]
    assert len({packing.pack_key(s) for s in members}) == 1
    with TrainingContext(DataRequest("sample")) as context:
        trained = train_pack(members, few, context)
    assert [len(m.history) for m in trained.members] == [2, 1, 2, 2]  # each its own epochs
    for spec, member in zip(members, trained.members):
        for mine, theirs in zip(member.model.get_weights(), keras_weights(spec, few)):
            np.testing.assert_allclose(mine, theirs, atol=2e-6, rtol=1e-5)


def _with(spec: RunSpec, seed: int | None = None, **sections) -> RunSpec:
    data = spec.as_json()
    for section, values in sections.items():
        data[section] = {**data[section], **values}
    if seed is not None:
        data["seed"] = seed
    return RunSpec.model_validate(data)


TUNED = (
    BASE.replace(
        "training: {epochs: 1, batch_size: 64}",
        "training: {epochs: 1, batch_size: 64, learning_rate: [0.001, 0.01, 0.1]}",
    )
    + "tune: {settings: [learning_rate]}\n"
)


def test_a_tune_section_is_checked_against_the_lists_and_the_seeds(tmp_path):
    config = config_for(tmp_path, TUNED)
    assert config.tuned_fields == ("training.learning_rate",) and config.tuning_seeds == [1, 2]
    with pytest.raises(ActbenchError, match=r"tune\.settings\[0\]: 'momentum' is not a setting given as a list"):
        config_for(tmp_path, TUNED, "tune.settings=[momentum]")
    with pytest.raises(
        ActbenchError, match=r"tune\.seeds: seed 0 is both a tuning seed and one of the experiment's seeds"
    ):
        config_for(tmp_path, TUNED, "tune.seeds=[0, 5]")
    with pytest.raises(ActbenchError, match=r"tune\.per\[0\]: 'colour' is none of"):
        config_for(tmp_path, TUNED, "tune.per=[colour]")
    assert config_for(tmp_path, TUNED, "tune.seeds=[7, 9]").tuning_seeds == [7, 9]


def test_choices_are_the_best_mean_validation_score_and_say_when_at_the_edge_or_changed(tmp_path):
    config = config_for(tmp_path, TUNED)
    stage_one = tuning.stage_one(config, {"mnist": "sample"})
    assert (
        len(stage_one) == 2 * 3 * 2
        and {s.stage for s in stage_one} == {"tune"}
        and {s.seed for s in stage_one} == {1, 2}
    )
    exp_dir = tmp_path / "t"
    losses = {
        ("relu", 0.001): 0.5,
        ("relu", 0.01): 0.3,
        ("relu", 0.1): 0.4,
        ("sigmoid", 0.001): 0.9,
        ("sigmoid", 0.01): 0.7,
    }
    for spec in stage_one:  # sigmoid at 0.1 diverged: it scores worst
        key = (spec.hidden_activation.name, spec.training.learning_rate)
        status = results.RunStatus.DIVERGED if key not in losses else results.RunStatus.FINISHED
        history = [
            {
                "epoch": 1,
                "loss": 1.0,
                "accuracy": 0.5,
                "val_loss": losses.get(key, np.nan) + 0.01 * spec.seed,
                "val_accuracy": 0.5,
                "seconds": 1.0,
            }
        ]
        record = results.RunRecord(
            run_id(spec), status, {"best_epoch": 1}, results.run_files(results.RunOutputs(history))
        )
        results.save_record(exp_dir, {**spec.as_json(), "run_id": run_id(spec)}, record)
    selection = tuning.choose(config, stage_one, exp_dir)
    chosen = {choice.label.split()[2]: choice.chosen for choice in selection.choices}
    assert chosen == {"relu": {"training.learning_rate": 0.01}, "sigmoid": {"training.learning_rate": 0.01}}
    relu = next(c for c in selection.choices if " relu " in c.label)
    assert relu.runner_up == {"training.learning_rate": 0.1} and not relu.at_edge
    assert relu.values[1].mean == pytest.approx(0.315) and relu.values[1].seeds == [1, 2]
    final = tuning.stage_two(config, {"mnist": "sample"}, None, selection)
    assert sorted((s.hidden_activation.name, s.training.learning_rate, s.seed) for s in final) == [
        ("relu", 0.01, 0),
        ("sigmoid", 0.01, 0),
    ]
    assert {s.tuned for s in final} == {("training.learning_rate",)} and {s.stage for s in final} == {"final"}
    # The two final runs share a block: it leaves out what tuning chose for each.
    from actbench.config import block_id

    assert len({block_id(s) for s in final}) == 1
    before = json.loads(json.dumps(selection.as_json()))
    before["choices"][0]["chosen"] = {"training.learning_rate": 0.001}
    assert tuning.changes(before, selection) == [
        f"{selection.choices[0].label}: learning_rate=0.001 -> learning_rate=0.01"
    ]


def test_a_tuned_sweep_trains_both_stages_tests_only_the_second_and_resumes(tmp_path):
    config = write_config(tmp_path, TUNED)
    root = tmp_path / "results"
    dry = invoke("run", config, "--dry-run", "--results-dir", root)
    assert (
        dry.exit_code == 0
        and "stage 2 of 2, after stage 1: each of 2 candidates at its choice with seeds 0: 2 runs" in dry.output
    )
    done = invoke("run", config, "--results-dir", root)
    assert done.exit_code == 0, done.output
    assert "stage 1 of 2: learning_rate tuned on validation data (val_loss) with tuning seeds 1, 2" in done.output
    table = results.runs_frame(results.collect_rows(root / "t")[0])
    tuned, final = table[table["stage"] == "tune"], table[table["stage"] == "final"]
    assert (
        len(tuned) == 12
        and tuned["test_accuracy"].isna().all()
        and len(final) == 2
        and final["test_accuracy"].notna().all()
    )
    selection = results.read_selection(root / "t")
    chosen = {c["label"].split()[2]: c["chosen"]["training.learning_rate"] for c in selection["choices"]}
    assert chosen == dict(zip(final["hidden_activation"], final["training.learning_rate"]))
    assert all(len(value["scores"]) == 2 for c in selection["choices"] for value in c["values"])
    assert set(results.read_plan(root / "t")) == set(table["run_id"])  # the plan holds both stages
    again = invoke("run", config, "--results-dir", root)
    assert again.exit_code == 0 and "0 finished, 0 diverged, 0 failed, 14 already done" in again.output
    listed = invoke("run", config, "--dry-run", "--results-dir", root)
    assert "stage 2 of 2, each candidate at its choice (tested and judged):" in listed.output

    # The report says what was tuned and how, tables each choice, draws it, and reads only stage 2.
    shown = invoke("report", root / "t", "--out", tmp_path / "view")
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert (
        "tuned: learning_rate over 0.001 / 0.01 / 0.1, chosen per candidate by the best mean val_loss on validation "
        "data (10% of the training images) over 2 tuning seeds (1, 2), never tested; the verdicts are on the "
        "experiment's 1 fresh seeds (0)" in text
    )
    assert "tuning: each candidate's choice on validation data, and the runner-up" in text
    # Each group named with its own choice; the block is not named after one of them.
    assert all(f"{a}, lr={lr:g}" in text for a, lr in zip(final["hidden_activation"], final["training.learning_rate"]))
    assert "lr=0.01: test accuracy over seeds" not in text and "lr=0.1: test accuracy over seeds" not in text
    assert "at each single value of the tuned setting" in text
    folder = tmp_path / "view"  # one experiment: its report in the folder itself
    assert (folder / "tuning.png").stat().st_size > 0 and "## Tuning" in (folder / "report.md").read_text()
    tables = actbench.open(root / "t").report()
    rows = tables.tuning.set_index("group_id")
    assert set(rows.index) == set(final["group_id"]) and tables.verdicts["n"].eq(1).all()
    for choice in selection["choices"]:
        row = rows.loc[choice["group_id"]]
        assert row["chosen"] == f"lr={choice['chosen']['training.learning_rate']:g}"
        assert row["at_edge"] == choice["at_edge"] and row["close"] == choice["close"]
    assert pd.read_csv(folder / "tuning.csv")["chosen"].tolist() == tables.tuning["chosen"].tolist()
    assert actbench.report_tables(root / "t")["tuning"]["chosen"].tolist() == tables.tuning["chosen"].tolist()
