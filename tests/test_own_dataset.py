"""A dataset of your own from a path: 14x14 images of 5 classes built from the embedded MNIST sample
(digits 0-4, each image averaged over 2x2 blocks), as IDX files and as an .npz, grey and colour."""

import gzip
import io
import re
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_datasets import idx_bytes

from actbench.config import load_config
from actbench.datasets import load_own, sources
from actbench.errors import ActbenchError
from actbench.planning import plan_runs
from actbench.report import build_report
from actbench.results import CONFUSION, PREDICTIONS, read_run, read_spec, run_directories
from helpers import invoke, write_config


def small_digits() -> dict[str, np.ndarray]:
    """Real digits 0-4 of the MNIST sample at 14x14: another image size and class count than MNIST's."""
    arrays = sources.read_sample("mnist")
    out = {}
    for part in ("train", "test"):
        keep = arrays[f"y_{part}"] < 5
        images = arrays[f"x_{part}"][keep].reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
        out[f"x_{part}"], out[f"y_{part}"] = images.round().astype(np.uint8), arrays[f"y_{part}"][keep]
    return out


def write_idx(folder: Path, arrays: dict[str, np.ndarray], gzipped: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, filename in sources.IDX_FILES.items():
        data = idx_bytes(arrays[key])
        (folder / (filename + (".gz" if gzipped else ""))).write_bytes(gzip.compress(data) if gzipped else data)
    return folder


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


def config_for(tmp_path: Path, path: Path, extra: str = "", entry: str = "") -> Path:
    """A config of its own file per dataset path and settings, so several can coexist in one test."""
    return write_config(
        tmp_path,
        f"""
        name: own
        datasets: [{{name: digits5, path: '{path}'{entry}}}]
        data: {{limit_train: 600, limit_test: 200}}
        models: [{{type: mlp, hidden_units: [16]}}, {{type: cnn, filters: [4], dense_units: []}}]
        hidden_activations: [relu]
        training: {{epochs: 1, batch_size: 32, learning_rate: 0.005}}
        {extra}
        """,
        f"own-{abs(hash((str(path), extra, entry)))}.yaml",
    )


def plan(config: Path, results: Path) -> list:
    return plan_runs(load_config(config), results, None)[0]


def test_an_own_dataset_trains_with_mlp_and_cnn_and_is_reported(tmp_path):
    arrays = small_digits()
    folder = write_idx(tmp_path / "digits5", arrays)
    results = tmp_path / "results"
    outcome = invoke("run", config_for(tmp_path, folder), "--results-dir", results)
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(results / "own" / "results.csv")
    assert sorted(table["model"]) == ["cnn", "mlp"] and set(table["status"]) == {"finished"}
    assert (
        set(table["dataset"]) == {"digits5"} and set(table["source"]) == {"own"} and set(table["output_units"]) == {5}
    )
    # Five classes learned from real digits: well above the 20% of guessing after one epoch.
    assert (table["test_accuracy"] > 0.5).all(), table["test_accuracy"]
    for directory in run_directories(results / "own"):
        spec, metrics = read_run(directory)
        assert metrics["data_sha256"] == spec["own_data"]["sha256"] and metrics["data_origin"] == str(folder)
        assert spec["own_data"]["image_shape"] == [14, 14] and spec["own_data"]["classes"] == 5
        with np.load(directory / PREDICTIONS) as saved:
            assert list(saved["class_names"]) == ["0", "1", "2", "3", "4"] and saved["outputs"].shape == (200, 5)
    report = invoke("report", results / "own")
    assert report.exit_code == 0, report.output
    assert "digits5" in report.output and "relu" in report.output
    for directory in run_directories(results / "own"):
        (directory / CONFUSION).unlink()  # without one, chance is 1 / the dataset's classes: 5 here, not MNIST's 10
    assert set(build_report(results / "own").aggregated.summary["chance_level"]) == {0.2}


def test_a_colour_npz_with_class_names_trains_a_cnn(tmp_path):
    arrays = small_digits()
    for part in ("train", "test"):  # colour: the same digit in red, green and blue at different strengths
        grey = arrays[f"x_{part}"]
        arrays[f"x_{part}"] = np.stack([grey, grey // 2, grey // 4], axis=-1)
    path = write_npz(tmp_path / "digits5.npz", arrays)
    names = ", ".join(["zero", "one", "two", "three", "four"])
    config = config_for(tmp_path, path, entry=f", class_names: [{names}]")
    results = tmp_path / "results"
    outcome = invoke("run", config, "--results-dir", results)
    assert outcome.exit_code == 0, outcome.output
    for directory in run_directories(results / "own"):
        assert read_spec(directory)["own_data"]["image_shape"] == [14, 14, 3]
        header = (directory / CONFUSION).read_text().splitlines()[0]  # the file as written, names and all
        assert header == "true \\ predicted,zero,one,two,three,four"


def test_the_content_digest_is_in_the_run_id(tmp_path):
    arrays = small_digits()
    idx_ids = [
        run.run_id
        for run in plan(config_for(tmp_path, write_idx(tmp_path / "d", arrays, gzipped=False)), tmp_path / "r")
    ]
    npz_ids = [run.run_id for run in plan(config_for(tmp_path, write_npz(tmp_path / "d.npz", arrays)), tmp_path / "r")]
    assert idx_ids == npz_ids  # the same content in another format is the same dataset
    arrays["y_train"] = arrays["y_train"].copy()
    other = int(np.argmax(arrays["y_train"] != arrays["y_train"][0]))
    arrays["y_train"][[0, other]] = arrays["y_train"][[other, 0]]  # two labels swapped: other numbers, other runs
    changed = [run.run_id for run in plan(config_for(tmp_path, write_npz(tmp_path / "e.npz", arrays)), tmp_path / "r")]
    assert set(changed).isdisjoint(idx_ids)


def test_limits_at_or_above_the_dataset_size_mean_all(tmp_path):
    arrays = small_digits()
    path = write_npz(tmp_path / "d.npz", arrays)
    assert plan(config_for(tmp_path, path), tmp_path / "r")[0].spec.limit_train == 600
    config = write_config(
        tmp_path,
        f"name: own\ndatasets: [{{name: d5, path: '{path}'}}]\ndata: {{limit_train: 99999}}\nhidden_activations: [relu]\n",
    )
    (run,) = plan(config, tmp_path / "r")
    assert run.spec.limit_train is None and run.spec.own_data.n_train == len(arrays["y_train"])


def _mutate(arrays: dict[str, np.ndarray], key: str, value: np.ndarray) -> dict[str, np.ndarray]:
    return {**arrays, key: value}


BAD_ARRAYS = [
    (
        lambda a: _mutate(a, "x_train", a["x_train"] * np.float32(0.5)),
        "x_train holds pixel values between whole numbers; if rounding them is acceptable, save np.round(x).astype(np.uint8) instead",
    ),
    (
        lambda a: _mutate(a, "x_train", a["x_train"] / np.float32(256)),
        "x_train holds floats in [0, 1] that are not steps of 1/255, so 8-bit pixels would lose detail",
    ),
    (
        lambda a: _mutate(a, "x_test", a["x_test"].astype(np.int32) * 2),
        "x_test holds pixel values from 0 to 510; give pixels as integers 0-255 or floats in [0, 1]",
    ),
    (
        lambda a: _mutate(a, "x_test", np.where(a["x_test"] > 9, np.nan, a["x_test"])),
        "x_test holds NaN or infinite values",
    ),
    (
        lambda a: _mutate(a, "y_test", a["y_test"].astype(np.int64) - 1),
        "y_test has label -1; labels are 0 .. number of classes - 1",
    ),
    (lambda a: _mutate(a, "y_train", a["y_train"] + 0.5), "y_train holds labels that are not whole numbers"),
    (lambda a: _mutate(a, "y_train", a["y_train"].astype(str)), "y_train has dtype <U3; give labels as integers"),
    (
        lambda a: {**a, "x_test": a["x_test"][:0].astype(np.float32), "y_test": a["y_test"][:0].astype(np.int64)},
        "y_test is empty; both splits need images of every class",
    ),
    (lambda a: _mutate(a, "x_test", a["x_test"][:, :10]), "x_test holds images of (10, 14), x_train of (14, 14)"),
    (lambda a: _mutate(a, "y_train", a["y_train"][:-1]), "y_train has"),
    (
        lambda a: _mutate(a, "y_test", np.where(a["y_test"] == 4, 3, a["y_test"]).astype(np.uint8)),
        "y_test has no example of class 4",
    ),
    (
        lambda a: _mutate(a, "y_test", np.where(a["y_test"] == 4, 7, a["y_test"]).astype(np.uint8)),
        "y_test has label 7, but y_train's labels run 0-4",
    ),
    (lambda a: _mutate(a, "x_train", a["x_train"][:, 0, 0]), "x_train has shape"),
    (lambda a: _mutate(a, "y_train", np.zeros_like(a["y_train"])), "y_train holds a single class"),
]


@pytest.mark.parametrize(("change", "expected"), BAD_ARRAYS)
def test_invalid_arrays_are_one_line_naming_file_and_field(tmp_path, change, expected):
    path = write_npz(tmp_path / "bad.npz", change(small_digits()))
    with pytest.raises(ActbenchError, match=re.escape(expected)) as caught:
        plan(config_for(tmp_path, path), tmp_path / "r")
    message = str(caught.value)
    assert (
        message.startswith(f"{path}: ")
        and "\n" not in message
        and message.endswith("fix the file, or point the dataset's path elsewhere")
    )


def test_invalid_files_and_configs_exit_2_with_one_line(tmp_path):
    arrays = small_digits()
    folder = write_idx(tmp_path / "digits5", arrays)
    cases = []
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    cases.append((config_for(tmp_path, folder), f"{folder}: dataset 'digits5' lacks t10k-labels-idx1-ubyte (or .gz)"))
    cases.append(
        (
            config_for(tmp_path, tmp_path / "nowhere"),
            f"{tmp_path / 'nowhere'}: dataset 'digits5': no such file or folder",
        )
    )
    (tmp_path / "notes.txt").write_text("x")
    cases.append((config_for(tmp_path, tmp_path / "notes.txt"), "is neither a folder nor an .npz"))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK not a zip")
    cases.append((config_for(tmp_path, broken), f"{broken}: is not an .npz archive"))
    npz = write_npz(tmp_path / "ok.npz", arrays)
    cases.append(
        (
            config_for(tmp_path, npz, entry=", class_names: [a, b, c]"),
            "y_train has label 4, but class_names lists 3 names",
        )
    )
    cases.append(
        (
            config_for(tmp_path, npz, extra="task: {type: binary, positive: [7]}"),
            "dataset 'digits5' has 5 classes: 'positive' lists a class the dataset does not have",
        )
    )
    cases.append(
        (
            config_for(tmp_path, npz, extra="output_activations: [{name: softmax, units: 10}]"),
            "a 5-class task needs 5 output units (got 10)",
        )
    )
    for config, expected in cases:
        outcome = invoke("run", config, "--results-dir", tmp_path / "results", "--dry-run")
        assert outcome.exit_code == 2, (expected, outcome.output)
        assert expected in outcome.output and "Traceback" not in outcome.output
        assert len(outcome.output.strip().splitlines()) == 1, outcome.output
    assert not (tmp_path / "results" / "own").exists()


@pytest.mark.parametrize(
    ("datasets", "expected"),
    [
        (
            "[{name: mnist, path: /x}]",
            "datasets[0].name: 'mnist' is a built-in dataset; give your own dataset another name",
        ),
        ("[{name: d5}]", "datasets[0].path: required field is missing"),
        ("[{name: d5, path: /x, classes: 3}]", "datasets[0].classes: unknown field; did you mean 'class_names'?"),
        ("[mnist, mnist]", "the dataset 'mnist' is listed twice"),
        ("[cifar]", "datasets[0]: must be 'mnist' or 'fashion_mnist'"),
    ],
)
def test_dataset_entries_are_checked_like_the_rest_of_the_config(tmp_path, datasets, expected):
    config = write_config(tmp_path, f"name: own\ndatasets: {datasets}\nhidden_activations: [relu]\n")
    with pytest.raises(ActbenchError) as caught:
        load_config(config)
    assert expected in str(caught.value), str(caught.value)


def test_a_convolution_larger_than_an_own_datasets_images_is_refused_by_the_dry_run(tmp_path):
    path = write_npz(
        tmp_path / "d.npz", small_digits()
    )  # 14x14 -> 12 -> 6 -> 4 -> 2: the third 3x3 does not fit (28x28 fits)
    config = write_config(
        tmp_path,
        f"name: own\ndatasets: [mnist, {{name: d5, path: '{path}'}}]\nmodels: [{{type: cnn, filters: [8, 8, 8]}}]\nhidden_activations: [relu]\n",
    )
    outcome = invoke("run", config, "--results-dir", tmp_path / "results", "--dry-run")
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output
    assert outcome.output.strip() == (
        f"error: {path}: dataset 'd5': models[0].kernel_size: 3 is larger than the 2x2 feature maps that 2 convolution "
        "and pooling layers leave of d5's images; lower it, lower pool_size or list fewer filters"
    )


def test_the_dry_run_shows_each_models_parameters(tmp_path):
    path = write_npz(tmp_path / "d.npz", small_digits())
    outcome = invoke("run", config_for(tmp_path, path), "--results-dir", tmp_path / "results", "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    mlp = (14 * 14 + 1) * 16 + (16 + 1) * 5  # 3,237: 14x14 pixels -> 16 units -> 5 classes
    cnn = (3 * 3 + 1) * 4 + (6 * 6 * 4 + 1) * 5  # 765: 4 filters of 3x3, 12x12 pooled to 6x6, -> 5 classes
    assert f" {mlp / 1000:.1f}k params  digits5/own mlp relu" in outcome.output
    assert f"  {cnn} params  digits5/own cnn relu" in outcome.output


def test_ordinary_dtypes_are_converted_exactly_and_make_the_same_runs(tmp_path):
    """int64 labels (NumPy's default) and float32 images in [0, 1] or 0-255 are the uint8 data: the same
    arrays, digest and run ids, so a run already done for one counts for the others."""
    arrays = small_digits()
    as_uint8 = plan(config_for(tmp_path, write_npz(tmp_path / "u8.npz", arrays)), tmp_path / "r")
    variants = {
        "unit": {
            key: (value / np.float32(255) if key.startswith("x") else value.astype(np.int64))
            for key, value in arrays.items()
        },
        "levels": {
            key: (value.astype(np.float32) if key.startswith("x") else value.astype(np.int32))
            for key, value in arrays.items()
        },
        "float64 labels": {
            key: (value.astype(np.int16) if key.startswith("x") else value.astype(np.float64))
            for key, value in arrays.items()
        },
    }
    for name, converted in variants.items():
        path = write_npz(tmp_path / f"{name}.npz", converted)
        raw = load_own("digits5", path)
        for key in sources.IDX_FILES:
            assert getattr(raw, key).dtype == np.uint8 and np.array_equal(getattr(raw, key), arrays[key]), (name, key)
        assert [run.run_id for run in plan(config_for(tmp_path, path), tmp_path / "r")] == [
            run.run_id for run in as_uint8
        ], name


def _gzip_of_zeros(header: bytes, size: int) -> bytes:
    """A gzip of `header` and then `size` zero bytes, compressed a megabyte at a time (about 1000-fold)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(header)] + [packer.compress(bytes(2**20)) for _ in range(size // 2**20)]
    return b"".join(parts) + packer.flush()


def test_a_gzip_that_expands_beyond_its_idx_header_is_refused_without_expanding_it(tmp_path):
    folder = write_idx(tmp_path / "bomb", small_digits())
    labels = folder / "train-labels-idx1-ubyte.gz"
    count = sources.idx_shape(labels)[0]
    # The header promises `count` labels; 256 MiB of zeros follow (a quarter-megabyte file).
    labels.write_bytes(_gzip_of_zeros(bytes([0, 0, 8, 1]) + count.to_bytes(4, "big"), 256 * 2**20))
    assert labels.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ActbenchError) as caught:
            plan(config_for(tmp_path, folder), tmp_path / "r")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == (
        f"{labels}: holds more data than the {count} bytes its header promises (decompression was stopped there); "
        "fix the file, or point the dataset's path elsewhere"
    )
    assert peak < 64 * 2**20, peak  # the images (a few MiB) were read, the 256 MiB never were


def test_idx_headers_are_checked_against_each_other_before_any_body_is_read(tmp_path):
    folder = write_idx(tmp_path / "d", small_digits())
    images, labels = folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    n = sources.idx_shape(images)[0]
    # A header that promises a thousand times more images than the file could hold, and labels that disagree.
    images.write_bytes(
        gzip.compress(bytes([0, 0, 8, 3]) + b"".join(k.to_bytes(4, "big") for k in (n * 1000, 14, 14)) + bytes(100))
    )
    with pytest.raises(
        ActbenchError, match=re.escape(f"{labels}: y_train has {n} labels for {n * 1000} images in x_train")
    ):
        plan(config_for(tmp_path, folder), tmp_path / "r")
    labels.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (n * 1000).to_bytes(4, "big") + bytes(100)))
    with pytest.raises(
        ActbenchError,
        match=re.escape(
            f"{images}: is {images.stat().st_size} bytes compressed, too few for the {n * 1000 * 196} bytes"
        ),
    ):
        plan(config_for(tmp_path, folder), tmp_path / "r")


def test_an_npz_whose_headers_promise_more_than_it_or_the_machine_holds_is_refused_before_reading(
    tmp_path, monkeypatch
):
    arrays = small_digits()
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        # x_train: a header promising 100 million images over a megabyte of zeros
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**8, 14, 14)})
        archive.writestr("x_train.npy", header.getvalue() + bytes(2**20))
        for key in ("y_train", "x_test", "y_test"):
            body = io.BytesIO()
            np.save(body, arrays[key])
            archive.writestr(f"{key}.npy", body.getvalue())
    with pytest.raises(ActbenchError) as caught:
        plan(config_for(tmp_path, path), tmp_path / "r")
    assert "x_train is" in str(
        caught.value
    ) and f"bytes compressed, too few for the {10**8 * 196} bytes its header promises" in str(caught.value)

    from actbench import resources

    monkeypatch.setattr(
        resources, "memory_bytes", lambda: 2**18
    )  # a machine of 256 KiB: the real arrays (about 0.5 MiB) do not fit
    honest = write_npz(tmp_path / "honest.npz", arrays)
    with pytest.raises(ActbenchError, match=re.escape(f"{honest}: the dataset's headers promise ")) as caught:
        plan(config_for(tmp_path, honest), tmp_path / "r")
    assert "MiB of arrays, more than this machine's 0.2 MiB" in str(caught.value)
