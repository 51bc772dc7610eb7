"""What bounds scaling beyond one machine: the driver's own time per finished run, on a Ray instance with many logical CPUs.

    python benchmarks/bench_driver.py [--runs 400] [--cpus 64]

Real Ray tasks, the real object store and the real driver (claims, atomic writes of spec, files
and metrics, progress), but each task returns at once a record the size of a real one (a
300 KB predictions file) instead of training: so the wall time is all driver and Ray overhead,
which is what a cluster of many fast workers would meet. Prints seconds per finished run and
the share spent writing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from actbench import results
from actbench.config import ExperimentConfig
from actbench.context import TrainingContext
from actbench.executors.ray_cluster import RayCluster
from actbench.results import RunRecord
from actbench.sweep import run_sweep

OUTPUTS = np.random.default_rng(0).normal(size=(10_000, 10)).astype(np.float32)
TEST = results.TestOutputs(OUTPUTS, "linear", np.zeros(10_000), list("0123456789"), np.zeros((10, 10)))
FILES = results.run_files(results.RunOutputs([{"epoch": 1, "loss": 0.3}], TEST))


def stub(specs, data, request, threads) -> list[RunRecord]:  # Ray passes what the driver sent
    from actbench.config import run_id

    metrics = {
        "test_accuracy": 0.9,
        "test_loss": 0.3,
        "train_seconds": 0.0,
        "seconds_per_epoch": 0.0,
        "n_train": len(data.y_train),
    }
    return [RunRecord(run_id(spec), results.RunStatus.FINISHED, metrics, dict(FILES)) for spec in specs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--cpus", type=int, default=64)
    args = parser.parse_args()
    os.environ["RAY_ADDRESS"] = ""
    config = ExperimentConfig.model_validate(
        {
            "name": "bench_driver",
            "datasets": ["mnist"],
            "data": {"source": "sample"},
            "hidden_activations": ["relu"],
            "seeds": args.runs,
        }
    )
    writing = [0.0]
    save = results.save_record

    def timed_save(*a, **k):
        started = time.perf_counter()
        try:
            return save(*a, **k)
        finally:
            writing[0] += time.perf_counter() - started

    results.save_record = timed_save

    def cluster(context: TrainingContext) -> RayCluster:
        executor = RayCluster("local", context, retries=0, train=stub)
        executor.local_cpus = args.cpus
        return executor

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = run_sweep(config, Path(tmp), executor=cluster)
        wall = time.perf_counter() - started
    finished = summary.counts["finished"]
    print(
        f"{finished} runs on Ray local with {args.cpus} logical CPUs ({os.cpu_count()} real cores), tasks that return at once"
    )
    print(f"whole sweep {wall:.1f} s (Ray start included): {1000 * wall / finished:.1f} ms per finished run")
    print(f"driver writing records (spec, files, metrics; fsync each): {1000 * writing[0] / finished:.1f} ms per run")


if __name__ == "__main__":
    main()
