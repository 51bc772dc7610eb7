"""Report speed on a large sweep: 1,000 constructed runs (timing only; the numbers in them mean nothing).

    python benchmarks/bench_report.py [--runs 1000]

Builds an experiment folder of N runs (20 activations x 2 models x N/40 seeds) through actbench's
own config expansion and results writer, then times `actbench report` as a fresh process: the
printed tables (--no-plots, a view that writes nothing), and the saved report with its plots.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actbench.activations import CATALOGUE
from actbench.config import ExperimentConfig, expand_runs, run_id
from actbench.results import RunOutputs, RunRecord, run_files, save_record


def build(exp_root: Path, runs: int) -> None:
    names = [n for n in CATALOGUE if n != "softmax"][:16] + [
        {"name": "leaky_relu", "alpha": a} for a in (0.05, 0.1, 0.2, 0.3)
    ]
    config = ExperimentConfig(
        name="big",
        datasets=["mnist"],
        models=[{"type": "mlp"}, {"type": "cnn"}],
        hidden_activations=names,
        seeds=max(1, runs // 40),
    )
    rng = random.Random(0)
    for spec in expand_runs(config, {"mnist": "full"})[:runs]:
        identifier = run_id(spec)
        history = [
            {
                "epoch": e,
                "loss": 1 / e,
                "accuracy": 0.9,
                "val_loss": 1 / e,
                "val_accuracy": 0.9 + e / 100,
                "seconds": 1.0,
            }
            for e in range(1, 6)
        ]
        metrics = {
            "test_accuracy": rng.uniform(0.9, 0.99),
            "test_loss": 0.3,
            "best_val_accuracy": 0.95,
            "best_epoch": 5,
            "train_seconds": 5.0,
            "seconds_per_epoch": 1.0,
        }
        save_record(
            exp_root / "big", spec.as_json(), RunRecord(identifier, "finished", metrics, run_files(RunOutputs(history)))
        )


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), runs)
        base = [sys.executable, "-m", "actbench", "report", str(Path(tmp) / "big")]
        tables = min(timed(base + ["--no-plots"]) for _ in range(3))
        plots = timed(base)
    print(f"actbench report on {runs} runs ({runs // 40} seeds x 40 groups), whole process, best of 3:")
    print(f"  printed tables (--no-plots):                       {tables:.2f} s")
    print(f"  saved report: tables, summary.csv, report.md, plots: {plots:.2f} s (one try)")


if __name__ == "__main__":
    main()
