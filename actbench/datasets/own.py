"""A dataset of your own, from a path: read it in a format actbench already reads and check it
as strictly as the built-in ones.

The path is a folder of the four IDX files (gzipped or not, named as MNIST's are) or an .npz with
x_train, y_train, x_test, y_test. Images are uint8, grey (N, H, W) or colour (N, H, W, C), of any
size; labels are 0 .. K-1 with every class present in both splits. Its class count and size come
from its arrays, and its content digest goes into every run id, so a changed file makes new runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actbench.datasets.sources import IDX_FILES, idx_path, read_idx_folder, read_npz
from actbench.errors import ActbenchError

Arrays = dict[str, np.ndarray]
FIX = "fix the file, or point the dataset's path elsewhere"
FORMATS = "a folder of the four IDX files (train-images-idx3-ubyte[.gz] ...) or an .npz with x_train, y_train, x_test, y_test"
MIN_PER_CLASS = 2  # the stratified validation split needs two training images of every class


def read_own(name: str, location: Path, class_names: list[str] | None) -> tuple[Arrays, tuple[str, ...]]:
    """The arrays at `location` and the class names, or one ActbenchError naming the file, the field and the fix."""
    if location.is_file() and location.suffix == ".npz":
        arrays, files = read_npz(location, None, FIX), dict.fromkeys(IDX_FILES, location)
    elif location.is_dir():
        found = {key: idx_path(location, key) for key in IDX_FILES}
        missing = [IDX_FILES[key] for key, path in found.items() if path is None]
        if missing:
            raise ActbenchError(f"{location}: dataset '{name}' lacks {', '.join(missing)} (or .gz); give its path as {FORMATS}")
        files = {key: path for key, path in found.items() if path is not None}
        arrays = read_idx_folder(location, None, FIX)
    elif location.exists():
        raise ActbenchError(f"{location}: dataset '{name}' is neither a folder nor an .npz; give its path as {FORMATS}")
    else:
        raise ActbenchError(f"{location}: dataset '{name}': no such file or folder; check its path in the config")
    classes = check_arrays(arrays, files, class_names)
    return arrays, tuple(class_names or (str(label) for label in range(classes)))


def check_arrays(arrays: Arrays, files: dict[str, Path], class_names: list[str] | None) -> int:
    """The class count K; raises on anything a built-in dataset would be refused for."""
    for key in IDX_FILES:
        if arrays[key].dtype != np.uint8:
            raise _bad(files[key], key, f"has dtype {arrays[key].dtype}, expected uint8 (pixels and labels 0-255)")
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim not in (3, 4):
            raise _bad(files[f"x_{part}"], f"x_{part}", f"has shape {x.shape}, expected (N, H, W) grey or (N, H, W, C) colour images")
        if y.ndim != 1:
            raise _bad(files[f"y_{part}"], f"y_{part}", f"has shape {y.shape}, expected (N,) integer labels")
        if len(x) != len(y):
            raise _bad(files[f"y_{part}"], f"y_{part}", f"has {len(y)} labels for {len(x)} images in x_{part}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise _bad(files["x_test"], "x_test", f"holds images of {arrays['x_test'].shape[1:]}, x_train of {arrays['x_train'].shape[1:]}; both splits need one image shape")
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
            raise _bad(files[key], key, f"has no example of class {absent[0]} (classes are 0-{classes - 1}); every class must be present in both splits")
    if int(np.bincount(arrays["y_train"]).min()) < MIN_PER_CLASS:
        raise _bad(files["y_train"], "y_train", f"has a class with fewer than {MIN_PER_CLASS} images; the validation split needs two of each")
    return classes


def _bad(path: Path, field: str, problem: str) -> ActbenchError:
    return ActbenchError(f"{path}: {field} {problem}; {FIX}")
