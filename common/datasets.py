"""The dataset registry: every dataset the suite reads, as one plain-data entry.

An entry says everything the suite needs to know about a dataset: its classes in label order, the
normalisation of its inputs, the on-disk layouts it can be read from, its image size, which recipe
of ``common/presets.py`` trains it and which script does. ``common/datasets.py`` decodes it,
``common/data/splits.py`` normalises it, ``common/tasks.py`` defines tasks on it (by class ids or names).

**Your own images.** Any ImageFolder tree ``<folder>/{train,test}/<class name>/*.{png,jpg,...}``
(an ImageNet subset, as in the FTD paper's list of datasets) is one line at the end of ``DATASETS``::

    image_folder("birds", "/data/birds", classes=("crow", "owl", "robin"))

``folder`` is absolute or relative to ``--data-root``; ``classes`` are the class folders' names in
sorted order (checked against the tree before any work). Images of any size are resized (shorter side)
and centre-cropped to 32 x 32 pixels when decoded; the normalisation defaults to ImageNet's. Then
add its tasks to ``common/tasks.py`` (class names work as well as ids), and train them with
``train_task.py --dataset birds``.

Everything an entry says about the pixels (classes, normalisation, size, grey) is part of the data
identity (``identity``): editing an entry makes the results computed from it stale. This module
imports no torch, so every ``--help`` can list the names. The registry checks itself at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from common.base.errors import UserError, require

IMAGE_SIZE = 32  # side of the images every network sees
RECIPES = ("mnist", "cifar", "digits")  # training recipes of common/presets.py (PRESETS[preset][recipe])
TORCHVISION_READERS = ("MNIST", "CIFAR10", "CIFAR100")
IMAGENET_NORMALIZATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: tuple[str, ...]  # in label order; an ImageFolder tree's sorted folder names must equal it
    normalization: tuple[tuple[float, float, float], tuple[float, float, float]]  # per-channel (mean, std)
    recipe: str  # which PRESETS row trains it (RECIPES)
    train_script: str  # the command that trains its tasks (named in "train it first" hints)
    folder: str  # ImageFolder tree <data root>/<folder>/{train,test}/<class>/ (or absolute)
    native_size: int | None = IMAGE_SIZE  # side of every stored image (padded to IMAGE_SIZE); None: any, resized
    grey: bool = False  # stored as grey; decoded as one channel repeated to 3
    torchvision: tuple[str, str] | None = None  # (reader, folder under the data root) of torchvision's layout
    meta: tuple[str, str] | None = None  # (file under the data root, field) naming the classes
    split_sizes: tuple[int, int] | None = None  # official (train, test) sizes: --plan's estimates only
    package: str | None = None  # read from a Python package (``common/data/packaged.py``), not from --data-root

    def identity(self) -> dict:
        """What decoded and normalised images depend on, besides the files (data identity)."""
        return {
            "classes": list(self.classes),
            "normalization": [list(v) for v in self.normalization],
            "native_size": self.native_size,
            "grey": self.grey,
            "image_size": IMAGE_SIZE,
        }


def image_folder(
    name: str,
    folder: str,
    classes,
    *,
    normalization=IMAGENET_NORMALIZATION,
    recipe: str = "cifar",
    split_sizes: tuple[int, int] | None = None,
) -> Dataset:
    """A user's ImageFolder tree: colour images of any size, resized to IMAGE_SIZE, trained with the
    CIFAR recipe by ``train_task.py --dataset <name>``."""
    return Dataset(
        name=name,
        classes=tuple(classes),
        normalization=normalization,
        recipe=recipe,
        train_script=f"train_task.py --dataset {name}",
        folder=folder,
        native_size=None,
        split_sizes=split_sizes,
    )


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_NORMALIZATION = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))  # the authors' code's values

# CIFAR-100 fine labels in label order (= alphabetical, so sorted ImageFolder names match); checked
# against the "meta" file of the data when it is read (common/data/class_names.py).
CIFAR100_CLASSES = (
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        # MNIST: 28 x 28 grey digits, zero-padded to 32 x 32 and repeated to 3 channels.
        Dataset(
            "mnist",
            tuple(str(d) for d in range(10)),
            ((0.1307,) * 3, (0.3081,) * 3),
            "mnist",
            "train_task_mnist.py",
            folder="mnist",
            native_size=28,
            grey=True,
            torchvision=("MNIST", "MNIST/raw"),
            split_sizes=(60_000, 10_000),
        ),
        Dataset(
            "cifar10",
            CIFAR10_CLASSES,
            CIFAR10_NORMALIZATION,
            "cifar",
            "train_task_cifar.py",
            folder="cifar10",
            torchvision=("CIFAR10", "cifar-10-batches-py"),
            split_sizes=(50_000, 10_000),
        ),
        Dataset(
            "cifar100",
            CIFAR100_CLASSES,
            ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
            "cifar",
            "train_task_cifar100.py",
            folder="cifar100",
            torchvision=("CIFAR100", "cifar-100-python"),
            meta=("cifar-100-python/meta", "fine_label_names"),
            split_sizes=(50_000, 10_000),
        ),
        # UCI handwritten digits as scikit-learn ships them (sklearn.datasets.load_digits): 1,797 8 x 8 images
        # by 43 writers (not MNIST's), upsampled to 32 x 32; the suite's fixed 2:1 train/test split
        # (common/data/packaged.py). A third data domain for the transferability benchmark (issue 34).
        Dataset(
            "digits",
            tuple(str(d) for d in range(10)),
            ((0.305,) * 3, (0.3237,) * 3),  # its train split's pixel mean and std (0-1)
            "digits",
            "train_task.py --dataset digits",
            folder="digits",
            grey=True,
            package="sklearn-digits",
            split_sizes=(1198, 599),
        ),
        # The example of a user's own folder: the CIFAR-10 JPEG tree of ../shared/data read as any user's
        # tree would be (resize path, no torchvision fallback), with CIFAR-10's normalisation so that its
        # runs must reproduce cifar10's numbers (NOTES.md).
        image_folder(
            "cifar10-folder",
            "cifar10",
            CIFAR10_CLASSES,
            normalization=CIFAR10_NORMALIZATION,
            split_sizes=(50_000, 10_000),
        ),
    ]
}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(
            f"unknown dataset '{name}'; registered: {', '.join(DATASETS)} (register one in common/datasets.py)"
        ) from None


def _check_registry(datasets: dict[str, Dataset] | None = None) -> None:
    """The registry's rules, as UserErrors (not asserts: ``python -O`` would skip them)."""
    fix = "; fix its entry in common/datasets.py"
    for key, d in (DATASETS if datasets is None else datasets).items():
        require(key == d.name, f"dataset registered under '{key}' is named '{d.name}'" + fix)
        require(len(d.classes) >= 2, f"dataset {d.name}: needs at least two classes" + fix)
        require(len(set(d.classes)) == len(d.classes), f"dataset {d.name}: a class name appears twice" + fix)
        require(all(c and "/" not in c for c in d.classes), f"dataset {d.name}: class names must be folder names" + fix)
        mean, std = d.normalization
        require(
            len(mean) == len(std) == 3 and all(s > 0 for s in std),
            f"dataset {d.name}: normalization is ((3 means), (3 positive stds))" + fix,
        )
        require(d.recipe in RECIPES, f"dataset {d.name}: recipe must be one of {RECIPES}" + fix)
        require(
            d.native_size is None or d.native_size <= IMAGE_SIZE,
            f"dataset {d.name}: native_size larger than {IMAGE_SIZE} needs native_size=None (resized)" + fix,
        )
        require(
            d.torchvision is None or d.torchvision[0] in TORCHVISION_READERS,
            f"dataset {d.name}: torchvision reader must be one of {TORCHVISION_READERS}" + fix,
        )
        require(d.folder and PurePath(d.folder).name, f"dataset {d.name}: empty folder" + fix)
        require(
            d.split_sizes is None or (len(d.split_sizes) == 2 and min(d.split_sizes) > 0),
            f"dataset {d.name}: split_sizes is (train, test)" + fix,
        )


_check_registry()
