"""A corpus of bad input, one case per class of mistake: each must end in one `error:` line naming where
the problem is (the file, the option or the field) and exit 2, with no traceback and nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers import TINY


@dataclass(frozen=True)
class BadInput:
    name: str
    args: tuple[str, ...]  # after `actbench`; {config} is the config file, {folder} the test's folder
    says: str  # a fragment the error line must contain (what is wrong, or where)
    config: str = TINY  # the config file's text, or a replacement applied to TINY as "old=>new"


def _tiny(old: str, new: str) -> str:
    assert old in TINY, old
    return TINY.replace(old, new)


RUN = ("run", "{config}", "--results-dir", "{folder}/results")

CORPUS = [
    # Options that are checked before anything loads
    BadInput("epochs 0", (*RUN, "--epochs", "0"), "training.epochs"),
    BadInput("epochs -1", (*RUN, "--epochs", "-1"), "training.epochs"),
    BadInput("set epochs 0", (*RUN, "--set", "training.epochs=0"), "training.epochs"),
    BadInput("set epochs -1", (*RUN, "--set", "training.epochs=-1"), "training.epochs"),
    BadInput("limit-train 0", (*RUN, "--limit-train", "0"), "data.limit_train"),
    BadInput("batch-size 0", (*RUN, "--batch-size", "0"), "training.batch_size"),
    BadInput("seeds 0", (*RUN, "--seeds", "0"), "seeds"),
    BadInput("workers 0", (*RUN, "--workers", "0"), "--workers"),
    BadInput("workers too many", (*RUN, "--workers", "4096"), "--workers"),
    BadInput("pack 0", (*RUN, "--pack", "0"), "--pack"),
    BadInput("pack word", (*RUN, "--pack", "big"), "--pack"),
    BadInput("source unknown", (*RUN, "--source", "internet"), "data.source"),
    BadInput("set without =", (*RUN, "--set", "training.epochs"), "--set"),
    BadInput("set unknown field", (*RUN, "--set", "training.epoch=2"), "training.epoch"),
    BadInput("export unknown", (*RUN, "--export", "wandb"), "wandb"),
    BadInput("workers and ray", (*RUN, "--workers", "2", "--ray", "local"), "--ray"),
    # The config file itself
    BadInput("config missing", ("run", "{folder}/nothing.yaml"), "nothing.yaml"),
    BadInput("config is a folder", ("run", "{folder}"), "{folder}"),
    BadInput("config not a mapping", RUN, "a config is a YAML mapping", config="- just\n- a list\n"),
    BadInput("yaml indentation", RUN, "YAML syntax error", config=_tiny("seeds: [0]", "  seeds: [0]\n bad: 1")),
    BadInput("yaml duplicate key", RUN, "appears twice", config=TINY + "seeds: [1]\n"),
    BadInput(
        "typo in a field",
        RUN,
        "did you mean 'hidden_activations'",
        config=_tiny("hidden_activations", "hiden_activations"),
    ),
    BadInput("unknown activation", RUN, "relux", config=_tiny("[relu, tanh]", "[relux, tanh]")),
    BadInput("unknown dataset", RUN, "mnistt", config=_tiny("[mnist]", "[mnistt]")),
    BadInput("no seeds", RUN, "seeds", config=_tiny("seeds: [0]", "seeds: []")),
    BadInput("negative seed", RUN, "seeds", config=_tiny("seeds: [0]", "seeds: [-1]")),
    BadInput("no hidden activations", RUN, "hidden_activations", config=_tiny("[relu, tanh]", "[]")),
    BadInput("no hidden units", RUN, "hidden_units", config=_tiny("hidden_units: [16]", "hidden_units: []")),
    BadInput("learning rate nan", RUN, "learning_rate", config=_tiny("epochs: 1,", "epochs: 1, learning_rate: .nan,")),
    BadInput("learning rate -1", RUN, "learning_rate", config=_tiny("epochs: 1,", "epochs: 1, learning_rate: -1,")),
    BadInput("learning rate text", RUN, "learning_rate", config=_tiny("epochs: 1,", "epochs: 1, learning_rate: fast,")),
    BadInput(
        "output units 0",
        RUN,
        "output_activations",
        config=TINY + "output_activations: [{name: softmax, units: 0}]\n",
    ),
    BadInput("model type unknown", RUN, "type", config=_tiny("type: mlp", "type: rnn")),
    BadInput("optimizer unknown", RUN, "optimizer", config=_tiny("epochs: 1,", "epochs: 1, optimizer: adamm,")),
    BadInput("too few images", RUN, "data.limit_train", config=_tiny("limit_train: 300", "limit_train: 10")),
    BadInput("name with a slash", RUN, "name", config=_tiny("name: tiny", "name: a/b")),
    BadInput("custom activation missing", RUN, "no_such_module", config=_tiny("[relu, tanh]", "[no_such_module:f]")),
    # Dry runs check the same
    BadInput("dry run without seeds", (*RUN, "--dry-run"), "seeds", config=_tiny("seeds: [0]", "seeds: []")),
    BadInput("dry run epochs 0", (*RUN, "--dry-run", "--epochs", "0"), "training.epochs"),
    # Report and export
    BadInput("report no folder", ("report", "{folder}/nowhere"), "nowhere"),
    BadInput("report format", ("report", "{folder}", "--format", "pdf"), "--format"),
    BadInput("report filter", ("report", "{folder}", "--filter", "dataset"), "--filter"),
    BadInput("export no folder", ("export", "tensorboard", "{folder}/nowhere"), "nowhere"),
]


def argv(case: BadInput, folder: Path, config: Path) -> list[str]:
    return [arg.format(folder=folder, config=config) for arg in case.args]
