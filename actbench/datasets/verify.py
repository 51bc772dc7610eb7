"""Check that what was read is the dataset it claims to be, by content rather than by structure.

In order: the decoded arrays' SHA-256 where the catalogue records it (then nothing else can pass);
else the digests the publishers give for the files as found (mnist.npz, the IDX archives); else the
content signature (images per class, mean pixel intensity overall and per class), which tells
MNIST from Fashion-MNIST and catches shuffled labels and blank images.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from actbench.dataset_catalogue import ARRAYS, CLASS_MEAN_TOLERANCE, MEAN_PIXEL_TOLERANCE, DatasetInfo
from actbench.errors import ActbenchError

Arrays = dict[str, np.ndarray]


def content_sha256(arrays: Arrays) -> str:
    """SHA-256 of the decoded arrays (shape, dtype and bytes of each, in a fixed order): the same
    whatever file format or compression they came in."""
    digest = hashlib.sha256()
    for key in ARRAYS:
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{array.shape}{array.dtype}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_full(info: DatasetInfo, location: Path, arrays: Arrays) -> tuple[str, str]:
    """The content digest and how it was verified; raises a one-line ActbenchError when it is not `info`."""
    digest = content_sha256(arrays)
    expected = info.content_sha256.get("full")
    if expected:
        if digest == expected:
            return digest, "content sha256"
        mismatch = (
            signature_problem(info, arrays)
            or f"its content sha256 is {digest[:16]}..., {info.title}'s is {expected[:16]}..."
        )
        raise _not_the_dataset(info, location, mismatch)
    if published_files_match(info, location):
        return digest, "published file digests"
    problem = signature_problem(info, arrays)
    if problem:
        raise _not_the_dataset(info, location, problem)
    return digest, "content signature"


def verify_sample(info: DatasetInfo, location: str, arrays: Arrays) -> str:
    digest = content_sha256(arrays)
    if digest != info.content_sha256["sample"]:
        raise ActbenchError(
            f"{location}: the embedded {info.title} sample has been altered (content sha256 {digest[:16]}...); reinstall actbench"
        )
    return digest


def published_files_match(info: DatasetInfo, location: Path) -> bool:
    """True when the files found are byte for byte the ones the publishers list (a recompressed copy is not)."""
    files = (
        [location] if location.is_file() else [location / name for name in info.published_files if name.endswith(".gz")]
    )
    if not files or not all(path.is_file() and path.name in info.published_files for path in files):
        return False
    return all(
        file_digest(path, info.published_files[path.name][0]) == info.published_files[path.name][1] for path in files
    )


def signature_problem(info: DatasetInfo, arrays: Arrays) -> str | None:
    """What in the content does not look like `info`, or None."""
    signature = info.signature
    for part, expected in (("train", signature.train_per_class), ("test", signature.test_per_class)):
        counts = tuple(np.bincount(arrays[f"y_{part}"], minlength=len(expected)).tolist())
        if counts != expected:
            return f"its {part} images per class are {list(counts)}, {info.title}'s are {list(expected)}"
    images, labels = arrays["x_train"], arrays["y_train"]
    mean = float(images.mean())
    if abs(mean - signature.mean_pixel) > MEAN_PIXEL_TOLERANCE:
        return f"its mean pixel intensity is {mean:.1f}, {info.title}'s is about {signature.mean_pixel:.1f}"
    per_image = images.reshape(len(images), -1).mean(axis=1)
    for label, expected_mean in enumerate(signature.class_mean_pixel):
        found = float(per_image[labels == label].mean())
        if abs(found - expected_mean) > CLASS_MEAN_TOLERANCE:
            return (
                f"the images labelled {info.class_names[label]!r} have mean pixel {found:.1f}, {info.title}'s have "
                f"about {expected_mean:.1f}: the labels do not belong to these images"
            )
    return None


def _not_the_dataset(info: DatasetInfo, location: Path, problem: str) -> ActbenchError:
    return ActbenchError(
        f"{location}: does not hold {info.title}: {problem}; replace it with the published files "
        "(or delete it so it is downloaded again), point --data-dir elsewhere, or use --source sample"
    )
