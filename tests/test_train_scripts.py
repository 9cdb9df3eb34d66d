"""The training scripts end to end on fabricated data, with the smoke preset."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch
from conftest import ROOT

import train_task_cifar
import train_task_mnist
from common.data.splits import Normalizer, task_splits
from common.presets import train_config
from common.store import paths
from common.tasks import get_task
from common.training.checkpoints import load_network
from common.training.train import evaluate


def test_mnist_smoke_trains_reloads_skips_and_forces(data_root, tmp_path, capsys):
    args = [
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
        "--tasks",
        "mnist-0",
        "mnist-2",
        "--seeds",
        "0",
        "1",
    ]
    train_task_mnist.main(args)
    df = pd.read_csv(paths.train_metrics_csv(tmp_path, "smoke"))
    assert len(df) == 4 and set(df.task) == {"mnist-0", "mnist-2"} and set(df.seed) == {0, 1}
    assert {"train_acc", "val_acc", "test_acc", "params", "train_seconds", "device", "epochs"} <= set(df.columns)

    # the checkpoint rebuilds an identical model: same weights, same test accuracy as recorded
    ckpt_path = paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "mnist-2", 1)
    cfg = train_config("smoke", "mnist", seeds=(0, 1))
    net, record = load_network(
        get_task("mnist-2"), "smallcnn", 1, cfg, preset="smoke", data_root=data_root, results_dir=tmp_path
    )
    stored = torch.load(ckpt_path, weights_only=True)["value"]["state_dict"]
    assert all(torch.equal(net.state_dict()[k], v) for k, v in stored.items())
    test = task_splits(
        get_task("mnist-2"), data_root, paths.data_cache_dir(tmp_path), max_train=cfg.max_train, max_eval=cfg.max_eval
    )["test"]
    acc = evaluate(net, test, Normalizer("mnist", "cpu"), 64, "cpu")
    row = df[(df.task == "mnist-2") & (df.seed == 1)].iloc[0]
    assert acc == pytest.approx(row.test_acc, abs=1e-6)
    assert record["provenance"]["torch"] == torch.__version__

    mtime = ckpt_path.stat().st_mtime_ns
    capsys.readouterr()
    train_task_mnist.main(args)  # rerun: nothing retrained
    assert "skip mnist-2 seed 1" in capsys.readouterr().out
    assert ckpt_path.stat().st_mtime_ns == mtime
    train_task_mnist.main(args + ["--force"])  # --force: retrained
    assert ckpt_path.stat().st_mtime_ns != mtime
    train_task_mnist.main(args + ["--epochs", "2"])  # other settings: the checkpoint is stale
    assert (
        json.loads(paths.record_path(tmp_path, "smoke", "smallcnn", "mnist-2", 1).read_text())["value"]["metrics"][
            "epochs"
        ]
        == 2
    )


def test_metrics_keep_runs_trained_elsewhere(data_root, tmp_path):
    """Rows of runs whose checkpoints are not here (trained on a GPU machine, say) survive a rerun;
    a run retrained here replaces its old row."""
    metrics = paths.train_metrics_csv(tmp_path, "smoke")
    metrics.parent.mkdir(parents=True)
    elsewhere = {
        "task": "mnist-0",
        "arch": "resnet18",
        "seed": 0,
        "preset": "smoke",
        "epochs": 1,
        "train_acc": 0.5,
        "val_acc": 0.5,
        "test_acc": 0.123,
        "params": 11169858,
        "train_seconds": 1.0,
        "device": "cuda",
        "git_commit": "abc",
        "sgd_seed": 0,
    }
    stale_here = dict(elsewhere, arch="smallcnn", test_acc=0.001, device="cpu")
    # trained before the initialisation protocol (no sgd_seed): dropped, not kept (common/networks/init.py)
    old_protocol = dict(elsewhere, task="mnist-1", sgd_seed=None)
    pd.DataFrame([elsewhere, stale_here, old_protocol]).to_csv(metrics, index=False)
    train_task_mnist.main(
        [
            "--preset",
            "smoke",
            "--data-root",
            str(data_root),
            "--results-dir",
            str(tmp_path),
            "--tasks",
            "mnist-0",
            "--seeds",
            "0",
        ]
    )
    df = pd.read_csv(metrics)
    assert len(df) == 2 and set(df.arch) == {"resnet18", "smallcnn"} and set(df.task) == {"mnist-0"}
    assert df[df.arch == "resnet18"].test_acc.item() == 0.123  # kept as it was
    assert df[df.arch == "smallcnn"].test_acc.item() != 0.001  # the new record's row


def test_cifar_smoke_writes_checkpoints(data_root, tmp_path):
    train_task_cifar.main(
        ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path), "--tasks", "cifar10-2"]
    )
    net, _ = load_network(
        get_task("cifar10-2"),
        "smallcnn",
        0,
        train_config("smoke", "cifar10"),
        preset="smoke",
        data_root=data_root,
        results_dir=tmp_path,
    )
    ckpt = torch.load(paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "cifar10-2", 0), weights_only=True)
    assert ckpt["key"]["config"]["augment"] is True
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 4)


def run_script(*argv):
    env = {**os.environ, "FTD_OFFLINE": "1"}
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--tasks", "mnist-7"], "unknown task 'mnist-7'"),
        (["--tasks", "cifar10-0"], "not mnist tasks"),
        (["--arch", "vgg17"], "invalid choice: 'vgg17'"),
        (["--preset", "fast"], "invalid choice: 'fast'"),
        (["--epochs", "0"], "--epochs must be positive"),
    ],
)
def test_bad_input_is_one_clear_line(data_root, tmp_path, extra, message):
    r = run_script(
        "train_task_mnist.py",
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
        *extra,
    )
    assert r.returncode != 0
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_missing_data_without_download(tmp_path):
    r = run_script(
        "train_task_cifar.py",
        "--preset",
        "smoke",
        "--data-root",
        str(tmp_path / "nowhere"),
        "--results-dir",
        str(tmp_path),
        "--tasks",
        "cifar10-0",
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "cifar10 train data not found" in err[0] and "--data-root" in err[0]
