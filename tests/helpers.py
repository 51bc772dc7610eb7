"""What many test modules share: the repository's root, the CLI run in-process, and config files written from text."""

from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Two activations x one seed on 300 real sample images, one epoch: seconds to train.
TINY = """
name: tiny
datasets: [mnist]
data: {source: sample, limit_train: 300, limit_test: 100}
models: [{type: mlp, hidden_units: [16]}]
hidden_activations: [relu, tanh]
training: {epochs: 1, batch_size: 64}
seeds: [0]
"""


def invoke(*args):
    """The CLI run in this process, as a user would type it (every argument as text)."""
    from typer.testing import CliRunner

    from actbench.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def interrupted_at_call(number: int, real):
    """`real`, except that its call `number` raises KeyboardInterrupt, as a Ctrl-C in the middle of that run."""
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return wrapped


def write_config(folder: Path, text: str, name: str = "experiment.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
