"""Staleness end to end: editing a task definition between runs redoes every checkpoint, Fisher
(its row *and* its column) and matrix that depends on it, and no matrix is ever computed from
mixed definitions."""

from dataclasses import replace

import pandas as pd
import pytest

import fisher_distance
import nas_fuse
import train_task_mnist
from common import tasks
from common.base.errors import UserError
from common.store import paths

TASKS = ["mnist-0", "mnist-2", "mnist-3"]


def test_editing_a_task_redoes_everything_that_depends_on_it(data_root, tmp_path, monkeypatch, capsys):
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path), "--seeds", "0"]
    train_task_mnist.main(common + ["--tasks", *TASKS])
    fisher_distance.main(common + ["--tasks", *TASKS])
    fisher_distance.main(common + ["--tasks", *TASKS, "--fisher-split", "val"])  # the matrix NAS reads
    out = paths.distance_outputs(tmp_path, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3", "frechet", "empirical")
    before = pd.read_csv(out["mean"], index_col="source")
    written = {k: p.stat().st_mtime_ns for k, p in out.items() if p.exists()}

    # the user edits mnist-0 in common/tasks.py: digit 1 vs rest instead of digit 0 vs rest
    monkeypatch.setitem(tasks.TASKS, "mnist-0", replace(tasks.TASKS["mnist-0"], groups=((1,),)))
    capsys.readouterr()
    with pytest.raises(
        UserError,
        match=r"mnist-0/seed0.pt made from other inputs \(task changed\)\); train them "
        r"first: .*python train_task_mnist.py .* --tasks mnist-0 --seeds 0",
    ):
        fisher_distance.main(common + ["--tasks", *TASKS])
    assert {k: p.stat().st_mtime_ns for k, p in out.items() if p.exists()} == written  # nothing rewritten
    with pytest.raises(UserError, match="computed for other definitions of mnist-0"):
        nas_fuse.main(common + ["--target", "mnist-2", "--baselines", *TASKS])

    train_task_mnist.main(common + ["--tasks", *TASKS])
    io = capsys.readouterr()
    assert "done mnist-0 seed 0" in io.out and "skip mnist-2 seed 0" in io.out and "skip mnist-3 seed 0" in io.out
    assert "mnist-0/seed0.pt was made from other inputs (task changed); retraining" in io.out

    fisher_distance.main(common + ["--tasks", *TASKS])
    # row mnist-0 (3 Fishers of the new network) and column mnist-0 (the 2 other networks on its new data)
    assert "5 Fisher(s) computed, 4 read from the cache" in capsys.readouterr().out
    after = pd.read_csv(out["mean"], index_col="source")
    fisher_distance.main(common + ["--tasks", *TASKS, "--force"])
    assert "9 Fisher(s) computed, 0 read" in capsys.readouterr().out
    forced = pd.read_csv(out["mean"], index_col="source")
    pd.testing.assert_frame_equal(after, forced)  # the cache served no stale Fisher
    assert after.loc["mnist-2", "mnist-0"] != pytest.approx(before.loc["mnist-2", "mnist-0"], abs=1e-9)  # column
    assert after.loc["mnist-0", "mnist-3"] != pytest.approx(before.loc["mnist-0", "mnist-3"], abs=1e-9)  # row
    assert after.loc["mnist-2", "mnist-3"] == before.loc["mnist-2", "mnist-3"]  # untouched


def test_a_changed_fisher_setting_is_a_new_fisher(data_root, tmp_path, capsys):
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
    fisher_distance.main(common + ["--estimator", "legacy-batch"])
    capsys.readouterr()
    fisher_distance.main(common + ["--estimator", "legacy-batch", "--batch-size", "8"])  # legacy depends on it
    io = capsys.readouterr()
    assert "4 Fisher(s) computed, 0 read" in io.out and "(batch_size changed); recomputing" in io.err
