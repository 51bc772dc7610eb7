"""Experiment folders built by hand, with chosen accuracies, through actbench's own config expansion and its one run writer."""

from actbench.config import config_as_dict, expand_runs, load_config, run_id
from actbench.results import RunOutputs, RunRecord, run_files, save_experiment, save_record
from helpers import write_config


def make_results(
    tmp_path,
    accuracies: dict[str, list[float]],
    statuses=None,
    extra=None,
    name="made",
    epochs=3,
    seeds=None,
    training="",
    models="",
):
    """Construct an experiment folder by hand: one run per (activation, seed) with a chosen accuracy.

    Each call is one sweep: its run ids become plan.json, as `actbench run` writes it. `seeds` maps
    an activation to the seed numbers of its values (default 0, 1, 2, ...); `training`, more of the
    training section, e.g. ", early_stopping: {patience: 2}"; `models`, a models line, e.g. "models: [{type: mlp}]"."""
    names = list(accuracies)
    count = max(len(v) for v in accuracies.values())
    all_seeds = sorted({s for ss in (seeds or {}).values() for s in ss} | set(range(count)))
    config = load_config(
        write_config(
            tmp_path,
            f"name: {name}\ndatasets: [mnist]\nhidden_activations: {names}\nseeds: {all_seeds}\n"
            f"training: {{epochs: {epochs}{training}}}\n{models}\n",
        )
    )
    exp_dir = tmp_path / "results" / name
    ids = []
    for spec in expand_runs(config, {"mnist": "sample"}):
        activation = spec.hidden_activation.name
        own_seeds = (seeds or {}).get(activation, list(range(len(accuracies[activation]))))
        if spec.seed not in own_seeds:
            continue
        position = own_seeds.index(spec.seed)
        identifier = run_id(spec)
        ids.append(identifier)
        status = (statuses or {}).get(activation, ["finished"] * 10)[position]
        history = [
            {
                "epoch": e,
                "loss": 1 / e,
                "accuracy": 0.5,
                "val_loss": 1 / e,
                "val_accuracy": 0.5 + e / 10,
                "seconds": 1.0,
            }
            for e in range(1, epochs + 1)
        ]
        metrics = {
            "test_accuracy": accuracies[activation][position],
            "test_loss": 0.3,
            "best_val_accuracy": 0.8,
            "best_epoch": epochs,
            "train_seconds": 3.0,
            "seconds_per_epoch": 1.0,
            "epochs_run": epochs,
            "n_test": 1000,
        }
        metrics.update((extra or {}).get(activation, lambda seed: {})(spec.seed))
        if status == "failed":
            metrics = {"error": "RuntimeError: boom"}
        save_record(exp_dir, spec.as_json(), RunRecord(identifier, status, metrics, run_files(RunOutputs(history))))
    save_experiment(exp_dir, config_as_dict(config), ids)
    return exp_dir, ids


def make_study(tmp_path, config: str, accuracy, status=None, name="study"):
    """An experiment folder of any grid (`config`: the YAML after the name), each run's test accuracy from
    `accuracy(spec)`; `status(spec)` may make a run "diverged" or "failed" (default: finished)."""
    config = load_config(write_config(tmp_path, f"name: {name}\n{config}", name=f"{name}.yaml"))
    exp_dir = tmp_path / "results" / name
    ids = []
    for spec in expand_runs(config, dict.fromkeys(config.dataset_names, "sample")):
        identifier = run_id(spec)
        ids.append(identifier)
        state = status(spec) if status else "finished"
        metrics = {"test_accuracy": accuracy(spec), "test_loss": 0.3, "epochs_run": 1, "n_test": 1000}
        if state == "failed":
            metrics = {"error": "RuntimeError: boom"}
        history = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5, "seconds": 1.0}]
        save_record(exp_dir, spec.as_json(), RunRecord(identifier, state, metrics, run_files(RunOutputs(history))))
    save_experiment(exp_dir, config_as_dict(config), ids)
    return exp_dir
