"""Datasets shipped inside a Python package, read without any file under ``--data-root``.

``digits`` (``sklearn.datasets.load_digits``): the test half of the UCI optical-recognition-of-handwritten-digits
set, 1,797 images of 8 x 8 pixels with 17 grey levels (0-16), written by 43 people (none of them MNIST's writers),
in scikit-learn's own file ``sklearn/datasets/data/digits.csv.gz``. The set has no train/test split of its own, so
the suite makes one, fixed: a seeded permutation (``SPLIT_SEED``) puts one third of the images in "test", the rest
in "train" (the validation carve-out then comes from "train" as for every dataset). Pixels: 0-16 scaled to 0-255,
then upsampled to 32 x 32 (bilinear, as ``torch.nn.functional.interpolate``), one grey channel repeated to three.

The decoded splits are keyed by the file's bytes and by this module (concept ``packaged-data``), like any dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common.datasets import IMAGE_SIZE

SPLIT_SEED = 0
TEST_FRACTION = 1 / 3
DIGITS_LEVELS = 16  # the largest pixel value of the UCI optdigits bitmaps


def _digits_file() -> Path:
    import sklearn.datasets  # only where a packaged dataset is read

    return Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"


def _digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N x 1 x 32 x 32 images, int64 labels) of ``split`` ("train" or "test")."""
    data = np.loadtxt(_digits_file(), delimiter=",")  # 1,797 rows: 64 pixels, then the label
    pixels, labels = data[:, :-1].reshape(-1, 1, 8, 8), data[:, -1].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    n_test = round(len(labels) * TEST_FRACTION)
    idx = np.sort(order[:n_test] if split == "test" else order[n_test:])
    x = torch.from_numpy(pixels[idx]).float() * (255 / DIGITS_LEVELS)
    x = F.interpolate(x, size=IMAGE_SIZE, mode="bilinear", align_corners=False).round().clamp(0, 255)
    return x.to(torch.uint8), torch.from_numpy(labels[idx])


# package name of a registry entry (``Dataset.package``) -> (the data file, its reader)
PACKAGED = {"sklearn-digits": (_digits_file, _digits)}


def packaged_file(package: str) -> Path:
    return PACKAGED[package][0]()


def read_packaged(package: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    return PACKAGED[package][1](split)
