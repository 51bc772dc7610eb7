"""The whole experiment config: its sections, the rules that span them, and its plain-data form."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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
from actbench.dataset_catalogue import DATASETS

SEED_MAX = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
BYTES_PER_NUMBER = 4  # float32 weights and activations
# Training keeps four copies of every weight: the weight, its gradient and Adam's two moments.
WEIGHT_COPIES = 4


@dataclass(frozen=True)
class ModelSize:
    """A model's size as models.build_model builds it, computed without TensorFlow."""

    parameters: int
    activations: int  # numbers one image leaves in the layers' outputs, kept for the backward pass

    def training_bytes(self, batch_size: int) -> int:
        """Memory to train it: the weights' copies, and each layer's output and its gradient for a batch."""
        return BYTES_PER_NUMBER * (WEIGHT_COPIES * self.parameters + 2 * batch_size * self.activations)

    def batch_dominates(self, batch_size: int) -> bool:
        """Whether a batch's outputs and gradients take more of that memory than the weights' copies."""
        return 2 * batch_size * self.activations > WEIGHT_COPIES * self.parameters


class ShapeProblem(ValueError):
    """A layer that does not fit the feature maps it meets; `field` is the model field to change."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def model_size(
    model: ModelSpec,
    image_shape: tuple[int, ...],
    output_units: int,
    learned_slopes: bool = False,
    dataset: str = "the dataset",
) -> ModelSize:
    """Parameters and activations of `model` on images of `image_shape` ((H, W) or (H, W, C)), layer by
    layer as models.py builds it: 'valid' convolutions, pooling that drops a remainder, Dense layers
    with biases; `learned_slopes`: PReLU's slope per unit (per channel after a convolution); batch_norm:
    four numbers per unit (per channel), one more output per layer, and `before` no bias. Raises
    ShapeProblem when a convolution or pooling window is larger than what it meets, with the fixes that apply."""
    height, width, channels = (list(image_shape) + [1])[:3]
    parameters, activations = 0, height * width * channels
    # BatchNormalization: gamma, beta and the moving mean and variance per unit, and its own output.
    normalised = int(model.batch_norm != "none")
    bias = int(model.batch_norm != "before")
    if isinstance(model, MLPSpec):
        widths, dropout = [height * width * channels, *model.hidden_units], model.dropout
    else:
        for index, filters in enumerate(model.filters):
            # What shrank the maps a window meets is a fix too: the pooling and the convolutions before it.
            fewer = ["list fewer filters"] if index else []
            where = f"{dataset}'s {height}x{width} images"
            if index:
                where = f"the {height}x{width} feature maps that {index} convolution and pooling layers leave of {dataset}'s images"
            if model.kernel_size > min(height, width):
                pooled = ["lower pool_size"] if index and model.pool_size > 1 else []
                raise ShapeProblem(
                    "kernel_size", f"{model.kernel_size} is larger than {where}; {_either('lower it', *pooled, *fewer)}"
                )
            height, width = height - model.kernel_size + 1, width - model.kernel_size + 1
            parameters += (model.kernel_size**2 * channels + bias) * filters + (filters if learned_slopes else 0)
            parameters += 4 * filters * normalised
            activations += (2 + normalised) * height * width * filters  # the convolution and its activation
            if model.pool_size > min(height, width):
                convolved = ["lower kernel_size"] if model.kernel_size > 1 else []
                raise ShapeProblem(
                    "pool_size",
                    f"{model.pool_size} is larger than the {height}x{width} feature maps convolution {index + 1} leaves of {dataset}'s images; "
                    + _either("lower it", *convolved, *fewer),
                )
            height, width, channels = height // model.pool_size, width // model.pool_size, filters
            activations += height * width * filters
        widths, dropout = [height * width * channels, *model.dense_units], model.dropout
    for fan_in, units in itertools.pairwise(widths):
        parameters += (fan_in + bias) * units + (units if learned_slopes else 0) + 4 * units * normalised
        activations += (3 if dropout else 2) * units + units * normalised
    parameters += (widths[-1] + 1) * output_units
    return ModelSize(parameters, activations + 2 * output_units)


def _either(*fixes: str) -> str:
    """'lower it', 'lower it or list fewer filters', 'lower it, lower pool_size or list fewer filters'."""
    return " or ".join(filter(None, [", ".join(fixes[:-1]), fixes[-1]]))


def memory_problem(size: ModelSize, batch_size: int) -> str | None:
    """Whether training a model of `size` needs more memory than this machine has, with the fix."""
    from actbench.executors.resources import memory_bytes  # executors import config: not at module level

    needed, available = size.training_bytes(batch_size), memory_bytes()
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
    from actbench.datasets import validation_images  # datasets import NumPy: not at module level

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
