"""actbench's Python API: a sweep run from a mapping with overrides, returned as an Experiment whose runs
are a typed DataFrame and whose report's tables are DataFrames (computed once), the same numbers and
groups the CLI shows; a plan without training; errors naming the parameter; notes as warnings; the
same from a script without a `__main__` guard and from `python -`, workers and all."""

import io
import json
import subprocess
import sys
import types

import pandas as pd
import pytest

import actbench
from actbench import api
from actbench.errors import ActbenchError, ActbenchWarning
from helpers import REPO, invoke

TINY = {
    "name": "tiny",
    "datasets": ["mnist"],
    "data": {"source": "sample", "limit_train": 300, "limit_test": 100},
    "models": [{"type": "mlp", "hidden_units": [16]}],
    "hidden_activations": ["relu", "tanh"],
    "training": {"epochs": 3, "batch_size": 64},
    "seeds": [0, 1],
}


def test_run_a_mapping_then_load_its_runs_and_report_tables(tmp_path, capsys):
    given = json.loads(json.dumps(TINY))
    experiment = actbench.run(given, overrides={"training.epochs": 1}, results_dir=tmp_path / "results")
    assert experiment.counts["finished"] == 4 and experiment.folder == tmp_path / "results" / "tiny"
    assert given == TINY  # the caller's mapping is not changed by the overrides
    assert capsys.readouterr().out == ""  # quiet by default

    runs = experiment.runs()
    assert len(runs) == 4 and runs.equals(api.load_runs(tmp_path / "results" / "tiny"))
    integers = ("seed", "limit_train", "limit_test", "training.epochs")
    assert {column: str(runs[column].dtype) for column in integers} == dict.fromkeys(integers, "Int64")
    assert (
        list(runs["training.epochs"]) == [1] * 4 and list(runs["limit_train"]) == [300] * 4
    )  # the override, as integers
    assert runs.groupby("group_id")["seed"].apply(sorted).tolist() == [[0, 1], [0, 1]]
    assert runs["block_id"].nunique() == 1

    report = actbench.open(tmp_path / "results").report()
    assert actbench.open(tmp_path / "results").report().verdicts.equals(report.verdicts)
    assert experiment.report() is experiment.report()  # computed once
    tables = report.as_dict()
    verdicts, metrics = report.verdicts, report.metrics
    assert sorted(verdicts["label"]) == ["relu", "tanh"] and set(verdicts["group_id"]) == set(runs["group_id"])
    for row in verdicts.itertuples():
        own = runs.loc[runs["group_id"] == row.group_id, "test_accuracy"]
        assert row.acc_mean == pytest.approx(own.mean()) and row.n == 2
    assert {"verdict", "rank", "p_holm"} <= set(verdicts.columns) and "loss_mean" in metrics
    assert len(tables["runs"]) == 4 and tables["problems"].empty
    # The CLI's CSV holds the same groups and figures.
    shown = invoke("report", tmp_path / "results" / "tiny", "--format", "csv")
    assert shown.exit_code == 0
    cli = pd.read_csv(io.StringIO(shown.stdout)).set_index("group_id")
    assert cli.loc[verdicts["group_id"], "acc_mean"].tolist() == pytest.approx(verdicts["acc_mean"].tolist())

    again = actbench.run(given, overrides=["training.epochs=1"], results_dir=tmp_path / "results")
    assert again.counts["skipped"] == 4 and again.counts["finished"] == 0  # `--set` texts, and finished runs are kept


def test_errors_name_the_mapping_or_override_and_the_field(tmp_path):
    with pytest.raises(ActbenchError, match=r"^config: training\.epochs: must be greater than 0"):
        api.run({**TINY, "training": {"epochs": 0}}, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^overrides\['training\.epochs'\]: training\.epochs: "):
        api.run(TINY, overrides={"training.epochs": "many"}, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"missing\.yaml: no such config file"):
        api.run(tmp_path / "missing.yaml", results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^workers and ray: choose one"):
        api.run(TINY, workers=2, ray="local", results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^pack=0: give auto, off or"):  # any Mapping; its parameter named
        api.run(types.MappingProxyType(TINY), pack=0, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^workers='many': give a number"):
        api.plan(TINY, workers="many", results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"no such folder"):
        actbench.open(tmp_path / "nothing")
    assert not (tmp_path / "tiny").exists()  # nothing was written


def test_a_plan_lists_the_runs_packs_and_estimates_without_training(tmp_path):
    planned = actbench.plan(TINY, results_dir=tmp_path, pack=2)
    assert len(planned) == 4 and set(planned["status"]) == {"todo"} and not (tmp_path / "tiny").exists()
    assert sorted(planned["pack"].tolist()) == [1, 1, 2, 2] and set(planned["pack_size"]) == {2}
    assert (planned["estimated_seconds"] > 0).all() and str(planned["seed"].dtype) == "Int64"
    assert planned["run_id"].is_unique and set(planned["hidden_activation"]) == {"relu", "tanh"}
    alone = actbench.plan(TINY, results_dir=tmp_path, pack="off")
    assert set(alone["pack_size"]) == {1} and alone["run_id"].tolist() == planned["run_id"].tolist()


def test_a_folder_without_finished_runs_loads_as_an_empty_frame_with_the_usual_columns(tmp_path):
    (tmp_path / "tiny" / "runs" / "abc").mkdir(parents=True)  # a run that never finished
    with pytest.warns(ActbenchWarning, match="incomplete"):
        runs = actbench.open(tmp_path / "tiny").runs()
    assert runs.empty and {"run_id", "status", "test_accuracy", "train_seconds", "seed"} <= set(runs.columns)


def test_report_tables_filters_as_the_cli_does(tmp_path):
    from helpers_report import make_results

    exp_dir, _ = make_results(tmp_path, {"relu": [0.9, 0.91, 0.92], "tanh": [0.8, 0.81, 0.83]})
    tables = api.report_tables(exp_dir, filters=["hidden_activation=relu"])
    assert list(tables["verdicts"]["label"]) == ["relu"] and list(tables["verdicts"]["n"]) == [3]
    with pytest.raises(
        ActbenchError, match=r"--filter hidden_activation=gelu: no run .* there: hidden_activation: relu, tanh"
    ):
        api.report_tables(exp_dir, filters=["hidden_activation=gelu"])
    with pytest.raises(ActbenchError, match=r"--filter 'colour=red'"):
        api.report_tables(exp_dir, filters=["colour=red"])


def test_import_actbench_and_its_api_imports_neither_tensorflow_nor_pandas():
    code = "import sys, actbench; actbench.run; print('tensorflow' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


SCRIPT = """
import actbench

experiment = actbench.run({config!r}, results_dir={results!r}, workers=2, pack="off")
runs = experiment.runs()
print(experiment.counts["finished"], len(runs), round(float(runs["test_accuracy"].mean()), 4))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["script", "stdin"])
def test_workers_from_a_script_without_a_main_guard(tmp_path, how):
    # The documented example as a user saves and runs it: spawned workers used to run the script again
    # (a traceback about the bootstrapping phase; from `python -`, a BrokenProcessPool).
    config = {**TINY, "training": {"epochs": 1, "batch_size": 64}}
    script = SCRIPT.format(config=config, results=str(tmp_path / "results"))
    if how == "script":
        (tmp_path / "ex.py").write_text(script)
        out = subprocess.run([sys.executable, "ex.py"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    else:
        out = subprocess.run(
            [sys.executable, "-"], input=script, capture_output=True, text=True, cwd=tmp_path, timeout=600
        )
    assert out.returncode == 0, out.stderr
    finished, rows, _ = out.stdout.split()
    assert (finished, rows) == ("4", "4") and out.stderr == ""
    assert (REPO / "actbench").is_dir()
