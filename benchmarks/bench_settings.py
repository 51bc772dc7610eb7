"""What each training setting costs: seconds per epoch and test accuracy against the defaults. Prints a table.

    python benchmarks/bench_settings.py [--repeats 3] [--epochs 5] [--limit-train N]

Fashion-MNIST full (apt-get install dataset-fashion-mnist), MLP 128-64 relu, softmax, adam at 0.001,
batch 128, trained alone (as `--pack off`), seed 0. Each variant changes one setting of that
baseline (the momentum row also switches to SGD at 0.01, the only optimizer with Nesterov). Every
training runs in a fresh process (no variant inherits another's traced functions or warm caches),
the variants alternate within each repeat, and the table shows the median over repeats of
train_seconds / epochs_run and of the test accuracy, with the ratio of seconds to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MLP = "{type: mlp, hidden_units: [128, 64]"
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "batch_norm: before": [f"models=[{MLP}, batch_norm: before}}]"],
    "batch_norm: after": [f"models=[{MLP}, batch_norm: after}}]"],
    "l2: 1e-4": ["training.l2=1e-4"],
    "weight_decay: 0.004": ["training.weight_decay=0.004"],
    "sgd 0.01, momentum 0.9, nesterov": [
        "training.optimizer=sgd",
        "training.learning_rate=0.01",
        "training.momentum=0.9",
        "training.nesterov=true",
    ],
    "schedule: cosine": ["training.schedule=cosine"],
    "schedule: step every 2, x0.5": ["training.schedule={name: step, every: 2, factor: 0.5}"],
    "early_stopping: val_loss, patience 2": ["training.early_stopping={monitor: val_loss, patience: 2}"],
    "preprocessing: standardize": ["data.preprocessing=standardize"],
    "dropout 0.2 (standard)": [f"models=[{MLP}, dropout: 0.2}}]"],
    "dropout 0.2, alpha": [f"models=[{MLP}, dropout: 0.2, dropout_kind: alpha}}]"],
}


def config(epochs: int, limit_train: int | None) -> dict:
    data = {"source": "full", **({"limit_train": limit_train} if limit_train else {})}
    return {
        "name": "bench_settings",
        "datasets": ["fashion_mnist"],
        "data": data,
        "models": [{"type": "mlp", "hidden_units": [128, 64]}],
        "hidden_activations": ["relu"],
        "training": {"optimizer": "adam", "learning_rate": 0.001, "epochs": epochs, "batch_size": 128},
    }


def child(variant: str, epochs: int, limit_train: int | None) -> None:
    """Train the variant once in this process and print its figures as one JSON line."""
    from actbench.config import expand_runs, load_config, parse_set
    from actbench.datasets import load_dataset, split_dataset
    from actbench.training import train_alone as train_and_evaluate

    loaded = load_config(config(epochs, limit_train), [parse_set(text) for text in VARIANTS[variant]])
    (spec,) = expand_runs(loaded, {"fashion_mnist": "full"})
    data = split_dataset(load_dataset("fashion_mnist", "full"), spec.limit_train, None, spec.training.validation_split)
    metrics = train_and_evaluate(spec, data).metrics
    print(
        json.dumps(
            {
                "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"],
                "test_accuracy": metrics["test_accuracy"],
                "epochs_run": metrics["epochs_run"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs, args.limit_train)
        return
    figures: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for repeat in range(args.repeats):
        for name in VARIANTS:
            command = [sys.executable, __file__, "--child", name, "--epochs", str(args.epochs)]
            command += ["--limit-train", str(args.limit_train)] if args.limit_train else []
            done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ)
            figures[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1}/{args.repeats}: {name} done", file=sys.stderr)
    base = statistics.median(f["seconds_per_epoch"] for f in figures["baseline"])
    limit = f"--limit-train {args.limit_train}" if args.limit_train else "full"
    print(f"Fashion-MNIST {limit}, MLP 128-64 relu, {args.epochs} epochs, median of {args.repeats} processes each")
    print(f"{'setting':40} {'s/epoch':>8} {'ratio':>6} {'test acc':>9} {'epochs run':>10}")
    for name, rows in figures.items():
        seconds = statistics.median(f["seconds_per_epoch"] for f in rows)
        accuracy = statistics.median(f["test_accuracy"] for f in rows)
        epochs = "/".join(str(f["epochs_run"]) for f in rows)
        print(f"{name:40} {seconds:8.2f} {seconds / base:6.2f} {accuracy:9.4f} {epochs:>10}")


if __name__ == "__main__":
    main()
