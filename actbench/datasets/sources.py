"""Where the full datasets come from: local folders in a fixed search order, else a verified download.

Search order (first hit wins): --data-dir / ACTBENCH_DATA_DIR, the Keras cache
(~/.keras/datasets, or $KERAS_HOME/datasets), the system folder /usr/share/datasets (where
Debian's dataset-fashion-mnist installs). In each folder a dataset is either its single-file copy
in the Keras format where the catalogue names one (`mnist.npz`) or the four IDX files, gzipped or
not, in a subfolder named after it (`mnist/`, `fashion-mnist/` or `fashion_mnist/`).

Local files are checked structurally here (gzip and zip CRCs, IDX magic numbers, exact sizes), so
a truncated or corrupt file is refused by name; verify.py then checks their content. Downloads are
checked against published checksums before they are moved into the Keras cache.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from actbench.datasets.catalogue import DATASETS
from actbench.datasets.verify import file_digest
from actbench.errors import ActbenchError

DEFAULT_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIR = Path("/usr/share/datasets")
DOWNLOAD_TIMEOUT_S = 30

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

Arrays = dict[str, np.ndarray]
REDOWNLOAD_FIX = "the file is damaged or incomplete: delete it so it is downloaded again, or replace it with an intact copy"


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def search_dirs(data_dir: Path | None) -> list[Path]:
    """The folders searched for full data, in order."""
    given = data_dir or (Path(os.environ["ACTBENCH_DATA_DIR"]) if os.environ.get("ACTBENCH_DATA_DIR") else None)
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
    for key, count in (("x_train", n_train), ("y_train", n_train), ("x_test", n_test), ("y_test", n_test)):
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
    base = (mirror or os.environ.get("ACTBENCH_MIRROR") or DEFAULT_MIRROR).rstrip("/") + "/"
    info = DATASETS[name]
    target = keras_cache_dir() if info.npz_file else keras_cache_dir() / info.subfolders[0]
    target.mkdir(parents=True, exist_ok=True)
    files = (info.npz_file,) if info.npz_file else tuple(f"{IDX_FILES[key]}.gz" for key in IDX_FILES)
    for filename in files:
        algorithm, expected = info.published_files[filename]
        destination = target / filename
        if destination.exists() and file_digest(destination, algorithm) == expected:
            continue
        download_file(base + filename, destination, algorithm, expected)
    return target / info.npz_file if info.npz_file else target


def download_file(url: str, destination: Path, algorithm: str, expected: str) -> None:
    """Download to a temporary file beside `destination`; move it there only if the checksum matches."""
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out)
        actual = file_digest(Path(temporary), algorithm)
        if actual != expected:
            raise ActbenchError(
                f"{url}: checksum mismatch ({algorithm} {actual}, expected {expected}); "
                "the file was not used; check the mirror (ACTBENCH_MIRROR) or use --data-dir"
            )
        os.replace(temporary, destination)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download {url}: {reason}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class DownloadError(ActbenchError):
    """The network could not deliver the file (as opposed to delivering a wrong one)."""


def idx_path(folder: Path, key: str) -> Path | None:
    for candidate in (folder / (IDX_FILES[key] + ".gz"), folder / IDX_FILES[key]):
        if candidate.is_file():
            return candidate
    return None


def read_idx_folder(folder: Path, image_shape: tuple[int, ...] | None, fix: str = REDOWNLOAD_FIX) -> Arrays:
    # A missing file reads as one that cannot be opened, named in the error.
    return {key: read_idx(idx_path(folder, key) or folder / IDX_FILES[key], image_shape, fix) for key in IDX_FILES}


def read_idx(path: Path, image_shape: tuple[int, ...] | None = None, fix: str = REDOWNLOAD_FIX) -> np.ndarray:
    """Parse one IDX file (LeCun's format: magic, dimension sizes, then unsigned bytes); images
    must have `image_shape` unless it is None."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _corrupt(path, f"cannot be decompressed ({exc})", fix) from None
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08 or not 1 <= data[3] <= 4:
        raise _corrupt(path, "is not an IDX file of unsigned bytes", fix)
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise _corrupt(path, f"holds {len(data) - header} bytes of data, its header promises {int(np.prod(shape))}", fix)
    if image_shape is not None and ndim > 1 and shape[1:] != image_shape:
        expected = "x".join(map(str, image_shape))
        raise _corrupt(path, f"holds images of {'x'.join(map(str, shape[1:]))}, expected {expected}", fix)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_npz(path: Path, image_shape: tuple[int, ...] | None, fix: str = REDOWNLOAD_FIX) -> Arrays:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in IDX_FILES if key not in archive.files]
            if missing:
                raise _corrupt(path, f"lacks the array {', '.join(missing)}", fix)
            arrays = {key: archive[key] for key in IDX_FILES}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise _corrupt(path, f"cannot be read ({exc})", fix) from None
    if image_shape is not None and (arrays["x_train"].shape[1:] != image_shape or arrays["x_train"].dtype != np.uint8):
        raise _corrupt(path, f"does not hold {'x'.join(map(str, image_shape))} uint8 images", fix)
    return arrays


def _corrupt(path: Path, problem: str, fix: str = REDOWNLOAD_FIX) -> ActbenchError:
    return ActbenchError(f"{path}: {problem}; {fix}")
