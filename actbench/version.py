"""actbench's version: one number, read by the package, the CLI, each run's record and pyproject.toml."""

__version__ = "0.1.0"
