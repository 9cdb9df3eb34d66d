"""The dataset registry and users' own ImageFolder trees (common/datasets.py): images of any
size, tasks by class names, the registry entry in the data identity, and the errors a user meets."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import CIFAR10_NAMES, ROOT, make_cifar10_image_folder
from PIL import Image

import fisher_distance
import train_task
from common.base.errors import UserError
from common.data.class_names import check_class_names
from common.data.decode import data_identity, load_raw
from common.data.splits import Normalizer
from common.data.tree_checks import check_data
from common.datasets import DATASETS, IMAGE_SIZE, image_folder
from common.presets import train_config
from common.store import paths
from common.tasks import TASK_SETS, TASKS, Task, get_task

TOY_CLASSES = ("cat", "dog", "owl")
# (width, height) of the fabricated images: smaller, larger, non-square, exactly 32
SIZES = [(32, 32), (64, 64), (50, 30), (20, 20), (17, 45)]


def make_toy_tree(root, per_class=(40, 6)):
    """root/toy/{train,test}/<class>/*.png of mixed sizes and modes; returns {path: (class id, array)}."""
    rng = np.random.default_rng(0)
    made = {}
    for split, n in zip(("train", "test"), per_class):
        for c, name in enumerate(TOY_CLASSES):
            folder = root / "toy" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                w, h = SIZES[i % len(SIZES)]
                arr = (rng.integers(0, 60, (h, w, 3)) + 90 * c).astype(np.uint8)
                img = Image.fromarray(arr)
                if i == 4:
                    img = img.convert("L")  # grey files are read as RGB
                path = folder / f"{i:03d}.png"
                img.save(path)
                made[path] = (c, np.array(img.convert("RGB")))
    return made


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A user's dataset 'toy' registered with one line, and two tasks on it defined by class names."""
    made = make_toy_tree(tmp_path / "data")
    monkeypatch.setitem(DATASETS, "toy", image_folder("toy", "toy", TOY_CLASSES))
    tasks = [
        Task("toy-0", "toy", (("owl",),), True, "binary: owl vs rest"),
        Task("toy-1", "toy", (("cat",), ("dog",), ("owl",)), False, "3-class"),
    ]
    for t in tasks:
        monkeypatch.setitem(TASKS, t.name, t)
    monkeypatch.setitem(TASK_SETS, "toy", tuple(t.name for t in tasks))
    return tmp_path / "data", made


def test_images_of_any_size_are_resized_and_centre_cropped(toy, tmp_path):
    root, made = toy
    train = load_raw("toy", "train", root, tmp_path / "cache")
    assert train.x.shape == (120, 3, IMAGE_SIZE, IMAGE_SIZE) and train.x.dtype == torch.uint8
    assert train.y.tolist() == [c for c in range(3) for _ in range(40)]  # sorted class folders = ids
    files = sorted(p for p in made if p.parts[-3] == "train")
    for i, path in enumerate(files):
        c, arr = made[path]
        got = train.x[i].permute(1, 2, 0).numpy()
        h, w = arr.shape[:2]
        if (w, h) == (32, 32):
            assert np.array_equal(got, arr)  # the right size is kept byte for byte
        elif (w, h) == (64, 64):  # a 2x downscale: close to 2x2 block means
            blocks = arr.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
            assert np.abs(got.astype(float) - blocks).mean() < 12
        elif (w, h) == (50, 30):  # shorter side 30 -> 32, width 53 cropped
            assert got.shape == (32, 32, 3)
        # every image keeps its class's brightness band (90 * class id .. + 60), so labels match pixels
        assert abs(got.mean() - (30 + 90 * c)) < 15


def test_tasks_by_class_names_are_the_same_as_by_ids(toy):
    by_name = TASKS["toy-0"]
    assert by_name.groups == ((2,),)
    assert by_name.to_dict() == dataclasses.asdict(Task("toy-0", "toy", ((2,),), True, "binary: owl vs rest"))
    assert TASKS["toy-1"].class_names == TOY_CLASSES
    # the example tasks on CIFAR-10-as-a-folder are cifar10-0..3 by name
    for i in range(4):
        assert TASKS[f"cifar10-folder-{i}"].groups == TASKS[f"cifar10-{i}"].groups
    with pytest.raises(UserError, match=r"task toy-9: toy has no class 'bat'; its classes: cat, dog, owl"):
        Task("toy-9", "toy", (("bat",),), True, "")
    with pytest.raises(UserError, match=r"unknown dataset 'nope'.*common/datasets.py"):
        Task("x", "nope", ((0,),), True, "")


def test_registry_entry_is_part_of_the_data_identity(toy, tmp_path, monkeypatch):
    root, _ = toy
    cache = tmp_path / "cache"
    before = data_identity("toy", root, cache)
    monkeypatch.setitem(
        DATASETS, "toy", image_folder("toy", "toy", TOY_CLASSES, normalization=((0.5,) * 3, (0.2,) * 3))
    )
    assert data_identity("toy", root, cache) != before  # a new normalisation makes results stale
    norm = Normalizer("toy", "cpu")
    assert torch.allclose(norm(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)), torch.full((1, 3, 2, 2), 2.5))


def test_cifar10_registered_as_a_users_folder_decodes_like_cifar10(tmp_path):
    make_cifar10_image_folder(tmp_path)
    for split in ("train", "test"):
        as_user = load_raw("cifar10-folder", split, tmp_path, tmp_path / "cache")
        builtin = load_raw("cifar10", split, tmp_path, tmp_path / "cache")
        assert torch.equal(as_user.x, builtin.x) and torch.equal(as_user.y, builtin.y)
    assert data_identity("cifar10-folder", tmp_path, tmp_path / "cache") != data_identity(
        "cifar10", tmp_path, tmp_path / "cache"
    )
    assert train_config("cpu", "cifar10-folder") == train_config("cpu", "cifar10")
    assert get_task("cifar10-folder-3").class_names == CIFAR10_NAMES


def test_train_and_distance_end_to_end_on_a_users_folder(toy, tmp_path):
    root, _ = toy
    flags = ["--preset", "smoke", "--data-root", str(root), "--results-dir", str(tmp_path / "r")]
    metrics = train_task.main(["--dataset", "toy", *flags])
    assert sorted(metrics.task) == ["toy-0", "toy-1"]
    assert (metrics.test_acc >= 0).all() and (metrics.test_acc <= 1).all()
    fisher_distance.main(["--task-set", "toy", *flags])
    out = paths.distance_outputs(tmp_path / "r", "smoke", "smallcnn", "toy", "frechet", "empirical")
    mean = pd.read_csv(out["mean"], index_col="source")
    assert list(mean.index) == list(mean.columns) == ["toy-0", "toy-1"]
    assert mean.loc["toy-0", "toy-0"] == 0 and 0 < mean.loc["toy-0", "toy-1"] <= 1


def test_class_folders_other_than_the_registry_are_one_error_line(toy, tmp_path, monkeypatch):
    root, _ = toy
    monkeypatch.setitem(DATASETS, "toy", image_folder("toy", "toy", ("cat", "dog", "emu")))
    with pytest.raises(UserError, match=r"class 2 'owl'.*class 2 'emu'"):
        check_class_names("toy", root)


def test_missing_folder_and_unregistered_dataset_are_one_error_line(toy, tmp_path):
    with pytest.raises(UserError, match=r"toy train images not found: put them at .*nowhere/toy/train/<class>/"):
        check_data("toy", tmp_path / "nowhere")
    with pytest.raises(UserError, match=r"unknown dataset 'imagenet'; registered: mnist, cifar10"):
        check_data("imagenet", tmp_path)


def test_train_task_rejects_an_unregistered_dataset_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "train_task.py", "--dataset", "imagenet", "--data-root", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "invalid choice: 'imagenet'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_user_folder_report_counts_identical_runs_and_distances(tmp_path):
    from common.report.tables import user_folder_markdown

    run = paths.run_dir(tmp_path, "cpu")
    run.mkdir(parents=True)
    rows = [
        ("cifar10-0", 0, 0.80),
        ("cifar10-0", 1, 0.82),
        ("cifar10-folder-0", 0, 0.80),
        ("cifar10-folder-0", 1, 0.83),
    ]
    pd.DataFrame([{"arch": "smallcnn", "task": t, "seed": s, "test_acc": a} for t, s, a in rows]).to_csv(
        paths.train_metrics_csv(tmp_path, "cpu"), index=False
    )
    for label, prefix, off in (("cifar10", "cifar10", 0.0), ("cifar10-folder", "cifar10-folder", 0.01)):
        long = [
            {
                "seed": 0,
                "source": f"{prefix}-{a}",
                "target": f"{prefix}-{b}",
                "distance": 0.0 if a == b else 0.3 + (off if (a, b) == (0, 1) else 0.0),
            }
            for a in (0, 1)
            for b in (0, 1)
        ]
        out = paths.distance_outputs(tmp_path, "cpu", "smallcnn", label, "frechet", "empirical")["long"]
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(long).to_csv(out, index=False)
    text = user_folder_markdown(tmp_path, "cpu")
    assert "| cifar10-folder-0 | cifar10-0 | 0.8150 ± 0.0212 | 0.8100 ± 0.0141 | 1 of 2 |" in text
    assert "| cifar10-folder-1 | cifar10-1 | not run |" in text
    assert "compared: 4; identical: 3; largest difference 0.01." in text


def test_plan_of_a_folder_without_split_sizes_is_one_error_line(toy, tmp_path):
    root, _ = toy
    with pytest.raises(UserError, match=r"--plan needs the \(train, test\) sizes of toy: add split_sizes="):
        train_task.main(
            [
                "--dataset",
                "toy",
                "--plan",
                "--preset",
                "smoke",
                "--data-root",
                str(root),
                "--results-dir",
                str(tmp_path / "r"),
            ]
        )
