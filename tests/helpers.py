"""What many test modules share: the repository's root, the CLI run in-process, and config files written from text."""

from __future__ import annotations

import textwrap
from pathlib import Path

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
