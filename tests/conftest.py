"""Tiny datasets fabricated in the real on-disk formats (MNIST IDX, CIFAR pickles, ImageFolder)."""

from __future__ import annotations

import os
import pickle
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["FTD_OFFLINE"] = "1"  # never download in tests
# --plan's stored throughputs go to a temp file, never to the committed results/throughputs.csv
os.environ["FTD_THROUGHPUTS"] = os.path.join(tempfile.mkdtemp(prefix="ftd-throughputs-"), "throughputs.csv")

# The quick tier (``pytest -m "not slow"``, <= 3 min on 2 cores): the tests listed in slow_tests.txt
# ("file::test", from a ``--durations=0`` run of the full suite) are marked ``slow``; every other test
# is quick. A new test is quick until the list names it (tests/slow_tests.txt says how to remake it).
SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")


def pytest_collection_modifyitems(config, items):
    slow = {line.split("#")[0].strip() for line in SLOW_TESTS.read_text().splitlines()} - {""}
    for item in items:
        if f"{Path(str(item.fspath)).name}::{item.originalname}" in slow:
            item.add_marker(pytest.mark.slow)


CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PER_CLASS = {"train": 24, "test": 8}
# The real CIFAR-100 fine names (torchvision's meta file), written independently of common/tasks.py.
CIFAR100_NAMES = tuple(
    sorted(
        "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can "
        "castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin "
        "elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster "
        "man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck "
        "pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
        "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger "
        "tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm".split()
    )
)


def labels_for(split: str, n_classes: int = 10, seed: int = 0) -> np.ndarray:
    labels = np.repeat(np.arange(n_classes), PER_CLASS[split])
    return np.random.default_rng(seed).permutation(labels).astype(np.uint8)


def images_for(labels: np.ndarray, shape, seed: int) -> np.ndarray:
    """Random images whose mean brightness depends on the label (so a network can learn a little)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 128, size=(len(labels), *shape))
    return (base + labels.reshape(-1, *[1] * len(shape)) * 12).clip(0, 255).astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0800 | array.ndim
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def make_mnist(root: Path) -> dict:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        y = labels_for(split)
        x = images_for(y, (28, 28), seed=1 if split == "train" else 2)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
        out[split] = (x, y)
    return out


def make_cifar_pickles(root: Path, hundred: bool = False) -> dict:
    n_classes = 100 if hundred else 10
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    key = "fine_labels" if hundred else "labels"
    out = {}
    for split in ("train", "test"):
        y = (
            labels_for(split, n_classes)
            if not hundred
            else np.arange(100).repeat(6 if split == "train" else 2).astype(np.uint8)
        )
        x = images_for(y, (3, 32, 32), seed=3 if split == "train" else 4)
        out[split] = (x, y)
        if hundred:
            batches = {split: (x, y)}
        elif split == "train":  # five data_batch files, like the real release
            parts = np.array_split(np.arange(len(y)), 5)
            batches = {f"data_batch_{i + 1}": (x[p], y[p]) for i, p in enumerate(parts)}
        else:
            batches = {"test_batch": (x, y)}
        for name, (xb, yb) in batches.items():
            with open(folder / name, "wb") as f:
                pickle.dump({"data": xb.reshape(len(yb), -1), key: [int(v) for v in yb]}, f)
    meta = {"meta": {"fine_label_names": list(CIFAR100_NAMES), "coarse_label_names": [f"super{i}" for i in range(20)]}}
    meta = meta if hundred else {"batches.meta": {"label_names": list(CIFAR10_NAMES)}}
    for name, content in meta.items():
        with open(folder / name, "wb") as f:
            pickle.dump(content, f)
    return out


def make_cifar10_image_folder(root: Path) -> dict:
    out = {}
    for split in ("train", "test"):
        y = labels_for(split)
        x = images_for(y, (32, 32, 3), seed=5 if split == "train" else 6)
        for i, (img, label) in enumerate(zip(x, y)):
            d = root / "cifar10" / split / CIFAR10_NAMES[label]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(d / f"{i:05d}.png")  # PNG: lossless, so pixels can be compared
        out[split] = (x, y)
    return out


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """One root holding MNIST (IDX) and CIFAR-10 (ImageFolder), like ../shared/data."""
    root = tmp_path_factory.mktemp("data")
    make_mnist(root)
    make_cifar10_image_folder(root)
    return root


@pytest.fixture(scope="session")
def pickle_root(tmp_path_factory) -> tuple[Path, dict, dict]:
    """A root in torchvision's CIFAR-10 / CIFAR-100 pickle layout."""
    root = tmp_path_factory.mktemp("pickles")
    return root, make_cifar_pickles(root), make_cifar_pickles(root, hundred=True)
