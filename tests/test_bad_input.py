"""The bad-input table: every case gives one `error:` line naming the flag or file, a non-zero exit,
no traceback, and writes nothing under --results-dir. docs/troubleshooting.md's table lists the
same case ids (checked below), so the two cannot drift apart."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import CIFAR10_NAMES, ROOT, make_cifar_pickles
from PIL import Image

import fisher_distance
import nas_fuse
import noise_floor
import train_task_cifar
import train_task_mnist
from common import tasks
from common.base import cli
from common.store import paths

SCRIPTS = {
    "train_task_mnist.py": train_task_mnist.main,
    "train_task_cifar.py": train_task_cifar.main,
    "fisher_distance.py": fisher_distance.main,
    "nas_fuse.py": nas_fuse.main,
    "noise_floor.py": noise_floor.main,
}
PAIR = ["--tasks", "mnist-0", "mnist-3"]
NAS = ["--target", "mnist-3", "--baselines", "mnist-0", "mnist-3"]


# --------------------------------------------------------------------------- fabricated faults
def tiny_cifar_folder(root: Path, size: int = 32) -> Path:
    for split in ("train", "test"):
        for c, name in enumerate(CIFAR10_NAMES):
            d = root / "cifar10" / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(2):
                Image.fromarray(np.full((size, size, 3), 20 * c + i, np.uint8)).save(d / f"{i}.png")
    return root


def wrong_classes(root):
    for split in ("train", "test"):
        for name in ("cats", "dogs"):
            (root / "cifar10" / split / name).mkdir(parents=True)
            Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "cifar10" / split / name / "0.png")


def corrupt_jpeg(root):
    tiny_cifar_folder(root)
    (root / "cifar10" / "train" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")


def wrong_size(root):
    tiny_cifar_folder(root)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "cifar10" / "test" / "dog" / "small.png")


def label_out_of_range(root):
    make_cifar_pickles(root)
    path = root / "cifar-10-batches-py" / "test_batch"
    batch = pickle.loads(path.read_bytes())
    batch["labels"][3] = 12
    path.write_bytes(pickle.dumps(batch))


def truncated_pickle(root):
    make_cifar_pickles(root)
    path = root / "cifar-10-batches-py" / "data_batch_1"
    path.write_bytes(path.read_bytes()[:100])


def copy_checkpoint(results, *_):
    src = paths.checkpoint_path(results, "smoke", "smallcnn", "mnist-3", 0)
    shutil.copy(src, paths.checkpoint_path(results, "smoke", "smallcnn", "mnist-0", 0))


def truncate_checkpoint(results, *_):
    path = paths.checkpoint_path(results, "smoke", "smallcnn", "mnist-3", 0)
    path.write_bytes(path.read_bytes()[:1000])


def _matrix(results):
    return paths.distance_outputs(results, "smoke", "smallcnn", "mnist-0-mnist-3", "frechet", "empirical", "_fval")


def drop_manifest(results, *_):
    _matrix(results)["manifest"].unlink()


def edit_matrix(results, *_):
    path = _matrix(results)["mean"]
    path.write_text(path.read_text().replace("0.0,", "0.5,", 1))


def old_matrix_code(results, *_):
    manifest = _matrix(results)["manifest"]
    entry = json.loads(manifest.read_text())
    entry["key"]["code"] = "0" * 16  # as if made by an older distance/Fisher code
    manifest.write_text(json.dumps(entry))


def baseline_searched_with_budget_1(results, data_root):
    nas_fuse.main(
        [
            "--preset",
            "smoke",
            "--data-root",
            str(data_root),
            "--results-dir",
            str(results),
            "--target",
            "mnist-0",
            "--space",
            "full",
            "--search-only",
            "--budget",
            "1",
        ]
    )


def redefine_mnist0(monkeypatch):
    monkeypatch.setitem(tasks.TASKS, "mnist-0", replace(tasks.TASKS["mnist-0"], groups=((1,),)))


def results_is_file(results, *_):
    (results / "afile").write_text("x")


# (id, script, extra flags, what it says, fault in --results-dir, fault in a fresh --data-root, registry edit)
CASES = [
    ("T01", "train_task_mnist.py", ["--tasks", "mnist-7"], "unknown task 'mnist-7'", None, None, None),
    ("T02", "train_task_mnist.py", ["--tasks", "cifar10-0"], "are not mnist tasks", None, None, None),
    ("T03", "train_task_mnist.py", ["--arch", "vgg17"], "invalid choice: 'vgg17'", None, None, None),
    ("T04", "train_task_mnist.py", ["--preset", "fast"], "invalid choice: 'fast'", None, None, None),
    ("T05", "train_task_mnist.py", ["--epochs", "0"], "--epochs must be positive", None, None, None),
    ("T06", "train_task_mnist.py", ["--batch-size", "-4"], "--batch-size must be positive", None, None, None),
    ("T07", "train_task_mnist.py", ["--seeds", "0", "0"], "--seeds lists seed 0 more than once", None, None, None),
    ("T08", "train_task_mnist.py", ["--seeds", "-1"], "--seeds must be non-negative", None, None, None),
    ("T09", "train_task_mnist.py", ["--seeds", "one"], "invalid int value: 'one'", None, None, None),
    (
        "T10",
        "train_task_mnist.py",
        ["--results-dir", "{results}/afile"],
        "is a file, not a folder",
        results_is_file,
        None,
        None,
    ),
    (
        "T11",
        "train_task_mnist.py",
        ["--results-dir", "{results}/afile/sub"],
        "is a file, not a folder",
        results_is_file,
        None,
        None,
    ),
    (
        "T12",
        "train_task_mnist.py",
        ["--results-dir", "/proc/ftd-results"],
        "--results-dir /proc/ftd-results is not writable",
        None,
        None,
        None,
    ),
    (
        "T13",
        "train_task_mnist.py",
        ["--data-root", "{results}/nowhere"],
        "mnist train data not found under",
        None,
        None,
        None,
    ),
    ("T14", "train_task_mnist.py", ["--device", "cuda"], "--device cuda requested but no CUDA GPU", None, None, None),
    ("C01", "train_task_cifar.py", [], "train names 2 classes, class 0 'cats'", None, wrong_classes, None),
    (
        "C02",
        "train_task_cifar.py",
        [],
        "cannot decode image {data}/cifar10/train/cat/broken.jpg",
        None,
        corrupt_jpeg,
        None,
    ),
    (
        "C03",
        "train_task_cifar.py",
        [],
        "image {data}/cifar10/test/dog/small.png is 16x16 pixels",
        None,
        wrong_size,
        None,
    ),
    (
        "C04",
        "train_task_cifar.py",
        [],
        "cifar10 test labels in {data}/cifar-10-batches-py run from 0 to 12",
        None,
        label_out_of_range,
        None,
    ),
    (
        "C05",
        "train_task_cifar.py",
        [],
        "cannot read cifar10 train data in {data}/cifar-10-batches-py",
        None,
        truncated_pickle,
        None,
    ),
    (
        "F01",
        "fisher_distance.py",
        [*PAIR, "--sigma2", "nan"],
        "--sigma2 must be a finite number > 0, got nan",
        None,
        None,
        None,
    ),
    (
        "F02",
        "fisher_distance.py",
        [*PAIR, "--sigma2", "inf"],
        "--sigma2 must be a finite number > 0, got inf",
        None,
        None,
        None,
    ),
    ("F03", "fisher_distance.py", [*PAIR, "--sigma2=-1e-12"], "--sigma2 must be a finite number > 0", None, None, None),
    (
        "F04",
        "fisher_distance.py",
        [*PAIR, "--sigma2", "-1"],
        "--sigma2 must be a finite number > 0, got -1.0",
        None,
        None,
        None,
    ),
    (
        "F05",
        "fisher_distance.py",
        [*PAIR, "--sigma2", "0"],
        "--sigma2 must be a finite number > 0, got 0.0",
        None,
        None,
        None,
    ),
    (
        "F06",
        "fisher_distance.py",
        [*PAIR, "--distance", "wasserstein"],
        "invalid choice: 'wasserstein'",
        None,
        None,
        None,
    ),
    ("F07", "fisher_distance.py", [*PAIR, "--estimator", "exact"], "invalid choice: 'exact'", None, None, None),
    (
        "F08",
        "fisher_distance.py",
        ["--tasks", "mnist-0"],
        "a distance matrix needs at least two tasks",
        None,
        None,
        None,
    ),
    (
        "F09",
        "fisher_distance.py",
        ["--task-set", "mnist", "--tasks", "mnist-0"],
        "either --task-set or --tasks",
        None,
        None,
        None,
    ),
    ("F10", "fisher_distance.py", ["--task-set", "mnist9"], "invalid choice: 'mnist9'", None, None, None),
    (
        "F11",
        "fisher_distance.py",
        [*PAIR, "--fisher-samples", "0"],
        "--fisher-samples must be positive",
        None,
        None,
        None,
    ),
    (
        "F12",
        "fisher_distance.py",
        [*PAIR, "--seeds", "0", "0"],
        "--seeds lists seed 0 more than once",
        None,
        None,
        None,
    ),
    (
        "F13",
        "fisher_distance.py",
        ["--tasks", "mnist-0", "mnist-1"],
        "mnist-1/seed0.pt missing); train them first: python train_task_mnist.py --preset smoke --arch smallcnn "
        "--tasks mnist-1 --seeds 0 --data-root {data} --results-dir {results}",
        None,
        None,
        None,
    ),
    (
        "F14",
        "fisher_distance.py",
        [*PAIR, "--force"],
        "mnist-0/seed0.pt made from other inputs (task changed)",
        copy_checkpoint,
        None,
        None,
    ),
    (
        "F15",
        "fisher_distance.py",
        [*PAIR],
        "mnist-3/seed0.pt unreadable); train them first",
        truncate_checkpoint,
        None,
        None,
    ),
    (
        "F16",
        "fisher_distance.py",
        [*PAIR],
        "mnist-0/seed0.pt made from other inputs (task changed)); train them first: "
        "python train_task_mnist.py --preset smoke --arch smallcnn --tasks mnist-0",
        None,
        None,
        redefine_mnist0,
    ),
    ("F17", "fisher_distance.py", [*PAIR, "--arch", "vgg16"], "--arch vgg16 --tasks mnist-0 mnist-3", None, None, None),
    ("F18", "fisher_distance.py", [*PAIR, "--parameters", "head"], "invalid choice: 'head'", None, None, None),
    (
        "F19",
        "fisher_distance.py",
        [*PAIR, "--target-labels", "random"],
        "invalid choice: 'random'",
        None,
        None,
        None,
    ),
    ("F20", "noise_floor.py", ["--tasks", "mnist-0"], "a noise floor needs at least two tasks", None, None, None),
    (
        "F21",
        "noise_floor.py",
        ["--tasks", "mnist-0", "mnist-2"],
        "1 checkpoint(s) under {results}/smoke/checkpoints/smallcnn cannot be used (mnist-2/seed0.pt missing)",
        None,
        None,
        None,
    ),
    ("N01", "nas_fuse.py", ["--target", "mnist-9"], "unknown task 'mnist-9'", None, None, None),
    ("N02", "nas_fuse.py", [*NAS, "--budget", "0"], "--budget must be positive", None, None, None),
    (
        "N03",
        "nas_fuse.py",
        ["--target", "mnist-3", "--task-set", "mnist", "--baselines", "mnist-0"],
        "either --task-set or --baselines",
        None,
        None,
        None,
    ),
    ("N04", "nas_fuse.py", [*NAS, "--seeds", "1", "1"], "--seeds lists seed 1 more than once", None, None, None),
    (
        "N05",
        "nas_fuse.py",
        ["--target", "mnist-2"],
        "no distance matrix at {results}/smoke/distances/smallcnn/mnist_frechet",
        None,
        None,
        None,
    ),
    ("N06", "nas_fuse.py", NAS, "has no readable manifest", drop_manifest, None, None),
    ("N07", "nas_fuse.py", NAS, "was changed after it was computed", edit_matrix, None, None),
    ("N08", "nas_fuse.py", NAS, "was computed for other definitions of mnist-0", None, None, redefine_mnist0),
    (
        "N09",
        "nas_fuse.py",
        ["--target", "mnist-3", "--baselines", "mnist-3"],
        "no baseline task other than the target",
        None,
        None,
        None,
    ),
    (
        "N10",
        "nas_fuse.py",
        NAS,
        "was computed by an older version of the Fisher or distance code",
        old_matrix_code,
        None,
        None,
    ),
    (
        "N11",
        "nas_fuse.py",
        NAS,
        "whose full-space genotype for seed 0 ({results}/smoke/nas/genotypes/mnist-0_full_seed0"
        ".json) is made from other inputs (stages changed); search it first",
        baseline_searched_with_budget_1,
        None,
        None,
    ),
]


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    """Smoke ε-networks of mnist-0 and mnist-3 (seed 0) and their distance matrix."""
    results = tmp_path_factory.mktemp("bad_input_results")
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results), "--seeds", "0"]
    train_task_mnist.main(common + PAIR)
    fisher_distance.main(common + PAIR)
    fisher_distance.main(common + PAIR + ["--fisher-split", "val"])  # the matrix NAS reads
    return results


def snapshot(folder: Path, skip_cache: bool = False) -> dict:
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if not (skip_cache and "cache" in p.relative_to(folder).parts)
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_writes_nothing(case, data_root, trained, tmp_path, monkeypatch, capsys):
    case_id, script, extra, message, results_fault, data_fault, registry_edit = case
    results = tmp_path / "results"
    shutil.copytree(trained, results)
    data = data_root
    if data_fault:
        data = tmp_path / "data"
        data.mkdir()
        data_fault(data)
    if results_fault:
        results_fault(results, data_root)
    if registry_edit:
        registry_edit(monkeypatch)
    fill = {"results": str(results), "data": str(data)}
    extra = [a.format(**fill) for a in extra]
    argv = ["--preset", "smoke", "--data-root", str(data), "--results-dir", str(results)]
    argv += ["--seeds", "0"] if script != "nas_fuse.py" and "--seeds" not in extra else []
    snapshot_before = snapshot(results, skip_cache=bool(data_fault))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run(SCRIPTS[script], argv + extra)
    err = capsys.readouterr().err
    # the commands in messages start as the running interpreter does (``.venv/bin/python`` or ``python``)
    errors = [line.replace(paths.python_command() + " ", "python ") for line in err.splitlines() if "error:" in line]
    assert exit_info.value.code not in (0, None), err
    assert "Traceback" not in err
    assert len(errors) == 1, err
    assert message.format(**fill) in errors[0], err
    if os.environ.get("FTD_BAD_INPUT_LOG"):  # collects the lines for docs/troubleshooting.md's table
        with open(os.environ["FTD_BAD_INPUT_LOG"], "a") as log:
            log.write(
                f"{case_id}\t{script}\t{' '.join(extra)}\t{errors[0].replace(str(results), 'R').replace(str(data), 'D')}\n"
            )
    assert "error:" in err.strip().splitlines()[-1]  # the error is the last thing said
    # a split that decoded fine before the damaged one may be cached (a correct, keyed file): data
    # faults compare everything but the decoded-data cache
    assert snapshot(results, skip_cache=bool(data_fault)) == snapshot_before, f"{case_id} wrote files"


def test_readme_lists_every_case():
    table = (ROOT / "docs" / "troubleshooting.md").read_text()
    listed = set(re.findall(r"^\| ([TCFN]\d\d) \|", table, flags=re.M))
    assert listed == {c[0] for c in CASES}
