"""Published against measured: the group each published value of a config's `reference:` names (in the
grid before a sweep, in a report's runs after it), and whether the measured mean agrees with it.

The rule (docs/report.md#published-vs-measured): the published value agrees when it lies inside the
measured 95% interval over seeds (Student t, stats.mean_intervals) widened on each side by the test set's
own binomial error, 1.96 * sqrt(p (1 - p) / n_test) at the measured accuracy p. The seeds' interval covers
training noise on one fixed test set; the binomial term covers the test set itself, which a published
number measured on another draw of images (or the same images with another model) also carries. With one
seed the interval is the binomial one alone. Other metrics than test accuracy get no binomial term.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from actbench import stats
from actbench.config import ExperimentConfig, Reference, expand_runs, run_id
from actbench.config.reference import match_text
from actbench.errors import ActbenchError
from actbench.results import RunStatus, flatten_run, runs_frame
from actbench.settings_catalogue import SETTINGS, filter_keys, filter_texts, named_by

Z95 = 1.959963984540054  # the normal distribution's two-sided 95% point: the binomial term's width
BINOMIAL_METRICS = ("test_accuracy",)  # a share of the test images: its own sampling error is binomial
# The rule as the report states it under its table.
RULE = (
    "agrees: consistent with, not equal to: the published value lies within the ± beside the answer from the "
    "measured mean, ± being the seeds' 95% interval plus the test set's binomial error 1.96*sqrt(p(1-p)/n_test); "
    "with one seed, the binomial term alone"
)
# The seed counts the line under the table projects the check to (those above the most measured).
MORE_SEEDS = (5, 10, 20)
# What a published value is compared with, and how the report's tables show it.
COLUMNS = [
    "entry",
    "match",
    "group_id",
    "metric",
    "published",
    "published_spread",
    "n",
    "measured",
    "ci_low",
    "ci_high",
    "sd",
    "binomial",
    "agree_low",
    "agree_high",
    "difference",
    "agrees",
    "agree_half_width",
    "source",
]


def matching(frame: pd.DataFrame, match: dict[str, Any]) -> pd.Series:
    """Which rows of `frame` (results.csv's columns) have every setting `match` names, as --filter compares
    them (equal numbers match: `dropout: 0` names the column's 0.0)."""
    found = pd.Series(True, index=frame.index)
    for key, value in match.items():
        found &= named_by(frame[key], match_text(value)) if key in frame else False
    return found


def check_grid(config: ExperimentConfig, origin: str) -> None:
    """Each published value of the config's reference names exactly one group of its grid; else one error
    line naming `origin` (the file), the entry and the fix. A grid with a dataset of your own is checked
    in the report only: its groups are known once its files are read."""
    if config.reference is None or config.own_datasets:
        return
    # One seed per group is the whole grid's groups; the source only as the config asks for it.
    sources = dict.fromkeys(config.dataset_names, "sample" if config.data.source == "sample" else "full")
    specs = expand_runs(config.model_copy(update={"seeds": config.seeds[:1]}), sources)
    grid = runs_frame([flatten_run({**spec.as_json(), "run_id": run_id(spec)}, {}) for spec in specs])
    named: dict[str, int] = {}
    for index, entry in enumerate(config.reference.published):
        where = f"{origin}: reference.published[{index}].match"
        groups = grid.loc[matching(grid, entry.match), "group_id"].unique()
        if len(groups) == 0:
            raise ActbenchError(f"{where}: names no group of the grid; {_values_there(grid, entry.match)}")
        if len(groups) > 1:
            differ = _differing(grid[grid["group_id"].isin(groups)])
            raise ActbenchError(
                f"{where}: names {len(groups)} groups of the grid; add a setting that tells them apart "
                f"({', '.join(differ)})"
            )
        if groups[0] in named:
            raise ActbenchError(
                f"{where}: names the same group as reference.published[{named[groups[0]]}]; give each group one value"
            )
        named[groups[0]] = index


def _values_there(grid: pd.DataFrame, match: dict[str, Any]) -> str:
    return "the grid has " + "; ".join(
        f"{key}: {', '.join(sorted(set(filter_texts(grid[key]))))}" for key in match if key in grid
    )


def _differing(rows: pd.DataFrame) -> list[str]:
    """The filterable settings (not ids, not a second form of one) whose values differ among `rows`."""
    names = [key for key in filter_keys() if key in rows and SETTINGS[key].kind == "setting"]
    return [key for key in names if filter_texts(rows[key]).nunique() > 1]


def reduced_data_line(runs: pd.DataFrame, comparison: pd.DataFrame) -> str | None:
    """A line under the published table when a compared group trained or was tested on less than the full
    dataset (the embedded sample, limit_train, limit_test): then its comparison is a smoke test, not a
    reproduction, whatever it says."""
    if runs.empty or comparison.empty or "group_id" not in runs:
        return None
    compared = runs[runs["group_id"].isin(comparison["group_id"].dropna())]
    reduced = [
        what
        for column, what in (
            ("source", "the embedded data sample"),
            ("limit_train", "limit_train"),
            ("limit_test", "limit_test"),
        )
        if column in compared
        and (compared[column] == "sample" if column == "source" else compared[column].notna()).any()
    ]
    if not reduced:
        return None
    return (
        f"not a reproduction: measured with {' and '.join(reduced)}, not the full data the published values come from"
    )


def citation_line(reference: Reference) -> str:
    """'Han Xiao, Kashif Rasul, Roland Vollgraf (2017), Fashion-MNIST: ..., Table 3: https://arxiv.org/abs/1708.07747'."""
    cited = reference.citation
    return f"{cited.authors} ({cited.year}), {cited.title}, {reference.table}: {cited.url}"


def read_reference(config: dict[str, Any]) -> Reference | None:
    """The reference block of a config.yaml's content, validated; None where it has none. ValueError (pydantic's
    ValidationError) when it does not validate."""
    block = config.get("reference")
    return None if block is None else Reference.model_validate(block)


def compare(reference: Reference, runs: pd.DataFrame) -> pd.DataFrame:
    """Per published value: its group among `runs` (results.csv's rows), the measured mean over the group's
    finished runs with its widened interval, the difference and whether they agree (COLUMNS)."""
    finished = runs[runs["status"] == RunStatus.FINISHED] if not runs.empty else runs
    rows = []
    for index, entry in enumerate(reference.published):
        group = finished[matching(finished, entry.match)] if not finished.empty else finished
        groups = group["group_id"].unique() if not group.empty else []
        values = np.array([], dtype=float)
        if len(groups) == 1 and reference.metric in group:  # two groups: a folder holding runs of other configs
            values = pd.to_numeric(group[reference.metric], errors="coerce").dropna().to_numpy(dtype=float)
        n_test = float(pd.to_numeric(group["n_test"], errors="coerce").max()) if len(values) else math.nan
        rows.append(
            {
                "entry": index,
                # The published value's group as its config names it: what the report shows when no run has it.
                "match": ", ".join(f"{key}={match_text(value)}" for key, value in entry.match.items()),
                "group_id": groups[0] if len(groups) == 1 else None,
                "metric": reference.metric,
                "published": entry.value,
                "published_spread": entry.spread,
                **agreement(entry.value, values, n_test, reference.metric),
                "source": entry.source,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def agreement(published: float, values: np.ndarray, n_test: float, metric: str) -> dict[str, Any]:
    """The measured side of one comparison: n, mean, the seeds' 95% interval and spread, the binomial term, the
    widened interval, the difference (measured - published), whether the published value lies inside, and the
    check's half-width (the ± beside the answer)."""
    n = len(values)
    if n == 0:
        unknown = ["measured", "ci_low", "ci_high", "sd", "binomial", "agree_low", "agree_high", "difference"]
        return {"n": 0, **dict.fromkeys(unknown, math.nan), "agrees": None, "agree_half_width": math.nan}
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else math.nan
    low, high = (float(x[0]) for x in stats.mean_intervals(np.array([mean]), np.array([sd]), np.array([n])))
    binomial = 0.0
    if metric in BINOMIAL_METRICS and n_test > 0:
        binomial = binomial_half_width(mean, n_test)
    if n == 1:  # no spread over seeds: the binomial interval alone
        low = high = mean
    agree_low, agree_high = max(low - binomial, 0.0), min(high + binomial, 1.0)  # a share never leaves [0, 1]
    agrees = None if agree_low == agree_high else bool(agree_low <= published <= agree_high)
    return {
        "n": n,
        "measured": mean,
        "ci_low": low if n > 1 else math.nan,
        "ci_high": high if n > 1 else math.nan,
        "sd": sd,
        "binomial": binomial,
        "agree_low": agree_low,
        "agree_high": agree_high,
        "difference": mean - published,
        "agrees": agrees,
        "agree_half_width": check_half_width(sd, n, binomial),
    }


def binomial_half_width(share: float, n_test: float) -> float:
    """The test set's own 95% error of a share measured on `n_test` images: 1.96 * sqrt(p (1 - p) / n_test)."""
    return Z95 * math.sqrt(share * (1 - share) / n_test)


def check_half_width(sd: float, seeds: int, binomial: float) -> float:
    """How far from the measured mean a published value may lie and still agree, before [0, 1] clips it: the
    Student-t 95% half-width of `seeds` seeds that spread by `sd`, plus the binomial term; with one seed (or no
    spread known) the binomial term alone."""
    if seeds < 2 or math.isnan(sd):
        return binomial
    return float(student_t.ppf(0.975, seeds - 1) * sd / math.sqrt(seeds)) + binomial


def more_seeds_line(comparison: pd.DataFrame) -> str | None:
    """How many seeds a tighter check needs, from the spread measured: the check's half-width at each of
    MORE_SEEDS seeds were the seeds to spread as the measured ones did, and the binomial floor no seed count
    lowers. None where no compared group has two seeds (no spread measured) or every one has the most."""
    measured = comparison[(comparison["n"] >= 2) & comparison["sd"].notna()] if not comparison.empty else comparison
    counts = [count for count in MORE_SEEDS if not measured.empty and count > measured["n"].max()]
    if not counts:
        return None

    def span(values: list[float]) -> str:
        low, high = min(values), max(values)
        return f"±{low:.4f}" if f"{low:.4f}" == f"{high:.4f}" else f"±{low:.4f} to ±{high:.4f}"

    rows = list(zip(measured["sd"], measured["binomial"]))
    at = [f"{span([check_half_width(sd, count, b) for sd, b in rows])} at {count}" for count in counts]
    floor = span([b for _, b in rows])
    sds = span([sd for sd, _ in rows]).replace("±", "")
    return (
        f"a tighter check takes more seeds: at the spread measured (sd {sds}), the check would be "
        + ", ".join(at)
        + " seeds"
        + (f"; never below the test set's own {floor}" if any(b > 0 for _, b in rows) else "")
    )


def experiment_comparison(exp_dir: Path, runs: pd.DataFrame, notes: list[str]) -> tuple[Reference | None, pd.DataFrame]:
    """The reference of an experiment folder's config.yaml and its comparison with `runs`; a note (and no
    comparison) when config.yaml cannot be read or its reference block does not validate."""
    import yaml

    from actbench import results

    empty = pd.DataFrame(columns=COLUMNS)
    try:
        reference = read_reference(results.read_config(exp_dir))
    except FileNotFoundError:  # a folder written before config.yaml existed, or by hand
        return None, empty
    except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        notes.append(f"{exp_dir / results.CONFIG}: reference not read ({_problem(exc)}); no published values shown")
        return None, empty
    return reference, empty if reference is None else compare(reference, runs)


def _problem(exc: Exception) -> str:
    """The first problem of a config.yaml that cannot be read: the field and what is wrong, for a reference block."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"reference.{'.'.join(map(str, error['loc']))}: {error['msg']}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
