"""Fit actbench.costs' cost model: train runs of different shapes, time them, fit the constants.

    python benchmarks/bench_cost_model.py [--dataset fashion_mnist] [--source full]

Trains one run per shape below through actbench's own runner (as `actbench run` does), takes each
run's wall seconds as the estimator does (run_seconds in metrics.json), fits CostModel's five
constants by non-negative least squares, and prints each run's measured seconds beside the fitted model's and the current constants'.
Paste the printed CostModel into actbench/costs.py (MEASURED).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from actbench import costs, results
from actbench.config import ExperimentConfig
from actbench.sweep import run_sweep

# (model, batch size, training images, epochs): dense and convolutional models of several sizes,
# small and large batches, short and long runs, so that each constant is pinned by some runs.
SHAPES = [
    ({"type": "mlp", "hidden_units": [128, 64]}, 128, 5000, 1),
    ({"type": "mlp", "hidden_units": [128, 64]}, 128, 60000, 3),
    ({"type": "mlp", "hidden_units": [128, 64]}, 32, 60000, 1),
    ({"type": "mlp", "hidden_units": [256, 128], "dropout": 0.2}, 128, 60000, 2),
    ({"type": "mlp", "hidden_units": [512, 512]}, 128, 60000, 2),
    ({"type": "mlp", "hidden_units": [128] * 8}, 128, 60000, 2),
    ({"type": "cnn"}, 128, 3000, 1),
    ({"type": "cnn"}, 128, 20000, 1),
    ({"type": "cnn", "filters": [16, 32]}, 128, 20000, 1),
    ({"type": "cnn"}, 64, 10000, 1),
]


def features(spec: dict) -> list[float]:
    dense, conv = costs.multiply_adds(spec)
    amount = costs.work(spec)
    return [1.0, amount, amount * dense, amount * conv, costs.compiled_calls(spec)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--source", default="full")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for index, (model, batch, images, epochs) in enumerate(SHAPES):
            config = ExperimentConfig(
                name=f"shape{index}",
                datasets=[args.dataset],
                data={"source": args.source, "limit_train": images},
                models=[model],
                hidden_activations=["relu"],
                training={"epochs": epochs, "batch_size": batch},
            )
            run_sweep(config, root)
            directory = results.run_directories(root / config.name)[0]
            spec, metrics = results.read_run(directory)
            seconds = costs.wall_seconds(metrics)
            rows.append((spec, seconds))
            print(f"  {index}: {model} batch {batch}, {images} images, {epochs} epochs: {seconds:.2f} s", flush=True)
    matrix = np.array([features(spec) for spec, _ in rows])
    measured = np.array([seconds for _, seconds in rows])
    # Relative errors matter (a 2 s run off by 1 s is as bad as a 200 s run off by 100 s): weight by 1/seconds.
    weights = 1 / measured
    fitted, _ = nnls(matrix * weights[:, None], measured * weights)
    model = costs.CostModel(*(float(f"{value:.3g}") for value in fitted))
    print(f"\nfitted: {model}\n")
    print(f"{'model':40} {'batch':>5} {'images':>6} {'epochs':>6} {'measured s':>10} {'fitted s':>9} {'current s':>9}")
    for spec, seconds in rows:
        label = f"{spec['model']['type']} " + "-".join(
            map(str, spec["model"].get("hidden_units") or spec["model"].get("filters"))
        )
        print(
            f"{label:40} {spec['training']['batch_size']:>5} {spec['limit_train']:>6} {spec['training']['epochs']:>6} "
            f"{seconds:>10.2f} {costs.model_seconds(spec, model):>9.2f} {costs.model_seconds(spec):>9.2f}"
        )
    errors = [abs(costs.model_seconds(spec, model) / seconds - 1) for spec, seconds in rows]
    print(f"\nfitted model: median error {np.median(errors):.0%}, largest {max(errors):.0%}")


if __name__ == "__main__":
    main()
