"""A run's own training time inside a pack: a deliberately slow activation against ReLU, packed and with
`--pack off`. Prints figures.

    python benchmarks/bench_member_time.py [--repeats 3] [--epochs 3]

Fashion-MNIST full (apt-get install dataset-fashion-mnist), MLP 256-256, relu and
`slow_activation:slow_relu` (benchmarks/slow_activation.py: ReLU after forty extra sines per unit),
2 seeds: the four runs packed (one pack) and one at a time (--pack off), each way a fresh process,
alternating. For each way the median train_seconds of each activation and their ratio (slow over relu);
the packed ratio's closeness to --pack off's is what the time per run inside a pack is judged by. Then
the same from the epochs after the first (history.csv's seconds), which leaves out the first epoch's
tracing and compiling: alone, only the first run of a structure in a process pays it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CONFIG = """
name: member_time
datasets: [fashion_mnist]
data: {{source: full}}
models: [{{type: mlp, hidden_units: [256, 256]}}]
hidden_activations: [relu, 'slow_activation:slow_relu']
training: {{epochs: {epochs}, batch_size: 128}}
seeds: 2
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    seconds: dict[str, dict[str, list[float]]] = {"packed": {}, "off": {}}
    later: dict[str, dict[str, list[float]]] = {"packed": {}, "off": {}}  # epochs 2 on
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "member_time.yaml"
        config.write_text(CONFIG.format(epochs=args.epochs))
        for repeat in range(args.repeats):
            for way, pack in (("packed", "auto"), ("off", "off")):
                results = Path(tmp) / f"{way}-{repeat}"
                command = [
                    sys.executable,
                    "-m",
                    "actbench",
                    "run",
                    str(config),
                    "--results-dir",
                    str(results),
                    "-q",
                    "--pack",
                    pack,
                ]
                subprocess.run(command, check=True, env=env)
                table = pd.read_csv(results / "member_time" / "results.csv")
                for activation, runs in table.groupby("hidden_activation_name"):
                    name = "slow" if "slow" in activation else "relu"
                    seconds[way].setdefault(name, []).extend(runs["train_seconds"].tolist())
                    for run_id in runs["run_id"]:
                        history = pd.read_csv(results / "member_time" / "runs" / run_id / "history.csv")
                        later[way].setdefault(name, []).append(float(history["seconds"].iloc[1:].sum()))
                if way == "packed":
                    assert set(table["pack_size"]) == {4}, table["pack_size"]
    print(
        f"Fashion-MNIST full, MLP 256-256, {args.epochs} epochs, 2 seeds; {os.cpu_count()} cores; train_seconds, median of {args.repeats} x 2 runs"
    )
    for what, figures in (("train_seconds", seconds), (f"epochs 2-{args.epochs} (history.csv)", later)):
        print(what)
        ratios = {}
        for way, by_activation in figures.items():
            relu, slow = (statistics.median(by_activation[name]) for name in ("relu", "slow"))
            ratios[way] = slow / relu
            print(f"  {way:7} relu {relu:6.2f} s   slow {slow:6.2f} s   slow/relu {ratios[way]:.2f}")
        print(f"  packed ratio / --pack off ratio: {ratios['packed'] / ratios['off']:.2f}")
    print(json.dumps({"train_seconds": seconds, "later_epochs": later}))


if __name__ == "__main__":
    main()
