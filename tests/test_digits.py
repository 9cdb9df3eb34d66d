"""The third data domain (issue 34): scikit-learn's handwritten digits, read from the package's own file, split
2:1 once and for all, upsampled by a hand-checkable bilinear rule, registered and trained like any dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import train_task
from common.data import packaged
from common.data.decode import data_identity, load_raw
from common.data.files import locate
from common.datasets import get_dataset
from common.store import paths
from common.tasks import TASK_SETS, get_task


def test_the_split_is_fixed_disjoint_and_covers_every_image():
    x_tr, y_tr = packaged.read_packaged("sklearn-digits", "train")
    x_te, y_te = packaged.read_packaged("sklearn-digits", "test")
    assert (len(y_tr), len(y_te)) == get_dataset("digits").split_sizes == (1198, 599)
    assert x_tr.shape[1:] == (1, 32, 32) and x_tr.dtype == torch.uint8
    assert set(y_tr.tolist()) == set(y_te.tolist()) == set(range(10))
    raw = np.loadtxt(packaged._digits_file(), delimiter=",")
    order = np.random.default_rng(packaged.SPLIT_SEED).permutation(len(raw))
    test_rows = set(order[:599].tolist())
    assert len(test_rows) + len(set(order[599:].tolist())) == 1797 == len(raw)  # a partition of every image
    x2, y2 = packaged.read_packaged("sklearn-digits", "test")
    assert torch.equal(x2, x_te) and torch.equal(y2, y_te)  # the same split on every call


def test_upsampling_by_hand(monkeypatch):
    # one image: 0 everywhere but column 1 at the top grey level 16 (= 255)
    img = np.zeros((8, 8))
    img[:, 1] = 16
    row = np.concatenate([img.reshape(-1), [7]])
    monkeypatch.setattr(packaged.np, "loadtxt", lambda *a, **k: np.stack([row] * 3))
    x, y = packaged.read_packaged("sklearn-digits", "train")  # 2 of the 3 copies
    assert y.tolist() == [7, 7]
    out = x[0, 0].numpy().astype(float)
    # bilinear, half-pixel centres: output column j samples input column (j + 0.5) / 4 - 0.5, clamped at 0
    assert out[5, 0] == 0 and out[5, 1] == 0  # columns 0, 1 sample input column 0 only (clamped)
    assert out[5, 2] == round(0.125 * 255)  # input column 0.125: 7/8 of column 0, 1/8 of column 1
    assert out[5, 3] == round(0.375 * 255)
    assert out[5, 4] == round(0.625 * 255) and out[5, 5] == round(0.875 * 255)  # columns 0.625, 0.875
    assert out[5, 6] == round(0.875 * 255) and out[5, 9] == round(0.125 * 255)  # 1.125 and 1.875: from column 1 down


def test_the_registry_normalisation_is_the_train_split_s(tmp_path):
    x, _ = packaged.read_packaged("sklearn-digits", "train")
    f = x.float() / 255
    (mean, *_), (std, *_) = get_dataset("digits").normalization
    assert f.mean().item() == pytest.approx(mean, abs=1e-3) and f.std().item() == pytest.approx(std, abs=1e-3)


def test_digits_decode_through_the_cache_keyed_by_the_file(tmp_path):
    kind, source = locate("digits", "train", tmp_path)  # no file under the data root is needed
    assert kind == "package" and source.name == "digits.csv.gz"
    cache = paths.data_cache_dir(tmp_path)
    split = load_raw("digits", "test", tmp_path, cache)
    assert split.x.shape == (599, 3, 32, 32) and torch.equal(split.x[:, 0], split.x[:, 2])  # grey, 3 channels
    assert set(data_identity("digits", tmp_path, cache)) == {"train", "test"}
    assert data_identity("digits", tmp_path, cache) != data_identity("mnist", tmp_path, cache)


def test_digits_tasks_train_with_train_task_py(tmp_path):
    assert {"digits-0", "digits-2", "digits-3", "digits-oddeven"} <= set(TASK_SETS["transfer20"])
    assert get_task("digits-2").num_classes == 5
    train_task.main(["--dataset", "digits", "--preset", "smoke", "--tasks", "digits-0", "--results-dir", str(tmp_path)])
    assert paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "digits-0", 0).is_file()
