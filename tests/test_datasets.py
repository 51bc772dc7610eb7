"""Dataset sources: search order, verified downloads from a local HTTP server, corrupt files, samples, splits."""

import gzip
import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from actbench.dataset_catalogue import DATASETS
from actbench.datasets import load_dataset, resolve_source, sources, split_dataset
from actbench.errors import ActbenchError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, n_train: int = 20, n_test: int = 10) -> Path:
    """A structurally valid IDX folder of random pixels: plumbing only, never reported as accuracy."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "x_train": rng.integers(0, 255, (n_train, 28, 28)),
        "y_train": np.arange(n_train) % 10,
        "x_test": rng.integers(0, 255, (n_test, 28, 28)),
        "y_test": np.arange(n_test) % 10,
    }
    for key, filename in sources.IDX_FILES.items():
        (folder / f"{filename}.gz").write_bytes(gzip.compress(idx_bytes(arrays[key])))
    return folder


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No real data anywhere: empty Keras cache and system folder, no env variables."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("ACTBENCH_DATA_DIR", raising=False)
    monkeypatch.delenv("ACTBENCH_MIRROR", raising=False)
    monkeypatch.setattr(sources, "SYSTEM_DIR", tmp_path / "system")
    return tmp_path


def test_search_order_data_dir_then_keras_cache_then_system(isolated, monkeypatch):
    system = write_idx_folder(isolated / "system" / "fashion-mnist")
    assert sources.find_full("fashion_mnist", None) == system
    keras_cache = write_idx_folder(isolated / "keras" / "datasets" / "fashion-mnist")
    assert sources.find_full("fashion_mnist", None) == keras_cache
    given = write_idx_folder(isolated / "given" / "fashion_mnist")
    monkeypatch.setenv("ACTBENCH_DATA_DIR", str(isolated / "given"))
    assert sources.find_full("fashion_mnist", None) == given
    flag = write_idx_folder(isolated / "flag" / "fashion-mnist")
    assert sources.find_full("fashion_mnist", isolated / "flag") == flag
    assert sources.find_full("mnist", isolated / "flag") is None  # fashion files are never taken for MNIST


def test_mnist_npz_in_keras_cache_is_found(isolated):
    cache = isolated / "keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    assert sources.find_full("mnist", None) == cache / "mnist.npz"
    assert resolve_source("mnist", "auto", None) == "full"
    with pytest.raises(ActbenchError, match=r"mnist\.npz: lacks the array y_train, x_test, y_test"):
        sources.read_full("mnist", cache / "mnist.npz")


def test_truncated_and_corrupt_files_are_refused_by_name(tmp_path):
    folder = write_idx_folder(tmp_path / "fashion-mnist")
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-40])
    with pytest.raises(ActbenchError, match=rf"{images}: cannot be decompressed"):
        sources.read_idx(images)
    raw = tmp_path / "t10k-images-idx3-ubyte"
    raw.write_bytes(idx_bytes(np.zeros((5, 28, 28)))[:-1])
    with pytest.raises(ActbenchError, match=rf"{raw}: holds 3919 bytes of data, its header promises 3920"):
        sources.read_idx(raw)
    raw.write_bytes(b"\x00\x00\x09\x03garbage")
    with pytest.raises(ActbenchError, match="is not an IDX file"):
        sources.read_idx(raw)
    with pytest.raises(ActbenchError, match="x_train has 20 items, expected 60000"):
        sources.read_full("fashion_mnist", write_idx_folder(tmp_path / "small"))


class _Server:
    """A static file server on 127.0.0.1 for the download tests; stops itself after the test."""

    def __init__(self, folder: Path) -> None:
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    folder = write_idx_folder(tmp_path / "served")
    server = _Server(folder)
    yield folder, server.url
    server.close()


def checksums_of(folder: Path) -> dict[str, tuple[str, str]]:
    return {p.name: ("md5", hashlib.md5(p.read_bytes()).hexdigest()) for p in folder.iterdir()}


def test_download_with_good_checksums_lands_in_the_keras_cache(isolated, served, monkeypatch):
    folder, url = served
    for name, digest in checksums_of(folder).items():
        monkeypatch.setitem(DATASETS["fashion_mnist"].published_files, name, digest)
    location = sources.download_full("fashion_mnist", mirror=url)
    assert location == isolated / "keras" / "datasets" / "fashion-mnist"
    assert sources.find_full("fashion_mnist", None) == location
    assert sources.read_idx(location / "train-labels-idx1-ubyte.gz").tolist() == list(np.arange(20) % 10)
    assert not list(location.glob(".*part"))


def test_download_with_a_bad_checksum_is_refused_and_not_kept(isolated, served, monkeypatch):
    folder, url = served
    wrong = dict.fromkeys(checksums_of(folder), ("md5", "0" * 32))
    for name, digest in wrong.items():
        monkeypatch.setitem(DATASETS["fashion_mnist"].published_files, name, digest)
    monkeypatch.setenv("ACTBENCH_MIRROR", url)
    with pytest.raises(ActbenchError, match=r"checksum mismatch .* the file was not used"):
        load_dataset("fashion_mnist", "auto")  # a wrong file is an error even under auto
    assert not any((isolated / "keras" / "datasets" / "fashion-mnist").iterdir())


def test_unreachable_download_falls_back_to_the_sample_under_auto_only(isolated):
    dead_mirror = "http://127.0.0.1:9/"  # discard port: nothing listens, the connection is refused
    raw = load_dataset("mnist", "auto", mirror=dead_mirror)
    assert raw.source == "sample" and "using the embedded sample" in raw.warning
    # The warning names the fixes: where the full data goes, or how to choose the sample on purpose.
    keras_cache = str(isolated / "keras" / "datasets")
    assert (
        f"pass --data-dir DIR or put mnist.npz into {keras_cache}; to use the sample on purpose, pass --source sample"
        in raw.warning
    )
    with pytest.raises(ActbenchError, match=r"mnist: full data not found .* pass --data-dir"):
        load_dataset("mnist", "full", mirror=dead_mirror)


def test_embedded_samples_are_real_balanced_and_documented():
    for name in ("mnist", "fashion_mnist"):
        raw = load_dataset(name, "sample")
        assert raw.source == "sample"
        assert raw.x_train.shape == (4000, 28, 28) and raw.x_test.shape == (1000, 28, 28)
        assert np.bincount(raw.y_train).tolist() == [400] * 10
        assert np.bincount(raw.y_test).tolist() == [100] * 10
        # Real digits and clothes: mostly black background, not uniform noise.
        assert 20 < raw.x_train.mean() < 100 and (raw.x_train == 0).mean() > 0.4
        assert "embedded" in raw.origin


def test_split_is_stratified_deterministic_and_from_training_images_only():
    raw = load_dataset("fashion_mnist", "sample")
    first = split_dataset(raw, 1000, 200, 0.1)
    again = split_dataset(raw, 1000, 200, 0.1)
    assert first.sizes == {"n_train": 900, "n_val": 100, "n_test": 200}
    assert np.bincount(first.y_val).tolist() == [10] * 10
    assert np.array_equal(first.x_val, again.x_val) and np.array_equal(first.x_test, again.x_test)
    train_set = {img.tobytes() for img in raw.x_train}
    assert all(img.tobytes() in train_set for img in first.x_val)
    with pytest.raises(ActbenchError, match=r"data\.limit_train is 5"):
        split_dataset(raw, 5, None, 0.1)


def test_a_limit_just_below_the_size_leaves_out_fewer_images_than_classes():
    raw = load_dataset("fashion_mnist", "sample")
    n_train, n_test = len(raw.y_train), len(raw.y_test)
    cut = split_dataset(raw, n_train - 1, n_test - 3, 0.1)
    assert cut.sizes["n_train"] + cut.sizes["n_val"] == n_train - 1 and cut.sizes["n_test"] == n_test - 3


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")
def test_full_fashion_mnist_from_the_system_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    raw = load_dataset("fashion_mnist", "auto")
    assert raw.source == "full" and raw.origin == str(DEBIAN_FASHION)
    assert raw.x_train.shape == (60000, 28, 28) and raw.x_test.shape == (10000, 28, 28)
    assert np.bincount(raw.y_test).tolist() == [1000] * 10


def test_a_dataset_with_a_single_file_copy_downloads_that_file_into_the_cache_top(isolated, tmp_path, monkeypatch):
    served = tmp_path / "mirror"
    served.mkdir()
    np.savez_compressed(
        served / "mnist.npz",
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    monkeypatch.setitem(
        DATASETS["mnist"].published_files,
        "mnist.npz",
        ("sha256", hashlib.sha256((served / "mnist.npz").read_bytes()).hexdigest()),
    )
    server = _Server(served)
    try:
        location = sources.download_full("mnist", mirror=server.url)
    finally:
        server.close()
    assert location == isolated / "keras" / "datasets" / "mnist.npz" == sources.find_full("mnist", None)


def test_built_in_images_of_another_shape_than_the_catalogue_says_are_refused(tmp_path):
    folder = tmp_path / "fashion-mnist"
    write_idx_folder(folder)
    small = folder / "train-images-idx3-ubyte.gz"
    small.write_bytes(gzip.compress(idx_bytes(np.zeros((20, 14, 14)))))
    with pytest.raises(ActbenchError, match=rf"{small}: holds images of 14x14, expected 28x28"):
        sources.read_full("fashion_mnist", folder)
    npz = tmp_path / "mnist.npz"
    np.savez(
        npz,
        x_train=np.zeros((2, 14, 14), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((1, 14, 14), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    with pytest.raises(ActbenchError, match=rf"{npz}: does not hold 28x28 uint8 images"):
        sources.read_full("mnist", npz)


def test_files_that_are_no_npz_archive_are_refused_in_one_line(tmp_path):
    """A .npy renamed .npz (np.load would hand back a bare array) and plain bytes (it would call them pickled)."""
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as stream:
        np.save(stream, np.zeros((3, 28, 28), np.uint8))
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    for path in (npy, text):
        with pytest.raises(ActbenchError, match=rf"^{path}: is not an .npz archive \(the zip of .npy arrays"):
            sources.read_npz(path, None)


def test_a_keras_cache_that_cannot_be_made_is_a_failed_download_so_auto_falls_back(isolated, monkeypatch):
    blocker = isolated / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KERAS_HOME", str(blocker))  # the cache folder would have to be made inside a file
    with pytest.raises(sources.DownloadError, match=rf"cannot make the download folder {blocker}/datasets"):
        sources.download_full("mnist", "http://127.0.0.1:9/")
    assert load_dataset("mnist", "auto", mirror="http://127.0.0.1:9/").source == "sample"
