"""How good actbench's time estimates are, and the packing constant they use.

    python benchmarks/bench_estimates.py packing [--repeats 1]
    python benchmarks/bench_estimates.py table [--configs NAME ...] [--set KEY=VALUE ...]

`packing` measures what a run costs in a pack of K against alone (actbench.costs.PACK_FACTOR): 8 runs of the
MLP 128-64 and of the default CNN on the MNIST sample that ships in the package, 2 epochs, trained
in this process as `actbench run` trains them, with --pack off and with --pack 2, 4 and 8
(alternating). Each run's seconds are its metrics.json run_seconds (a packed run's: its share of its
pack's wall time), the very number the estimator learns from. It prints each model's seconds per run
by pack size and as a fraction of --pack off, and PACK_FACTOR: the two models' geometric mean by pack
size (paste it into actbench/costs.py).

`table`: for each shipped config (configs/*.yaml), packed (--pack auto) and --pack off, in a fresh
results folder: (a) the dry run's estimate with nothing recorded (the cost model) against the
measured wall time of `actbench run`, then (b) the same in another fresh folder after (a) recorded
its runs (the dry run reads them through --results-dir pointing at a root holding (a)'s runs; the
real run writes into its own fresh folder). Each `actbench run` is a fresh process timed whole,
its start-up included, as a user waits for it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACK_SIZES = [2, 4, 8]


def packing(args: argparse.Namespace, tmp: Path) -> dict:
    from actbench import costs, results
    from actbench.config import ExperimentConfig
    from actbench.sweep import run_sweep

    raw: dict[str, dict[str, list[float]]] = {}
    models = {"mlp": {"type": "mlp", "hidden_units": [128, 64]}, "cnn": {"type": "cnn"}}
    for repeat in range(args.repeats):
        for kind, model in models.items():
            for option in ["off", *map(str, PACK_SIZES)]:
                config = ExperimentConfig(
                    name=f"pack_{kind}_{option}_{repeat}",
                    datasets=["mnist"],
                    data={"source": "sample"},
                    models=[model],
                    hidden_activations=["relu", "tanh", "elu", "sigmoid"],
                    training={"epochs": 2},
                    seeds=2,
                )
                run_sweep(config, tmp, pack=option)
                exp_dir = results.experiment_dir(tmp, config.name)
                seconds = [results.read_run(d)[1]["run_seconds"] for d in results.run_directories(exp_dir)]
                raw.setdefault(kind, {}).setdefault(option, []).extend(seconds)
    print(f"MNIST sample, 2 epochs, 8 runs per setting; {os.cpu_count()} cores; median run_seconds per run")
    print(f"{'model':6}{'pack':>6}{'s/run':>8}{'of alone':>10}")
    ratios: dict[int, list[float]] = {}
    for kind, ways in raw.items():
        alone = statistics.median(ways["off"])
        print(f"{kind:6}{'off':>6}{alone:8.2f}")
        for size in PACK_SIZES:
            packed = statistics.median(ways[str(size)])
            ratios.setdefault(size, []).append(packed / alone)
            print(f"{kind:6}{size:6}{packed:8.2f}{packed / alone:10.2f}")
    table = {1: 1.0, **{size: round(statistics.geometric_mean(values), 2) for size, values in ratios.items()}}
    print(f"PACK_FACTOR = {table}  # the models' geometric mean; costs.py holds {costs.PACK_FACTOR}")
    return raw


ESTIMATE = re.compile(r"^estimated (\S+) ")


def dry_run_seconds(config: Path, results_dir: Path, options: list[str]) -> tuple[float, str]:
    """The dry run's total, in seconds, and its line."""
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "actbench",
            "run",
            str(config),
            "--dry-run",
            "--results-dir",
            str(results_dir),
            *options,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("estimated "))
    return float(re.search(r"\((\d+) s\b", line).group(1)) if "(" in line else 0.0, line  # type: ignore[union-attr]


def timed_run(config: Path, results_dir: Path, options: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "actbench", "run", str(config), "-q", "--results-dir", str(results_dir), *options],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    return time.perf_counter() - started


def table(args: argparse.Namespace, tmp: Path) -> list[dict]:
    rows = []
    overrides = [item for value in args.set for item in ("--set", value)]
    for name in args.configs:
        config = ROOT / "configs" / f"{name}.yaml"
        for pack in ("auto", "off"):
            options = ["--pack", pack, *overrides, *args.extra]
            first = tmp / f"{name}-{pack}-a"
            estimate_a, line_a = dry_run_seconds(config, first, options)
            wall_a = timed_run(config, first, options)
            # (b): the dry run reads the runs (a) recorded (a root whose experiment folder is (a)'s),
            # the real run trains everything again in a fresh folder.
            second = tmp / f"{name}-{pack}-b"
            estimate_b, line_b = dry_run_seconds(config, first, options)
            wall_b = timed_run(config, second, options)
            for case, estimate, wall, line in (("a", estimate_a, wall_a, line_a), ("b", estimate_b, wall_b, line_b)):
                row = {"config": name, "pack": pack, "case": case, "estimate": estimate, "wall": wall, "line": line}
                rows.append(row)
                print(json.dumps(row), flush=True)
            shutil.rmtree(first), shutil.rmtree(second)
    print(f"{os.cpu_count()} cores; overrides: {' '.join(overrides + args.extra) or 'none'}")
    print("| config | --pack | recorded runs | estimated s | measured s | measured / estimated |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        recorded = "none (cost model)" if row["case"] == "a" else "the first run's"
        print(
            f"| `{row['config']}` | {row['pack']} | {recorded} | {row['estimate']:.0f} | {row['wall']:.0f} | "
            f"{row['wall'] / row['estimate']:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["packing", "table"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--configs",
        nargs="+",
        default=sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")),
        help="shipped config names (configs/NAME.yaml)",
    )
    parser.add_argument("--set", action="append", default=[], help="an override for every config, as actbench's --set")
    parser.add_argument("--extra", nargs="*", default=[], help="more actbench run options for every config")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = {"packing": packing, "table": table}[args.part](args, Path(tmp))
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
