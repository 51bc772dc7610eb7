"""A config's `reference:` block (a published result it reproduces): validated, never in a run id, and compared
with the measured runs in the report by the rule docs/report.md states."""

import json
import math

import numpy as np
import pytest
import yaml
from scipy import stats as scipy_stats

from actbench import api
from actbench.config import expand_runs, load_config, run_id
from actbench.errors import ActbenchError
from actbench.reference import Z95, agreement
from helpers import REPO, TINY, invoke, write_config
from helpers_report import make_results

REFERENCE = """
reference:
  citation: {authors: A. Author, title: A paper, year: 2020, url: "https://example.org/paper"}
  table: Table 1
  published:
    - {match: {hidden_activation: relu}, value: 0.5, spread: 0.01, source: "Table 1, row 1"}
    - {match: {hidden_activation: tanh}, value: 0.95, source: "Table 1, row 2"}
  notes: the sample is not the paper's data
"""
REFERENCE_CONFIGS = sorted((REPO / "configs" / "reference").glob("*.yaml"))


def test_the_reference_block_changes_no_run_id(tmp_path):
    plain = load_config(write_config(tmp_path, TINY, "plain.yaml"))
    cited = load_config(write_config(tmp_path, TINY + REFERENCE, "cited.yaml"))
    assert cited.reference is not None and cited.reference.published[0].value == 0.5
    ids = [[run_id(spec) for spec in expand_runs(config, {"mnist": "sample"})] for config in (plain, cited)]
    assert ids[0] == ids[1]


def test_a_match_key_that_is_no_setting_column_is_one_line_naming_the_field(tmp_path):
    path = write_config(tmp_path, TINY + REFERENCE.replace("{hidden_activation: relu}", "{activation: relu}"))
    with pytest.raises(ActbenchError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: reference.published[0].match: 'activation' is not a setting column; use one of")
    assert "hidden_activation" in message


def test_a_metric_that_is_no_share_is_refused(tmp_path):
    path = write_config(tmp_path, TINY + REFERENCE + "  metric: test_loss\n")
    with pytest.raises(ActbenchError, match=r"reference\.metric: 'test_loss' cannot be compared; use one of"):
        load_config(path)


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (
            "{hidden_activation: selu}",
            "[0].match: names no group of the grid; the grid has hidden_activation: relu, tanh",
        ),
        (
            "{model: mlp}",
            "[0].match: names 2 groups of the grid; add a setting that tells them apart "
            "(hidden_activation, model.initializer)",
        ),
        (
            "{hidden_activation: tanh}",
            "[1].match: names the same group as reference.published[0]; give each group one value",
        ),
    ],
)
def test_a_match_naming_no_group_or_several_stops_the_dry_run_in_one_line(tmp_path, match, expected):
    path = write_config(tmp_path, TINY + REFERENCE.replace("{hidden_activation: relu}", match))
    result = invoke("run", path, "--dry-run", "--results-dir", tmp_path / "results")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {path}: reference.published{expected}"


def test_agreement_widens_the_seeds_interval_by_the_test_sets_binomial_error():
    values = np.array([0.90, 0.91, 0.92])
    half_t = scipy_stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
    binomial = Z95 * math.sqrt(0.91 * 0.09 / 10_000)
    inside = 0.91 + half_t + binomial - 1e-6
    found = agreement(inside, values, 10_000, "test_accuracy")
    assert found["n"] == 3 and found["measured"] == pytest.approx(0.91)
    assert found["agree_high"] == pytest.approx(0.91 + half_t + binomial)
    assert found["agree_low"] == pytest.approx(0.91 - half_t - binomial)
    assert found["difference"] == pytest.approx(0.91 - inside) and found["agrees"] is True
    assert agreement(inside + 2e-6, values, 10_000, "test_accuracy")["agrees"] is False
    # Without the binomial term (not a share of test images) the same value is outside.
    assert agreement(0.91 + half_t + binomial / 2, values, 10_000, "macro_f1")["agrees"] is False


def test_one_seed_is_judged_by_the_binomial_interval_alone_and_no_run_by_nothing():
    one = agreement(0.8, np.array([0.79]), 1_000, "test_accuracy")
    binomial = Z95 * math.sqrt(0.79 * 0.21 / 1_000)  # 0.0252
    assert one["agree_low"] == pytest.approx(0.79 - binomial) and one["agree_high"] == pytest.approx(0.79 + binomial)
    assert one["agrees"] is True and math.isnan(one["ci_low"])
    assert agreement(0.79 + binomial + 1e-6, np.array([0.79]), 1_000, "test_accuracy")["agrees"] is False
    none = agreement(0.8, np.array([]), math.nan, "test_accuracy")
    assert none["n"] == 0 and none["agrees"] is None and math.isnan(none["measured"])
    # A share's interval never leaves [0, 1].
    assert agreement(1.0, np.array([0.999, 1.0]), 100, "test_accuracy")["agree_high"] == 1.0


def cite(exp_dir, block: str) -> None:
    """Put a reference block into an experiment folder's config.yaml, as a run of a config with one writes it."""
    path = exp_dir / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["reference"] = yaml.safe_load(block)["reference"]
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_the_report_puts_published_beside_measured_in_every_format(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.50, 0.52, 0.54], "tanh": [0.70, 0.71, 0.72]})
    cite(exp_dir, REFERENCE)
    table = api.report_tables(exp_dir)["published"].set_index("published")
    # relu: mean 0.52, t half-width 0.0497, binomial 0.0310 on 1,000 images: 0.5 lies inside.
    assert table.loc[0.5, "measured"] == pytest.approx(0.52) and table.loc[0.5, "agrees"]
    assert table.loc[0.5, "agree_low"] == pytest.approx(0.52 - 0.04968 - 0.03097, abs=1e-4)
    assert table.loc[0.95, "difference"] == pytest.approx(0.71 - 0.95) and not table.loc[0.95, "agrees"]
    assert list(table["n"]) == [3, 3] and table["group_id"].notna().all()

    shown = invoke("report", exp_dir, "--no-plots")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("published vs measured: A. Author (2020)"))
    assert lines[start + 3].split() == [
        "relu",
        "0.5000",
        "±",
        "0.0100",
        "0.5200",
        "3",
        "+0.0200",
        "yes",
        "(±0.0806)",  # how wide the check was: 0.0497 from the seeds, 0.0310 from the test set
    ]
    assert lines[start + 4].split()[-2:] == ["no", "(±0.0530)"]
    assert lines[start + 5].startswith("agrees: consistent with, not equal to: the published value lies within the ±")
    said = " ".join(shown.output.split())
    assert "not a reproduction: measured with the embedded data sample, not the full data" in said

    document = json.loads(invoke("report", exp_dir, "--format", "json").stdout)["experiments"][0]
    assert document["reference"]["table"] == "Table 1"
    assert [row["agrees"] for row in document["reference"]["comparison"]] == [True, False]
    assert document["reference"]["more_seeds"].startswith("a tighter check takes more seeds")
    assert document["reference"]["not_a_reproduction"].startswith("not a reproduction: measured with the embedded")
    groups = {group["label"]: group for group in document["groups"]}
    assert groups["tanh"]["published"] == 0.95 and groups["tanh"]["published_agrees"] is False
    markdown = invoke("report", exp_dir, "--format", "markdown").stdout
    assert "## Published vs measured" in markdown and "What this config cannot match: the sample is not" in markdown
    # The file has every column: the interval the ± and the measured mean give, too.
    assert "| [0.4394, 0.6006] | +0.0200 | yes (±0.0806) |" in markdown
    assert "\nA tighter check takes more seeds: " in markdown


def test_beside_agrees_the_check_says_how_wide_it_was_and_how_many_seeds_a_tighter_one_takes(tmp_path):
    from actbench.reference import more_seeds_line

    exp_dir, _ = make_results(tmp_path, {"relu": [0.50, 0.52, 0.54], "tanh": [0.70, 0.71, 0.72]})
    cite(exp_dir, REFERENCE)
    published = api.report_tables(exp_dir)["published"]
    columns = list(published.columns)
    assert columns[columns.index("agrees") + 1] == "agree_half_width"  # the width beside the answer
    binomial = [Z95 * math.sqrt(p * (1 - p) / 1000) for p in (0.52, 0.71)]
    seeds = [scipy_stats.t.ppf(0.975, 2) * sd / math.sqrt(3) for sd in (0.02, 0.01)]
    assert list(published["agree_half_width"]) == pytest.approx([s + b for s, b in zip(seeds, binomial)])
    assert list(published["agree_half_width"]) == pytest.approx((published["agree_high"] - published["agree_low"]) / 2)

    def at(count: int, sd: float, b: float) -> str:
        return f"±{scipy_stats.t.ppf(0.975, count - 1) * sd / math.sqrt(count) + b:.4f}"

    # tanh spreads less (sd 0.01) and sits further from 0.5: the narrower check at every count.
    spans = [f"{at(n, 0.01, binomial[1])} to {at(n, 0.02, binomial[0])} at {n}" for n in (5, 10, 20)]
    assert more_seeds_line(published) == (
        "a tighter check takes more seeds: at the spread measured (sd 0.0100 to 0.0200), the check would be "
        f"{', '.join(spans)} seeds; never below the test set's own ±{binomial[1]:.4f} to ±{binomial[0]:.4f}"
    )
    assert spans[0] == "±0.0405 to ±0.0558 at 5"  # from ±0.0530 and ±0.0806 at 3 seeds
    assert more_seeds_line(published.assign(n=20)) is None  # as many seeds as it names: nothing to add
    assert more_seeds_line(published.assign(n=1, sd=math.nan)) is None  # one seed: no spread measured


def test_a_published_value_whose_group_is_filtered_out_is_named_by_its_match(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.50, 0.52, 0.54], "tanh": [0.70, 0.71, 0.72]})
    cite(exp_dir, REFERENCE)
    # --wide: on one line (at 100 columns the label wraps between its words)
    shown = invoke("report", exp_dir, "--no-plots", "--wide", "--filter", "hidden_activation=relu")
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert "no run: hidden_activation=tanh 0.9500 - 0 -" in said  # which group, not a bare "no run"


def test_a_report_without_a_reference_has_no_published_table(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.5, 0.6]})
    assert api.report_tables(exp_dir)["published"].empty
    assert "published" not in invoke("report", exp_dir, "--no-plots").output


def test_an_unreadable_reference_in_config_yaml_is_a_note_not_a_failure(tmp_path):
    exp_dir, _ = make_results(tmp_path, {"relu": [0.5, 0.6]})
    cite(exp_dir, REFERENCE.replace("year: 2020", "year: soon"))
    shown = invoke("report", exp_dir, "--no-plots")
    assert shown.exit_code == 0
    said = " ".join(shown.output.split())  # a long note is wrapped at the terminal's width
    assert "config.yaml: reference not read (reference.citation.year: Input should be a valid integer" in said
    assert "published vs measured" not in said


def test_a_sweep_keeps_the_reference_in_config_yaml_for_the_report(tmp_path):
    path = write_config(tmp_path, TINY + REFERENCE)
    ran = invoke("run", path, "--results-dir", tmp_path / "results", "--quiet")
    assert ran.exit_code == 0, ran.output
    published = api.report_tables(tmp_path / "results")["published"]
    assert list(published["published"]) == [0.5, 0.95] and list(published["n"]) == [1, 1]
    assert published["agree_high"].notna().all()


@pytest.mark.parametrize("path", REFERENCE_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_reference_config_plans(path, tmp_path):
    result = invoke("run", path, "--dry-run", "--source", "sample", "--results-dir", tmp_path / "results")
    assert result.exit_code == 0, result.output
    config = load_config(path)
    assert config.reference is not None and len(config.reference.published) >= 1


def test_a_match_names_equal_numbers_however_written(tmp_path):
    # results.csv holds model.dropout as 0.0 and training.learning_rate as 0.001: `0` and `1e-3` name them.
    match = "{hidden_activation: relu, model.dropout: 0, training.learning_rate: 1e-3}"
    path = write_config(tmp_path, TINY + REFERENCE.replace("{hidden_activation: relu}", match))
    result = invoke("run", path, "--dry-run", "--results-dir", tmp_path / "results")
    assert result.exit_code == 0, result.output
    wrong = write_config(tmp_path, TINY + REFERENCE.replace("{hidden_activation: relu}", match.replace("1e-3", "1e-2")))
    result = invoke("run", wrong, "--dry-run", "--results-dir", tmp_path / "results")
    assert result.exit_code == 2 and "training.learning_rate: 0.001" in result.output


def test_a_narrow_published_table_leaves_out_the_difference_not_the_verdict(tmp_path):
    # 62 columns wide in full here: at 61 the difference goes, the answer and its width stay.
    from test_report import rendered

    from actbench.report import build_report

    exp_dir, _ = make_results(tmp_path, {"relu": [0.50, 0.52, 0.54], "tanh": [0.70, 0.71, 0.72]})
    long = REFERENCE.replace("{hidden_activation: relu}", "{hidden_activation: relu, training.epochs: 3}")
    cite(exp_dir, long.replace("A. Author", '"A. Author, B. Author, C. Author and D. Author of a long list"'))
    for width, left_out in ((61, True), (160, False)):
        lines = rendered(build_report(exp_dir), width)
        assert max(map(len, lines)) <= width
        header = next(line for line in lines if line.startswith("group"))
        assert header.split()[-1] == "agrees" and not any(
            line.startswith("published vs measured:") and "(2)" in line for line in lines
        )
        assert ("left out at 61 columns: difference; --wide shows every column" in lines) == left_out


def test_only_groups_on_the_full_data_go_without_the_not_a_reproduction_line():
    import pandas as pd

    from actbench.reference import reduced_data_line

    comparison = pd.DataFrame({"group_id": ["g1", None]})
    full = pd.DataFrame({"group_id": ["g1", "g2"], "source": ["full", "sample"], "limit_train": [None, 500]})
    assert reduced_data_line(full, comparison) is None  # g2 has no published value
    limited = full.assign(limit_train=[1000, None])
    assert reduced_data_line(limited, comparison) == (
        "not a reproduction: measured with limit_train, not the full data the published values come from"
    )
