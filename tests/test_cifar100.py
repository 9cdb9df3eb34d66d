"""CIFAR-100 tasks on fabricated pickles in torchvision's `cifar-100-python` format."""

import pickle
import shutil

import pandas as pd
import pytest
import torch
from conftest import CIFAR100_NAMES

import fisher_distance
import train_task_cifar100
from common.base.errors import UserError
from common.data.splits import task_splits
from common.store import paths
from common.tasks import TASK_SETS, get_task

# The FTD paper's superclasses by their member *names* (CIFAR-100's published hierarchy), so the
# expected labels below do not reuse the ids written in common/tasks.py.
VEHICLES = (
    "bicycle",
    "bus",
    "motorcycle",
    "pickup_truck",
    "train",
    "lawn_mower",
    "rocket",
    "streetcar",
    "tank",
    "tractor",
)
DEVICES_FURNITURE = (
    "clock",
    "keyboard",
    "lamp",
    "telephone",
    "television",
    "bed",
    "chair",
    "couch",
    "table",
    "wardrobe",
)
EXPECTED = {  # task -> fine class name -> label (absent: "other", the last label)
    "cifar100-0": {n: 0 for n in VEHICLES},
    "cifar100-1": {n: 0 for n in DEVICES_FURNITURE},
    "cifar100-2": {n: i for i, n in enumerate(VEHICLES)},
    "cifar100-3": {n: i for i, n in enumerate(VEHICLES + DEVICES_FURNITURE)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_label_mapping_of_the_four_tasks(pickle_root, tmp_path, name):
    root, _, c100 = pickle_root
    task = get_task(name)
    other = len(set(EXPECTED[name].values()))
    assert task.num_classes == other + 1
    splits = task_splits(task, root, tmp_path, val_fraction=0.0)
    x_ref, y_ref = (torch.from_numpy(a) for a in c100["test"])
    test = splits["test"]
    # every kept test image is found in the raw split, and its label follows from its class name
    seen_other = 0
    for img, label in zip(test.x, test.y):
        idx = torch.nonzero((x_ref == img).flatten(1).all(1)).flatten()
        fine = CIFAR100_NAMES[int(y_ref[idx[0]])]
        assert int(label) == EXPECTED[name].get(fine, other)
        seen_other += fine not in EXPECTED[name]
    named = sum(1 for y in y_ref.tolist() if CIFAR100_NAMES[y] in EXPECTED[name])
    assert len(test) - seen_other == named  # every named-class image kept
    assert seen_other == round(named / other)  # "other" = the size of one group
    assert task.class_names[:other] == tuple(
        dict.fromkeys("+".join(k for k, v in EXPECTED[name].items() if v == i) for i in range(other))
    )


def test_train_and_distance_end_to_end(pickle_root, tmp_path, capsys):
    root, _, _ = pickle_root
    flags = ["--preset", "smoke", "--data-root", str(root), "--results-dir", str(tmp_path)]
    metrics = train_task_cifar100.main(flags)
    assert sorted(metrics.task) == list(TASK_SETS["cifar100"])
    fisher_distance.main(["--task-set", "cifar100", *flags])
    out = paths.distance_outputs(tmp_path, "smoke", "smallcnn", "cifar100", "frechet", "empirical")
    mean = pd.read_csv(out["mean"], index_col="source")
    assert list(mean.index) == list(mean.columns) == list(TASK_SETS["cifar100"])
    assert all(mean.loc[t, t] == 0 for t in mean.index)
    off = mean.values[~torch.eye(4, dtype=torch.bool).numpy()]
    assert ((off > 0) & (off <= 1)).all()


def test_meta_with_other_class_names_is_one_error_line(pickle_root, tmp_path):
    root, _, _ = pickle_root
    copy = tmp_path / "root"
    shutil.copytree(root / "cifar-100-python", copy / "cifar-100-python")
    names = list(CIFAR100_NAMES)
    names[8], names[13] = names[13], names[8]  # bicycle <-> bus
    with open(copy / "cifar-100-python" / "meta", "wb") as f:
        pickle.dump({"fine_label_names": names}, f)
    with pytest.raises(UserError, match=r"class 8 'bus'.*class 8 'bicycle'"):
        train_task_cifar100.main(["--preset", "smoke", "--data-root", str(copy), "--results-dir", str(tmp_path / "r")])
    assert not (tmp_path / "r" / "smoke" / "checkpoints").exists()
