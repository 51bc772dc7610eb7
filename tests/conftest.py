"""Shared fixtures: small real-data configs and a results folder per test. Helpers live in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from actbench.native_logs import quiet_tensorflow
from helpers import TINY, write_config

quiet_tensorflow()


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """helpers.TINY written to a file."""
    return write_config(tmp_path, TINY)
