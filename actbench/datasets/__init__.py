"""Datasets: find the data (full, the embedded sample, or your own from a path), then cut it into train/validation/test.

`load_dataset` resolves `data.source` and returns the raw published splits (`load_own` reads a
dataset of your own); `split_dataset`
applies the config's limits and validation split. Both are deterministic and independent of a
run's seed, so every run of a sweep sees the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actbench.dataset_catalogue import DATASETS
from actbench.datasets import own, sources
from actbench.datasets.verify import content_sha256, verify_full, verify_sample
from actbench.errors import ActbenchError

SPLIT_SEED = 0  # fixed: subsets and validation images must not change with a run's seed


@dataclass(frozen=True)
class RawData:
    """A dataset's published train and test arrays and where they came from."""

    name: str
    source: str  # "full" | "sample" | "own"
    origin: str  # a path, or the sample's description
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    content_sha256: str  # of the decoded arrays, see verify.content_sha256
    verified_by: (
        str  # "content sha256" | "published file digests" | "content signature" | "checked, digest in the run id"
    )
    class_names: tuple[str, ...]
    warning: str | None = None

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass(frozen=True)
class Dataset:
    """What a run trains and is judged on: uint8 images (N, H, W) or (N, H, W, C) and integer labels 0 .. K-1."""

    name: str
    source: str
    origin: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    content_sha256: str
    verified_by: str
    class_names: tuple[str, ...]

    @property
    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.y_train), "n_val": len(self.y_val), "n_test": len(self.y_test)}

    @property
    def record(self) -> dict[str, int | str]:
        """What every run records about its data."""
        return {
            **self.sizes,
            "data_origin": self.origin,
            "data_sha256": self.content_sha256,
            "data_verified_by": self.verified_by,
        }


def resolve_source(name: str, requested: str, data_dir: Path | None) -> str:
    """The source a run will use, decided from what is on disk (no download is tried here)."""
    if requested == "auto":
        return "full" if sources.find_full(name, data_dir) else "sample"
    return requested


def load_dataset(name: str, requested: str, data_dir: Path | None = None, mirror: str | None = None) -> RawData:
    """Load `name` from `requested` source ('auto' | 'full' | 'sample').

    `auto` takes local full data, else tries a download, else falls back to the sample with a
    warning; `full` raises when neither local data nor a download is available.
    """
    if requested == "sample":
        return _from_sample(name, warning=None)
    location = sources.find_full(name, data_dir)
    if location is None:
        try:
            location = sources.download_full(name, mirror)
        except sources.DownloadError as exc:
            if requested == "full":
                searched = ", ".join(str(d) for d in sources.search_dirs(data_dir))
                raise ActbenchError(
                    f"{name}: full data not found (searched {searched}) and {exc}; "
                    f"pass --data-dir, set {sources.MIRROR_ENV}, or use data.source: sample"
                ) from None
            return _from_sample(
                name, warning=f"{name}: full data unavailable ({exc}); using the embedded sample. {fallback_fix(name)}"
            )
    arrays = sources.read_full(name, location)
    digest, verified_by = verify_full(DATASETS[name], location, arrays)
    return RawData(
        name,
        "full",
        str(location),
        **arrays,
        content_sha256=digest,
        verified_by=verified_by,
        class_names=DATASETS[name].class_names,
        warning=None,
    )


def load_own(name: str, location: Path, class_names: list[str] | None = None) -> RawData:
    """A dataset of your own (see own.py); nothing vouches for its content, so its digest, recorded
    in every run id and metrics.json, is what identifies it."""
    arrays, names = own.read_own(name, location, class_names)
    digest = content_sha256(arrays)
    return RawData(
        name,
        "own",
        str(location),
        **arrays,
        content_sha256=digest,
        verified_by="checked, digest in the run id",
        class_names=names,
        warning=None,
    )


def fallback_fix(name: str) -> str:
    """The end of every fallback message: how to get the full data, or how to choose the sample on purpose."""
    cache = str(sources.keras_cache_dir()).replace(str(Path.home()), "~", 1)
    info = DATASETS[name]
    files = (
        f"{info.npz_file} into {cache}" if info.npz_file else f"the four IDX files into {cache}/{info.subfolders[0]}/"
    )
    return f"For the full data pass --data-dir DIR or put {files}; to use the sample on purpose, pass --source sample."


def _from_sample(name: str, warning: str | None) -> RawData:
    arrays = sources.read_sample(name)
    origin = sources.sample_provenance(name)["description"]
    digest = verify_sample(DATASETS[name], origin, arrays)
    return RawData(
        name,
        "sample",
        origin,
        **arrays,
        content_sha256=digest,
        verified_by="content sha256",
        class_names=DATASETS[name].class_names,
        warning=warning,
    )


def split_dataset(raw: RawData, limit_train: int | None, limit_test: int | None, validation_split: float) -> Dataset:
    """Stratified, deterministic subsets; validation comes out of the training images only."""
    from sklearn.model_selection import train_test_split  # slow to import; only needed to train

    classes = len(raw.class_names)
    check_cut(raw.name, classes, (len(raw.y_train), len(raw.y_test)), limit_train, limit_test, validation_split)
    x_train, y_train = _stratified_subset(raw.x_train, raw.y_train, limit_train)
    x_test, y_test = _stratified_subset(raw.x_test, raw.y_test, limit_test)
    x_fit, x_val, y_fit, y_val = train_test_split(
        x_train,
        y_train,
        test_size=validation_images(len(y_train), validation_split),
        stratify=y_train,
        random_state=SPLIT_SEED,
    )
    return Dataset(
        raw.name,
        raw.source,
        raw.origin,
        x_fit,
        y_fit,
        x_val,
        y_val,
        x_test,
        y_test,
        raw.content_sha256,
        raw.verified_by,
        raw.class_names,
    )


def check_cut(
    name: str,
    classes: int,
    sizes: tuple[int, int],
    limit_train: int | None,
    limit_test: int | None,
    validation_split: float,
) -> None:
    """Refuse a cut that leaves a split without one image per class, from the counts alone (`sizes`: the
    published training and test images), so a sweep can refuse it before it loads or writes anything."""
    for limit, size, field in ((limit_train, sizes[0], "data.limit_train"), (limit_test, sizes[1], "data.limit_test")):
        if limit is not None and limit < size and limit < classes:
            raise ActbenchError(f"{field} is {limit}: keep at least {classes} images, one per class")
    train = min(sizes[0], limit_train or sizes[0])
    n_val = validation_images(train, validation_split)
    if n_val < classes or train - n_val < classes:
        raise ActbenchError(
            f"{name}: {train} training images with validation_split {validation_split} leave too "
            "few images for training or validation; raise data.limit_train or change training.validation_split"
        )


def validation_images(train: int, validation_split: float) -> int:
    """How many of `train` training images the validation split takes."""
    return round(train * validation_split)


def _stratified_subset(x: np.ndarray, y: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    if limit is None or limit >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(y))
    left_out = len(y) - limit
    # Stratifying needs one left-out image per class; leaving out fewer (a limit just below the size)
    # barely moves the class shares, so those few are drawn at random instead.
    stratify = y if left_out >= len(np.unique(y)) else None
    keep, _ = train_test_split(indices, train_size=limit, stratify=stratify, random_state=SPLIT_SEED)
    keep = np.sort(keep)
    return x[keep], y[keep]
