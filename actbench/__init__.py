"""actbench: compare activation functions on MNIST and Fashion-MNIST.

`actbench.run`, `actbench.open`, `actbench.plan` (and `load_runs`, `report_tables`) are actbench.api's,
imported on first use, so `import actbench` stays light (no TensorFlow, no pandas).
"""

from typing import Any

from actbench.version import __version__

_API = ("run", "open", "plan", "load_runs", "report_tables", "Experiment", "ReportTables")


def __getattr__(name: str) -> Any:
    if name in _API:
        from actbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'actbench' has no attribute {name!r}")
