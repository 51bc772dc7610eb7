"""The whole experiment config: its sections, the rules that span them, and its plain-data form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from actbench import resources
from actbench.config.reference import Reference
from actbench.config.schema import (
    ActivationSpec,
    CustomDataset,
    DatasetEntry,
    DataSpec,
    MLPSpec,
    ModelSpec,
    OutputSpec,
    Strict,
    TaskSpec,
    TrainingSpec,
    dataset_name,
    output_problem,
    output_units,
)
from actbench.config.sizes import ModelSize, ShapeProblem, model_size, validation_images
from actbench.dataset_catalogue import DATASETS

SEED_MAX = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit


def memory_problem(size: ModelSize, batch_size: int) -> str | None:
    """Whether training a model of `size` needs more memory than this machine has, with the fix."""
    needed, available = size.training_bytes(batch_size), resources.memory_bytes()
    if available is None or needed <= available:
        return None
    return (
        f"{size.parameters:,} parameters: training needs about {_gib(needed)} (weights, gradients, Adam's moments and a "
        f"batch of {batch_size}), more than this machine's {_gib(available)}; make the layers narrower or fewer"
        + (", or lower training.batch_size" if size.batch_dominates(batch_size) else "")
    )


def _gib(count: int) -> str:
    return f"{count / 2**30:.1f} GiB"


def _default_models() -> list[ModelSpec]:
    return [MLPSpec()]


class ExperimentConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    datasets: list[DatasetEntry] = Field(min_length=1)
    data: DataSpec = DataSpec()
    task: TaskSpec = TaskSpec()
    models: list[ModelSpec] = Field(default_factory=_default_models, min_length=1)
    hidden_activations: list[ActivationSpec] = Field(min_length=1)
    output_activations: list[OutputSpec] = Field(default_factory=lambda: [OutputSpec(name="softmax")], min_length=1)
    training: TrainingSpec = TrainingSpec()
    seeds: list[Annotated[int, Field(ge=0, le=SEED_MAX)]] = Field(default=[0], min_length=1)
    deterministic: bool = False
    diagnostics: bool = False  # dead units, saturation, gradient norms per layer and epoch
    # The published result this config reproduces; in no RunSpec, so it never changes a run id.
    reference: Reference | None = None

    @field_validator("models", mode="before")
    @classmethod
    def _model_shorthand(cls, value: Any) -> Any:
        # `models: [mlp, cnn]` means the default MLP and the default CNN.
        if isinstance(value, list):
            return [{"type": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("datasets")
    @classmethod
    def _distinct_datasets(cls, value: list[Any]) -> list[Any]:
        names = [dataset_name(entry) for entry in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"the dataset '{repeated[0]}' is listed twice; list each dataset once")
        return value

    @field_validator("output_activations")
    @classmethod
    def _outputs_fit_the_task(cls, value: list[OutputSpec], info: ValidationInfo) -> list[OutputSpec]:
        # Checked here for each built-in dataset of the grid; for your own, once its files are read.
        task = info.data.get("task")
        if task is None:  # the task itself was invalid, and said so
            return value
        builtin = [entry for entry in info.data.get("datasets") or [] if isinstance(entry, str) and entry in DATASETS]
        for index, output in enumerate(value):
            problem = next(
                filter(None, (output_problem(task, output, DATASETS[name].classes) for name in builtin)), None
            )
            if problem:
                raise ValueError(f"[{index}] {output.name}: {problem}")
        return value

    @property
    def dataset_names(self) -> list[str]:
        return [dataset_name(entry) for entry in self.datasets]

    @property
    def own_datasets(self) -> dict[str, CustomDataset]:
        return {entry.name: entry for entry in self.datasets if isinstance(entry, CustomDataset)}

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        # `seeds: 3` means seeds 0, 1, 2.
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("a seed count must be at least 1")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("seeds must be distinct, or a run would be repeated with identical numbers")
        return value

    @model_validator(mode="after")
    def _models_fit_the_builtin_images(self) -> ExperimentConfig:
        # Convolution and pooling windows against each built-in dataset's images, and the memory each
        # model needs to train; a dataset of your own is checked once its files are read (plan.own_data).
        # `auto` counts the full data's training images: the most a run of it can have.
        for name in {entry for entry in self.datasets if isinstance(entry, str)}:
            info = DATASETS[name]
            train_images = info.size("sample" if self.data.source == "sample" else "full")[0]
            for problem in model_problems(self, name, info.image_shape, info.classes, train_images):
                raise ValidationError.from_exception_data(
                    type(self).__name__,
                    # `also`: the other settings that caused it, so an error from --set names that override (config/load.py)
                    [
                        InitErrorDetails(
                            type=PydanticCustomError("value_error", problem.text, {"also": problem.also}),
                            loc=problem.loc,
                            input=None,
                        )
                    ],
                )
        return self

    @model_validator(mode="after")
    def _refuse_softmax_on_one_unit(self) -> ExperimentConfig:
        # Softmax over a single unit is exp(x)/exp(x) = 1.0 whatever x is: the layer passes no
        # information and gets no gradient, so such a network cannot learn.
        if any(a.name == "softmax" for a in self.hidden_activations):
            for index, model in enumerate(self.models):
                widths = model.hidden_units if isinstance(model, MLPSpec) else [*model.filters, *model.dense_units]
                if 1 in widths:
                    raise ValueError(
                        f"models[{index}] has a layer of 1 unit and hidden_activations includes softmax: "
                        "softmax over one unit always outputs 1.0 and cannot learn; widen the layer "
                        "or drop softmax"
                    )
        return self


@dataclass(frozen=True)
class ModelProblem:
    """A model that cannot be built or trained on a dataset: the field's location in the config, what is
    wrong and the fix, and the other settings (dotted) that caused it."""

    loc: tuple[Any, ...]
    text: str
    also: tuple[str, ...] = ()


def model_problems(
    config: ExperimentConfig, dataset: str, image_shape: tuple[int, ...], classes: int, train_images: int
) -> Iterator[ModelProblem]:
    """Each model that cannot be built or trained on `dataset`, of `image_shape`, `classes` classes and
    `train_images` published training images."""
    learned_slopes = any(hidden.name == "prelu" for hidden in config.hidden_activations)
    widest = max(output_units(config.task, output, classes) for output in config.output_activations)
    train = min(train_images, config.data.limit_train or train_images)
    fit = max(1, train - validation_images(train, config.training.validation_split))
    # A batch holds at most the images a run fits on; when it takes most of the memory, what sizes it is a cause too.
    batch_size = min(config.training.batch_size, fit)
    batch_fields = ("training.batch_size",) + (
        ("data.limit_train", "training.validation_split") if batch_size < config.training.batch_size else ()
    )
    for index, model in enumerate(config.models):
        try:
            size = model_size(model, image_shape, widest, learned_slopes, dataset)
        except ShapeProblem as exc:
            yield ModelProblem(("models", index, exc.field), str(exc))
            continue
        problem = memory_problem(size, batch_size)
        if problem:
            yield ModelProblem(("models", index), problem, batch_fields if size.batch_dominates(batch_size) else ())


def config_as_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The validated config as plain data, for writing next to the results."""
    data = config.model_dump(mode="json")
    data["datasets"] = [
        entry if isinstance(entry, str) else {k: v for k, v in entry.items() if v is not None}
        for entry in data["datasets"]
    ]
    data["hidden_activations"] = [
        {"name": a["name"], **a["params"]} if a["params"] else a["name"] for a in data["hidden_activations"]
    ]  # the source digest is derived, not written by the user
    data["output_activations"] = [o if o["units"] else o["name"] for o in data["output_activations"]]
    if data["reference"] is None:  # config.yaml of a config without one stays as it was
        del data["reference"]
    return data
