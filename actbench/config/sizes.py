"""Sizes from a spec alone, without data or TensorFlow: a run's images (their shape, how many each split
holds), the steps of its epochs, and its model's parameters, activations, multiply-adds and training
memory. One formula each, for the config's checks, planning, the cost model and training alike: the data
a run trains on has exactly these sizes (tests/test_datasets.py), the model exactly these parameters
(tests/test_config.py)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from actbench.config.schema import MLPSpec, ModelSpec
from actbench.dataset_catalogue import DATASETS

BYTES_PER_NUMBER = 4  # float32 weights and activations
# Training keeps four copies of every weight: the weight, its gradient and Adam's two moments.
WEIGHT_COPIES = 4


def validation_images(train: int, validation_split: float) -> int:
    """How many of `train` training images the validation split takes."""
    return round(train * validation_split)


def steps_per_epoch(images: int, batch_size: int) -> int:
    """Optimizer steps in an epoch over `images` images: the last batch may be smaller."""
    return math.ceil(images / batch_size)


@dataclass(frozen=True)
class RunSizes:
    """A run's images: their shape ((H, W) grey or (H, W, C) colour) and each split's count."""

    image_shape: tuple[int, ...]
    train: int  # the images it trains on, after the validation split
    validation: int
    test: int
    batch_size: int

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.train, self.batch_size)


def run_sizes(spec: Any) -> RunSizes:
    """The sizes of a run (a RunSpec, or a spec as spec.json holds it): from its source, limits and
    validation split, or a dataset of your own's recorded counts."""
    data = spec if isinstance(spec, dict) else spec.as_json()
    own, training = data.get("own_data"), data["training"]
    if own:
        shape, (published_train, published_test) = tuple(own["image_shape"]), (own["n_train"], own["n_test"])
    else:
        info = DATASETS[data["dataset"]]
        shape, (published_train, published_test) = info.image_shape, info.size(data["source"])
    train = min(data.get("limit_train") or published_train, published_train)
    test = min(data.get("limit_test") or published_test, published_test)
    validation = validation_images(train, training["validation_split"])
    return RunSizes(shape, train - validation, validation, test, training["batch_size"])


@dataclass(frozen=True)
class ModelSize:
    """A model's size as models.build_model builds it."""

    parameters: int
    activations: int  # numbers one image leaves in the layers' outputs, kept for the backward pass
    dense_multiply_adds: int  # per image, forward
    conv_multiply_adds: int  # per image, forward ('valid' convolutions)

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
    """Parameters, activations and multiply-adds of `model` on images of `image_shape`, layer by layer as
    models.py builds it: 'valid' convolutions, pooling that drops a remainder, Dense layers with biases;
    `learned_slopes`: PReLU's slope per unit (per channel after a convolution); batch_norm: four numbers
    per unit (per channel), one more output per layer, and `before` no bias. Raises ShapeProblem when a
    convolution or pooling window is larger than what it meets, with the fixes that apply."""
    height, width, channels = (list(image_shape) + [1])[:3]
    parameters, activations, conv_macs = 0, height * width * channels, 0
    # BatchNormalization: gamma, beta and the moving mean and variance per unit, and its own output.
    normalised = int(model.batch_norm != "none")
    bias = int(model.batch_norm != "before")
    if isinstance(model, MLPSpec):
        widths, dropout = [height * width * channels, *model.hidden_units], model.dropout
    else:
        for index, filters in enumerate(model.filters):
            _check_window(model, index, height, width, dataset)
            height, width = height - model.kernel_size + 1, width - model.kernel_size + 1
            parameters += (model.kernel_size**2 * channels + bias) * filters + (filters if learned_slopes else 0)
            parameters += 4 * filters * normalised
            conv_macs += height * width * model.kernel_size**2 * channels * filters
            activations += (2 + normalised) * height * width * filters  # the convolution and its activation
            _check_pool(model, index, height, width, dataset)
            height, width, channels = height // model.pool_size, width // model.pool_size, filters
            activations += height * width * filters
        widths, dropout = [height * width * channels, *model.dense_units], model.dropout
    for fan_in, units in itertools.pairwise(widths):
        parameters += (fan_in + bias) * units + (units if learned_slopes else 0) + 4 * units * normalised
        activations += (3 if dropout else 2) * units + units * normalised
    parameters += (widths[-1] + 1) * output_units
    dense_macs = sum(a * b for a, b in itertools.pairwise([*widths, output_units]))
    return ModelSize(parameters, activations + 2 * output_units, dense_macs, conv_macs)


def _check_window(model: Any, index: int, height: int, width: int, dataset: str) -> None:
    # What shrank the maps a window meets is a fix too: the pooling and the convolutions before it.
    fewer = ["list fewer filters"] if index else []
    where = f"{dataset}'s {height}x{width} images"
    if index:
        where = (
            f"the {height}x{width} feature maps that {index} convolution and pooling layers leave of {dataset}'s images"
        )
    if model.kernel_size > min(height, width):
        pooled = ["lower pool_size"] if index and model.pool_size > 1 else []
        raise ShapeProblem(
            "kernel_size", f"{model.kernel_size} is larger than {where}; {_either('lower it', *pooled, *fewer)}"
        )


def _check_pool(model: Any, index: int, height: int, width: int, dataset: str) -> None:
    if model.pool_size > min(height, width):
        convolved = ["lower kernel_size"] if model.kernel_size > 1 else []
        fewer = ["list fewer filters"] if index else []
        raise ShapeProblem(
            "pool_size",
            f"{model.pool_size} is larger than the {height}x{width} feature maps convolution {index + 1} leaves of {dataset}'s images; "
            + _either("lower it", *convolved, *fewer),
        )


def _either(*fixes: str) -> str:
    """'lower it', 'lower it or list fewer filters', 'lower it, lower pool_size or list fewer filters'."""
    return " or ".join(filter(None, [", ".join(fixes[:-1]), fixes[-1]]))
