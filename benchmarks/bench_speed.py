"""Speed benchmark: `actbench run` against the plain Keras script on equal work. Prints figures.

    python benchmarks/bench_speed.py [--repeats 3]

Needs the full Fashion-MNIST (e.g. apt-get install dataset-fashion-mnist). Each repeat runs both
as fresh processes, alternating, with the same seed; reported are medians of the training time
(fit only, as each measures it), the whole-process wall time, and test accuracy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actbench import results

HERE = Path(__file__).resolve().parent
CONFIG = """
name: bench_speed
datasets: [fashion_mnist]
data: {source: full}
models: [{type: mlp, hidden_units: [128, 64]}]
hidden_activations: [relu]
training: {optimizer: adam, learning_rate: 0.001, epochs: 5, batch_size: 128, validation_split: 0.1}
seeds: [0]
"""


def run_plain() -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(HERE / "plain_keras_sweep.py"), "relu"], capture_output=True, text=True, check=True
    )
    (run,) = json.loads(out.stdout.strip().splitlines()[-1])["runs"]
    return {**run, "wall_seconds": time.perf_counter() - started}


def run_actbench(workdir: Path) -> dict:
    config = workdir / "bench_speed.yaml"
    config.write_text(CONFIG)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "actbench",
            "run",
            str(config),
            "--results-dir",
            str(workdir / "results"),
            "--force",
            "-q",
        ],
        check=True,
    )
    wall = time.perf_counter() - started
    metrics = results.read_metrics(results.run_directories(workdir / "results" / "bench_speed")[0])
    return {"train_seconds": metrics["train_seconds"], "test_accuracy": metrics["test_accuracy"], "wall_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    plain, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            plain.append(run_plain())
            ours.append(run_actbench(Path(tmp)))

    def median(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    print(
        f"Fashion-MNIST, MLP 128-64 relu/softmax, adam, batch 128, 5 epochs, 10% validation; {repeats} repeats, medians"
    )
    print(f"{'':22}{'plain Keras':>14}{'actbench':>12}{'ratio':>9}")
    for key, label in (("train_seconds", "training seconds"), ("wall_seconds", "whole process s")):
        a, b = median(plain, key), median(ours, key)
        print(f"{label:22}{a:14.2f}{b:12.2f}{b / a:9.2f}")
    print(f"{'test accuracy':22}{median(plain, 'test_accuracy'):14.4f}{median(ours, 'test_accuracy'):12.4f}")


if __name__ == "__main__":
    main()
