"""The experiment config: pydantic schema, loading (with --set overrides), grid expansion, run ids."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Discriminator, Tag

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from actbench import activations
from actbench import outputs
from actbench.datasets import catalogue as builtin_datasets
from actbench.errors import ActbenchError

DATASETS = tuple(builtin_datasets.DATASETS)  # the built-in datasets, by name
BUILTIN_CLASSES = builtin_datasets.builtin_class_count()  # 10: MNIST's digits, Fashion-MNIST's garments
# The version of the rules by which a run turns its spec into numbers (data order, models, losses,
# metrics, diagnostics). Bump it in every change that alters the numbers: it is part of the run id,
# so older run directories are then stale (reported as such, never mixed in, never counted as
# done) and their runs train again. 1: until the input pipeline reshuffled every epoch.
TRAINING_RULES = 2
SEED_MAX = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
INITIALIZERS = ("auto", "he_normal", "he_uniform", "glorot_uniform", "glorot_normal", "lecun_normal", "lecun_uniform")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivationSpec(_Strict):
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
            name, params = activations.parse_label(value)
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
        return {"name": name, "params": activations.resolve_params(name, given), "source_digest": digest}

    @property
    def label(self) -> str:
        return activations.label(self.name, self.params)


class MLPSpec(_Strict):
    type: Literal["mlp"] = "mlp"
    hidden_units: list[PositiveInt] = Field(default=[128, 64], min_length=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    initializer: Literal[INITIALIZERS] = "auto"  # type: ignore[valid-type]


class CNNSpec(_Strict):
    """Defaults are the classic Keras MNIST convnet (keras-io examples/vision/mnist_convnet.py)."""

    type: Literal["cnn"] = "cnn"
    filters: list[PositiveInt] = Field(default=[32, 64], min_length=1)
    kernel_size: PositiveInt = 3
    pool_size: PositiveInt = 2
    dense_units: list[PositiveInt] = Field(default_factory=list)
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    initializer: Literal[INITIALIZERS] = "auto"  # type: ignore[valid-type]


ModelSpec = Annotated[Union[MLPSpec, CNNSpec], Field(discriminator="type")]


class CustomDataset(_Strict):
    """A dataset of your own: a folder of the four IDX files (gzipped or not) or an .npz with
    x_train, y_train, x_test, y_test; any image size, grey (N, H, W) or colour (N, H, W, C)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    path: str = Field(min_length=1)
    class_names: list[str] | None = Field(default=None, min_length=2)  # else "0", "1", ...

    @field_validator("name")
    @classmethod
    def _not_a_builtin_name(cls, value: str) -> str:
        if value in DATASETS:
            raise ValueError(f"'{value}' is a built-in dataset; give your own dataset another name")
        return value

    @property
    def location(self) -> Path:
        return Path(self.path).expanduser()


# A dataset is a built-in name (`mnist`) or a mapping with a path (`{name: kmnist, path: ~/data/kmnist}`).
DatasetEntry = Annotated[
    Union[Annotated[Literal[DATASETS], Tag("builtin")], Annotated[CustomDataset, Tag("own")]],  # type: ignore[valid-type]
    Discriminator(lambda value: "builtin" if isinstance(value, str) else "own"),
]
# Union tags that pydantic puts into error locations; never shown to the user.
_LOC_TAGS = ("mlp", "cnn", "builtin", "own")


def dataset_name(entry: str | CustomDataset) -> str:
    return entry if isinstance(entry, str) else entry.name


class DataSpec(_Strict):
    source: Literal["auto", "full", "sample"] = "auto"
    limit_train: PositiveInt | None = None
    limit_test: PositiveInt | None = None


def _class_index(value: int, info: ValidationInfo) -> int:
    # The built-in datasets have 10 classes; with a dataset of your own the bound is its class
    # count, known once its files are read (runner.plan_runs checks it then).
    bound = (info.context or {}).get("class_bound", BUILTIN_CLASSES)
    if bound is not None and value >= bound:
        raise ValueError(f"must be less than {bound}")
    return value


class TaskSpec(_Strict):
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
        if self.type == "binary" and (not self.positive or classes is not None and len(self.positive) >= classes):
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


class OutputSpec(_Strict):
    """An output layer: its activation and its width (None: what the task needs, see `output_units`)."""

    name: Literal[outputs.NAMES]  # type: ignore[valid-type]
    units: PositiveInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def output_units(task: TaskSpec, output: OutputSpec, classes: int = 10) -> int:
    """The output width: one unit per class; for a binary task the layer's own width (see actbench.outputs)."""
    return outputs.units_for(output.name, task.type == "binary", classes, output.units)


def output_label(name: str, units: int, binary: bool) -> str:
    """For a binary task the width tells output layers apart: 'sigmoid (1 unit)', 'softmax (2 units)'."""
    return outputs.label(name, units, binary)


def output_problem(task: TaskSpec, output: OutputSpec, classes: int = 10) -> str | None:
    """What is wrong with this output layer for the task on a dataset of `classes` classes, or None."""
    return outputs.problem_with(output.name, task.type == "binary", output_units(task, output, classes), classes)


class TrainingSpec(_Strict):
    optimizer: Literal["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad"] = "adam"
    learning_rate: PositiveFloat = 0.001
    epochs: PositiveInt = 5
    batch_size: PositiveInt = 128
    validation_split: float = Field(default=0.1, gt=0.0, lt=1.0)


class ExperimentConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    datasets: list[DatasetEntry] = Field(min_length=1)
    data: DataSpec = DataSpec()
    task: TaskSpec = TaskSpec()
    models: list[ModelSpec] = Field(default_factory=lambda: [MLPSpec()], min_length=1)
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
        # Checked here for the built-in datasets (10 classes); for your own, once its files are read.
        task = info.data.get("task")
        builtin = any(isinstance(entry, str) for entry in info.data.get("datasets") or [])
        for index, output in enumerate(value if task and builtin else []):
            problem = output_problem(task, output, BUILTIN_CLASSES)
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


class OwnData(_Strict):
    """What a run of a dataset of your own records about its content: the digest of its arrays (so a
    changed file makes new runs), and the facts that size the model and estimate its cost."""

    sha256: str
    image_shape: tuple[PositiveInt, ...]  # (H, W) grey or (H, W, C)
    classes: PositiveInt
    n_train: PositiveInt
    n_test: PositiveInt


class RunSpec(_Strict):
    """One cell of the grid: everything that determines a run's numbers, plus the experiment name."""

    experiment: str
    dataset: str
    source: Literal["full", "sample", "own"]
    limit_train: PositiveInt | None
    limit_test: PositiveInt | None
    task: TaskSpec
    model: ModelSpec
    hidden_activation: ActivationSpec
    output_activation: str
    output_units: PositiveInt
    training: TrainingSpec
    seed: int
    deterministic: bool
    diagnostics: bool = False
    training_rules: int
    own_data: OwnData | None = None  # only for a dataset of your own

    def as_json(self) -> dict[str, Any]:
        """The spec as spec.json holds it; a built-in dataset's runs have no `own_data` key, so
        their spec (and run id) is what it was before datasets of your own existed."""
        return self.model_dump(mode="json", exclude=None if self.own_data else {"own_data"})


# Fields that do not change the numbers and therefore stay out of the run id.
_NOT_IN_RUN_ID = {"experiment"}


def run_id(spec: RunSpec) -> str:
    """Short sha256 of the canonical JSON of everything that changes the numbers."""
    identity = {k: v for k, v in spec.as_json().items() if k not in _NOT_IN_RUN_ID}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def expand_runs(config: ExperimentConfig, sources: dict[str, str], own: dict[str, OwnData] | None = None) -> list[RunSpec]:
    """The cartesian product of the config's lists; `sources` maps a built-in dataset -> 'full' |
    'sample', `own` each dataset of your own -> what its files hold (see runner.plan_runs).

    A limit at or above what the dataset holds means "all" and is recorded as None, so it gives the
    same run id as no limit.
    """
    from actbench.datasets.catalogue import DATASETS as CATALOGUE

    own = own or {}

    def effective(limit: int | None, available: int) -> int | None:
        return None if limit is None or limit >= available else limit

    def facts(dataset: str) -> tuple[str, tuple[int, int], int]:
        """Source, (train, test) size and class count."""
        if dataset in own:
            return "own", (own[dataset].n_train, own[dataset].n_test), own[dataset].classes
        return sources[dataset], CATALOGUE[dataset].size(sources[dataset]), len(CATALOGUE[dataset].class_names)

    runs = []
    grid = itertools.product(
        config.dataset_names, config.models, config.hidden_activations, config.output_activations, config.seeds
    )
    for dataset, model, hidden, output, seed in grid:
        if model.initializer == "auto":
            model = model.model_copy(update={"initializer": activations.default_initializer(hidden.name)})
        source, (n_train, n_test), classes = facts(dataset)
        runs.append(
            RunSpec(
                experiment=config.name,
                dataset=dataset,
                source=source,
                limit_train=effective(config.data.limit_train, n_train),
                limit_test=effective(config.data.limit_test, n_test),
                task=config.task,
                model=model,
                hidden_activation=hidden,
                output_activation=output.name,
                output_units=output_units(config.task, output, classes),
                training=config.training,
                seed=seed,
                deterministic=config.deterministic,
                diagnostics=config.diagnostics,
                training_rules=TRAINING_RULES,
                own_data=own.get(dataset),
            )
        )
    return runs


def load_config(path: Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Read, override and validate a YAML config; every problem becomes one ActbenchError."""
    raw = _read_yaml(path)
    for override in overrides:
        _apply_override(raw, override)
    try:
        return ExperimentConfig.model_validate(raw, context={"class_bound": _class_bound(raw)})
    except ValidationError as exc:
        raise ActbenchError("\n".join(_describe(error, _origin(error["loc"], path, overrides)) for error in exc.errors())) from None


def _class_bound(raw: dict[str, Any]) -> int | None:
    """The class count task.positive is checked against now: 10, unless a dataset of your own
    (whose classes are known only once it is read) is in the grid."""
    entries = raw.get("datasets")
    own = isinstance(entries, list) and any(isinstance(entry, dict) for entry in entries)
    return None if own else BUILTIN_CLASSES


def _origin(loc: tuple[Any, ...], path: Path, overrides: list[str]) -> str:
    """Where a bad value came from: the last --set that wrote it or a section around it, else the file."""
    fields = [part for part in loc if isinstance(part, str) and part not in _LOC_TAGS]
    for override in reversed(overrides):
        keys = override.partition("=")[0].strip().split(".")
        if fields[: len(keys)] == keys:
            return f"--set {override!r}"
    return str(path)


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


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ActbenchError(f"{path}: no such config file; check the path (configs/ has examples)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ActbenchError(f"{path}: cannot read the config: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ActbenchError(f"{path}{where}: YAML syntax error: {exc.problem}; fix the YAML there") from None
    except yaml.YAMLError as exc:
        raise ActbenchError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise ActbenchError(f"{path}: a config is a YAML mapping with at least 'name', 'datasets', 'hidden_activations'")
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key repeated in one mapping is an error instead of "last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' appears twice in one mapping (first on line {seen[key]}); keep one", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _apply_override(raw: dict[str, Any], override: str) -> None:
    """`training.epochs=1` sets raw['training']['epochs'] = 1; the value is read as a YAML scalar."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ActbenchError(f"--set {override!r}: write it as dotted.path=value, e.g. --set training.epochs=1")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ActbenchError(f"--set {override!r}: '{part}' is not a section, so it has no '{parts[-1]}'")
        node = child
    node[parts[-1]] = value


def _describe(error: dict[str, Any], path: Path | str) -> str:
    """One line: file (or the --set that caused it), field path, what is wrong, and how to fix it."""
    loc = [part for part in error["loc"] if part not in _LOC_TAGS]
    where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[") or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(error["loc"][:-1])
        close = _closest(str(loc[-1]), allowed)
        hint = f"did you mean '{close}'?" if close else f"allowed here: {', '.join(allowed)}"
        return f"{path}: {where}: unknown field; {hint}"
    if kind == "missing":
        return f"{path}: {where}: required field is missing; add it"
    message = error["msg"].removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    value = error.get("input")
    shown = f" (got {value!r})" if kind != "value_error" and not isinstance(value, (dict, list)) else ""
    return f"{path}: {where}: {message}{shown}"


def _closest(word: str, choices: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return found[0] if found else None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by following `loc` from the top of the schema."""
    model: Any = ExperimentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _LOC_TAGS:
            model = {"mlp": MLPSpec, "cnn": CNNSpec, "own": CustomDataset}.get(part, model)
            continue
        annotation = model.model_fields[part].annotation
        model = _inner_model(annotation)
    return list(model.model_fields)


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
