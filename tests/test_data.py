import shutil

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from common.base.errors import UserError
from common.data.decode import load_raw
from common.data.splits import Normalizer, iterate_batches, random_crop_flip, task_splits
from common.tasks import get_task


def test_mnist_idx_is_padded_to_3x32x32(data_root, tmp_path):
    from conftest import labels_for

    split = load_raw("mnist", "train", data_root, tmp_path)
    assert split.x.shape == (240, 3, 32, 32) and split.x.dtype == torch.uint8
    raw = np.fromfile(data_root / "MNIST/raw/train-images-idx3-ubyte", dtype=np.uint8)[16:].reshape(-1, 28, 28)
    assert torch.equal(split.x[:, 1, 2:30, 2:30], torch.from_numpy(raw))
    assert torch.equal(split.x[:, 0], split.x[:, 2])  # grey repeated to 3 channels
    assert split.x[:, :, :2].sum() == 0 and split.x[:, :, :, 30:].sum() == 0  # zero padding
    assert torch.equal(split.y, torch.from_numpy(labels_for("train")).long())


def test_cifar_pickles_cifar10_and_cifar100(pickle_root, tmp_path):
    root, c10, c100 = pickle_root
    for name, ref in (("cifar10", c10), ("cifar100", c100)):
        for split in ("train", "test"):
            got = load_raw(name, split, root, tmp_path)
            x, y = ref[split]
            assert torch.equal(got.x, torch.from_numpy(x)), (name, split)
            assert torch.equal(got.y, torch.from_numpy(y).long())


def test_image_folder_pixels_and_labels(data_root, tmp_path):
    root_ref = data_root
    from conftest import make_cifar10_image_folder  # noqa: F401 (documents the layout)

    got = load_raw("cifar10", "test", root_ref, tmp_path)
    assert got.x.shape == (80, 3, 32, 32)
    # ImageFolder sorts files by class then name; compare each image to its PNG
    from PIL import Image

    files = sorted((root_ref / "cifar10" / "test").glob("*/*.png"))
    for i in (0, 17, 79):
        img = torch.from_numpy(np.array(Image.open(files[i]))).permute(2, 0, 1)
        assert torch.equal(got.x[i], img)
    names = sorted(p.name for p in (root_ref / "cifar10" / "test").iterdir())
    assert got.y.tolist() == [names.index(f.parent.name) for f in files]


def test_decoded_data_is_cached(data_root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(data_root / "MNIST", copy / "MNIST")
    first = load_raw("mnist", "test", copy, tmp_path / "cache")
    shutil.rmtree(copy / "MNIST")
    (copy / "MNIST" / "raw").mkdir(parents=True)
    (copy / "MNIST" / "raw" / "placeholder").write_text("")  # same source path, files gone
    second = load_raw("mnist", "test", copy, tmp_path / "cache")
    assert torch.equal(first.x, second.x)


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="cifar10 train data not found .* --data-root"):
        load_raw("cifar10", "train", tmp_path / "empty", tmp_path / "cache")


def test_task_splits_are_disjoint_deterministic_and_capped(data_root, tmp_path):
    task = get_task("mnist-3")
    a = task_splits(task, data_root, tmp_path, val_fraction=0.25, split_seed=0)
    assert len(a["train"]) == 180 and len(a["val"]) == 60 and len(a["test"]) == 80
    # no training image is reused in validation: compare image bytes
    train_keys = {x.numpy().tobytes() for x in a["train"].x}
    assert not any(x.numpy().tobytes() in train_keys for x in a["val"].x)
    b = task_splits(task, data_root, tmp_path, val_fraction=0.25, split_seed=0)
    assert all(torch.equal(a[k].x, b[k].x) and torch.equal(a[k].y, b[k].y) for k in a)
    c = task_splits(task, data_root, tmp_path, val_fraction=0.25, split_seed=1)
    assert not torch.equal(a["val"].y, c["val"].y)
    capped = task_splits(task, data_root, tmp_path, max_train=50, max_eval=10)
    assert len(capped["train"]) == 50 and len(capped["val"]) == 10 and len(capped["test"]) == 10


def test_binary_task_splits_are_balanced(data_root, tmp_path):
    s = task_splits(get_task("cifar10-1"), data_root, tmp_path)
    for split in s.values():
        assert (split.y == 0).sum() == (split.y == 1).sum() > 0


def test_random_crop_flip_matches_per_sample_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 255, (16, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(x, torch.Generator().manual_seed(3))
    # replay the same random draws, then crop/flip each sample with torchvision
    g = torch.Generator().manual_seed(3)
    dy = torch.randint(0, 9, (16,), generator=g)
    dx = torch.randint(0, 9, (16,), generator=g)
    flip = torch.rand(16, generator=g) < 0.5
    padded = TF.pad(x, [4])
    for i in range(16):
        ref = TF.crop(padded[i], int(dy[i]), int(dx[i]), 32, 32)
        if flip[i]:
            ref = TF.horizontal_flip(ref)
        assert torch.equal(out[i], ref)
    assert 0 < flip.sum() < 16


def test_iterate_batches_normalises_and_covers_split(data_root, tmp_path):
    split = task_splits(get_task("cifar10-3"), data_root, tmp_path)["test"]
    norm = Normalizer("cifar10", "cpu")
    batches = list(iterate_batches(split, 32, norm, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert sum(len(y) for _, y in batches) == len(split)
    x0, _ = batches[0]
    assert x0.dtype == torch.float32 and x0.shape[1:] == (3, 32, 32)
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == sorted(split.y.tolist())
