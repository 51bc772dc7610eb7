"""What a notebook keeps after calling actbench.run again and again: the process's resident memory after
each of several sweeps in one process. Prints figures.

    python benchmarks/bench_memory.py [--calls 5] [--limit-train 20000] [--vary]

Fashion-MNIST full (apt-get install dataset-fashion-mnist), MLP 128-64, relu and tanh, one seed, one
epoch, each call into a results folder of its own (so each trains); with --vary each call trains on
5,000 more images than the one before (another cut of the data, as a notebook's next experiment
would). The resident set size (RSS, from
/proc/self/statm) after import, then after each call, after gc.collect(); a library that lets go of a
sweep's data and models at its end holds about what it held after the first call.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
from pathlib import Path


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--limit-train", type=int, default=20000)
    parser.add_argument("--vary", action="store_true", help="5,000 more training images each call")
    args = parser.parse_args()
    import actbench

    config = {
        "name": "memory",
        "datasets": ["fashion_mnist"],
        "data": {"source": "full", "limit_train": args.limit_train},
        "models": [{"type": "mlp", "hidden_units": [128, 64]}],
        "hidden_activations": ["relu", "tanh"],
        "training": {"epochs": 1},
        "seeds": [0],
    }
    print(f"after import: {rss_mib():.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        for call in range(1, args.calls + 1):
            if args.vary:
                config["data"] = {"source": "full", "limit_train": args.limit_train + 5000 * (call - 1)}
            actbench.run(config, results_dir=Path(tmp) / str(call))
            gc.collect()
            print(f"after call {call}: {rss_mib():.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
