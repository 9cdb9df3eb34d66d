"""Launchers (issue 13): the jobs of a step run as subprocesses (`local`) or through submitit's local
executor give the results of the inline loop; a killed job is reported with its log and redone alone
on rerun; --plan lists the right jobs quickly; --amp on a CPU is ignored with one line."""

import os
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import torch

import fisher_distance
import nas_fuse
import train_task_mnist
from common.presets import train_config
from common.run.launch import Job, is_finished
from common.run.plan import task_sizes
from common.store import paths
from common.store.cache import WouldCompute, cached, probe
from common.tasks import get_task

TIMING = [
    "train_seconds",
    "device",
    "git_commit",
    "search_seconds",
    "search_hours",
    "train_hours",
    "closest_search_hours",
]
# One seed: 2 training and 2 Fisher jobs (one wave on 2 workers), 3 NAS jobs (full and random search, the
# hand-designed network: more jobs than workers). Each job is a process that imports torch and the step's
# code (~10 s of CPU on 2 cores), so the number of job processes is what these tests cost: each test runs
# the steps it needs.
TASKS = ["--tasks", "mnist-0", "mnist-3", "--seeds", "0"]
NAS = ["--target", "mnist-3", "--space", "full"]


def smoke(data_root, results, *extra):
    return ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results), *extra]


def outputs(results, steps=("train", "fisher", "nas")) -> dict[str, pd.DataFrame]:
    """The step CSVs a launcher must reproduce (timing and device columns aside)."""
    files = {
        "train": paths.train_metrics_csv(results, "smoke"),
        "fisher": paths.distance_outputs(results, "smoke", "smallcnn", "mnist-0-mnist-3", "frechet", "empirical")[
            "long"
        ],
        "nas": paths.nas_table_outputs(results, "smoke", "mnist-3")["csv"],
    }
    return {files[s].name: pd.read_csv(files[s]).drop(columns=TIMING, errors="ignore") for s in steps}


def same_results(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        left, right = a[name], b[name]
        if "distance" in left:  # computed in the merging process: float sums in another thread count
            assert left.distance.to_numpy() == pytest.approx(right.distance.to_numpy(), abs=1e-12)
            left, right = left.drop(columns="distance"), right.drop(columns="distance")
        pd.testing.assert_frame_equal(left, right, obj=name)


def same_networks(results, inline) -> None:
    """The ε-networks' weights equal inline's, bit for bit (what the Fisher step would read)."""
    from common.store.cache import read_entry

    for task in ("mnist-0", "mnist-3"):
        ours, theirs = (
            read_entry(paths.checkpoint_path(r, "smoke", "smallcnn", task, 0))["value"]["state_dict"]
            for r in (results, inline)
        )
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours), task


def run_all(data_root, results, *launcher):
    train_task_mnist.main(smoke(data_root, results, *TASKS, *launcher))
    fisher_distance.main(smoke(data_root, results, *TASKS, *launcher))
    nas_fuse.main(smoke(data_root, results, *NAS, *launcher))


@pytest.fixture(scope="module")
def inline_results(data_root, tmp_path_factory) -> Path:
    """The results directory of the inline loop with one thread, the thread count of each job of a 2-worker
    launcher on 2 cores (oneDNN's float sums depend on the thread count, so only equal counts compare bit
    for bit)."""
    results = tmp_path_factory.mktemp("inline")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_all(data_root, results)
    finally:
        torch.set_num_threads(threads)
    return results


def test_local_launcher_with_two_workers_equals_inline(data_root, tmp_path, inline_results, monkeypatch, capsys):
    """Training and Fishers (whose merge computes the distances in this process) on 2 workers; NAS jobs
    on the local launcher: test_jobs_per_process_..., which compares them with inline too."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # 2 workers x 1 thread, on any machine
    launcher = ["--launcher", "local", "--workers", "2"]
    train_task_mnist.main(smoke(data_root, tmp_path, *TASKS, *launcher))
    fisher_distance.main(smoke(data_root, tmp_path, *TASKS, *launcher))
    same_results(outputs(tmp_path, ["train", "fisher"]), outputs(inline_results, ["train", "fisher"]))
    for script in ("train_task_mnist", "fisher_distance"):
        logs = paths.launcher_logs(tmp_path, "smoke", script)
        assert sorted(p.name for p in logs.iterdir()) == ["mnist-0_seed0.log", "mnist-3_seed0.log"], script
    capsys.readouterr()
    train_task_mnist.main(smoke(data_root, tmp_path, *TASKS, "--launcher", "local"))
    assert "2 job(s), 2 finished earlier, 0 to run" in capsys.readouterr().out  # a rerun launches nothing


def test_submitit_local_executor_runs_a_step_and_merges(data_root, tmp_path, inline_results, monkeypatch, capsys):
    """The NAS step (it needs no earlier step in the full space): 3 jobs, in 2 waves on 2 cores, then the
    merge; the other steps' jobs are run by the same code (test_local_launcher_...)."""
    submitit = pytest.importorskip("submitit")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    # submitit polls its jobs every 10 s by default: each wave of jobs waited up to 10 s after it ended
    monkeypatch.setattr(submitit.helpers, "as_completed", partial(submitit.helpers.as_completed, poll_frequency=0.5))
    nas_fuse.main(smoke(data_root, tmp_path, *NAS, "--launcher", "submitit"))
    assert "submitit launcher (local executor): 3 job(s), 2 at a time" in capsys.readouterr().out
    same_results(outputs(tmp_path, ["nas"]), outputs(inline_results, ["nas"]))
    assert len(list(paths.launcher_logs(tmp_path, "smoke", "nas_fuse").rglob("*_log.out"))) == 3


def test_killed_jobs_are_reported_and_resubmitted_alone(data_root, tmp_path, inline_results, monkeypatch, capsys):
    """The training step (whose networks every later step reads; the later steps' jobs run like these):
    killed jobs are reported with their logs, a rerun resumes them, a rerun after one job's output is lost
    runs that job alone, and the networks equal inline's."""
    from common.base.cli import run

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    argv = smoke(data_root, tmp_path, *TASKS, "--launcher", "local", "--workers", "2")
    monkeypatch.setenv("FTD_KILL_AT_WRITE", "1")  # every job dies in its first atomic write (its checkpoint)
    with pytest.raises(SystemExit) as exit_info:
        run(train_task_mnist.main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "2 of 2 job(s) of step 1, mnist ε-networks failed" in err
    assert "failed: mnist-3/seed0: exit code -9" in err and "redo it alone: " in err and "--job mnist-3/seed0" in err
    assert paths.launcher_logs(tmp_path, "smoke", "train_task_mnist").joinpath("mnist-3_seed0.log").is_file()
    assert not list(paths.checkpoints_root(tmp_path, "smoke").rglob("*.pt"))
    monkeypatch.delenv("FTD_KILL_AT_WRITE")
    train_task_mnist.main(argv)  # rerun = resume
    assert "2 job(s), 0 finished earlier, 2 to run" in capsys.readouterr().out
    paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "mnist-0", 0).unlink()  # one job's output lost
    train_task_mnist.main(argv)
    assert "2 job(s), 1 finished earlier, 1 to run" in capsys.readouterr().out
    same_results(outputs(tmp_path, ["train"]), outputs(inline_results, ["train"]))
    same_networks(tmp_path, inline_results)


def test_jobs_per_process_runs_groups_of_jobs_and_redoes_a_failed_groups_jobs_alone(
    data_root, tmp_path, inline_results, monkeypatch, capsys
):
    """--jobs-per-process 3 with 2 workers: the 3 NAS jobs in 2 processes (2 + 1: never fewer processes
    than workers). A killed process lists each of its unfinished jobs, the one it never started too, with
    the command that redoes it alone; a rerun resumes, in groups, and the table equals inline's."""
    from common.base.cli import run

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    argv = smoke(data_root, tmp_path, *NAS, "--launcher", "local", "--workers", "2", "--jobs-per-process", "3")
    monkeypatch.setenv("FTD_KILL_AT_WRITE", "1")  # each process dies in its first job's first atomic write
    with pytest.raises(SystemExit):
        run(nas_fuse.main, argv)
    err = capsys.readouterr().err
    assert "3 of 3 job(s) of step 3, NAS for mnist-3 failed" in err
    redo = [line.split("redo it alone: ")[1] for line in err.splitlines() if "redo it alone: " in line]
    assert sorted(cmd.split("--job ")[1] for cmd in redo) == ["full/seed0", "hand-smallcnn/seed0", "random/seed0"]
    assert all(cmd.count("--job ") == 1 for cmd in redo)  # each alone, not its process's group
    logs = sorted(p.name for p in paths.launcher_logs(tmp_path, "smoke", "nas_fuse").iterdir())
    assert logs == ["full_seed0..random_seed0.log", "hand-smallcnn_seed0.log"]
    monkeypatch.delenv("FTD_KILL_AT_WRITE")
    nas_fuse.main(argv)  # rerun = resume, in groups
    out = capsys.readouterr().out
    assert "3 job(s), 0 finished earlier, 3 to run" in out and "2 process(es) of up to 3 job(s) each" in out
    same_results(outputs(tmp_path, ["nas"]), outputs(inline_results, ["nas"]))


def test_groups_of_jobs_never_leave_a_worker_idle():
    from common.run.launchers import process_groups

    jobs = [Job(f"j{i}", lambda: None) for i in range(12)]
    sizes = lambda n, per, slots: [len(g) for g in process_groups(jobs[:n], per, slots).values()]  # noqa: E731
    assert sizes(12, 6, 2) == [6, 6] and sizes(12, 3, 2) == [3, 3, 3, 3] and sizes(5, 1, 2) == [1] * 5
    assert sizes(3, 3, 2) == [2, 1]  # 3 long jobs on 2 workers: not all in one process
    assert list(process_groups(jobs[:3], 3, 2)) == ["j0..j1", "j2"]


def test_plan_lists_every_job(capsys):
    # how fast --plan is belongs in a benchmark, not here: a wall-clock limit fails on a busy machine
    table = train_task_mnist.main(["--preset", "smoke", "--tasks", "mnist", "--seeds", "0", "1", "2", "--plan"])
    assert (
        len(table) == 12
        and table.job.is_unique
        and set(table.job) == {f"mnist-{t}/seed{s}" for t in range(4) for s in range(3)}
    )
    assert (table.seconds > 0).all() and (table.images_per_s > 0).all()
    out = capsys.readouterr().out
    assert "12 job(s)" in out and "device-hours" in out
    table = fisher_distance.main(["--preset", "smoke", "--task-set", "ldnas8", "--seeds", "0", "1", "--plan"])
    assert len(table) == 16  # one job per (target, seed): 8 targets x 2 seeds
    table = nas_fuse.main(
        [
            "--preset",
            "smoke",
            "--target",
            "mnist-2",
            "--space",
            "task-aware",
            "task-aware-warm",
            "--seeds",
            "0",
            "1",
            "--plan",
        ]
    )
    # 4 searched methods (search + retraining each) and the hand-designed network (retraining) per seed
    assert table.job.nunique() == 10 and len(table) == 18


def test_plan_times_training_at_the_precision_the_jobs_train_at():
    """--amp (default on with CUDA) makes the plan time the training parts under bf16 autocast; a FUSE
    search (which stays fp32) and a Fisher pass are timed fp32; each (network, precision) once."""
    from common.run.plan import estimate

    table = nas_fuse.main(
        ["--preset", "smoke", "--target", "mnist-2", "--space", "task-aware", "--seeds", "0", "--plan"]
    )
    assert set(table.precision) == {"fp32"}  # on this CPU: --amp does not apply
    asked = []

    def fake_measure(cost, device, amp=False):
        asked.append((cost.measure_key, amp))
        return 200.0 if amp else 100.0

    from common.networks.models import build_network
    from common.run.plan import Cost

    task = get_task("mnist-2")

    def net():
        return build_network("smallcnn", task, seed=0)

    parts = (
        Cost("search", net, "cell", "train", 1000, 8, 5, amp_eligible=False),
        Cost("retrain", net, "cell", "train", 1000, 8, 5),
        Cost("fisher", net, "cell-fisher", "fisher", 1000, 8, 5),
    )
    table = estimate(
        [Job("a", lambda: None, lambda: parts), Job("b", lambda: None, lambda: parts)],
        torch.device("cpu"),
        measure=fake_measure,
        amp=True,
    )
    assert list(table.precision) == ["fp32", "bf16", "fp32"] * 2
    assert sorted(asked) == [("cell", False), ("cell", True), ("cell-fisher", False)]  # once each
    assert list(table.seconds[:3]) == [10.0, 5.0, 10.0]  # 1000 images at 100 or 200 images/s


def test_plan_times_the_jobs_at_their_scripts_precision(monkeypatch):
    """run_step's --plan asks accel.resolve for the step's precision (--amp, default on with CUDA): with
    amp resolved on, training and NAS retraining are timed bf16, FUSE searches and Fishers fp32."""
    from common.run import launch
    from common.training import accel

    monkeypatch.setattr(launch, "resolve", lambda *a, **k: accel.Accel(amp=True))  # as on a CUDA device
    monkeypatch.setattr(accel.Accel, "autocast", lambda self, device_type="cuda": accel.contextlib.nullcontext())
    table = train_task_mnist.main(["--preset", "smoke", "--tasks", "mnist-0", "--seeds", "0", "--plan"])
    assert set(table.precision) == {"bf16"}
    table = fisher_distance.main(["--preset", "smoke", "--task-set", "mnist", "--seeds", "0", "--plan"])
    assert set(table.precision) == {"fp32"}
    table = nas_fuse.main(
        ["--preset", "smoke", "--target", "mnist-2", "--space", "task-aware", "--seeds", "0", "--plan"]
    )
    by_part = dict(zip(table.part, table.precision))
    assert by_part["task-aware search"] == "fp32" and by_part["task-aware retrain"] == "bf16"
    table = nas_fuse.main(
        ["--preset", "smoke", "--target", "mnist-3", "--space", "full", "--search-only", "--seeds", "0", "--plan"]
    )
    assert list(table.part) == ["full search"]  # --search-only jobs never retrain


def test_task_sizes_follow_the_split_rule():
    cfg = train_config("paper", "cifar10")
    # cifar10-0: classes 1, 3, 8 vs rest, balanced: 15,000 + 15,000 of 50,000 train images, 10 % for
    # validation (the real split sizes, decoded from ../shared/data: 27,116 / 2,884 / 6,000)
    sizes = task_sizes(get_task("cifar10-0"), cfg)
    assert sizes == {"train": 27_000, "val": 3_000, "test": 6_000}
    # mnist-2: digits 0-3 and an "other" class of one digit's size: 5/10 of the images (real: 27,841 / 3,101 / 5,196)
    assert task_sizes(get_task("mnist-2"), train_config("paper", "mnist")) == {
        "train": 27_000,
        "val": 3_000,
        "test": 5_000,
    }
    sizes = task_sizes(get_task("mnist-3"), train_config("cpu", "mnist"))
    assert sizes == {"train": 12_000, "val": 2_000, "test": 2_000}  # the cpu preset's caps


def test_probe_asks_without_computing(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": 1}

    job = Job("j", lambda: cached(tmp_path / "r.json", {"k": 1}, compute, fmt="json"))
    assert not is_finished(job) and not calls
    with probe(), pytest.raises(WouldCompute):
        job.run()
    job.run()
    assert calls == [1] and is_finished(job)
    stale = Job("j", lambda: cached(tmp_path / "r.json", {"k": 2}, compute, fmt="json"))
    assert not is_finished(stale) and calls == [1]


def test_amp_on_cpu_is_ignored_with_one_line(data_root, tmp_path, capsys):
    train_task_mnist.main(smoke(data_root, tmp_path, "--tasks", "mnist-0", "--amp"))
    out = capsys.readouterr().out
    assert out.count("--amp is for CUDA GPUs; ignored on cpu") == 1
    assert "precision" not in pd.read_csv(paths.train_metrics_csv(tmp_path, "smoke")).columns


def test_amp_forward_passes_use_the_current_weights():
    """--amp's autocast spans a whole training run: each forward pass must cast the weights as they are
    now. With autocast's weight cache (its default) the bf16 copies made by the first forward pass were
    used to the end of the run (found on an H200, 2026-11-29: accuracies 0.27-0.66 instead of 0.74-0.83).
    The cache behaves the same on the CPU, so this is checked here."""
    from common.training.accel import Accel

    torch.manual_seed(0)
    layer, x = torch.nn.Linear(8, 4), torch.randn(3, 8)
    with Accel(amp=True).autocast("cpu"):
        before = layer(x)
        with torch.no_grad():
            layer.weight.add_(1.0)  # what an optimizer step does between two batches
        after = layer(x)
    assert before.dtype == torch.bfloat16
    expected = torch.nn.functional.linear(x, layer.weight, layer.bias)
    assert (after.float() - expected).abs().max() < 0.1 < (before.float() - expected).abs().max()


def test_runs_trained_under_the_broken_autocast_are_redone(data_root, tmp_path, capsys):
    """A checkpoint recorded as trained under the autocast of before the fix (precision "bf16-autocast")
    has the key of a good one: every read refuses it (``cache.RETIRED``), and the training step redoes it."""
    from common.store.cache import check_entry, read_entry, write_entry

    train_task_mnist.main(smoke(data_root, tmp_path, "--tasks", "mnist-0", "--seeds", "0"))
    ckpt = paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "mnist-0", 0)
    entry = read_entry(ckpt)
    assert check_entry(ckpt, entry["key"])[0] is not None
    entry["value"]["record"]["metrics"]["precision"] = "bf16-autocast"
    write_entry(ckpt, entry["key"], entry["value"])
    stored, why = check_entry(ckpt, entry["key"])
    assert stored is None and "retired" in why and "autocast" in why
    capsys.readouterr()
    train_task_mnist.main(smoke(data_root, tmp_path, "--tasks", "mnist-0", "--seeds", "0"))
    io = capsys.readouterr()
    assert "is retired" in io.out + io.err and "done mnist-0 seed 0" in io.out
    assert "precision" not in read_entry(ckpt)["value"]["record"]["metrics"]  # retrained on the CPU: fp32
    # train_metrics.csv: a retired run record is left out, and so is a kept row of a run trained elsewhere
    from common.training.checkpoints import collect_metrics

    record = paths.record_path(tmp_path, "smoke", "smallcnn", "mnist-0", 0)
    entry = read_entry(record, "json")
    entry["value"]["metrics"]["precision"] = "bf16-autocast"
    write_entry(record, entry["key"], entry["value"], "json")
    metrics_csv = paths.train_metrics_csv(tmp_path, "smoke")
    # (sgd_seed: trained under the initialisation protocol; a row without it predates it and is dropped)
    elsewhere = {"task": "mnist-3", "arch": "smallcnn", "seed": 7, "sgd_seed": 7, "preset": "smoke", "test_acc": 0.3}
    pd.concat(
        [
            pd.read_csv(metrics_csv),
            pd.DataFrame(
                [
                    {**elsewhere, "precision": "bf16-autocast"},
                    {**elsewhere, "seed": 8, "sgd_seed": 8, "precision": "bf16"},
                    {**elsewhere, "seed": 9, "sgd_seed": None, "precision": "bf16"},  # made before the protocol
                ]
            ),
        ]
    ).to_csv(metrics_csv, index=False)
    capsys.readouterr()
    table = collect_metrics(tmp_path, "smoke")
    assert "is retired" in capsys.readouterr().err
    assert list(zip(table.task, table.seed)) == [("mnist-3", 8)]


def test_retired_records_of_every_shape_and_registered_in_every_process():
    """accel.retired finds the old label in a checkpoint (two levels down) and in NAS retraining and
    transfer records (top level), passes the fixed label, and is registered by importing the readers."""
    import subprocess
    import sys

    from common.training.accel import retired

    assert retired({"state_dict": {}, "record": {"metrics": {"precision": "bf16-autocast"}}})
    assert retired({"test_acc": 0.5, "precision": "bf16-autocast", "provenance": {}})
    assert retired({"record": {"metrics": {"precision": "bf16"}}}) is None and retired({"test_acc": 0.5}) is None
    # One process for the four readers (a process each cost ~10 s of imports): before each reader the
    # suite's modules are dropped from sys.modules, so that it and what it imports run again, as in a new
    # process, with a new cache.RETIRED; the third-party modules (torch, pandas) stay imported.
    code = """
import importlib, sys
registries = []
for module in sys.argv[1:]:
    for name in [n for n in sys.modules if n.split(".")[0] == "common"]:
        del sys.modules[name]
    importlib.import_module(module)
    cache, accel = importlib.import_module("common.store.cache"), importlib.import_module("common.training.accel")
    assert all(cache.RETIRED is not r for r in registries), "not a new registry"
    registries.append(cache.RETIRED)
    assert accel.retired in cache.RETIRED, f"not registered by importing {module} alone"
"""
    readers = [
        "common.fisher.matrices",
        "common.nas.task_space",
        "common.transfer_learning.table",
        "common.training.checkpoints",
    ]
    subprocess.run([sys.executable, "-c", code, *readers], check=True, cwd=Path(__file__).resolve().parents[1])
