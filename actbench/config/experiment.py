"""The whole experiment config: its sections, the rules that span them, and its plain-data form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from actbench import resources
from actbench.config import axes
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
    TuneSpec,
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


_MODEL: TypeAdapter[ModelSpec] = TypeAdapter(ModelSpec)
# What tune.per may name besides a setting given as a list: the grid's own lists.
PER_CANDIDATE = ("dataset", "model", "hidden_activation", "output_activation")


def _config_error(loc: tuple[Any, ...], text: str) -> None:
    raise ValidationError.from_exception_data(
        "ExperimentConfig", [InitErrorDetails(type=PydanticCustomError("value_error", text), loc=loc, input=None)]
    )


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
    # Settings chosen per candidate on validation data before the runs are judged (actbench/tuning.py).
    tune: TuneSpec | None = None

    # Settings given as lists (config/axes.py): the lists as given, every training combination and
    # every preprocessing, validated. A model entry with lists is several entries of `models`.
    _axes: dict[str, list[Any]] = PrivateAttr(default_factory=dict)
    _trainings: list[TrainingSpec] = PrivateAttr(default_factory=list)
    _preprocessings: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _settings_as_axes(cls, data: Any, handler: ModelWrapValidatorHandler[ExperimentConfig]) -> ExperimentConfig:
        if not isinstance(data, dict):
            return handler(data)
        raw, found = axes.split_axes(data)
        axes.refuse_empty(found)
        models = data.get("models")
        for index, entry in enumerate(models if isinstance(models, list) else []):
            lists = axes.model_entry_axes(found, index)
            if lists and isinstance(entry, dict):
                axes.variants(_MODEL.validate_python, entry, lists, ("models", index))
        config = handler(raw)
        training, given = (
            data.get("training", {}),
            {n.split(".", 1)[1]: v for n, v in found.items() if n.startswith("training.")},
        )
        config._axes = found
        config._trainings = (
            axes.variants(TrainingSpec.model_validate, training, given, ("training",)) if given else [config.training]
        )
        data_section, preprocessing = data.get("data", {}), found.get("data.preprocessing")
        config._preprocessings = (
            [
                spec.preprocessing
                for spec in axes.variants(
                    DataSpec.model_validate, data_section, {"preprocessing": preprocessing}, ("data",)
                )
            ]
            if preprocessing is not None
            else [config.data.preprocessing]
        )
        config._check_models_fit_the_builtin_images()
        if config.tune is not None:
            config._check_tune()
        return config

    def _check_tune(self) -> None:
        tune = self.tune
        assert tune is not None
        for index, name in enumerate(tune.settings):
            if axes.spec_field(name, self._axes) is None:
                lists = ", ".join(axes.axis_names(self._axes)) or "none yet"
                _config_error(
                    ("tune", "settings", index),
                    f"'{name}' is not a setting given as a list of values; give it several "
                    f"(e.g. training: {{learning_rate: [0.0003, 0.001, 0.003]}}); lists here: {lists}",
                )
        overlap = sorted(set(self.tuning_seeds) & set(self.seeds))
        if overlap:
            _config_error(
                ("tune", "seeds"),
                f"seed {overlap[0]} is both a tuning seed and one of the experiment's seeds; the runs judged "
                "must not be those the settings were chosen on: give other tuning seeds, or a count",
            )
        for index, name in enumerate(tune.per or []):
            if name not in PER_CANDIDATE and axes.spec_field(name, self._axes) is None:
                choices = ", ".join([*PER_CANDIDATE, *axes.axis_names(self._axes)])
                _config_error(("tune", "per", index), f"'{name}' is none of what a choice can be made for: {choices}")
            if axes.spec_field(name, self._axes) in self.tuned_fields:
                _config_error(("tune", "per", index), f"'{name}' is tuned: a choice cannot be made per value of it")

    @property
    def tuned_fields(self) -> tuple[str, ...]:
        """The spec fields tune.settings name (dotted, as a RunSpec holds them); none without tuning."""
        if self.tune is None:
            return ()
        return tuple(field for name in self.tune.settings if (field := axes.spec_field(name, self._axes)))

    @property
    def tuning_seeds(self) -> list[int]:
        """tune.seeds: as listed, or a count of the seeds after the experiment's."""
        if self.tune is None:
            return []
        if isinstance(self.tune.seeds, list):
            return list(self.tune.seeds)
        return list(range(max(self.seeds) + 1, max(self.seeds) + 1 + self.tune.seeds))

    @property
    def trainings(self) -> list[TrainingSpec]:
        """The training settings of the grid: one, or each combination of the training axes."""
        return self._trainings or [self.training]

    @property
    def preprocessings(self) -> list[str]:
        return self._preprocessings or [self.data.preprocessing]

    @property
    def setting_axes(self) -> dict[str, list[Any]]:
        """The settings given as lists, dotted ('training.learning_rate', 'models[0].dropout'), as given."""
        return dict(self._axes)

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

    def _check_models_fit_the_builtin_images(self) -> None:
        # Convolution and pooling windows against each built-in dataset's images, and the memory each
        # model needs to train (at the grid's largest batch); a dataset of your own is checked once its
        # files are read (planning.own_data). `auto` counts the full data's training images: the most
        # a run of it can have. Once the axes are known: in _settings_as_axes.
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
    largest = max(training.batch_size for training in config.trainings)
    batch_size = min(largest, fit)
    batch_fields = ("training.batch_size",) + (
        ("data.limit_train", "training.validation_split") if batch_size < largest else ()
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
    for name, values in config.setting_axes.items():  # a setting given as a list is written as one
        section, _, field = name.partition(".")
        if section in ("training", "data"):
            data[section][field] = values
    if data["reference"] is None:  # config.yaml of a config without one stays as it was
        del data["reference"]
    return data
