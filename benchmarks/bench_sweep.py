"""Sweep throughput: the same 4-run sweep serially, with --workers 2, with --ray local, and as the hand-written script.

    python benchmarks/bench_sweep.py [--repeats 2]

Fashion-MNIST full (apt-get install dataset-fashion-mnist), MLP 128-64, hidden relu, tanh,
sigmoid and elu, 5 epochs, one seed. Every variant is a fresh process, timed whole (start-up,
data loading, training, writing); the variants alternate within each repeat. Prints medians and
ratios. Targets on a 2-core machine: --workers 2 at most 0.7x serial, and the sweep at most 0.5x
the hand-written script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACTIVATIONS = ["relu", "tanh", "sigmoid", "elu"]
CONFIG = f"""
name: bench_sweep
datasets: [fashion_mnist]
data: {{source: full}}
models: [{{type: mlp, hidden_units: [128, 64]}}]
hidden_activations: [{", ".join(ACTIVATIONS)}]
training: {{optimizer: adam, learning_rate: 0.001, epochs: 5, batch_size: 128, validation_split: 0.1}}
seeds: [0]
"""
VARIANTS = {"serial": [], "--workers 2": ["--workers", "2"], "--ray local": ["--ray", "local"]}


def timed(command: list[str], **env: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **env})
    return time.perf_counter() - started, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    repeats = parser.parse_args().repeats
    seconds: dict[str, list[float]] = {name: [] for name in ["hand-written script", *VARIANTS]}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench_sweep.yaml"
        config.write_text(CONFIG)
        for repeat in range(repeats):
            wall, _ = timed([sys.executable, str(HERE / "plain_keras_sweep.py"), *ACTIVATIONS])
            seconds["hand-written script"].append(wall)
            for name, options in VARIANTS.items():
                results = Path(tmp) / f"results-{repeat}-{name.strip('-').replace(' ', '')}"
                command = [
                    sys.executable,
                    "-m",
                    "actbench",
                    "run",
                    str(config),
                    "--results-dir",
                    str(results),
                    "-q",
                    *options,
                ]
                wall, _ = timed(command, RAY_ADDRESS="")
                seconds[name].append(wall)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(
        f"Fashion-MNIST full, MLP 128-64, {len(ACTIVATIONS)} hidden activations x 5 epochs; "
        f"{os.cpu_count()} cores; whole-process seconds, median of {repeats}"
    )
    print(f"{'':22}{'seconds':>9}{'vs serial':>11}{'vs script':>11}")
    for name, value in median.items():
        print(f"{name:22}{value:9.1f}{value / median['serial']:11.2f}{value / median['hand-written script']:11.2f}")
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main()
