"""Reliability, third round (issue 27): users' folders that change behind a link, registry errors under
``python -O``, tiny splits, Ctrl-C on the local launcher, launcher flags, a full disk, out-of-range seeds,
the messages of odd folders, a mistyped --data-root, and --plan from stored throughputs. Each test fails
on the code before the issue's fixes (the fault seeded: see each docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from common.base.errors import UserError
from common.data import decode as datasets
from common.data import tree_checks
from common.data.class_names import check_class_names
from common.datasets import DATASETS, image_folder
from common.tasks import TASKS, Task, get_task

TOY = ("cat", "dog")


def toy_tree(root, per_class=(6, 3), classes=TOY, seed=0):
    """root/toy/{train,test}/<class>/*.png, distinct random images."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "test"), per_class):
        for name in classes:
            folder = root / "toy" / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setitem(DATASETS, "toy", image_folder("toy", "toy", TOY))
    return tmp_path / "data"


def python(code: str, *flags: str) -> subprocess.CompletedProcess:
    """``code`` run by a fresh interpreter in the repository (stderr a pipe, not a terminal)."""
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def one_error_line(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], proc.stderr


# --------------------------------------------------------------------------- 1. a class folder that is a link
def test_identity_follows_a_linked_class_folder(toy, tmp_path):
    """Before: Path.rglob did not enter the linked folder, so replacing its images kept the identity
    (and every decoded split, checkpoint and Fisher made from the old images)."""
    toy_tree(toy)
    elsewhere = tmp_path / "elsewhere" / "dog"
    elsewhere.parent.mkdir(parents=True)
    (toy / "toy" / "train" / "dog").rename(elsewhere)
    (toy / "toy" / "train" / "dog").symlink_to(elsewhere, target_is_directory=True)
    listed = datasets._source_files("imagefolder", toy / "toy" / "train")
    assert len(listed) == 12 and sum("dog" in p.parts for p in listed) == 6  # what ImageFolder reads
    before = datasets.data_identity("toy", toy, tmp_path / "cache")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(elsewhere / "0.png")  # replaced behind the link
    datasets._content_digest.cache_clear()  # as a new process would
    assert datasets.data_identity("toy", toy, tmp_path / "cache")["train"] != before["train"]


def test_identity_lists_only_the_files_the_reader_reads(toy, tmp_path):
    """A .gif (skipped by ImageFolder) is not part of the data: adding one keeps the identity."""
    toy_tree(toy)
    before = datasets.data_identity("toy", toy, tmp_path / "cache")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(toy / "toy" / "train" / "cat" / "extra.gif")
    datasets._content_digest.cache_clear()
    assert datasets.data_identity("toy", toy, tmp_path / "cache") == before


# --------------------------------------------------------------------------- 2. registry rules, whatever -O
def test_one_class_task_is_refused_under_python_O():
    """Before: the rules were asserts (skipped by -O) and took no registry to check."""
    proc = python(
        "from common import tasks\ntasks._check_registry({'x': tasks.Task('x', 'mnist', ((0,),), False, '')}, {})", "-O"
    )
    one_error_line(proc, "task x: needs at least two labels")


@pytest.mark.parametrize(
    "groups, needle",
    [(((10,),), "class id 10 is outside mnist's classes 0..9"), ((("zebra",),), "mnist has no class 'zebra'")],
)
def test_a_bad_class_at_import_is_one_error_line(groups, needle):
    """Before: class id 10 was accepted by Task (the check was an assert later); 'zebra' was a traceback."""
    proc = python(f"from common.tasks import Task\nTask('x', 'mnist', {groups!r}, True, '')")
    one_error_line(proc, needle)


def test_dataset_registry_rules_are_user_errors():
    from common import datasets as dataset_registry

    with pytest.raises(UserError, match="needs at least two classes"):
        dataset_registry._check_registry({"one": image_folder("one", "one", ("only",))})


# --------------------------------------------------------------------------- 7. messages of odd folders
def test_class_folder_in_decomposed_unicode_shows_the_code_points(tmp_path, monkeypatch):
    """Before: "class 1 'café' ... has class 1 'café'": two different strings that look the same."""
    composed = unicodedata.normalize("NFC", "café")
    monkeypatch.setitem(DATASETS, "toy", image_folder("toy", "toy", ("bar", composed)))
    toy_tree(tmp_path, classes=("bar", unicodedata.normalize("NFD", composed)))
    with pytest.raises(UserError) as err:
        check_class_names("toy", tmp_path)
    assert "U+0301" in str(err.value) and "U+00E9" in str(err.value) and "Unicode forms" in str(err.value)


def test_empty_class_folder_is_refused_before_decoding(toy):
    """Before: check_data passed and the decode ended 'damaged or not in torchvision's format'."""
    toy_tree(toy)
    for f in (toy / "toy" / "test" / "dog").iterdir():
        f.unlink()
    (toy / "toy" / "test" / "dog" / "notes.txt").write_text("no images here")
    with pytest.raises(UserError, match=r"class folder .*test/dog holds no image the reader accepts"):
        tree_checks.check_data("toy", toy)


def test_skipped_files_and_duplicated_test_images_are_one_warning_each(toy, tmp_path, capsys):
    """Before: a .gif among the images and test images copied from train passed without a word."""
    toy_tree(toy)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(toy / "toy" / "train" / "cat" / "a.gif")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(toy / "toy" / "train" / "cat" / "b.GIF")
    for name in ("0.png", "1.png"):
        (toy / "toy" / "test" / "dog" / name).write_bytes((toy / "toy" / "train" / "dog" / name).read_bytes())
    datasets.prepare_data("toy", toy, tmp_path / "cache")
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2, warnings
    assert "2 file(s) of toy are skipped by the reader" in warnings[0] and "a.gif" in warnings[0]
    assert "2 toy test image(s) are pixel-identical to train images" in warnings[1]


# --------------------------------------------------------------------------- 8. mistyped names
def test_mistyped_data_root_is_refused_before_anything_is_created(tmp_path, monkeypatch):
    """Before: with downloads allowed, check_data passed and torchvision created dta/MNIST/raw/ while
    trying to download (offline: nothing can come)."""
    monkeypatch.delenv("FTD_OFFLINE", raising=False)
    typo = tmp_path / "dta"
    with pytest.raises(UserError, match=r"--data-root .*dta does not exist"):
        tree_checks.check_data("mnist", typo)
    assert not typo.exists()


def test_the_default_data_root_may_still_be_downloaded_into(monkeypatch):
    monkeypatch.delenv("FTD_OFFLINE", raising=False)
    tree_checks.check_data_root(tree_checks.DEFAULT_DATA_ROOT)  # no error: torchvision may download there


def test_mistyped_task_name_gets_a_suggestion():
    with pytest.raises(UserError, match="did you mean 'mnist-0'"):
        get_task("mnsit-0")


def test_no_progress_bars_when_stderr_is_not_a_terminal():
    """Before: a redirected log filled with carriage returns (one per bar update)."""
    proc = python(
        "import common\nfrom tqdm import tqdm\nimport time\n"
        "for _ in tqdm(range(50), mininterval=0):\n    time.sleep(0.001)"
    )
    assert proc.returncode == 0 and "\r" not in proc.stderr and "it/s" not in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- 4. Ctrl-C on --launcher local
DRIVER = r"""
import sys, types
from pathlib import Path
from common.run import launchers as launch
out = Path(sys.argv[1])
job = "import sys, time; time.sleep(60); open(sys.argv[1], 'w').write('done')"
jobs = [launch.Job(f"j{i}", lambda: None) for i in range(5)]
commands = {j.name: [sys.executable, "-c", job, str(out / f"{j.name}.done")] for j in jobs}
args = types.SimpleNamespace(launcher="local", workers=2, device="cpu")
(out / "started").write_text("")
from common.base.cli import run
run(lambda argv: launch._run_local(jobs, commands, args, out))
"""


def test_ctrl_c_stops_the_local_launcher_at_once(tmp_path):
    """Before: the running jobs died, but the pool went on starting the queued ones (their files written)
    and the parent exited only when the queue was done. The jobs sleep 60 s: a parent that waited for its
    queue (150 s) would not exit within the 40 s allowed (no tighter time is asserted: a busy machine is
    slow)."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "j1.log").exists() and time.monotonic() < deadline:  # both workers have a job
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=40)
    assert proc.returncode == 130, err
    assert "interrupted: 0 of 5 job(s) finished" in err and "Rerun the same command" in err, err
    time.sleep(1)  # a job started after the signal would have opened its log by now
    assert not list(tmp_path.glob("*.done")), err
    assert sorted(p.name for p in tmp_path.glob("*.log")) == ["j0.log", "j1.log"]


# --------------------------------------------------------------------------- 3. tiny splits
def run_cli(main, argv, capsys) -> tuple[int, str]:
    from common.base import cli

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, argv)
    return exit_info.value.code, capsys.readouterr().err


def test_one_test_image_per_class_is_refused_before_training(toy, tmp_path, monkeypatch, capsys):
    """Before: trained, and a test accuracy of 1.0 on 2 images was written with its checkpoint."""
    import train_task

    toy_tree(toy, per_class=(30, 1))
    monkeypatch.setitem(TASKS, "toy-0", Task("toy-0", "toy", (("cat",), ("dog",)), False, "2-class"))
    results = tmp_path / "results"
    code, err = run_cli(
        train_task.main,
        [
            "--dataset",
            "toy",
            "--tasks",
            "toy-0",
            "--preset",
            "smoke",
            "--seeds",
            "0",
            "--data-root",
            str(toy),
            "--results-dir",
            str(results),
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err, err
    assert "toy-0: its test split has 2 image(s), 1 of label 0 (cat)" in err.strip().splitlines()[-1], err
    assert not list(results.rglob("seed0.*")), "a checkpoint was written"


def test_split_minimums(toy):
    import torch

    from common.data.decode import Split
    from common.data.split_checks import check_dense_splits, check_fisher_data, check_task_splits

    task = Task("toy-0", "toy", (("cat",), ("dog",)), False, "2-class")

    def split(labels):
        return Split(torch.zeros(len(labels), 3, 32, 32, dtype=torch.uint8), torch.tensor(labels, dtype=torch.int64))

    ok = split([0, 1] * 6)
    check_task_splits(task, {"test": ok, "val": split([0, 1])}, fix="")
    with pytest.raises(UserError, match="validation split has 1 image"):
        check_task_splits(task, {"test": ok, "val": split([0])}, fix="")
    with pytest.raises(UserError, match="test split has 12 image"):
        check_task_splits(task, {"test": split([0] * 11 + [1]), "val": split([0, 1])}, fix="")
    with pytest.raises(UserError, match="holds 1 image"):
        check_fisher_data(task, 1, "val", fix="")
    with pytest.raises(UserError, match="validation split has 0 image"):  # a single Taskonomy building
        check_dense_splits(task, {"val": [], "test": [1, 2]}, fix="")


def test_the_matrix_manifest_records_the_fisher_samples_used(data_root, tmp_path):
    """Before: the manifest said only the samples asked for (its key: 1000), not the 16 / 80 images used."""
    import json

    import fisher_distance
    import train_task_mnist
    from common.store import paths

    common = [
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
        "--seeds",
        "0",
        "--tasks",
        "mnist-0",
        "mnist-3",
    ]
    train_task_mnist.main(common)
    fisher_distance.main([*common, "--fisher-samples", "1000"])
    out = paths.distance_outputs(tmp_path, "smoke", "smallcnn", "mnist-0-mnist-3", "frechet", "empirical", "_n1000")
    entry = json.loads(out["manifest"].read_text())
    assert entry["key"]["fisher"]["samples"] == 1000
    assert entry["value"]["fisher_samples_used"] == {"mnist-0": 16, "mnist-3": 80}


# --------------------------------------------------------------------------- 5, 6. flags, full disk, seeds
@pytest.mark.parametrize(
    "flags",
    [
        ["--array-parallelism", "0"],
        ["--timeout-min", "0"],
        ["--workers", "-2"],
        ["--workers", "0"],
        ["--jobs-per-process", "0"],
        ["--gpus-per-job", "-1"],
    ],
)
def test_launcher_flags_are_checked_before_any_work(flags, tmp_path, capsys):
    """Before: --plan printed an estimate for -2 workers; --array-parallelism 0 submitted nothing;
    --timeout-min 0 failed every job; --workers 0 was refused after the data was decoded."""
    import train_task_mnist

    code, err = run_cli(
        train_task_mnist.main,
        ["--preset", "smoke", "--launcher", "local", "--plan", *flags, "--results-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2 and f"argument {flags[0]}: must be at least" in err, err
    assert not list(tmp_path.iterdir())


def test_an_out_of_range_seed_is_one_line_before_the_data(tmp_path, capsys, monkeypatch):
    """Before: an overflow traceback in manual_seed, after the data decode."""
    import train_task_mnist
    from common.training import step as train_runs

    monkeypatch.setattr(train_runs, "prepare_inputs", lambda *a: pytest.fail("data read before the seeds were checked"))
    code, err = run_cli(
        train_task_mnist.main,
        ["--preset", "smoke", "--seeds", "99999999999999999999", "--results-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2 and "--seeds must be at most 2147483647" in err and "Traceback" not in err, err


@pytest.mark.parametrize("fault", ["torch", "oserror"])
def test_a_full_disk_is_one_error_line(fault, data_root, tmp_path, capsys, monkeypatch):
    """Before: torch's RuntimeError from inline_container.cc (printed twice), or an OSError traceback."""
    import errno

    import torch

    import train_task_mnist

    def full(*args, **kwargs):
        if fault == "torch":
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 9792 vs 9680")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "results" / "x.pt"))

    monkeypatch.setattr(torch, "save", full)
    code, err = run_cli(
        train_task_mnist.main,
        [
            "--preset",
            "smoke",
            "--seeds",
            "0",
            "--tasks",
            "mnist-0",
            "--data-root",
            str(data_root),
            "--results-dir",
            str(tmp_path / "results"),
        ],
        capsys,
    )
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(errors) == 1, err
    assert ("disk is probably full" if fault == "torch" else "no space left on the device holding") in errors[0]


# --------------------------------------------------------------------------- 9. --plan from stored throughputs
def test_plan_reads_stored_throughputs_and_remeasures_when_asked(tmp_path):
    """Before: every --plan timed every network on the device (692 s for the paper preset on 2 cores)."""
    import torch

    from common.networks.models import build_network
    from common.run import throughputs
    from common.run.launch import Job
    from common.run.plan import Cost, estimate, timed_batch
    from common.run.throughputs import StoredThroughputs

    task = get_task("mnist-0")
    cost = Cost(
        "smallcnn train", lambda: build_network("smallcnn", task, seed=0), "smallcnn/mnist/train", "train", 1000, 64, 2
    )
    jobs = [Job("mnist-0/seed0", lambda: None, lambda: (cost,))]
    calls = []

    def timer(c, device, amp=False):
        calls.append(c.measure_key)
        return 500.0

    path, cpu = tmp_path / "throughputs.csv", torch.device("cpu")
    first = estimate(jobs, cpu, measure=StoredThroughputs(path, "cpu A").measure_with(timer, timed_batch))
    again = StoredThroughputs(path, "cpu A")
    second = estimate(jobs, cpu, measure=again.measure_with(timer, timed_batch), macs_of=again.macs_with(None))
    assert calls == ["smallcnn/mnist/train"] and again.measured == 0  # read back, MACs too
    assert first.seconds.tolist() == second.seconds.tolist() == [2.0]
    estimate(jobs, cpu, measure=StoredThroughputs(path, "cpu B").measure_with(timer, timed_batch))
    assert len(calls) == 2  # another device: its own row
    throughputs._MEASURED_NOW.clear()  # a new process
    estimate(jobs, cpu, measure=StoredThroughputs(path, "cpu A", remeasure=True).measure_with(timer, timed_batch))
    assert len(calls) == 3


def test_another_devices_plan_is_not_replaced(tmp_path):
    """Before: --plan on this CPU overwrote results/paper/plan.csv, the H200's measured plan."""
    import pandas as pd

    from common.run.pipeline import plan_path

    default = tmp_path / "plan.csv"
    assert plan_path(default, "cpu (2 threads, x86_64)") == default  # none yet
    pd.DataFrame({"job": ["a"], "device": ["NVIDIA H200"]}).to_csv(default, index=False)
    assert plan_path(default, "NVIDIA H200") == default
    mine = plan_path(default, "cpu (2 threads, x86_64)")
    assert mine != default and mine.parent == default.parent and "cpu" in mine.name
    assert plan_path(default, "cpu (2 threads, x86_64)", force=True) == default
