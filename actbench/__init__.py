"""actbench: compare activation functions on MNIST and Fashion-MNIST.

`actbench.run`, `actbench.load_runs` and `actbench.report_tables` are actbench.api's functions, imported
on first use, so `import actbench` stays light (no TensorFlow, no pandas).
"""

from typing import Any

__version__ = "0.1.0"
_API = ("run", "load_runs", "report_tables")


def __getattr__(name: str) -> Any:
    if name in _API:
        from actbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'actbench' has no attribute {name!r}")
