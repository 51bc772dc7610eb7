"""The report's overall section (actbench.report.ranks, rank_plots): ranks across blocks in every output."""

import json

import pandas as pd
import pytest

from actbench import api
from actbench.report import build_report
from actbench.report.rank_plots import ranks_figure
from actbench.report.ranks import ACROSS
from helpers import invoke
from helpers_report import make_study

GRID = (
    "datasets: [mnist]\nmodels: [mlp, cnn]\nhidden_activations: [relu, elu, tanh, sigmoid]\n"
    "output_activations: [softmax, sigmoid]\nseeds: 3\ntraining: {epochs: 1}\n"
)
# Every block orders them alike, relu first, sigmoid last; a sigmoid output costs relu a little (the blocks
# differ, so none is counted as a copy of another).
BASE = {"relu": 0.95, "elu": 0.94, "tanh": 0.90, "sigmoid": 0.60}


def accuracy(spec):
    sigmoid_output = spec.output_activation == "sigmoid" and spec.hidden_activation.name == "relu"
    return (
        BASE[spec.hidden_activation.name]
        - (0.05 if spec.model.type == "cnn" else 0)
        - (0.003 if sigmoid_output else 0)
        + spec.seed * 0.001
    )


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path, GRID, accuracy)


def test_four_settings_rank_the_hidden_activations(study):
    overall = build_report(study).overall
    assert overall is not None and overall.what == "hidden activation"
    assert len(overall.settings) == 4  # 2 models x 2 output layers
    assert all("output" in label for label in overall.settings)
    table = overall.table()
    assert table["label"].tolist() == ["relu", "elu(alpha=1.0)", "tanh", "sigmoid"]
    assert table["average_rank"].tolist() == [1, 2, 3, 4] and (table["blocks"] == 4).all()
    assert table["verdict"].tolist() == ["best", "not distinguishable", "not distinguishable", "worse"]
    assert table["friedman_p"].iloc[0] < 0.01 and table["best_in"].tolist() == [4, 0, 0, 0]


def test_terminal_markdown_json_and_files(study, tmp_path):
    result = invoke("report", study, "--out", tmp_path / "view", "--no-plots")
    assert result.exit_code == 0, result.output
    assert "overall: average rank of each hidden activation over 4 blocks" in result.output
    assert "separated from relu (best average rank): sigmoid" in " ".join(result.output.split())
    view = tmp_path / "view"
    assert {"overall.csv", "ranks.csv"} <= {p.name for p in view.iterdir()}
    assert pd.read_csv(view / "overall.csv")["label"].iloc[-1] == "sigmoid"
    ranks = pd.read_csv(view / "ranks.csv")
    assert ranks.shape == (4, 5) and (ranks["relu"] == 1).all()
    text = (view / "report.md").read_text()
    assert "## Overall: average rank" in text and "### Rank in each block" in text
    document = json.loads(invoke("report", study, "--format", "json").stdout)
    overall = document["experiments"][0]["overall"]
    assert overall["ranked"] == "hidden activation" and len(overall["block_ranks"]) == 4
    assert overall["activations"][0]["label"] == "relu" and overall["activations"][0]["blocks"] == 4
    assert document["overall"] is None  # one experiment: nothing across


def test_too_few_blocks_say_so_instead_of_a_p_value(tmp_path):
    exp_dir = make_study(
        tmp_path, GRID.replace("[mlp, cnn]", "[mlp]").replace("[softmax, sigmoid]", "[softmax]"), accuracy
    )
    assert build_report(exp_dir).overall is None  # one block: nothing to rank across
    two = make_study(tmp_path, GRID.replace("[softmax, sigmoid]", "[softmax]"), accuracy, name="two")
    overall = build_report(two).overall
    assert overall is not None and not overall.verdicts.conclusive
    output = " ".join(invoke("report", two, "--no-plots").output.split())
    assert "2 blocks are too few to test 4 hidden activations" in output and "it needs at least 3" in output
    assert "Friedman" not in output


def test_across_experiments_ranks_the_common_set_and_names_the_rest(study, tmp_path):
    make_study(
        tmp_path,
        GRID.replace("[mnist]", "[fashion_mnist]")
        .replace("[relu, elu, tanh, sigmoid]", "[relu, sigmoid, swish]")
        .replace("[softmax, sigmoid]", "[softmax]"),
        lambda spec: (
            {"relu": 0.9, "sigmoid": 0.5, "swish": 0.91}[spec.hidden_activation.name] - 0.1 * (spec.model.type == "cnn")
        ),
        name="other",
    )
    results = tmp_path / "results"
    result = invoke("report", results, "--no-plots", "--out", tmp_path / "view")
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "overall across all experiments: average rank of each hidden activation over 6 blocks" in output
    assert "left out, not in every block: elu(alpha=1.0) (in 4 of 6), tanh (in 4 of 6), swish (in 2 of 6)" in output
    assert "2 blocks are too few to test 3 hidden activations" in output  # "other" on its own
    assert {"report.md", "overall.csv", "ranks.csv"} <= {p.name for p in (tmp_path / "view" / "_overall").iterdir()}
    tables = api.report_tables(results)["overall"]
    assert set(tables["scope"]) == {"study", "other", ACROSS}
    mixed = tables[tables["scope"] == ACROSS]
    assert mixed["label"].tolist() == ["relu", "sigmoid"] and (mixed["blocks"] == 6).all()
    assert mixed["verdict"].tolist() == ["best", "worse"]  # relu ahead in all six: 2^-5 < 5%


def test_a_diverged_group_ranks_last_and_a_failed_one_is_left_out(tmp_path):
    def status(spec):
        if spec.hidden_activation.name == "relu" and spec.model.type == "cnn" and spec.output_activation == "softmax":
            return "diverged"
        if spec.hidden_activation.name == "tanh" and spec.model.type == "mlp" and spec.output_activation == "sigmoid":
            return "failed"
        return "finished"

    overall = build_report(make_study(tmp_path, GRID, accuracy, status)).overall
    assert "tanh" in overall.left_out and overall.left_out["tanh"] == 3
    assert any("relu on cnn 32-64 / output softmax: every seed diverged; ranked last there" in n for n in overall.notes)
    ranks = overall.block_ranks()
    assert ranks.loc["cnn 32-64 / output softmax", "relu"] == 3  # last of the three ranked


def test_identical_settings_count_once(tmp_path):
    grid = GRID.replace("[softmax, sigmoid]", "[softmax, linear]")  # a from-logits linear output is the softmax network
    overall = build_report(
        make_study(tmp_path, grid, lambda spec: accuracy(spec) + 0.02 * (spec.model.type == "cnn"))
    ).overall
    assert [label.split(" / ")[0] for label in overall.settings] == ["cnn 32-64", "mlp 128-64"]
    copies = [n for n in overall.notes if "every hidden activation scored exactly as in an earlier block" in n]
    assert len(copies) == 2


def test_exports_carry_each_groups_overall_rank(study):
    from actbench.export.runs import report_groups

    groups = report_groups(study)
    ranks = {label.rsplit(" / ", 1)[-1]: stats.overall_rank for stats, label in groups.values()}
    assert ranks["relu -> softmax"] == 1 and ranks["sigmoid -> sigmoid"] == 4


def test_ranks_png_is_drawn_for_twenty_activations(tmp_path):
    names = ["relu", "elu", "selu", "gelu", "swish", "mish", "tanh", "sigmoid", "softplus", "softsign", "relu6",
             "hard_sigmoid", "linear", "prelu", "{name: leaky_relu, alpha: 0.01}", "{name: leaky_relu, alpha: 0.2}",
             "{name: gelu, approximate: true}", "{name: elu, alpha: 0.5}", "{name: thresholded_relu, threshold: 0.5}",
             "{name: leaky_relu, alpha: 0.3}"]  # fmt: skip
    grid = GRID.replace("[relu, elu, tanh, sigmoid]", f"[{', '.join(names)}]").replace("seeds: 3", "seeds: 2")
    order: dict[str, int] = {}

    def score(spec):
        place = order.setdefault(str(spec.hidden_activation), len(order))
        block = 2 * (spec.model.type == "cnn") + (spec.output_activation == "sigmoid")
        return 0.9 - 0.01 * place + 0.004 * ((place * 7 + 3 * block) % 5)  # near neighbours swap between blocks

    overall = build_report(make_study(tmp_path, grid, score)).overall
    assert len(overall.labels) == 20
    path = ranks_figure(overall, tmp_path / "ranks.png")
    from matplotlib import image

    height, width, _ = image.imread(path).shape
    assert width >= 1000 and height >= 700  # room for 20 labels: looked at, see docs/report.md


def test_one_hidden_activation_ranks_the_output_layers(tmp_path):
    grid = GRID.replace("[relu, elu, tanh, sigmoid]", "[relu]").replace("[mnist]", "[mnist, fashion_mnist]")
    shift = {"mnist": 0.0, "fashion_mnist": -0.1}

    def score(spec):
        output = {"softmax": 0.9, "sigmoid": 0.88}[spec.output_activation]
        return output + shift[spec.dataset] - 0.03 * (spec.model.type == "cnn")

    overall = build_report(make_study(tmp_path, grid, score)).overall
    assert overall.what == "output layer" and overall.heading == "output"
    assert overall.settings[0] == "fashion_mnist / cnn 32-64" and len(overall.settings) == 4  # one hidden: unnamed
    assert overall.table()["label"].tolist() == ["softmax", "sigmoid"]
    assert not overall.verdicts.conclusive  # two output layers need 6 blocks
