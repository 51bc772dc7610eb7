"""The whole experiment config: its sections, the rules that span them, and its plain-data form."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

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
)
from actbench.datasets.catalogue import DATASETS

SEED_MAX = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit


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
            problem = next(filter(None, (output_problem(task, output, DATASETS[name].classes) for name in builtin)), None)
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


def config_as_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The validated config as plain data, for writing next to the results."""
    data = config.model_dump(mode="json")
    data["datasets"] = [
        entry if isinstance(entry, str) else {k: v for k, v in entry.items() if v is not None} for entry in data["datasets"]
    ]
    data["hidden_activations"] = [
        {"name": a["name"], **a["params"]} if a["params"] else a["name"] for a in data["hidden_activations"]
    ]  # the source digest is derived, not written by the user
    data["output_activations"] = [o if o["units"] else o["name"] for o in data["output_activations"]]
    return data
