"""Packed training against one run at a time: wall time per run and peak memory by pack size, and a whole sweep.

    python benchmarks/bench_pack.py sizes [--models mlp cnn] [--sizes 1 2 4 8 16 32] [--limit-train N] [--repeats 1]
    python benchmarks/bench_pack.py sweep [--variants packed off packed-w2 off-w2 script] [--repeats 1]
    python benchmarks/bench_pack.py rates [--repeats 1]
    python benchmarks/bench_pack.py conv [--sizes 8]
    python benchmarks/bench_pack.py steps [--sizes 4 8] [--threads 1 2]

Fashion-MNIST full (/usr/share/datasets/fashion-mnist/ or apt-get install dataset-fashion-mnist).
`sizes`: for each --sizes K, K runs of the MLP 128-64 or the default CNN, 2 epochs (the first K
activations up to 7, beyond that 7 activations x ceil(K/7) seeds, so K=8 trains 14), all in one
pack (`--pack RUNS`; the "packs" column says what trained) and with `--pack off`: seconds per run
and the process's peak resident memory
(`--limit-train N`: a stratified N of the training images, to time the CNN's larger packs in a bearable time).
`sweep`: 7 activations x 3 seeds, MLP 128-64, 5 epochs: packed (auto) and --pack off, serially and
with --workers 2, and the hand-written script (plain_keras_sweep.py, the same 21 fits one after another).
`rates`: a learning-rate grid, 4 rates x 3 activations x 2 seeds (24 runs, MLP 128-64, 5 epochs): packed
(auto, runs of other rates in one pack) and --pack off, serially.
`conv`: the default CNN's two convolutions for K models, forward and backward, as a loop of K
convolutions in one tf.function (what a pack does: each model keeps its own Conv2D) against one
grouped convolution over the K models' stacked channels (input depth K*C, filter depth C).
`steps`: one pack's training step (7 activations cycled to K members, Fashion-MNIST images, batch
128), milliseconds per model and step, steady state, at each --threads: actbench's compiled steps
for the MLP 128-64 and the default CNN, with XLA and without; and, for the MLP, what stacking the
pack's kernels would give (each Dense layer one batched matmul over the members' own variables,
stacked in the step, each member's activation on its slice: an experiment, not actbench's code).
The CNN's XLA steps take seconds each on a CPU: timed one step a call. A process per setting.
In `sizes` and `sweep` every variant is a fresh process, timed whole (start-up, data loading, training, testing, writing);
variants alternate within a repeat. Prints medians and ratios, then the raw numbers as JSON.
Targets on a 2-core machine: the sweep packed at most 0.5x --pack off with the same executor, and
actbench's fastest way at most 0.3x the hand-written script.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def packs_made(results: Path) -> str:
    """The packs a sweep trained, from its runs' metrics: e.g. "7+7" for two packs of 7."""
    sizes = [json.loads(path.read_text()).get("pack_size", 1) for path in results.glob("*/runs/*/metrics.json")]
    return "+".join(str(size) for size in sorted(set(sizes), reverse=True) for _ in range(sizes.count(size) // size))


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
                    results = tmp / f"r-{model}-{size}-{way}-{repeat}"
                    wall, memory = timed(actbench(config, results, *options))
                    raw.setdefault(f"{model} K={runs}", {}).setdefault(way, []).append((wall / runs, memory, runs))
                    if way == "packed":
                        raw[f"{model} K={runs}"]["packs"] = packs_made(results)
    print(
        f"Fashion-MNIST full{f' ({args.limit_train} training images)' if args.limit_train else ''}, 2 epochs; "
        f"{os.cpu_count()} cores; whole-process seconds per run and peak memory, median of {args.repeats}"
    )
    print(
        f"{'':14}{'runs':>5}{'packs':>10}{'packed s/run':>14}{'off s/run':>11}{'ratio':>7}{'packed MiB':>12}{'off MiB':>9}"
    )
    for name, ways in raw.items():
        packed, off = (statistics.median(v[0] for v in ways[w]) for w in ("packed", "off"))
        memory = {w: statistics.median(v[1] for v in ways[w]) for w in ("packed", "off")}
        print(
            f"{name:14}{ways['off'][0][2]:5}{ways['packs']:>10}{packed:14.2f}{off:11.2f}{packed / off:7.2f}"
            f"{memory['packed']:12.0f}{memory['off']:9.0f}"
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


def rates(args: argparse.Namespace, tmp: Path) -> dict:
    config = tmp / "rates.yaml"
    text = config_text("bench_pack_rates", MODELS["mlp"], ["relu", "tanh", "sigmoid"], 2, 5)
    config.write_text(text.replace("learning_rate: 0.001", "learning_rate: [0.0003, 0.001, 0.003, 0.01]"))
    raw: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for variant, pack in (("packed", "auto"), ("off", "off")):
            results = tmp / f"rates-{variant}-{repeat}"
            raw.setdefault(variant, []).append(timed(actbench(config, results, "--pack", pack))[0])
            raw.setdefault(f"{variant} packs", []).append(packs_made(results))  # type: ignore[arg-type]
    packed, off = (statistics.median(raw[name]) for name in ("packed", "off"))
    print(
        f"Fashion-MNIST full, MLP 128-64, 4 learning rates x 3 activations x 2 seeds x 5 epochs (24 runs); "
        f"{os.cpu_count()} cores; whole-process seconds, median of {args.repeats}"
    )
    print(f"packed {packed:8.1f} s ({raw['packed packs'][0]})   off {off:8.1f} s   packed/off {packed / off:.2f}")
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


def steps(args: argparse.Namespace, tmp: Path) -> dict:
    raw: dict = {}
    for threads in args.threads:
        for size in args.sizes:
            # TensorFlow's thread pools are sized once per process: a process per setting.
            command = [sys.executable, __file__, "steps-one", "--threads", str(threads), "--sizes", str(size)]
            output = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ}).stdout
            raw.update(json.loads(output.splitlines()[-1]))
    print(f"one pack's step, batch 128; {os.cpu_count()} cores; ms per model and step (best of 3 x 2 s)")
    for name, ms in raw.items():
        print(f"{name:40}{ms:8.3f}")
    return raw


def steps_one(args: argparse.Namespace, tmp: Path) -> dict:
    """In a process of its own: the step timings of `steps` at one thread count and one pack size."""
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads[0])
    tf.config.threading.set_inter_op_parallelism_threads(args.threads[0])
    import keras

    from actbench.config import expand_runs, load_config
    from actbench.datasets import load_dataset, split_dataset
    from actbench.pipeline import input_scaling
    from actbench.training.setup import prepare_run
    from actbench.training.trainer import build_trainer

    size, raw = args.sizes[0], {}
    data = split_dataset(load_dataset("fashion_mnist", "full"), None, None, 0.1)
    chunk = np.random.default_rng(0).integers(0, len(data.x_train), (size, 50, 128)).astype("int32")
    sizes = np.full(50, 128, "int32")

    def best_ms(call: Any, steps: int = 50, seconds: float = 2) -> float:
        call()  # traced and compiled
        times = []
        for _ in range(3):
            started, calls = time.perf_counter(), 0
            while not calls or time.perf_counter() - started < seconds:
                call()
                calls += 1
            times.append((time.perf_counter() - started) / calls)
        return 1000 * min(times) / (steps * size)

    for model in ("mlp", "cnn"):
        config = tmp / f"{model}.yaml"
        config.write_text(config_text("steps", MODELS[model], ACTIVATIONS, math.ceil(size / 7), 5))
        specs = expand_runs(load_config(config), {"fashion_mnist": "full"})[:size]
        for jit in (False, True):
            keras.backend.clear_session()
            scaling = input_scaling(specs[0].preprocessing, data.x_train)
            built = [prepare_run(spec, data, scaling) for spec in specs]
            trainer = build_trainer("bench", built, data.x_train, tf.constant(data.x_train), scaling, jit)
            run = functools.partial(trainer.run_steps, tuple(range(size)))
            name = f"{model} K={size} threads={args.threads[0]} {'XLA' if jit else 'no XLA'}"
            if model == "cnn" and jit:  # seconds a step: one step a call, one call a measurement
                raw[name] = best_ms(functools.partial(run, chunk[:, :1], sizes[:1], 1), steps=1, seconds=0)
            else:
                raw[name] = best_ms(functools.partial(run, chunk, sizes, 50))
            print(f"{name}: {raw[name]:.3f} ms", file=sys.stderr, flush=True)
            if model == "mlp" and jit:
                raw[f"mlp K={size} threads={args.threads[0]} XLA, stacked kernels"] = best_ms(
                    _stacked_steps(built, data, chunk)
                )
    print(json.dumps(raw))
    return raw


def _stacked_steps(runs: list[Any], data: Any, chunk: Any) -> Any:
    """The MLP pack's 50 steps with each Dense layer one batched matmul over the members (XLA)."""
    import keras
    import tensorflow as tf

    models = [run.model for run in runs]
    images = tf.constant(data.x_train)
    targets = tf.constant(runs[0].targets[0])
    layers = list(zip(*(model.layers for model in models)))  # position -> that layer of every member

    def forward(x: tf.Tensor) -> tf.Tensor:
        h = tf.reshape(x, [len(models), -1, 784])
        for same in layers:
            if isinstance(same[0], keras.layers.Dense):
                kernel = tf.stack([layer.kernel.value for layer in same])
                bias = tf.stack([layer.bias.value for layer in same])
                h = tf.matmul(h, kernel) + bias[:, None, :]
            elif not isinstance(same[0], keras.layers.Flatten):
                h = tf.stack([layer(h[k]) for k, layer in enumerate(same)])
        return h

    @tf.function(jit_compile=True)
    def run(indices: tf.Tensor) -> tf.Tensor:
        def step(done: tf.Tensor, loss: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            batch = indices[:, done]
            with tf.GradientTape() as tape:
                outputs = forward(tf.cast(tf.gather(images, batch), tf.float32) / 255.0)
                y = tf.gather(targets, batch)
                total = tf.add_n([runs[k].loss(y[k], outputs[k]) for k in range(len(models))])
            variables = [model.trainable_variables for model in models]
            gradients = tape.gradient(total, variables)
            for run, grads, weights in zip(runs, gradients, variables):
                run.optimizer.apply(grads, weights)
            return done + 1, total

        return tf.while_loop(lambda done, loss: done < 50, step, (tf.constant(0), tf.constant(0.0)))[1]

    return lambda: run(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["sizes", "sweep", "rates", "conv", "steps", "steps-one"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["mlp", "cnn"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=["packed", "off", "packed-w2", "off-w2", "script"],
        default=["packed", "off", "packed-w2", "off-w2", "script"],
    )
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        parts = {"sizes": sizes, "sweep": sweep, "rates": rates, "conv": conv, "steps": steps, "steps-one": steps_one}
        raw = parts[args.part](args, Path(tmp))
    if args.part != "steps-one":  # which printed its figures for `steps` to read
        print(json.dumps(raw))


if __name__ == "__main__":
    main()
