"""Send recorded runs where users already look: TensorBoard's HParams dashboard, or MLflow.

Both tools are optional extras, imported only when an export is asked for; neither export imports
TensorFlow. `tensorboard.py` and `mlflow.py` hold one tool each; `runs.py` reads what they send.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from actbench.errors import ActbenchError, named
from actbench.export.runs import ExportSummary
from actbench.results import is_experiment_dir

TOOLS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # tool -> the module its extra installs


def require(tool: str, where: str = "--export") -> None:
    """Fail early, with the install command, before a sweep trains for hours and cannot export; an unknown
    tool is named by `where` it was asked for."""
    if tool not in TOOLS:
        raise ActbenchError(f"{named(where, tool)}: use one of {', '.join(TOOLS)}")
    if importlib.util.find_spec(TOOLS[tool]) is None:
        raise ActbenchError(f"exporting to {tool} needs its optional extra: pip install 'actbench[{tool}]'")


def results_root(target: Path) -> Path:
    """The results folder of `target` (an experiment folder or a results folder): where exports go by default."""
    return target.parent if is_experiment_dir(target) else target


def default_destination(tool: str, root: Path) -> str:
    """TensorBoard: <results>/tensorboard. MLflow: a SQLite file there (MLflow 3 refuses its old file store)."""
    if tool == "tensorboard":
        return str(root / "tensorboard")
    return f"sqlite:///{(root / 'mlflow.db').resolve()}"


def export(
    tool: str, exp_dir: Path, destination: str, progress: Callable[[int, int], None] | None = None
) -> ExportSummary:
    """Export one experiment folder; `destination` is a log directory or a tracking URI."""
    require(tool)
    progress = progress or (lambda done, total: None)
    if tool == "tensorboard":
        from actbench.export.tensorboard import export_tensorboard

        try:
            return export_tensorboard(exp_dir, Path(destination), progress)
        except OSError as exc:
            raise ActbenchError(
                f"{destination}: cannot write TensorBoard logs ({exc}); pass another --logdir"
            ) from None
    from mlflow.exceptions import MlflowException

    from actbench.export.mlflow import export_mlflow

    try:
        return export_mlflow(exp_dir, destination, progress)
    except MlflowException as exc:
        message = " ".join(str(exc.message).split())[:300]
        raise ActbenchError(f"MLflow at {destination}: {message}; check --tracking-uri") from None
