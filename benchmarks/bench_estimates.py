"""How good actbench's time estimates are, and the packing constant they use.

    python benchmarks/bench_estimates.py packing [--repeats 1]
    python benchmarks/bench_estimates.py table [--configs NAME ...] [--set KEY=VALUE ...]

`packing` measures what a run costs in a pack of K against alone (actbench.costs.PACK_FIXED_SHARE): 8 runs of the
MLP 128-64 and of the default CNN on the MNIST sample that ships in the package, 2 epochs, trained
in this process as `actbench run` trains them, with --pack off and with --pack 2, 4 and 8
(alternating). Each run's seconds are its metrics.json run_seconds (a packed run's: its share of its
pack's wall time), the very number the estimator learns from. It prints each model's seconds per run
by pack size and as a fraction of --pack off, and from that fraction the share of the cost model's
fixed part per run that a packed run still pays, taking the rest of its cost (by the cost model) as
alone's: PACK_FIXED_SHARE, the two models' mean (paste it into actbench/costs.py).

`table`: for each shipped config (configs/*.yaml; the heaviest cut down, see CUTS), packed
(--pack auto) and --pack off: (a) in a fresh results folder, the dry run's estimate with nothing
recorded (the cost model) against the wall time of `actbench run` there; then (b) in another fresh
folder holding (a)'s experiment folder under another name, as a second experiment on the same
results root would find it (the estimator reads every experiment under --results-dir), the same
again. Each `actbench run` is a fresh process timed whole, start-up and data loading included, as
a user waits for it; the table also gives the seconds its runs recorded (run_seconds summed), what
the estimates are of.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACK_SIZES = [2, 4, 8]


MODELS = {"mlp": {"type": "mlp", "hidden_units": [128, 64]}, "cnn": {"type": "cnn"}}


def packing_config(kind: str, option: str, repeat: int):  # -> ExperimentConfig
    from actbench.config import ExperimentConfig

    return ExperimentConfig(
        name=f"pack_{kind}_{option}_{repeat}",
        datasets=["mnist"],
        data={"source": "sample"},
        models=[MODELS[kind]],
        hidden_activations=["relu", "tanh", "elu", "sigmoid"],
        training={"epochs": 2},
        seeds=2,
    )


def packing(args: argparse.Namespace, tmp: Path) -> dict:
    from actbench import results
    from actbench.sweep import run_sweep

    if args.raw:  # the printout again from a run's JSON (its last line)
        raw = json.loads(Path(args.raw).read_text().splitlines()[-1])
        print_packing(raw)
        return raw
    raw: dict[str, dict[str, list[float]]] = {}
    for repeat in range(args.repeats):
        for kind in MODELS:
            for option in ["off", *map(str, PACK_SIZES)]:
                config = packing_config(kind, option, repeat)
                run_sweep(config, tmp, pack=option if option == "off" else int(option))  # a fresh context each
                exp_dir = results.experiment_dir(tmp, config.name)
                seconds = [results.read_run(d)[1]["run_seconds"] for d in results.run_directories(exp_dir)]
                raw.setdefault(kind, {}).setdefault(option, []).extend(seconds)
    print_packing(raw)
    return raw


def print_packing(raw: dict) -> None:
    """Per model and pack size: seconds per run, as a fraction of alone, and the share of the cost
    model's per_run a packed run still pays (the rest of its cost taken as alone's)."""
    from actbench import costs
    from actbench.config import expand_runs

    print(f"MNIST sample, 2 epochs, 8 runs per setting; {os.cpu_count()} cores; median run_seconds per run")
    print(f"{'model':6}{'pack':>6}{'s/run':>8}{'of alone':>10}{'fixed share':>13}")
    shares: dict[int, list[float]] = {}
    for kind, ways in raw.items():
        spec = expand_runs(packing_config(kind, "off", 0), {"mnist": "sample"})[0].as_json()
        fixed = costs.MEASURED.per_run / costs.model_seconds(spec)  # of the run's cost, alone, by the cost model
        alone = statistics.median(ways["off"])
        print(f"{kind:6}{'off':>6}{alone:8.2f}")
        for size in PACK_SIZES:
            ratio = statistics.median(ways[str(size)]) / alone
            share = 1 - (1 - ratio) / fixed  # ratio = share * fixed + (1 - fixed)
            shares.setdefault(size, []).append(share)
            print(f"{kind:6}{size:6}{ratio * alone:8.2f}{ratio:10.2f}{share:13.2f}")
    table = {1: 1.0, **{size: round(statistics.mean(values), 2) for size, values in shares.items()}}
    print(f"PACK_FIXED_SHARE = {table}  (the models' mean; costs.py holds {costs.PACK_FIXED_SHARE})")


# What the heaviest shipped configs run with here, so that the table takes minutes, not hours.
CUTS = {
    "activation_catalogue": ["seeds=1"],
    "deep_activations": ["training.epochs=1", "seeds=1"],
    "fashion_mnist": ["training.epochs=1", "data.limit_train=5000", "seeds=1"],
}


def estimated(config_path: Path, overrides: list[str], root: Path, pack: str) -> float:
    """The dry run's total (`actbench run CONFIG --dry-run --results-dir ROOT --pack PACK`), unrounded."""
    from actbench.config import load_config, parse_set
    from actbench.planning import estimate_plan, plan_runs

    config = load_config(config_path, [parse_set(text) for text in overrides])
    planned, _ = plan_runs(config, root, None)
    return estimate_plan(planned, root, pack, 1)[1].total


def timed_run(config: Path, overrides: list[str], root: Path, pack: str) -> tuple[float, float]:
    """`actbench run`'s wall seconds as a fresh process, and the seconds its runs recorded (run_seconds summed)."""
    from actbench import results

    sets = [item for text in overrides for item in ("--set", text)]
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "actbench", "run", str(config), "-q", "--results-dir", str(root), "--pack", pack, *sets],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    wall = time.perf_counter() - started
    (exp_dir,) = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith("previous_")]
    runs = sum(results.read_run(d)[1]["run_seconds"] for d in results.run_directories(exp_dir))
    return wall, runs


def table(args: argparse.Namespace, tmp: Path) -> list[dict]:
    rows = []
    for name in args.configs:
        config = ROOT / "configs" / f"{name}.yaml"
        overrides = CUTS.get(name, []) + args.set
        for pack in ("auto", "off"):
            first, second = tmp / f"{name}-{pack}-a", tmp / f"{name}-{pack}-b"
            estimate_a = estimated(config, overrides, first, pack)
            wall_a, runs_a = timed_run(config, overrides, first, pack)
            # (b): a fresh results folder that holds (a)'s runs as another experiment: the estimator
            # reads every experiment under --results-dir, and this one trains everything again.
            (exp_dir,) = list(first.iterdir())
            second.mkdir()
            shutil.copytree(exp_dir, second / f"previous_{exp_dir.name}")
            estimate_b = estimated(config, overrides, second, pack)
            wall_b, runs_b = timed_run(config, overrides, second, pack)
            for case, estimate, wall, runs in (("a", estimate_a, wall_a, runs_a), ("b", estimate_b, wall_b, runs_b)):
                row = {"config": name, "set": overrides, "pack": pack, "case": case}
                row.update(estimate=round(estimate, 1), wall=round(wall, 1), runs=round(runs, 1))
                rows.append(row)
                print(json.dumps(row), flush=True)
            shutil.rmtree(first), shutil.rmtree(second)
    print(f"{os.cpu_count()} cores; whole `actbench run` wall seconds against the dry run's estimate")
    print(
        "| config | --pack | recorded runs | estimated s | measured s | measured / estimated | runs' own s | own / estimated |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        recorded = "none (cost model)" if row["case"] == "a" else "the first run's"
        cut = f" ({', '.join(row['set'])})" if row["set"] else ""
        print(
            f"| `{row['config']}`{cut} | {row['pack']} | {recorded} | {row['estimate']:.0f} | {row['wall']:.0f} | "
            f"{row['wall'] / row['estimate']:.2f} | {row['runs']:.0f} | {row['runs'] / row['estimate']:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["packing", "table"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--raw", help="packing: print again from the output a run saved (its last line is its JSON)")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")),
        help="shipped config names (configs/NAME.yaml)",
    )
    parser.add_argument("--set", action="append", default=[], help="an override for every config, as actbench's --set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = {"packing": packing, "table": table}[args.part](args, Path(tmp))
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
