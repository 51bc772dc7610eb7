"""Shared fixtures: small real-data configs and a results folder per test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from actbench.native_logs import quiet_tensorflow

quiet_tensorflow()
REPO = Path(__file__).resolve().parent.parent


def invoke(*args):
    """The CLI run in this process, as a user would type it (every argument as text)."""
    from typer.testing import CliRunner

    from actbench.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def write_config(folder: Path, text: str, name: str = "experiment.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """Two activations x one seed on 300 real sample images, one epoch: seconds to train."""
    return write_config(
        tmp_path,
        """
        name: tiny
        datasets: [mnist]
        data: {source: sample, limit_train: 300, limit_test: 100}
        models: [{type: mlp, hidden_units: [16]}]
        hidden_activations: [relu, tanh]
        training: {epochs: 1, batch_size: 64}
        seeds: [0]
        """,
    )
