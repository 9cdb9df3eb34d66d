"""The distance matrices the papers print (../shared/PAPERS.md), as plain data: rows = source,
columns = target, means over 10 seeds. Used to rank our matrices against theirs
(``common/studies/ranking.py``). Transcribed programmatically from PAPERS.md; the FTD paper's values are
what its figures show (the authors' code plotted the *square* of the FTD, ``frechet-sq``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedMatrix:
    paper: str  # "FTD" or "log-det"
    network: str  # the ε-network architecture of the figure
    distance: str  # our name of the distance the figure shows
    tasks: tuple[str, ...]  # our task names, in the figure's order
    values: tuple[tuple[float, ...], ...]


_SETS = {
    "MNIST": ("mnist-0", "mnist-1", "mnist-2", "mnist-3"),
    "CIFAR-10": ("cifar10-0", "cifar10-1", "cifar10-2", "cifar10-3"),
    "CIFAR-100": ("cifar100-0", "cifar100-1", "cifar100-2", "cifar100-3"),
}
_ARCH = {"VGG-16": "vgg16", "ResNet-18": "resnet18", "DenseNet-121": "densenet121"}

PUBLISHED: dict[str, PublishedMatrix] = {}

PUBLISHED["ftd-mnist-vgg16"] = PublishedMatrix(
    "FTD",
    _ARCH["VGG-16"],
    "frechet-sq",
    _SETS["MNIST"],
    (
        (0.0, 0.397, 0.7951, 0.8353),
        (0.1366, 0.0, 0.7222, 0.7993),
        (0.3699, 0.6174, 0.0, 0.5502),
        (0.5057, 0.5534, 0.1882, 0.0),
    ),
)
PUBLISHED["ftd-mnist-resnet18"] = PublishedMatrix(
    "FTD",
    _ARCH["ResNet-18"],
    "frechet-sq",
    _SETS["MNIST"],
    (
        (0.0, 0.2189, 0.5084, 0.5953),
        (0.2925, 0.0, 0.3327, 0.4615),
        (0.42, 0.5843, 0.0, 0.2262),
        (0.4622, 0.4263, 0.193, 0.0),
    ),
)
PUBLISHED["ftd-mnist-densenet121"] = PublishedMatrix(
    "FTD",
    _ARCH["DenseNet-121"],
    "frechet-sq",
    _SETS["MNIST"],
    (
        (0.0, 0.2117, 0.4989, 0.5547),
        (0.2364, 0.0, 0.369, 0.4748),
        (0.3604, 0.4303, 0.0, 0.2177),
        (0.3981, 0.3633, 0.1258, 0.0),
    ),
)
PUBLISHED["ftd-cifar10-vgg16"] = PublishedMatrix(
    "FTD",
    _ARCH["VGG-16"],
    "frechet-sq",
    _SETS["CIFAR-10"],
    (
        (0.0, 0.1691, 0.6109, 0.7583),
        (0.149, 0.0, 0.6416, 0.7325),
        (0.4623, 0.4692, 0.0, 0.5114),
        (0.3646, 0.4161, 0.3693, 0.0),
    ),
)
PUBLISHED["ftd-cifar10-resnet18"] = PublishedMatrix(
    "FTD",
    _ARCH["ResNet-18"],
    "frechet-sq",
    _SETS["CIFAR-10"],
    (
        (0.0, 0.152, 0.3415, 0.5084),
        (0.1366, 0.0, 0.3303, 0.4167),
        (0.3252, 0.3314, 0.0, 0.2322),
        (0.2332, 0.2502, 0.2068, 0.0),
    ),
)
PUBLISHED["ftd-cifar10-densenet121"] = PublishedMatrix(
    "FTD",
    _ARCH["DenseNet-121"],
    "frechet-sq",
    _SETS["CIFAR-10"],
    (
        (0.0, 0.1606, 0.4508, 0.5158),
        (0.1084, 0.0, 0.3872, 0.4583),
        (0.2654, 0.2801, 0.0, 0.2323),
        (0.2545, 0.235, 0.2095, 0.0),
    ),
)
PUBLISHED["ftd-cifar100-vgg16"] = PublishedMatrix(
    "FTD",
    _ARCH["VGG-16"],
    "frechet-sq",
    _SETS["CIFAR-100"],
    (
        (0.0, 0.2895, 0.5283, 0.5819),
        (0.2364, 0.0, 0.4535, 0.558),
        (0.1753, 0.3986, 0.0, 0.171),
        (0.2713, 0.4066, 0.07923, 0.0),
    ),
)
PUBLISHED["ftd-cifar100-resnet18"] = PublishedMatrix(
    "FTD",
    _ARCH["ResNet-18"],
    "frechet-sq",
    _SETS["CIFAR-100"],
    (
        (0.0, 0.1378, 0.2849, 0.355),
        (0.1485, 0.0, 0.272, 0.2776),
        (0.09962, 0.2232, 0.0, 0.1119),
        (0.2068, 0.236, 0.08778, 0.0),
    ),
)
PUBLISHED["ftd-cifar100-densenet121"] = PublishedMatrix(
    "FTD",
    _ARCH["DenseNet-121"],
    "frechet-sq",
    _SETS["CIFAR-100"],
    (
        (0.0, 0.1613, 0.1747, 0.3179),
        (0.1594, 0.0, 0.3012, 0.313),
        (0.0996, 0.2283, 0.0, 0.0945),
        (0.1975, 0.2787, 0.0951, 0.0),
    ),
)
# Log-det paper, its 8 tasks (0-3 MNIST: digit 0, digit 6, odd/even, 10-class; 4-7 CIFAR-10 tasks 0-3).
PUBLISHED["logdet-ldnas8"] = PublishedMatrix(
    "log-det",
    "vgg16",
    "logdet",
    ("mnist-0", "mnist-1", "mnist-oddeven", "mnist-3", "cifar10-0", "cifar10-1", "cifar10-2", "cifar10-3"),
    (
        (0.0, 0.43, 1.24, 0.77, 1.41, 1.33, 1.37, 1.43),
        (0.86, 0.0, 1.28, 0.52, 2.47, 2.52, 2.18, 1.9),
        (1.91, 2.07, 0.0, 0.44, 1.43, 1.49, 1.71, 0.91),
        (1.61, 0.89, 0.17, 0.0, 1.55, 1.51, 0.47, 0.54),
        (3.32, 2.36, 1.29, 1.47, 0.0, 0.04, 0.34, 0.58),
        (3.27, 2.42, 1.31, 1.51, 0.04, 0.0, 0.32, 0.61),
        (3.04, 2.05, 0.33, 0.27, 0.24, 0.24, 0.0, 0.34),
        (2.99, 2.39, 0.38, 0.23, 0.38, 0.39, 0.25, 0.0),
    ),
)
