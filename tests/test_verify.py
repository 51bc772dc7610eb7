"""Data verified by content: the wrong dataset, shuffled labels, blank images and damaged archives are refused by name."""

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from actbench.dataset_catalogue import DATASETS
from actbench.datasets import load_dataset, sources
from actbench.datasets.verify import content_sha256, signature_problem, verify_full
from actbench.errors import ActbenchError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def full_sized(name: str, like: str) -> dict[str, np.ndarray]:
    """Real images of the embedded `name` sample, repeated to the per-class counts of the full `like`.

    Plumbing for the signature checks: real pixels (so intensities are realistic) in the published
    numbers per class; never trained on or reported as accuracy.
    """
    sample, signature = sources.read_sample(name), DATASETS[like].signature
    arrays = {}
    for part, counts in (("train", signature.train_per_class), ("test", signature.test_per_class)):
        x, y = sample[f"x_{part}"], sample[f"y_{part}"]
        picks = np.concatenate([np.resize(np.flatnonzero(y == label), count) for label, count in enumerate(counts)])
        arrays[f"x_{part}"], arrays[f"y_{part}"] = x[picks], y[picks]
    return arrays


def write_npz(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", **arrays)
    return folder / "mnist.npz"


@pytest.fixture
def only(monkeypatch, tmp_path):
    """Search only `tmp_path/data` (no Keras cache, no system folder)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(sources, "SYSTEM_DIR", tmp_path / "system")
    return tmp_path / "data"


def test_mnist_like_content_passes_the_signature(only):
    write_npz(only, full_sized("mnist", "mnist"))
    raw = load_dataset("mnist", "full", only)
    assert raw.verified_by == "content signature" and raw.content_sha256 == content_sha256(full_sized("mnist", "mnist"))


def test_fashion_mnist_saved_as_mnist_is_refused(only):
    write_npz(only, full_sized("fashion_mnist", "mnist"))  # MNIST's class counts, Fashion-MNIST's pixels
    with pytest.raises(
        ActbenchError,
        match=r"mnist\.npz: does not hold MNIST: its mean pixel intensity is 7\d\.\d, MNIST's is about 33\.3; .* --source sample",
    ):
        load_dataset("mnist", "full", only)


def test_shuffled_labels_are_refused(only):
    arrays = full_sized("mnist", "mnist")
    arrays["y_train"] = np.random.default_rng(0).permutation(arrays["y_train"])
    write_npz(only, arrays)
    with pytest.raises(ActbenchError, match="the labels do not belong to these images"):
        load_dataset("mnist", "full", only)


def test_an_all_zero_mnist_npz_is_refused(only):
    arrays = full_sized("mnist", "mnist")
    arrays["x_train"], arrays["x_test"] = np.zeros_like(arrays["x_train"]), np.zeros_like(arrays["x_test"])
    write_npz(only, arrays)
    with pytest.raises(ActbenchError, match=r"mean pixel intensity is 0\.0"):
        load_dataset("mnist", "full", only)


def test_wrong_class_counts_are_named():
    arrays = full_sized("mnist", "fashion_mnist")  # 6,000 images of every digit
    assert signature_problem(DATASETS["mnist"], arrays).startswith("its train images per class are [6000, 6000")


def test_a_dataset_with_a_recorded_digest_accepts_nothing_else(tmp_path):
    # Fashion-MNIST-like content that is not the published arrays: refused even though it "looks right".
    arrays = full_sized("fashion_mnist", "fashion_mnist")
    with pytest.raises(ActbenchError, match=r"does not hold Fashion-MNIST: .*(sha256|mean pixel)"):
        verify_full(DATASETS["fashion_mnist"], tmp_path, arrays)


def test_published_file_digests_vouch_for_an_exact_copy(tmp_path, monkeypatch):
    npz = write_npz(tmp_path, full_sized("mnist", "mnist"))
    arrays = sources.read_full("mnist", npz)
    arrays["y_train"] = np.random.default_rng(0).permutation(arrays["y_train"])  # would fail the signature
    algorithm, _ = DATASETS["mnist"].published_files["mnist.npz"]
    from actbench.datasets.verify import file_digest

    monkeypatch.setitem(DATASETS["mnist"].published_files, "mnist.npz", (algorithm, file_digest(npz, algorithm)))
    assert verify_full(DATASETS["mnist"], npz, arrays)[1] == "published file digests"


def test_a_corrupted_deflate_stream_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.compress(np.random.default_rng(1).integers(0, 10, 5000, dtype=np.uint8).tobytes()))
    payload[40:60] = b"\xff" * 20  # damage the compressed data, not the header
    path.write_bytes(bytes(payload))
    with pytest.raises(zlib.error):
        gzip.decompress(bytes(payload))  # what used to escape as a traceback
    with pytest.raises(ActbenchError, match=rf"{path}: cannot be decompressed"):
        sources.read_idx(path)


def test_a_corrupted_npz_member_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **sources.read_sample("mnist"))
    data = bytearray(path.read_bytes())
    data[200:260] = b"\x00" * 60
    path.write_bytes(bytes(data))
    with pytest.raises(ActbenchError, match=rf"{path}: cannot be read"):
        sources.read_full("mnist", path)


def test_the_embedded_samples_match_their_recorded_digests():
    for name, info in DATASETS.items():
        assert content_sha256(sources.read_sample(name)) == info.content_sha256["sample"]
        assert signature_problem(info, full_sized(name, name)) is None
        assert (
            sum(info.sample_size),
            len(sources.read_sample(name)["y_train"]) + len(sources.read_sample(name)["y_test"]),
        ) == (5000, 5000)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")
def test_real_fashion_mnist_in_an_mnist_folder_is_refused(only):
    (only / "mnist").mkdir(parents=True)
    for file in DEBIAN_FASHION.iterdir():
        (only / "mnist" / file.name).symlink_to(file)
    with pytest.raises(ActbenchError, match=r"mnist: does not hold MNIST: its train images per class are \[6000"):
        load_dataset("mnist", "full", only)
    assert load_dataset("fashion_mnist", "full", DEBIAN_FASHION.parent).verified_by == "content sha256"
