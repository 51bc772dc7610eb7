"""What actbench knows about each built-in dataset: classes, image shape, files and digests, content signature.

Plain data with no imports, at the bottom of the package: config checks a config against it,
datasets/sources.py finds and reads the files, datasets/verify.py checks what was read against
these facts, tasks.py names the classes.

Digests of the decoded arrays (`content_sha256`, see verify.content_sha256) are recorded where the
content could be had when this was written: the embedded samples and Debian's Fashion-MNIST. Full
MNIST is checked by the digests its publishers give for their files (Keras' mnist.npz, the
original IDX archives) and otherwise by its signature: images per class and mean pixel intensity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ARRAYS = ("x_train", "y_train", "x_test", "y_test")  # the published splits, in every file and archive, in this order


@dataclass(frozen=True)
class Signature:
    """Content facts that tell datasets apart and catch shuffled labels (pixel values 0-255)."""

    train_per_class: tuple[int, ...]
    test_per_class: tuple[int, ...]
    mean_pixel: float  # over all training images
    class_mean_pixel: tuple[float, ...]  # mean pixel of each class's training images


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    class_names: tuple[str, ...]
    subfolders: tuple[str, ...]  # folder names that hold its IDX files
    published_files: dict[str, tuple[str, str]]  # file name -> (algorithm, digest) its publishers give
    signature: Signature
    image_shape: tuple[int, ...]  # (H, W) grey or (H, W, C) colour, as its files hold the images
    # A single-file copy in the Keras format at the top of a search folder (`mnist.npz`): found
    # before the IDX subfolders, and what a download fetches instead of the four IDX files.
    npz_file: str | None = None
    content_sha256: dict[str, str] = field(default_factory=dict)  # source ("full", "sample") -> digest
    sample_size: tuple[int, int] = (4000, 1000)  # the embedded sample: training and test images

    @property
    def classes(self) -> int:
        return len(self.class_names)

    @property
    def full_size(self) -> tuple[int, int]:
        return sum(self.signature.train_per_class), sum(self.signature.test_per_class)

    def size(self, source: str) -> tuple[int, int]:
        """How many training and test images the source has."""
        return self.full_size if source == "full" else self.sample_size


# Tolerances of the signature check, in pixel levels (0-255). The MNIST class means below come from
# the embedded sample (500 images per class: standard error about 0.5); shuffled labels pull every
# class mean to the overall mean, 13 levels away for MNIST's "1" and 20 or more for several
# Fashion-MNIST classes, and MNIST's overall mean (33) is 40 levels from Fashion-MNIST's (73).
MEAN_PIXEL_TOLERANCE = 3.0
CLASS_MEAN_TOLERANCE = 4.0

MNIST = DatasetInfo(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(digit) for digit in range(10)),
    subfolders=("mnist",),
    published_files={
        # Keras' checksum for its mnist.npz; the original archives' md5s (as torchvision lists them).
        "mnist.npz": ("sha256", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
        "train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels-idx1-ubyte.gz": ("md5", "d53e105ee54ea40749a09fcbcd1e9432"),
        "t10k-images-idx3-ubyte.gz": ("md5", "9fb629c4189551a2d022fa330f9573f3"),
        "t10k-labels-idx1-ubyte.gz": ("md5", "ec29112dd5afa0611ce80d1b7f02629c"),
    },
    signature=Signature(
        train_per_class=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        test_per_class=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
        mean_pixel=33.3,  # 255 x 0.1307, the normalisation constant everyone uses for MNIST
        class_mean_pixel=(45.0, 19.7, 37.7, 36.5, 30.6, 32.4, 34.4, 29.3, 38.1, 31.1),
    ),
    image_shape=(28, 28),
    npz_file="mnist.npz",
    content_sha256={"sample": "21b61310cd226c1828a66f4aa36774cc9d8562ef353e6214cd25c8eb3092963e"},
)

FASHION_MNIST = DatasetInfo(
    name="fashion_mnist",
    title="Fashion-MNIST",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    subfolders=("fashion-mnist", "fashion_mnist"),
    published_files={
        # Zalando's md5 list in the fashion-mnist README.
        "train-images-idx3-ubyte.gz": ("md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train-labels-idx1-ubyte.gz": ("md5", "25c81989df183df01b3e8a0aad5dffbe"),
        "t10k-images-idx3-ubyte.gz": ("md5", "bef4ecab320f06d8554ea6380940ec79"),
        "t10k-labels-idx1-ubyte.gz": ("md5", "bb300cfdad3c16e7a12a480ee83cd310"),
    },
    signature=Signature(
        train_per_class=(6000,) * 10,
        test_per_class=(1000,) * 10,
        mean_pixel=72.9,
        class_mean_pixel=(83.0, 56.8, 96.1, 66.0, 98.3, 34.9, 84.6, 42.8, 90.2, 76.8),
    ),
    image_shape=(28, 28),
    content_sha256={
        # Decoded from Debian's dataset-fashion-mnist, whose .gz files are recompressed (their md5s
        # differ from Zalando's list), so only the decoded arrays can be compared across copies.
        "full": "914dfeb193a432dd143e45963ed49c84a491b05adc3b67874bdbbbbb2064cd93",
        "sample": "ad2af16e31f7f0a71999fa6f6ad3d8f7e0c96d0428bb412db2c6c1e115c08da9",
    },
)

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (MNIST, FASHION_MNIST)}


def fewest_classes(names: Iterable[str] = ()) -> int:
    """The smallest class count among the named built-in datasets (all of them when none is named):
    a task must fit every dataset of the grid, and the config checks it before any file is read
    (a dataset of your own is checked once its files are)."""
    known = [DATASETS[name].classes for name in names if name in DATASETS]
    return min(known or [info.classes for info in DATASETS.values()])
