"""The settings catalogue: one row per results.csv column that says what a run is (not what it measured).

A setting column is added here once. results.csv's column order and types, the report's groups
and labels (which columns name a group, which a block, their short names, the header line), the
columns `--filter` takes, the types of the report's CSV and JSON and of `actbench.api.load_runs`,
and the settings the exporters send all read these rows. The metrics have their own catalogue
(actbench.metrics_catalogue); tests/test_identity.py fails when a run's row holds a column that is
in neither.

Which runs form a group is not decided here: `group_id` and `block_id` (actbench.config.grid) are
digests of the run's spec, less the seed, and for a block less the `activation` rows too; the other
rows name what groups and blocks differ in. Imports nothing from actbench, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Type = Literal["str", "int", "float", "bool", "json"]  # json: a list or mapping, as JSON text in results.csv
# "identity": names a run, group or block rather than describing it. "setting": names the group where it
# varies. "structure": a second form of a setting's label ('mlp 128-64' holds the widths), carried to the
# group for programs and never named on its own.
Kind = Literal["identity", "setting", "structure"]


@dataclass(frozen=True)
class Setting:
    name: str  # its column in results.csv
    type: Type
    kind: Kind
    short: str = ""  # its name in labels ('epochs=1'), when not the part after the last dot
    filter: bool = True  # `--filter` takes it
    activation: bool = False  # varies with the activations (part of what a block compares, not of the block)
    plain: bool = False  # labels show the value alone ('mnist', 'relu'), not 'short=value'
    header: int | None = None  # its place on the report's header line when the same for every group
    digest: bool = False  # a content digest: labels show its first 8 characters
    test_set: bool = False  # says which test images a run is scored on: runs that share these share a chance level

    @property
    def label(self) -> str:
        return self.short or self.name.rsplit(".", 1)[-1]


def _rows(*rows: Setting) -> dict[str, Setting]:
    return {row.name: row for row in rows}


# Row order is results.csv's column order (the leading metrics follow the identity rows) and the order
# in which block labels name settings.
SETTINGS: dict[str, Setting] = _rows(
    Setting("run_id", "str", "identity", filter=False),
    Setting("group_id", "str", "identity"),
    Setting("block_id", "str", "identity"),
    Setting("experiment", "str", "identity", filter=False),
    Setting("dataset", "str", "setting", plain=True, header=1, test_set=True),
    Setting("task", "str", "setting", plain=True, header=2, test_set=True),
    Setting("task_type", "str", "structure"),
    Setting("task_positive", "json", "structure", filter=False),
    Setting("source", "str", "setting", plain=True, header=3, test_set=True),
    Setting("model", "str", "setting", plain=True, header=4),
    Setting("hidden_activation", "str", "setting", short="hidden", activation=True, plain=True, header=5),
    Setting("hidden_activation_name", "str", "structure"),
    Setting("hidden_activation_params", "json", "structure", filter=False),
    # A custom function's source: an edit makes another group, and a label tells the two apart.
    Setting("hidden_activation_source", "str", "setting", short="code", activation=True, digest=True),
    Setting("output_activation", "str", "setting", short="output", activation=True, plain=True, header=6),
    Setting("output_units", "int", "setting", activation=True),
    Setting("seed", "int", "identity"),
    Setting("status", "str", "identity"),
    Setting("limit_train", "int", "setting", header=8),
    Setting("limit_test", "int", "setting", test_set=True),
    Setting("deterministic", "bool", "setting"),
    Setting("diagnostics", "bool", "setting"),
    # A dataset of your own: the digest of its arrays, so a changed file makes another group and block.
    Setting("data_sha256", "str", "setting", short="data", digest=True, test_set=True),
    Setting("preprocessing", "str", "setting"),
    Setting("model.hidden_units", "json", "structure"),
    Setting("model.filters", "json", "structure"),
    Setting("model.dense_units", "json", "setting"),
    Setting("model.kernel_size", "int", "setting"),
    Setting("model.pool_size", "int", "setting"),
    Setting("model.dropout", "float", "setting"),
    Setting("model.dropout_kind", "str", "setting"),
    Setting("model.batch_norm", "str", "setting"),
    # `initializer: auto` resolves to the hidden activation's own, so it follows the activation.
    Setting("model.initializer", "str", "setting", activation=True),
    Setting("training.optimizer", "str", "setting"),
    Setting("training.learning_rate", "float", "setting", short="lr"),
    Setting("training.epochs", "int", "setting", header=7),
    Setting("training.batch_size", "int", "setting"),
    Setting("training.validation_split", "float", "setting"),
    Setting("training.momentum", "float", "setting"),
    Setting("training.nesterov", "bool", "setting"),
    Setting("training.l2", "float", "setting"),
    Setting("training.weight_decay", "float", "setting"),
    # The schedule and early stopping as their labels: 'cosine(alpha=0.0)', 'val_loss(min_delta=0.0, patience=2, ...)', 'off'.
    Setting("training.schedule", "str", "setting"),
    Setting("training.early_stopping", "str", "setting"),
    # A tuned experiment's (actbench/tuning.py): "tune" runs choose settings, "final" runs are judged; the
    # settings chosen per candidate, which its groups differ in within a block.
    Setting("stage", "str", "structure"),
    Setting("tuned", "json", "structure", filter=False),
)


def of_kind(*kinds: Kind) -> list[str]:
    """The columns of these kinds, in catalogue order."""
    return [row.name for row in SETTINGS.values() if row.kind in kinds]


def leading_columns() -> list[str]:
    """results.csv's first columns: what names the run and its group, before the leading metrics."""
    first = list(SETTINGS)
    return first[: first.index("status") + 1]


def group_settings() -> list[str]:
    """The columns that name a group where they vary."""
    return of_kind("setting")


def block_settings() -> list[str]:
    """The group-naming columns that stay the same within a block."""
    return [row.name for row in SETTINGS.values() if row.kind == "setting" and not row.activation]


def activation_settings() -> list[str]:
    """The group-naming columns that vary with the activations, within a block."""
    return [row.name for row in SETTINGS.values() if row.kind == "setting" and row.activation]


def filter_keys() -> list[str]:
    """The columns `--filter` takes, sorted."""
    return sorted(row.name for row in SETTINGS.values() if row.filter)


def filter_texts(column: pd.Series) -> pd.Series:
    """A setting column's values as `--filter` (and a reference's `match`) names them: '2000' for an integer
    setting, '[100,10]' for a list, '<NA>' for a missing one."""
    return column.astype(object).map(str)


def named_by(column: pd.Series, text: str) -> pd.Series:
    """Which of a setting column's values `text` names, as `--filter` and a reference's `match` take it: the
    same text, or the same number ('0' names 0.0, '1e-4' names 0.0001), so equal numbers match however written."""
    import pandas as pd

    texts = filter_texts(column)
    found = texts == text
    try:
        number = float(text)
    except ValueError:
        return found
    return found | (pd.to_numeric(texts, errors="coerce") == number)


def plain_settings() -> list[str]:
    """The settings labels show by value alone: what a wide report table always shows."""
    return [row.name for row in SETTINGS.values() if row.plain]


def header_settings() -> list[str]:
    """The settings the report's header line names when every group shares them, in its order."""
    return sorted((row.name for row in SETTINGS.values() if row.header), key=lambda name: SETTINGS[name].header or 0)


def test_set_settings() -> list[str]:
    """The columns that together say which test images (and labels) a run is scored on."""
    return [row.name for row in SETTINGS.values() if row.test_set]


def of_type(*types: Type) -> set[str]:
    return {row.name for row in SETTINGS.values() if row.type in types}


def with_types(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its setting columns in their catalogue types: integers as nullable integers (so one
    missing for some runs, limit_train: all, never turns the rest into floats), booleans as nullable
    booleans; texts and JSON stay Python objects."""
    import pandas as pd

    typed = frame.copy()
    for name in SETTINGS.keys() & set(frame.columns):
        kind = SETTINGS[name].type
        if kind in ("int", "float"):
            typed[name] = pd.to_numeric(typed[name]).astype("Int64" if kind == "int" else float)
        elif kind == "bool":
            typed[name] = typed[name].astype(object).where(typed[name].notna(), None).astype("boolean")
    return typed
