"""Packed training against one run at a time: wall time per run and peak memory by pack size, and a whole sweep.

    python benchmarks/bench_pack.py sizes [--models mlp cnn] [--sizes 1 2 4 8 16 32] [--limit-train N] [--repeats 1]
    python benchmarks/bench_pack.py sweep [--variants packed off packed-w2 off-w2 script] [--repeats 1]
    python benchmarks/bench_pack.py conv [--sizes 8]

Fashion-MNIST full (/usr/share/datasets/fashion-mnist/ or apt-get install dataset-fashion-mnist).
`sizes`: for each --sizes K, K runs of the MLP 128-64 or the default CNN, 2 epochs (the first K
activations up to 7, beyond that 7 activations x ceil(K/7) seeds, so K=8 trains 14), all in one
pack (`--pack RUNS`) and with `--pack off`: seconds per run and the process's peak resident memory
(`--limit-train N`: a stratified N of the training images, to time the CNN's larger packs in a bearable time).
`sweep`: 7 activations x 3 seeds, MLP 128-64, 5 epochs: packed (auto) and --pack off, serially and
with --workers 2, and the hand-written script (plain_keras_sweep.py, the same 21 fits one after another).
`conv`: the default CNN's two convolutions for K models, forward and backward, as a loop of K
convolutions in one tf.function (what a pack does: each model keeps its own Conv2D) against one
grouped convolution over the K models' stacked channels (input depth K*C, filter depth C).
Every variant is a fresh process, timed whole (start-up, data loading, training, testing, writing);
variants alternate within a repeat. Prints medians and ratios, then the raw numbers as JSON.
Targets on a 2-core machine: the sweep packed at most 0.5x --pack off with the same executor, and
actbench's fastest way at most 0.3x the hand-written script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACTIVATIONS = ["relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish"]
MODELS = {"mlp": "{type: mlp, hidden_units: [128, 64]}", "cnn": "{type: cnn}"}


def config_text(name: str, model: str, activations: list[str], seeds: int, epochs: int) -> str:
    return f"""
name: {name}
datasets: [fashion_mnist]
data: {{source: full}}
models: [{model}]
hidden_activations: [{", ".join(activations)}]
training: {{optimizer: adam, learning_rate: 0.001, epochs: {epochs}, batch_size: 128, validation_split: 0.1}}
seeds: {seeds}
"""


def timed(command: list[str]) -> tuple[float, float]:
    """Whole-process seconds and peak resident memory (MiB) of the command, a child of this process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "RAY_ADDRESS": ""}
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
        )
    return wall, usage.ru_maxrss / 1024


def actbench(config: Path, results: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "actbench", "run", str(config), "--results-dir", str(results), "-q", *options]


def sizes(args: argparse.Namespace, tmp: Path) -> dict:
    raw: dict = {}
    for model in args.models:
        for size in args.sizes:
            seeds = math.ceil(size / len(ACTIVATIONS))
            activations = (ACTIVATIONS * seeds)[:size] if size < len(ACTIVATIONS) else ACTIVATIONS
            # K runs exactly: the first K of activations x seeds (seeds vary fastest in the grid order).
            config = tmp / f"{model}-{size}.yaml"
            config.write_text(
                config_text(
                    f"bench_pack_{model}_{size}", MODELS[model], activations[: min(size, len(ACTIVATIONS))], seeds, 2
                )
            )
            runs = min(size, len(ACTIVATIONS)) * seeds
            for repeat in range(args.repeats):
                for way in ("packed", "off"):
                    options = ["--pack", str(runs) if way == "packed" else "off"]
                    if args.limit_train:
                        options += ["--limit-train", str(args.limit_train)]
                    wall, memory = timed(actbench(config, tmp / f"r-{model}-{size}-{way}-{repeat}", *options))
                    raw.setdefault(f"{model} K={runs}", {}).setdefault(way, []).append((wall / runs, memory, runs))
    print(
        f"Fashion-MNIST full{f' ({args.limit_train} training images)' if args.limit_train else ''}, 2 epochs; "
        f"{os.cpu_count()} cores; whole-process seconds per run and peak memory, median of {args.repeats}"
    )
    print(f"{'':14}{'runs':>5}{'packed s/run':>14}{'off s/run':>11}{'ratio':>7}{'packed MiB':>12}{'off MiB':>9}")
    for name, ways in raw.items():
        packed, off = (statistics.median(v[0] for v in ways[w]) for w in ("packed", "off"))
        memory = {w: statistics.median(v[1] for v in ways[w]) for w in ways}
        print(
            f"{name:14}{ways['off'][0][2]:5}{packed:14.2f}{off:11.2f}{packed / off:7.2f}{memory['packed']:12.0f}{memory['off']:9.0f}"
        )
    return raw


def sweep(args: argparse.Namespace, tmp: Path) -> dict:
    config = tmp / "sweep.yaml"
    config.write_text(config_text("bench_pack_sweep", MODELS["mlp"], ACTIVATIONS, 3, 5))
    commands = {
        "packed": ["--pack", "auto"],
        "off": ["--pack", "off"],
        "packed-w2": ["--pack", "auto", "--workers", "2"],
        "off-w2": ["--pack", "off", "--workers", "2"],
    }
    raw: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for variant in args.variants:
            if variant == "script":
                command = [sys.executable, str(HERE / "plain_keras_sweep.py"), *(ACTIVATIONS * 3)]
            else:
                command = actbench(config, tmp / f"sweep-{variant}-{repeat}", *commands[variant])
            raw.setdefault(variant, []).append(timed(command)[0])
    median = {name: statistics.median(values) for name, values in raw.items()}
    print(
        f"Fashion-MNIST full, MLP 128-64, 7 activations x 3 seeds x 5 epochs (21 runs); {os.cpu_count()} cores; "
        f"whole-process seconds, median of {args.repeats}"
    )
    for name, value in median.items():
        ratios = [
            f"{value / median[other]:.2f}x {other}"
            for other in ("off", "off-w2", "script")
            if other in median and other != name
        ]
        print(f"{name:12}{value:8.1f} s   {'  '.join(ratios)}")
    return raw


def conv(args: argparse.Namespace, tmp: Path) -> dict:
    import tensorflow as tf

    raw: dict = {}
    batch = 128
    for k in args.sizes:
        for height, channels, filters in [(28, 1, 32), (13, 32, 64)]:
            x, w = (
                tf.random.normal([k, batch, height, height, channels]),
                tf.random.normal([k, 3, 3, channels, filters]),
            )

            @tf.function
            def loop(x: tf.Tensor, w: tf.Tensor, k: int = k) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    tape.watch(w)
                    y = tf.stack([tf.nn.conv2d(x[i], w[i], 1, "VALID") for i in range(k)])
                    total = tf.reduce_sum(y * y)
                return tape.gradient(total, w)

            @tf.function
            def grouped(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    tape.watch(w)
                    total = tf.reduce_sum(tf.nn.conv2d(x, w, 1, "VALID") ** 2)  # input depth K*C, filter depth C
                return tape.gradient(total, w)

            stacked_x = tf.reshape(tf.transpose(x, [1, 2, 3, 0, 4]), [batch, height, height, k * channels])
            stacked_w = tf.reshape(tf.transpose(w, [1, 2, 3, 0, 4]), [3, 3, channels, k * filters])
            for name, function, inputs in [("loop", loop, (x, w)), ("grouped", grouped, (stacked_x, stacked_w))]:
                function(*inputs)
                times = []
                for _ in range(5 * args.repeats):
                    started = time.perf_counter()
                    function(*inputs)
                    times.append(time.perf_counter() - started)
                raw.setdefault(f"K={k} {height}x{height}x{channels}->{filters}", {})[name] = 1000 * statistics.median(
                    times
                )
    print(f"convolutions forward and backward, batch {batch}; {os.cpu_count()} cores; median ms")
    for name, ways in raw.items():
        print(
            f"{name:24} loop of K {ways['loop']:7.1f}   grouped {ways['grouped']:7.1f}   ratio {ways['grouped'] / ways['loop']:.2f}"
        )
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["sizes", "sweep", "conv"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["mlp", "cnn"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=["packed", "off", "packed-w2", "off-w2", "script"],
        default=["packed", "off", "packed-w2", "off-w2", "script"],
    )
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = {"sizes": sizes, "sweep": sweep, "conv": conv}[args.part](args, Path(tmp))
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
