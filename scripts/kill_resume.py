"""SLOW, run by hand (minutes; not part of the test suite): kill sweeps at random moments, resume them, check the results.

    python scripts/kill_resume.py [--kills 2] [--seed 0] [--runs 4] [--pack auto|off]

For serial and --workers 2, and for kill -9 (the driver alone: its workers must die with it) and
SIGTERM (the whole process group, as a batch scheduler sends it), a tiny sweep on the embedded
sample is started as a subprocess and killed at a random moment (after a random number of its
runs finished, plus 0-6 s), `--kills` times, each time resumed by the next start; then it is run
to the end. Checked after every kill: the exit status (-9, or 143 for SIGTERM; a SIGTERM during
Python's start-up, before `run` handles it, kills with the signal itself, which a shell reports
as 143 too: counted as start-up), no process of the sweep left alive, every run that had finished
still there and not trained again later (its metrics.json untouched), no temporary file, and no
claim left but a kill -9's (the next start takes those over). At the end: every run finished
exactly once in results.csv, and every file of every run readable. Prints one line per kill and
the totals; exits 1 if anything was lost, duplicated or corrupt.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
name: kill
datasets: [mnist]
data: {{source: sample, limit_train: 300, limit_test: 100}}
models: [{{type: mlp, hidden_units: [16]}}]
hidden_activations: [{activations}]
training: {{epochs: 2, batch_size: 64}}
seeds: [0]
"""
ACTIVATIONS = ["relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "softsign"]


def start(config: Path, results: Path, workers: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "actbench", "run", str(config), "--results-dir", str(results), "-q", *workers]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def finished_runs(exp_dir: Path) -> dict[str, int]:
    """Run id -> its metrics.json's mtime (ns), for every run whose metrics.json exists."""
    runs = exp_dir / "runs"
    return (
        {d.name: (d / "metrics.json").stat().st_mtime_ns for d in runs.glob("*") if (d / "metrics.json").exists()}
        if runs.is_dir()
        else {}
    )


def problems_in(exp_dir: Path, allow_claims: bool) -> list[str]:
    """Temporary files, claims left, files that do not parse."""
    found = [f"temporary file left: {p}" for p in exp_dir.rglob("*.tmp")]
    claims = exp_dir / "claims"
    left = [p.name for p in claims.iterdir() if not p.name.startswith(".")] if claims.is_dir() else []
    if left and not allow_claims:
        found.append(f"claims left: {left}")
    for directory in (exp_dir / "runs").glob("*") if (exp_dir / "runs").is_dir() else []:
        if not (directory / "metrics.json").exists():
            continue  # incomplete: redone on resume
        try:
            json.loads((directory / "metrics.json").read_text())
            json.loads((directory / "spec.json").read_text())
            with open(directory / "history.csv", newline="") as file:
                assert list(csv.DictReader(file)), "history.csv is empty"
            with np.load(directory / "predictions.npz") as saved:
                saved["outputs"].sum()
        except Exception as exc:  # noqa: BLE001 - anything unreadable is what this script looks for
            found.append(f"{directory.name}: corrupt ({type(exc).__name__}: {exc})")
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def trial(
    mode: str, workers: list[str], how: str, kills: int, runs: int, rng: random.Random, folder: Path
) -> dict[str, int]:
    config = folder / f"{mode}-{how}.yaml".replace(" ", "").replace(",", "_")
    config.write_text(CONFIG.format(activations=", ".join(ACTIVATIONS[:runs])))
    results = folder / config.stem
    exp_dir = results / "kill"
    figures = {"kills": 0, "start-up": 0, "lost": 0, "retrained": 0, "corrupt": 0, "bad exit": 0, "orphans": 0}
    kept: dict[str, int] = {}
    for attempt in range(kills):
        process = start(config, results, workers)
        # A random moment in the sweep: once a random number of further runs has finished (0: during
        # start-up or the first run), plus up to 12 s more, so kills land in training, in writing, in
        # closing. Packed, the runs of a pack finish together: the kill comes 0-12 s after the start.
        further = rng.randint(0, max(runs - len(kept) - 1, 0)) if "off" in workers else 0
        started, wait_for = time.time(), len(kept) + further
        while process.poll() is None and len(finished_runs(exp_dir)) < wait_for:
            time.sleep(0.1)
        extra, killed = rng.uniform(0, 12), False
        try:
            process.wait(timeout=extra)
        except subprocess.TimeoutExpired:
            killed = True
            if how == "kill -9":
                os.kill(process.pid, signal.SIGKILL)
            else:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            figures["kills"] += 1
        output = process.stdout.read() if process.stdout else ""
        expected = {"kill -9": -signal.SIGKILL, "SIGTERM": 143}[how] if killed else 0
        if how == "SIGTERM" and process.returncode == -signal.SIGTERM:
            # Killed by the signal's default action while Python was still starting, before `run`
            # handles SIGTERM: a shell reports 143 all the same, and nothing had been claimed or written.
            figures["start-up"] += 1
        elif process.returncode != expected:
            figures["bad exit"] += 1
            print(f"    exit {process.returncode}, expected {expected}: {output.strip()[-300:]}")
        time.sleep(2)  # workers killed with their driver (PR_SET_PDEATHSIG) are gone by now
        if group_alive(process.pid):
            figures["orphans"] += 1
            os.killpg(process.pid, signal.SIGKILL)
        now = finished_runs(exp_dir)
        figures["lost"] += len(set(kept) - set(now))
        figures["retrained"] += sum(now[run] != mtime for run, mtime in kept.items() if run in now)
        issues = problems_in(exp_dir, allow_claims=how == "kill -9")
        figures["corrupt"] += len(issues)
        for issue in issues:
            print(f"    {issue}")
        moment = (
            f"killed after {time.time() - started:4.1f}s ({wait_for} runs done + {extra:.1f}s)"
            if killed
            else "ended before its kill"
        )
        print(
            f"  {mode:10} {how:7} attempt {attempt + 1} {moment}: exit {process.returncode}, {len(now)}/{runs} runs done"
        )
        kept = now
    process = start(config, results, workers)
    output, _ = process.communicate()
    now = finished_runs(exp_dir)
    figures["retrained"] += sum(now[run] != mtime for run, mtime in kept.items() if run in now)
    figures["lost"] += len(set(kept) - set(now))
    figures["corrupt"] += len(problems_in(exp_dir, allow_claims=False))
    with open(exp_dir / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    ids = [row["run_id"] for row in rows]
    complete = (
        process.returncode == 0
        and len(ids) == runs == len(set(ids))
        and {row["status"] for row in rows} == {"finished"}
    )
    figures["incomplete"] = 0 if complete else 1
    if not complete:
        print(
            f"    final run: exit {process.returncode}, {len(ids)} rows ({len(set(ids))} distinct): {output.strip()[-300:]}"
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=2, help="kills per trial before the final, uninterrupted run")
    parser.add_argument("--runs", type=int, default=4, help="runs in the sweep (at most 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pack", default="auto", help="--pack for the sweeps: auto (packed, the default) or off")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.time()
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode, workers in (("serial", []), ("workers 2", ["--workers", "2"])):
            for how in ("kill -9", "SIGTERM"):
                options = [*workers, "--pack", args.pack]
                figures = trial(f"{mode}, --pack {args.pack}", options, how, args.kills, args.runs, rng, Path(folder))
                print(f"{mode:10} {how:7}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
                for key, value in figures.items():
                    totals[key] = totals.get(key, 0) + value
    print(f"total ({time.time() - started:.0f}s): " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 1 if any(totals[k] for k in totals if k not in ("kills", "start-up")) else 0


if __name__ == "__main__":
    sys.exit(main())
