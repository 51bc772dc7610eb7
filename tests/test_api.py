"""actbench.api: a sweep run from a mapping with overrides, its runs as a typed DataFrame and the report's
tables as DataFrames, the same numbers and groups the CLI shows; errors as the CLI words them."""

import io
import json
import subprocess
import sys
import types

import pandas as pd
import pytest

from actbench import api
from actbench.errors import ActbenchError
from helpers import invoke

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
    summary = api.run(given, overrides={"training.epochs": 1}, results_dir=tmp_path / "results")
    assert summary.counts["finished"] == 4 and summary.results_csv == tmp_path / "results" / "tiny" / "results.csv"
    assert given == TINY  # the caller's mapping is not changed by the overrides
    assert capsys.readouterr().out == ""  # quiet by default

    runs = api.load_runs(tmp_path / "results" / "tiny")
    assert len(runs) == 4 and runs.attrs["notes"] == []
    integers = ("seed", "limit_train", "limit_test", "training.epochs")
    assert {column: str(runs[column].dtype) for column in integers} == dict.fromkeys(integers, "Int64")
    assert (
        list(runs["training.epochs"]) == [1] * 4 and list(runs["limit_train"]) == [300] * 4
    )  # the override, as integers
    assert runs.groupby("group_id")["seed"].apply(sorted).tolist() == [[0, 1], [0, 1]]
    assert runs["block_id"].nunique() == 1

    tables = api.report_tables(tmp_path / "results")
    verdicts, metrics = tables["verdicts"], tables["metrics"]
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

    again = api.run(given, overrides=["training.epochs=1"], results_dir=tmp_path / "results")
    assert again.counts["skipped"] == 4 and again.counts["finished"] == 0  # `--set` texts, and finished runs are kept


def test_errors_name_the_mapping_or_override_and_the_field(tmp_path):
    with pytest.raises(ActbenchError, match=r"^config: training\.epochs: must be greater than 0"):
        api.run({**TINY, "training": {"epochs": 0}}, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^overrides\['training\.epochs'\]: training\.epochs: "):
        api.run(TINY, overrides={"training.epochs": "many"}, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"missing\.yaml: no such config file"):
        api.run(tmp_path / "missing.yaml", results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"--workers and --ray: choose one"):
        api.run(TINY, workers=2, ray="local", results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"^--pack '0': give auto, off or"):  # any Mapping; pack as --pack
        api.run(types.MappingProxyType(TINY), pack=0, results_dir=tmp_path)
    with pytest.raises(ActbenchError, match=r"no such folder"):
        api.load_runs(tmp_path / "nothing")


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
