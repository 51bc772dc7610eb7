"""A dataset of your own, from a path: read it in a format actbench already reads and check it
as strictly as the built-in ones.

The path is a folder of the four IDX files (gzipped or not, named as MNIST's are) or an .npz with
x_train, y_train, x_test, y_test. Images are grey (N, H, W) or colour (N, H, W, C), of any size;
labels are 0 .. K-1 with every class present in both splits. Its class count and size come from
its arrays, and its content digest goes into every run id, so a changed file makes new runs.

An .npz's arrays may have any integer or float dtype whose values fit 8 bits exactly: pixels as
integers 0-255, floats 0-255 with whole values, or floats in [0, 1] in steps of 1/255 (what
`x / 255` gives), labels as integers (NumPy's default int64). They are converted to uint8, which
is what a run trains on and what the digest is of: the same data saved as uint8 or as int64 and
float32 makes the same runs. What would lose information in that conversion is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actbench.datasets.sources import IDX_FILES, idx_path, read_idx_folder, read_npz
from actbench.errors import ActbenchError

Arrays = dict[str, np.ndarray]
FIX = "fix the file, or point the dataset's path elsewhere"
FORMATS = (
    "a folder of the four IDX files (train-images-idx3-ubyte[.gz] ...) or an .npz with x_train, y_train, x_test, y_test"
)
MIN_PER_CLASS = 2  # the stratified validation split needs two training images of every class


def read_own(name: str, location: Path, class_names: list[str] | None) -> tuple[Arrays, tuple[str, ...]]:
    """The arrays at `location` and the class names, or one ActbenchError naming the file, the field and the fix."""
    if location.is_file() and location.suffix == ".npz":
        arrays, files = read_npz(location, None, FIX), dict.fromkeys(IDX_FILES, location)
    elif location.is_dir():
        found = {key: idx_path(location, key) for key in IDX_FILES}
        missing = [IDX_FILES[key] for key, path in found.items() if path is None]
        if missing:
            raise ActbenchError(
                f"{location}: dataset '{name}' lacks {', '.join(missing)} (or .gz); give its path as {FORMATS}"
            )
        files = {key: path for key, path in found.items() if path is not None}
        arrays = read_idx_folder(location, None, FIX)
    elif location.exists():
        raise ActbenchError(f"{location}: dataset '{name}' is neither a folder nor an .npz; give its path as {FORMATS}")
    else:
        raise ActbenchError(f"{location}: dataset '{name}': no such file or folder; check its path in the config")
    arrays = {key: as_uint8(arrays[key], files[key], key) for key in IDX_FILES}
    classes = check_arrays(arrays, files, class_names)
    return arrays, tuple(class_names or (str(label) for label in range(classes)))


def as_uint8(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """`array` converted exactly to uint8 (floats in [0, 1] as images: scaled by 255); raises, with
    the fix, where a value would change."""
    labels = key.startswith("y_")
    kind = array.dtype.kind
    if array.dtype == np.uint8 or (
        array.size == 0 and kind in "iuf"
    ):  # nothing to convert (check_arrays refuses empty splits)
        return array.astype(np.uint8, copy=False)
    if kind not in "iuf":
        wanted = "integers" if labels else "integers 0-255 or floats in [0, 1]"
        raise _bad(path, key, f"has dtype {array.dtype}; give {'labels' if labels else 'pixels'} as {wanted}")
    values = array.astype(np.float64) if kind == "f" else array
    if kind == "f" and not np.isfinite(values).all():
        raise _bad(path, key, "holds NaN or infinite values")
    scaled = kind == "f" and not labels and values.min() >= 0 and values.max() <= 1
    if scaled:
        values = values * 255
    low, high = values.min(), values.max()
    if low < 0 or high > 255:
        if labels:
            label = low if low < 0 else high
            problem = f"has label {label:g}; labels are 0 .. number of classes - 1 (at most 256 classes)"
        else:
            problem = f"holds pixel values from {low:g} to {high:g}; give pixels as integers 0-255 or floats in [0, 1]"
        raise _bad(path, key, problem)
    if kind != "f":
        return values.astype(np.uint8)
    rounded = np.rint(values)
    # Float32's rounding of k/255, times 255, is within 2e-5 of k; float16's within 0.13.
    tolerance = max(1e-3, 255 * float(np.finfo(array.dtype).eps))
    if np.abs(values - rounded).max() > tolerance:
        if labels:
            problem = "holds labels that are not whole numbers; give integer labels 0 .. number of classes - 1"
        elif scaled:
            problem = (
                "holds floats in [0, 1] that are not steps of 1/255, so 8-bit pixels would lose detail; if that is "
                "acceptable, save np.round(x * 255).astype(np.uint8) instead"
            )
        else:
            problem = "holds pixel values between whole numbers; if rounding them is acceptable, save np.round(x).astype(np.uint8) instead"
        raise _bad(path, key, problem)
    return rounded.astype(np.uint8)


def check_arrays(arrays: Arrays, files: dict[str, Path], class_names: list[str] | None) -> int:
    """The class count K of uint8 arrays whose shapes the reader checked (sources.check_shapes); raises on
    anything else a built-in dataset would be refused for."""
    for key in ("y_train", "y_test"):
        if len(arrays[key]) == 0:
            raise _bad(files[key], key, "is empty; both splits need images of every class")
    classes = len(class_names) if class_names else int(arrays["y_train"].max()) + 1
    if classes < 2:
        raise _bad(files["y_train"], "y_train", "holds a single class; a classifier needs at least 2")
    for part in ("train", "test"):
        key = f"y_{part}"
        top = int(arrays[key].max())
        if top >= classes:
            names = f"class_names lists {classes} names" if class_names else f"y_train's labels run 0-{classes - 1}"
            raise _bad(files[key], key, f"has label {top}, but {names}; labels must be 0 .. number of classes - 1")
        counts = np.bincount(arrays[key], minlength=classes)
        absent = [label for label in range(classes) if counts[label] == 0]
        if absent:
            raise _bad(
                files[key],
                key,
                f"has no example of class {absent[0]} (classes are 0-{classes - 1}); every class must be present in both splits",
            )
    if int(np.bincount(arrays["y_train"]).min()) < MIN_PER_CLASS:
        raise _bad(
            files["y_train"],
            "y_train",
            f"has a class with fewer than {MIN_PER_CLASS} images; the validation split needs two of each",
        )
    return classes


def _bad(path: Path, field: str, problem: str) -> ActbenchError:
    return ActbenchError(f"{path}: {field} {problem}; {FIX}")
