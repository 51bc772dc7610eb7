"""Shared fixtures: small real-data configs and a results folder per test. Helpers live in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from actbench.native_logs import quiet_tensorflow
from helpers import write_config

quiet_tensorflow()


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
