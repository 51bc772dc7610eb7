"""The sections of an experiment config as pydantic models: activations, models, datasets, data, task,
output layers, training. experiment.py assembles them; every model refuses unknown fields."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from actbench import activations, naming, outputs
from actbench import dataset_catalogue as builtin_datasets

# The bound a task is checked against when the grid's datasets are not known: the smallest class
# count of the built-in datasets (10: MNIST's digits, Fashion-MNIST's garments).
BUILTIN_CLASSES = builtin_datasets.fewest_classes()
INITIALIZERS = ("auto", "he_normal", "he_uniform", "glorot_uniform", "glorot_normal", "lecun_normal", "lecun_uniform")


class Strict(BaseModel):
    """Every config model: unknown fields are errors (a typo is never silently ignored), values immutable,
    and every number finite (a learning rate of .inf or .nan would pass the bounds and fail every run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Fields added after runs were recorded: left out of the dumped data while at their default, so a
    # run at the defaults keeps the spec JSON, and the run id, it had before they existed.
    LATER: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _later_defaults_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in self.LATER:
            if getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data

    @classmethod
    def with_later_defaults(cls, data: dict[str, Any]) -> dict[str, Any]:
        """`data` as dumped, with the LATER fields it leaves out at their defaults filled back in."""
        return {**{name: cls.model_fields[name].default for name in cls.LATER}, **data}


class ActivationSpec(Strict):
    """An activation by canonical name with all its parameters filled in."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    source_digest: str | None = None  # a custom function's source: editing it makes new runs

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        # YAML allows `relu` and `{name: leaky_relu, alpha: 0.1}`; both become (name, params).
        if isinstance(value, ActivationSpec):
            return value
        if isinstance(value, str):  # 'relu', or a printed label such as 'leaky_relu(alpha=0.2)'
            name, params = naming.parse_label(value)
            value = {"name": name, **params}
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ValueError("an activation is a name like 'relu' or a mapping like {name: leaky_relu, alpha: 0.1}")
        given = {k: v for k, v in value.items() if k not in ("name", "params", "source_digest")}
        given.update(value.get("params") or {})
        name = value["name"].strip()
        digest = None
        if activations.is_custom(name):
            digest = activations.source_digest(activations.load_custom_function(name))
        else:
            name = activations.canonical_name(name)
        params = activations.resolve_params(name, given)
        for key, number in params.items():  # a dict of Any: allow_inf_nan does not reach it
            if isinstance(number, float) and not math.isfinite(number):
                raise ValueError(f"{name}.{key} is {number}; give a finite number")
        return {"name": name, "params": params, "source_digest": digest}

    @property
    def label(self) -> str:
        return naming.activation_label(self.name, self.params)


BATCH_NORM = ("none", "before", "after")  # BatchNormalization before or after each hidden activation, or none
DROPOUT_KINDS = ("standard", "alpha")  # keras Dropout, or AlphaDropout (keeps SELU's mean and variance)


class MLPSpec(Strict):
    type: Literal["mlp"] = "mlp"
    hidden_units: list[PositiveInt] = Field(default=[128, 64], min_length=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    initializer: Literal[INITIALIZERS] = "auto"  # type: ignore[valid-type]
    dropout_kind: Literal[DROPOUT_KINDS] = "standard"  # type: ignore[valid-type]
    batch_norm: Literal[BATCH_NORM] = "none"  # type: ignore[valid-type]

    LATER = ("dropout_kind", "batch_norm")


class CNNSpec(Strict):
    """Defaults are the classic Keras MNIST convnet (keras-io examples/vision/mnist_convnet.py)."""

    type: Literal["cnn"] = "cnn"
    filters: list[PositiveInt] = Field(default=[32, 64], min_length=1)
    kernel_size: PositiveInt = 3
    pool_size: PositiveInt = 2
    dense_units: list[PositiveInt] = Field(default_factory=list)
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    initializer: Literal[INITIALIZERS] = "auto"  # type: ignore[valid-type]
    dropout_kind: Literal[DROPOUT_KINDS] = "standard"  # type: ignore[valid-type]
    batch_norm: Literal[BATCH_NORM] = "none"  # type: ignore[valid-type]

    LATER = ("dropout_kind", "batch_norm")


ModelSpec = Annotated[MLPSpec | CNNSpec, Field(discriminator="type")]


class CustomDataset(Strict):
    """A dataset of your own: a folder of the four IDX files (gzipped or not) or an .npz with
    x_train, y_train, x_test, y_test; any image size, grey (N, H, W) or colour (N, H, W, C)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    path: str = Field(min_length=1)
    class_names: list[str] | None = Field(default=None, min_length=2)  # else "0", "1", ...

    @field_validator("name")
    @classmethod
    def _not_a_builtin_name(cls, value: str) -> str:
        if value in builtin_datasets.DATASETS:
            raise ValueError(f"'{value}' is a built-in dataset; give your own dataset another name")
        return value

    @property
    def location(self) -> Path:
        return Path(self.path).expanduser()


# A dataset is a built-in name (`mnist`) or a mapping with a path (`{name: kmnist, path: ~/data/kmnist}`).
BUILTIN_NAMES = tuple(builtin_datasets.DATASETS)  # the catalogue's keys, as a Literal takes them
DatasetEntry = Annotated[
    Annotated[Literal[BUILTIN_NAMES], Tag("builtin")] | Annotated[CustomDataset, Tag("own")],  # type: ignore[valid-type]
    Discriminator(lambda value: "builtin" if isinstance(value, str) else "own"),
]
# Union tags that pydantic puts into error locations; never shown to the user (see load.describe).
LOC_TAGS = ("mlp", "cnn", "builtin", "own", "constant", "cosine", "step")


def dataset_name(entry: str | CustomDataset) -> str:
    return entry if isinstance(entry, str) else entry.name


PREPROCESSING = ("scale", "standardize", "center")  # pixels/255; per-pixel standardised; pixels/255 less their mean


class DataSpec(Strict):
    source: Literal["auto", "full", "sample"] = "auto"
    limit_train: PositiveInt | None = None
    limit_test: PositiveInt | None = None
    preprocessing: Literal[PREPROCESSING] = "scale"  # type: ignore[valid-type]


def _class_index(value: int, info: ValidationInfo) -> int:
    # The bound is the fewest classes among the grid's built-in datasets (load._class_bound); with a
    # dataset of your own it is its class count, known once its files are read (plan checks it then).
    bound = (info.context or {}).get("class_bound", BUILTIN_CLASSES)
    if bound is not None and value >= bound:
        raise ValueError(f"must be less than {bound}")
    return value


class TaskSpec(Strict):
    """What is predicted: every class, or a binary task 'these classes against the rest'."""

    type: Literal["multiclass", "binary"] = "multiclass"
    positive: list[Annotated[int, Field(ge=0), AfterValidator(_class_index)]] = Field(default_factory=list)

    @field_validator("positive")
    @classmethod
    def _sorted_distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("list each positive class once")
        return sorted(value)

    @model_validator(mode="after")
    def _positive_only_for_binary(self, info: ValidationInfo) -> TaskSpec:
        problem = self.problem((info.context or {}).get("class_bound", BUILTIN_CLASSES))
        if problem:
            raise ValueError(problem)
        return self

    def problem(self, classes: int | None) -> str | None:
        """What is wrong with this task for a dataset of `classes` classes (None: not known yet)."""
        if self.type == "binary" and (not self.positive or (classes is not None and len(self.positive) >= classes)):
            top = classes or BUILTIN_CLASSES
            return f"a binary task needs 'positive': 1 to {top - 1} of the classes 0-{top - 1}, e.g. positive: [0]"
        if self.type == "multiclass" and self.positive:
            return "'positive' belongs to a binary task; add type: binary or drop it"
        if classes is not None and any(c >= classes for c in self.positive):
            return f"'positive' lists a class the dataset does not have: its classes are 0-{classes - 1}"
        return None

    @property
    def label(self) -> str:
        if self.type == "multiclass":
            return "multiclass"
        return f"binary({','.join(map(str, self.positive))} vs rest)"


class OutputSpec(Strict):
    """An output layer: its activation and its width (None: what the task needs, see `output_units`)."""

    name: Literal[outputs.NAMES]  # type: ignore[valid-type]
    units: PositiveInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def output_units(task: TaskSpec, output: OutputSpec, classes: int) -> int:
    """The output width: one unit per class; for a binary task the layer's own width (see actbench.outputs)."""
    return outputs.units_for(output.name, task.type == "binary", classes, output.units)


def output_problem(task: TaskSpec, output: OutputSpec, classes: int) -> str | None:
    """What is wrong with this output layer for the task on a dataset of `classes` classes, or None."""
    return outputs.problem_with(output.name, task.type == "binary", output_units(task, output, classes), classes)


class CosineSchedule(Strict):
    """Cosine decay of the learning rate over all the planned steps, down to alpha * learning_rate."""

    name: Literal["cosine"]
    alpha: float = Field(default=0.0, ge=0.0, le=1.0)

    @property
    def label(self) -> str:
        return naming.activation_label(self.name, {"alpha": self.alpha})


class StepSchedule(Strict):
    """The learning rate times `factor` every `every` epochs."""

    name: Literal["step"]
    every: PositiveInt = 10
    factor: float = Field(default=0.5, gt=0.0, le=1.0)

    @property
    def label(self) -> str:
        return naming.activation_label(self.name, {"every": self.every, "factor": self.factor})


def _schedule_tag(value: Any) -> str | None:
    name = value if isinstance(value, str) else getattr(value, "name", None) or (value or {}).get("name")
    return name if name in ("constant", "cosine", "step") else None


def _schedule_shorthand(value: Any) -> Any:
    # `schedule: cosine` means {name: cosine} with its defaults; {name: constant} is `constant`.
    if isinstance(value, str) and value != "constant":
        return {"name": value}
    if isinstance(value, dict) and value == {"name": "constant"}:
        return "constant"
    return value


SCHEDULE_HELP = "a schedule is constant, {name: cosine, alpha: 0.0} or {name: step, every: 10, factor: 0.5}"
Schedule = Annotated[
    Annotated[Literal["constant"], Tag("constant")]
    | Annotated[CosineSchedule, Tag("cosine")]
    | Annotated[StepSchedule, Tag("step")],
    Discriminator(_schedule_tag, custom_error_type="schedule", custom_error_message=SCHEDULE_HELP),
]


class EarlyStopping(Strict):
    """Keras' EarlyStopping: stop when `monitor` has not improved by min_delta for `patience` epochs."""

    monitor: Literal["val_loss", "val_accuracy", "loss"] = "val_loss"  # loss: the training loss, as scikit-learn's MLP
    patience: NonNegativeInt = 10
    min_delta: NonNegativeFloat = 0.0
    restore_best: bool = True  # test the weights of the best epoch, not of the last

    @property
    def label(self) -> str:
        params = {"patience": self.patience, "min_delta": self.min_delta, "restore_best": self.restore_best}
        return naming.activation_label(self.monitor, params)


def _early_stopping_shorthand(value: Any) -> Any:
    # `early_stopping: true` means EarlyStopping's defaults, `false` none, as `schedule: cosine` does.
    if value is True:
        return {}
    if value is False:
        return None
    if value is not None and not isinstance(value, (dict, EarlyStopping)):
        raise ValueError(
            f"early stopping is true, false or {{monitor: val_loss, patience: 10, min_delta: 0.0, restore_best: true}}"
            f" (got {value!r})"
        )
    return value


# Which optimizers take a momentum, and Nesterov's (Keras' own arguments).
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")


class TrainingSpec(Strict):
    optimizer: Literal["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad"] = "adam"
    learning_rate: PositiveFloat = 0.001
    epochs: PositiveInt = 5  # with early stopping, the most a run trains
    batch_size: PositiveInt = 128
    validation_split: float = Field(default=0.1, gt=0.0, lt=1.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    l2: NonNegativeFloat = 0.0  # l2 * sum(kernel**2) of every Dense and Conv2D kernel, added to the loss
    weight_decay: NonNegativeFloat = 0.0  # decoupled (AdamW, SGDW); 0: the optimizer's own (AdamW's 0.004)
    schedule: Annotated[Schedule, BeforeValidator(_schedule_shorthand)] = "constant"
    early_stopping: Annotated[EarlyStopping | None, BeforeValidator(_early_stopping_shorthand)] = None

    LATER = ("momentum", "nesterov", "l2", "weight_decay", "schedule", "early_stopping")

    @field_validator("momentum")
    @classmethod
    def _momentum_fits_the_optimizer(cls, value: float, info: ValidationInfo) -> float:
        optimizer = info.data.get("optimizer")
        if value and optimizer and optimizer not in MOMENTUM_OPTIMIZERS:
            raise ValueError(
                f"{optimizer} takes no momentum (only {' and '.join(MOMENTUM_OPTIMIZERS)} do); "
                "drop training.momentum or set training.optimizer: sgd"
            )
        return value

    @field_validator("weight_decay")
    @classmethod
    def _no_silent_adamw_default(cls, value: float, info: ValidationInfo) -> float:
        # Run only for a value the config gives: the default 0.0 means "the optimizer's own", which
        # for adamw is 0.004, so a written 0 would silently decay the weights.
        if value == 0 and info.data.get("optimizer") == "adamw":
            raise ValueError(
                "adamw without weight decay is adam; set training.optimizer: adam, or a weight_decay above 0 "
                "(adamw's own, with weight_decay left out, is 0.004)"
            )
        return value

    @field_validator("nesterov")
    @classmethod
    def _nesterov_needs_sgd_momentum(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("optimizer", "sgd") != "sgd":
            raise ValueError("Nesterov momentum is SGD's; drop training.nesterov or set training.optimizer: sgd")
        if value and not info.data.get("momentum", 1.0):
            raise ValueError("Nesterov needs a momentum; set training.momentum, e.g. 0.9, or drop training.nesterov")
        return value

    @property
    def schedule_label(self) -> str:
        return self.schedule if isinstance(self.schedule, str) else self.schedule.label

    @property
    def early_stopping_label(self) -> str:
        return self.early_stopping.label if self.early_stopping else "off"


# The validation scores a tuning choice is made by, and which way is better.
TUNE_SCORES = {"val_loss": "min", "val_accuracy": "max"}


class TuneSpec(Strict):
    """`tune:`: choose settings given as lists per candidate on validation data with tuning seeds (stage 1,
    never tested), then train each candidate's choice with the experiment's seeds and judge those (stage 2).
    See actbench/tuning.py."""

    settings: list[str] = Field(min_length=1)  # the axes to tune: 'learning_rate', 'training.momentum', 'dropout'
    score: Literal[tuple(TUNE_SCORES)] = "val_loss"  # type: ignore[valid-type]
    # Tuning seeds: a count (the seeds after the experiment's) or a list, disjoint from the experiment's seeds.
    seeds: PositiveInt | list[Annotated[int, Field(ge=0)]] = 2
    # What a choice is made for; by default every combination of the other lists (each activation in each block).
    per: list[str] | None = None
