"""A run alone: actbench's one training loop (a pack of one) against Keras' own `model.fit` on the very
same batches (tests/helpers_keras.py, the reference the equality tests use). Prints figures.

    python benchmarks/bench_alone.py [--repeats 3] [--models mlp cnn] [--threads 2]

Fashion-MNIST full (apt-get install dataset-fashion-mnist): the MLP 128-64 for 5 epochs, the default CNN
for 1 epoch on 20,000 training images, relu, adam, batch 128. Each measurement is a fresh process
(TensorFlow's start-up left out: timed from the data loaded to the run tested), the two ways alternating;
medians, their ratio, and the test accuracies both ways (equal up to float rounding).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = {"mlp": ("{type: mlp, hidden_units: [128, 64]}", 5, None), "cnn": ("{type: cnn}", 1, 20000)}


def one(way: str, model: str, threads: int) -> dict:
    """In a process of its own: one run trained `way`, its seconds and test accuracy."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from helpers_keras import keras_fit

    from actbench.config import expand_runs, load_config
    from actbench.context import TrainingContext
    from actbench.datasets import load_dataset, split_dataset
    from actbench.datasets.cache import DataRequest
    from actbench.training import train_alone

    layers, epochs, limit = MODELS[model]
    text = f"""
name: bench_alone
datasets: [fashion_mnist]
data: {{source: full{f", limit_train: {limit}" if limit else ""}}}
models: [{layers}]
hidden_activations: [relu]
training: {{epochs: {epochs}, batch_size: 128}}
"""
    config = HERE / f".bench_alone_{model}.yaml"
    config.write_text(text)
    [spec] = expand_runs(load_config(config), {"fashion_mnist": "full"})
    config.unlink()
    data = split_dataset(load_dataset("fashion_mnist", "full"), spec.limit_train, None, 0.1)
    started = time.perf_counter()
    if way == "actbench":
        with TrainingContext(DataRequest("full")) as context:
            accuracy = train_alone(spec, data, context).metrics["test_accuracy"]
    else:
        run, _ = keras_fit(spec, data)
        from actbench.training.inputs import to_model_input

        raw = run.model.predict(to_model_input(tf.constant(data.x_test)), verbose=0)
        accuracy = float((raw.argmax(axis=1) == data.y_test).mean())
    return {"seconds": time.perf_counter() - started, "accuracy": round(accuracy, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("WAY", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.threads)))
        return
    raw: dict[str, dict[str, list[dict]]] = {}
    for _ in range(args.repeats):
        for model in args.models:
            for way in ("actbench", "keras fit"):
                command = [sys.executable, __file__, "--one", way, model, "--threads", str(args.threads)]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                raw.setdefault(model, {}).setdefault(way, []).append(json.loads(output.splitlines()[-1]))
    print(
        f"a run alone, Fashion-MNIST full; {args.threads} threads; seconds (data loaded to run tested), median of {args.repeats}"
    )
    for model, ways in raw.items():
        seconds = {way: statistics.median(r["seconds"] for r in runs) for way, runs in ways.items()}
        accuracies = {way: [r["accuracy"] for r in runs] for way, runs in ways.items()}
        print(
            f"{model}: actbench {seconds['actbench']:.1f} s, keras fit {seconds['keras fit']:.1f} s, "
            f"ratio {seconds['actbench'] / seconds['keras fit']:.2f}; test accuracy {accuracies}"
        )
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
