"""Where the data comes from: local folders in a fixed search order, else a verified download, else the
small samples of real images embedded in the package.

Search order (first hit wins): --data-dir / ACTBENCH_DATA_DIR, the Keras cache
(~/.keras/datasets, or $KERAS_HOME/datasets), the system folder /usr/share/datasets (where
Debian's dataset-fashion-mnist installs). In each folder a dataset is either its single-file copy
in the Keras format where the catalogue names one (`mnist.npz`) or the four IDX files, gzipped or
not, in a subfolder named after it (`mnist/`, `fashion-mnist/` or `fashion_mnist/`).

Local files are checked structurally here (gzip and zip CRCs, IDX magic numbers, exact sizes), so
a truncated or corrupt file is refused by name; verify.py then checks their content. The headers of
a dataset's four arrays (IDX or .npz) are read first and checked against each other and the
machine's memory, and no body is decompressed past what its header promises: a small file that
expands to gigabytes is refused, never expanded. Downloads are
checked against published checksums before they are moved into the Keras cache.

The samples are built by scripts/build_samples.py, which records in samples.json where every image
came from; the licence notices are in actbench/data/LICENSES.txt.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np

from actbench import resources as hardware
from actbench.dataset_catalogue import ARRAYS, DATASETS
from actbench.datasets.verify import file_digest
from actbench.errors import ActbenchError

DATA_DIR_ENV, MIRROR_ENV = "ACTBENCH_DATA_DIR", "ACTBENCH_MIRROR"  # what --data-dir and --mirror default to
DEFAULT_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIR = Path("/usr/share/datasets")
DOWNLOAD_TIMEOUT_S = 30

IDX_FILES = dict(
    zip(
        ARRAYS,
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    )
)

Arrays = dict[str, np.ndarray]
REDOWNLOAD_FIX = (
    "the file is damaged or incomplete: delete it so it is downloaded again, or replace it with an intact copy"
)


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def search_dirs(data_dir: Path | None) -> list[Path]:
    """The folders searched for full data, in order."""
    given = data_dir or (Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None)
    return [d for d in (given, keras_cache_dir(), SYSTEM_DIR) if d is not None]


def find_full(name: str, data_dir: Path | None) -> Path | None:
    """The first local copy of the full dataset: an `.npz` file or a folder of IDX files."""
    for root in search_dirs(data_dir):
        npz = DATASETS[name].npz_file
        if npz and (root / npz).is_file():
            return root / npz
        for sub in DATASETS[name].subfolders:
            if all(idx_path(root / sub, key) for key in IDX_FILES):
                return root / sub
    return None


def read_full(name: str, location: Path) -> Arrays:
    """Read a local copy found by `find_full` and check its structure (verify.py checks its content)."""
    info = DATASETS[name]
    read = read_npz if location.suffix == ".npz" else read_idx_folder
    arrays = read(location, info.image_shape)
    n_train, n_test = info.full_size
    for key, count in zip(ARRAYS, (n_train, n_train, n_test, n_test)):
        if len(arrays[key]) != count:
            raise _corrupt(location, f"{key} has {len(arrays[key])} items, expected {count}")
    for key in ("y_train", "y_test"):
        if arrays[key].min() < 0 or arrays[key].max() >= info.classes:
            raise _corrupt(location, f"{key} has labels outside 0-{info.classes - 1}")
    return arrays


def download_full(name: str, mirror: str | None = None) -> Path:
    """Fetch the dataset into the Keras cache, verifying each file; returns what `find_full` would.

    A dataset with a single-file copy is fetched as that file into the cache's top folder, else as
    its four gzipped IDX files into its subfolder."""
    base = mirror_base(mirror)
    info = DATASETS[name]
    target = download_target(name)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the data cannot be had here, as when the network fails: --source auto falls back
        raise DownloadError(
            f"cannot make the download folder {target} ({exc.strerror or exc}); set KERAS_HOME to a folder that "
            "can be written, or put the files in a folder and pass --data-dir"
        ) from None
    for filename in download_files(name):
        algorithm, expected = info.published_files[filename]
        destination = target / filename
        if destination.exists() and file_digest(destination, algorithm) == expected:
            continue
        download_file(base + filename, destination, algorithm, expected)
    return target / info.npz_file if info.npz_file else target


def mirror_base(mirror: str | None) -> str:
    """The URL downloads come from: --mirror, else ACTBENCH_MIRROR, else TensorFlow's public bucket."""
    return (mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR).rstrip("/") + "/"


def download_files(name: str) -> tuple[str, ...]:
    """The files a download fetches: the single-file copy where the catalogue names one, else the four gzipped IDX files."""
    info = DATASETS[name]
    return (info.npz_file,) if info.npz_file else tuple(f"{IDX_FILES[key]}.gz" for key in IDX_FILES)


def download_target(name: str) -> Path:
    """Where a download puts the dataset: the Keras cache, in its subfolder for IDX files."""
    info = DATASETS[name]
    return keras_cache_dir() if info.npz_file else keras_cache_dir() / info.subfolders[0]


def missing_note(name: str, data_dir: Path | None, mirror: str | None) -> str | None:
    """What a dry run says when the full data is not on this machine (None when it is): where it
    looked, and what the real run will download from where, without downloading anything."""
    if find_full(name, data_dir) is not None:
        return None
    searched = ", ".join(str(d) for d in search_dirs(data_dir))
    files = download_files(name)
    what = files[0] if len(files) == 1 else f"{len(files)} files ({', '.join(files)})"
    return f"{name}: full data not found locally (searched {searched}); the run will download {what} from {mirror_base(mirror)} into {download_target(name)}"


def download_file(url: str, destination: Path, algorithm: str, expected: str) -> None:
    """Download to a temporary file beside `destination`; move it there only if the checksum matches."""
    temporary = ""
    try:
        handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out)
        actual = file_digest(Path(temporary), algorithm)
        if actual != expected:
            raise ActbenchError(
                f"{url}: checksum mismatch ({algorithm} {actual}, expected {expected}); "
                f"the file was not used; check the mirror ({MIRROR_ENV}) or use --data-dir"
            )
        os.replace(temporary, destination)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download {url}: {reason}") from None
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


class DownloadError(ActbenchError):
    """The network could not deliver the file (as opposed to delivering a wrong one)."""


def idx_path(folder: Path, key: str) -> Path | None:
    for candidate in (folder / (IDX_FILES[key] + ".gz"), folder / IDX_FILES[key]):
        if candidate.is_file():
            return candidate
    return None


def read_idx_folder(folder: Path, image_shape: tuple[int, ...] | None, fix: str = REDOWNLOAD_FIX) -> Arrays:
    """The four IDX files of a folder; their headers are checked against each other (and the machine's
    memory) before any body is read."""
    paths: dict[str, Path] = {key: idx_path(folder, key) for key in IDX_FILES}  # type: ignore[misc]
    shapes = {key: idx_shape(path, fix) for key, path in paths.items()}
    for key in ("x_train", "x_test"):
        _check_image_shape(paths[key], shapes[key], image_shape, fix)
    check_shapes(shapes, paths, fix)
    return {key: read_idx(paths[key], image_shape, fix) for key in IDX_FILES}


def check_shapes(
    shapes: dict[str, tuple[int, ...]], paths: dict[str, Path], fix: str, itemsizes: dict[str, int] | None = None
) -> None:
    """What the headers of a dataset's four arrays promise, checked before their bodies are read: images
    (N, H, W[, C]) and one label each, both splits of one image size, and all of it within memory."""
    for part in ("train", "test"):
        images, labels = shapes[f"x_{part}"], shapes[f"y_{part}"]
        if len(images) not in (3, 4):
            raise _corrupt(
                paths[f"x_{part}"],
                f"x_{part} has shape {images}, expected (N, H, W) grey or (N, H, W, C) colour images",
                fix,
            )
        if len(labels) != 1:
            raise _corrupt(paths[f"y_{part}"], f"y_{part} has shape {labels}, expected (N,) integer labels", fix)
        if images[0] != labels[0]:
            raise _corrupt(
                paths[f"y_{part}"], f"y_{part} has {labels[0]} labels for {images[0]} images in x_{part}", fix
            )
    if shapes["x_train"][1:] != shapes["x_test"][1:]:
        raise _corrupt(
            paths["x_test"],
            f"x_test holds images of {shapes['x_test'][1:]}, x_train of {shapes['x_train'][1:]}; both splits need one image shape",
            fix,
        )
    total = sum(math.prod(shape) * (itemsizes or {}).get(key, 1) for key, shape in shapes.items())
    memory = hardware.memory_bytes()
    if memory is not None and total > memory:
        raise _corrupt(
            paths["x_train"],
            f"the dataset's headers promise {_bytes(total)} of arrays, more than this machine's {_bytes(memory)}",
            fix,
        )


def _bytes(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.1f} MiB"


def idx_shape(path: Path, fix: str = REDOWNLOAD_FIX) -> tuple[int, ...]:
    """The dimension sizes an IDX file's header promises, read without its body."""
    try:
        with _open_idx(path) as stream:
            return _idx_header(stream, path, fix)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _corrupt(path, f"cannot be decompressed ({exc})", fix) from None


def read_idx(path: Path, image_shape: tuple[int, ...] | None = None, fix: str = REDOWNLOAD_FIX) -> np.ndarray:
    """Parse one IDX file (LeCun's format: magic, dimension sizes, then unsigned bytes); images
    must have `image_shape` unless it is None. The body is read only up to what the header promises
    (one byte more shows there is more): a small gzip that expands to gigabytes is refused, not expanded."""
    try:
        with _open_idx(path) as stream:
            shape = _idx_header(stream, path, fix)
            header, promised = 4 + 4 * len(shape), math.prod(shape)
            _check_image_shape(path, shape, image_shape, fix)
            size = path.stat().st_size
            if path.suffix != ".gz" and size - header != promised:
                raise _corrupt(path, f"holds {size - header} bytes of data, its header promises {promised}", fix)
            if promised > DEFLATE_MAX_RATIO * size:  # deflate expands at most 1032-fold: the header cannot be true
                raise _corrupt(
                    path, f"is {size} bytes compressed, too few for the {promised} bytes its header promises", fix
                )
            data = stream.read(promised + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _corrupt(path, f"cannot be decompressed ({exc})", fix) from None
    if len(data) > promised:
        raise _corrupt(
            path,
            f"holds more data than the {promised} bytes its header promises (decompression was stopped there)",
            fix,
        )
    if len(data) < promised:
        raise _corrupt(path, f"holds {len(data)} bytes of data, its header promises {promised}", fix)
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


DEFLATE_MAX_RATIO = 1032  # the most that deflate (gzip, zip) can expand its input


def _check_image_shape(path: Path, shape: tuple[int, ...], image_shape: tuple[int, ...] | None, fix: str) -> None:
    if image_shape is not None and len(shape) > 1 and shape[1:] != image_shape:
        expected = "x".join(map(str, image_shape))
        raise _corrupt(path, f"holds images of {'x'.join(map(str, shape[1:]))}, expected {expected}", fix)


def _open_idx(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # type: ignore[return-value]


def _idx_header(stream: BinaryIO, path: Path, fix: str) -> tuple[int, ...]:
    head = stream.read(4)
    if len(head) < 4 or head[0:2] != b"\x00\x00" or head[2] != 0x08 or not 1 <= head[3] <= 4:
        raise _corrupt(path, "is not an IDX file of unsigned bytes", fix)
    sizes = stream.read(4 * head[3])
    if len(sizes) < 4 * head[3]:
        raise _corrupt(path, "is not an IDX file of unsigned bytes (its header is cut short)", fix)
    return tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(head[3]))


def read_npz(path: Path, image_shape: tuple[int, ...] | None, fix: str = REDOWNLOAD_FIX) -> Arrays:
    if not zipfile.is_zipfile(path):  # np.load would read a .npy as one array, or call other bytes pickled data
        raise _corrupt(path, "is not an .npz archive (the zip of .npy arrays that numpy.savez writes)", fix)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in IDX_FILES if key not in archive.files]
            if missing:
                raise _corrupt(path, f"lacks the array {', '.join(missing)}", fix)
            headers = {key: _npy_header(archive.zip, key, path, fix) for key in IDX_FILES}
            check_shapes(
                {key: shape for key, (shape, _) in headers.items()},
                dict.fromkeys(IDX_FILES, path),
                fix,
                {key: itemsize for key, (_, itemsize) in headers.items()},
            )
            arrays = {key: archive[key] for key in IDX_FILES}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise _corrupt(path, f"cannot be read ({exc})", fix) from None
    if image_shape is not None and (arrays["x_train"].shape[1:] != image_shape or arrays["x_train"].dtype != np.uint8):
        raise _corrupt(path, f"does not hold {'x'.join(map(str, image_shape))} uint8 images", fix)
    return arrays


def _npy_header(archive: zipfile.ZipFile, key: str, path: Path, fix: str) -> tuple[tuple[int, ...], int]:
    """The shape and item size an .npz member's header promises, read without its body; a promise its
    compressed bytes cannot hold is refused (reading stops where the header says the data ends)."""
    member = archive.getinfo(f"{key}.npy" if f"{key}.npy" in archive.namelist() else key)  # np.load reads both names
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    promised = math.prod(shape) * dtype.itemsize
    ratio = DEFLATE_MAX_RATIO if member.compress_type != zipfile.ZIP_STORED else 1
    if promised > ratio * member.compress_size:
        raise _corrupt(
            path,
            f"{key} is {member.compress_size} bytes compressed, too few for the {promised} bytes its header promises",
            fix,
        )
    return shape, dtype.itemsize


def _corrupt(path: Path, problem: str, fix: str = REDOWNLOAD_FIX) -> ActbenchError:
    return ActbenchError(f"{path}: {problem}; {fix}")


def sample_file(name: str):
    return resources.files("actbench") / "data" / f"{name}_sample.npz"


def read_sample(name: str) -> Arrays:
    path = sample_file(name)
    try:
        with resources.as_file(path) as real_path, np.load(real_path, allow_pickle=False) as archive:
            return {key: archive[key] for key in ARRAYS}
    except (OSError, KeyError, ValueError) as exc:
        raise ActbenchError(f"{path}: the embedded sample cannot be read ({exc}); reinstall actbench") from None


def sample_provenance(name: str) -> dict:
    text = (resources.files("actbench") / "data" / "samples.json").read_text(encoding="utf-8")
    return json.loads(text)[name]
