"""What diagnostics cost: the same runs with `diagnostics` off and on, in one process. Prints figures.

    python benchmarks/bench_diagnostics.py [--repeats 3] [--epochs 5] [--source full]

Uses the deep MLP of configs/deep_activations.yaml (8 x 128) with relu and sigmoid, and the
default CNN, on Fashion-MNIST (full data needs e.g. apt-get install dataset-fashion-mnist;
--source sample works anywhere). Reports medians of fit seconds without diagnostics, fit seconds
with them (measuring included), the seconds spent measuring, and the overhead in percent. Off,
no callback is added at all, so "off" is the plain training cost.
"""

from __future__ import annotations

import argparse
import statistics

from actbench.native_logs import quiet_tensorflow

quiet_tensorflow()

from actbench.config import ExperimentConfig, expand_runs  # noqa: E402 - after TensorFlow is told to be quiet
from actbench.datasets import load_dataset, split_dataset  # noqa: E402
from actbench.training import train_alone as train_and_evaluate  # noqa: E402

MODELS = {
    "mlp 128x8": {"type": "mlp", "hidden_units": [128] * 8},
    "cnn 32-64": {"type": "cnn"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--source", default="full", choices=["full", "sample"])
    args = parser.parse_args()
    raw = load_dataset("fashion_mnist", args.source)
    data = split_dataset(raw, None, None, 0.1)
    print(
        f"fashion_mnist/{args.source}: {len(data.y_train)} training images, {args.epochs} epochs, median of {args.repeats}"
    )
    print(f"{'model':10} {'hidden':8} {'off: fit s':>11} {'on: fit s':>10} {'measuring s':>12} {'overhead':>9}")
    for label, model in MODELS.items():
        for activation in ("relu", "sigmoid"):
            off, on, measuring = [], [], []
            for _ in range(args.repeats):
                for diagnostics in (False, True):  # alternate, so drift hits both alike
                    spec = expand_runs(
                        ExperimentConfig(
                            name="bench",
                            datasets=["fashion_mnist"],
                            models=[model],
                            hidden_activations=[activation],
                            training={"epochs": args.epochs},
                            diagnostics=diagnostics,
                        ),
                        {"fashion_mnist": args.source},
                    )[0]
                    result = train_and_evaluate(spec, data)
                    wall = result.metrics["train_seconds"] + result.metrics.get("diagnostics_seconds", 0.0)
                    (on if diagnostics else off).append(wall)
                    if diagnostics:
                        measuring.append(result.metrics["diagnostics_seconds"])
            off_s, on_s, measuring_s = (statistics.median(v) for v in (off, on, measuring))
            print(
                f"{label:10} {activation:8} {off_s:11.2f} {on_s:10.2f} {measuring_s:12.2f} {100 * (on_s - off_s) / off_s:8.1f}%"
            )


if __name__ == "__main__":
    main()
