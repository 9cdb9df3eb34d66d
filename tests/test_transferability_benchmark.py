"""The transferability benchmark (issue 25): no target test image reaches a scorer, model selection on validation,
head-only keeps the body, keyed records resume, and transferability.py end to end on the smoke preset."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from threadpoolctl import threadpool_limits

import train_task_mnist
import transferability
from common.base.errors import UserError
from common.data.splits import task_splits
from common.fisher import store as fisher_store
from common.networks.init import head_module
from common.networks.models import build_network
from common.presets import train_configs
from common.store import paths
from common.tasks import get_task
from common.transfer_learning.runs import transplant
from common.transferability import inputs as I
from common.transferability import probe as P
from common.transferability.benchmark import Benchmark, check_inputs, run_benchmark
from common.transferability.ground_truth import ground_truth, head_truth, truth_splits
from common.transferability.model_selection import early_stopped, outcome, select_by_validation, widening_grid
from common.transferability.pool import Schedule, benchmark_config, pool

POOL = ["mnist-3", "mnist-oddeven", "mnist-lowhigh"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    """A results folder with the smoke ε-networks of the pool (seed 0)."""
    results = tmp_path_factory.mktemp("tb-results")
    train_task_mnist.main(
        ["--preset", "smoke", "--tasks", *POOL, "--data-root", str(data_root), "--results-dir", str(results)]
    )
    return results


def _bench(data_root) -> Benchmark:
    tasks = pool(POOL)
    cfgs = train_configs("smoke", {t.dataset for t in tasks}, None, None)
    return Benchmark(
        tasks=tasks,
        seeds=(0,),
        arch="smallcnn",
        preset="smoke",
        cfgs=cfgs,
        budget=benchmark_config("smoke"),
        fcfg=I.scorer_fisher_config("smoke"),
        data_root=str(data_root),
    )


def _rows(x: torch.Tensor) -> set[str]:
    return {hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in x.reshape(len(x), -1)}


def _scorer_images_seen(monkeypatch, data_root, results) -> set[str]:
    """Run every pair's scores (recomputed) with a spy on every batch the scorers' code reads."""
    seen: set[str] = set()
    real = I.iterate_batches

    def spy(split, *args, **kwargs):
        if split.x.dtype == torch.uint8:  # images (the Task2Vec head is fitted on features, not through here)
            seen.update(_rows(split.x))
        return real(split, *args, **kwargs)

    monkeypatch.setattr(I, "iterate_batches", spy)
    monkeypatch.setattr(fisher_store, "iterate_batches", spy)
    monkeypatch.setattr(P, "iterate_batches", spy)  # Task2Vec's Fisher
    b = _bench(data_root)
    b = replace(b, fcfg=I.scorer_fisher_config("smoke"))  # read SCORER_SPLIT now (a test patches it)
    # only the scorers: the ground truth may read test images (it reports test accuracy)
    monkeypatch.setattr("common.transferability.benchmark.ground_truth", _no_truth)
    run_benchmark(b, check_inputs(b, results), results, device=torch.device("cpu"), force=True)
    return seen


def _no_truth(protocol, source, checkpoint, target, seed, *args, **kwargs):
    return {"protocol": protocol, "source": source.name if source else "scratch", "target": target.name}, True


def _test_images(data_root, results) -> set[str]:
    out: set[str] = set()
    for name in POOL:
        out |= _rows(task_splits(get_task(name), data_root, paths.data_cache_dir(results))["test"].x)
    return out


def test_no_target_test_image_reaches_any_scorer(monkeypatch, data_root, trained):
    seen = _scorer_images_seen(monkeypatch, data_root, trained)
    assert seen, "the spy saw no scorer images"
    assert not seen & _test_images(data_root, trained)
    val = set()
    for name in POOL:
        val |= _rows(task_splits(get_task(name), data_root, paths.data_cache_dir(trained))["val"].x)
    assert seen <= val  # every image a scorer read is a validation image


def test_the_seeded_bug_scores_on_test_is_caught(monkeypatch, data_root, trained, tmp_path):
    # the bug "scorers read the test split" (one constant): the same check must fail
    monkeypatch.setattr(I, "SCORER_SPLIT", "test")
    seen = _scorer_images_seen(monkeypatch, data_root, trained)
    assert seen & _test_images(data_root, trained)


def test_the_grid_selects_on_validation_not_test():
    ladder = (1e-3, 1e-2, 1e-1)
    runs = [
        {"lr": 1e-2, "best_epoch": 1, "val_acc": 0.60, "test_acc": 0.95},  # best on test
        {"lr": 1e-3, "best_epoch": 2, "val_acc": 0.90, "test_acc": 0.50},  # best on validation
        {"lr": 1e-1, "best_epoch": None, "val_acc": None},  # diverged
    ]
    assert select_by_validation(runs, ladder)["lr"] == 1e-3
    tie = [{"lr": 1e-1, "best_epoch": 1, "val_acc": 0.5}, {"lr": 1e-2, "best_epoch": 1, "val_acc": 0.5}]
    assert select_by_validation(tie, ladder)["lr"] == 1e-2  # ties: the lowest rate
    with pytest.raises(UserError):
        select_by_validation(runs[2:], ladder)


def _schedule(**kw) -> Schedule:
    return Schedule(**{"lrs": (1e-3,), "first": (1e-3,), "max_epochs": 10, "patience": 3, "batch_size": 8, **kw})


def _replay(values):
    it = iter(values)
    return lambda: next(it)


def test_early_stopping_stops_patience_epochs_after_the_best_and_keeps_its_state():
    vals = [0.5, 0.7, 0.6, 0.65, 0.69, 0.99]  # the 0.99 comes after the patience ran out
    epoch = iter(range(1, 100))
    out = early_stopped(lambda: True, _replay(vals), lambda: f"state of epoch {next(epoch)}", _schedule())
    assert (out["best_epoch"], out["val_acc"], out["stopped"]) == (2, 0.7, "patience")
    assert out["val_curve"] == [0.5, 0.7, 0.6, 0.65, 0.69] and out["state"] == "state of epoch 2"
    capped = early_stopped(lambda: True, _replay([0.1, 0.2, 0.3, 0.4]), lambda: None, _schedule(max_epochs=4))
    assert (capped["best_epoch"], capped["stopped"]) == (4, "cap")
    steps = iter([True, False])
    diverged = early_stopped(lambda: next(steps), _replay([0.3]), lambda: None, _schedule())
    assert (diverged["best_epoch"], diverged["stopped"]) == (1, "diverged")


def test_the_grid_widens_until_the_best_rate_is_inside_or_at_the_ladder_end():
    ladder = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    for peak, tried, edge in ((1, ladder[:6], False), (6, ladder[3:], True), (4, ladder[3:6], False)):
        calls = []

        def run_rate(lr, peak=peak, calls=calls):
            calls.append(lr)
            val = 1.0 - abs(ladder.index(lr) - peak) / 10
            return {"best_epoch": 1, "val_acc": val, "stopped": "patience", "val_curve": [val]}

        sched = _schedule(lrs=ladder, first=(3e-4, 1e-3, 3e-3))
        best, runs = widening_grid(run_rate, sched)
        assert best["lr"] == ladder[peak] and tuple(r["lr"] for r in runs) == tried
        assert sorted(calls) == list(tried) and len(calls) == len(set(calls))  # each rate trained once
        picked = outcome(best, runs, 0.5, sched)
        assert picked["at_grid_edge"] is edge and picked["at_epoch_cap"] is False


def test_head_only_leaves_the_body_unchanged(data_root, trained):
    source, target = get_task("mnist-3"), get_task("mnist-oddeven")
    state = torch.load(paths.checkpoint_path(trained, "smoke", "smallcnn", source.name, 0), weights_only=True)["value"]
    net = transplant(state["state_dict"], build_network("smallcnn", target, seed=0))
    head = head_module(net)[0] + "."
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = train_configs("smoke", {"mnist"}, None, None)["mnist"]
    splits = truth_splits(target, benchmark_config("smoke"), cfg, data_root, trained)
    out = head_truth(net, splits, benchmark_config("smoke"), "mnist", 0, "cpu", 64)
    after = net.state_dict()
    for k, v in before.items():
        if k.startswith(head):
            continue
        assert torch.equal(after[k], v), k  # weights and BatchNorm statistics
    assert any(not torch.equal(after[k], v) for k, v in before.items() if k.startswith(head))
    schedule = benchmark_config("smoke").head
    assert out["lr"] in schedule.lrs and 1 <= out["epoch"] <= schedule.max_epochs
    assert all(len(run["val"]) <= schedule.max_epochs for run in out["curve"])


def test_a_record_is_reused_and_recomputed_when_its_key_changes(data_root, tmp_path, trained):
    target = get_task("mnist-oddeven")
    cfg = train_configs("smoke", {"mnist"}, None, None)["mnist"]
    budget = benchmark_config("smoke")
    calls = []

    def splits():
        calls.append(1)
        return truth_splits(target, budget, cfg, data_root, trained)

    common = dict(preset="smoke", data_root=data_root, results_dir=tmp_path, device="cpu")
    first, hit = ground_truth("scratch", None, None, target, 0, budget, cfg, splits, **common)
    assert not hit and len(calls) == 1
    again, hit = ground_truth("scratch", None, None, target, 0, budget, cfg, splits, **common)
    assert hit and again == first and len(calls) == 1  # read, not recomputed
    longer = replace(budget, finetune=replace(budget.finetune, max_epochs=3, patience=3))
    changed, hit = ground_truth("scratch", None, None, target, 0, longer, cfg, splits, **common)
    assert not hit and len(calls) == 2 and max(len(run["val"]) for run in changed["curve"]) == 3
    assert first["val_acc"] == pytest.approx(max(v for run in first["curve"] for v in run["val"]), abs=1e-6)
    assert first["provenance"]["git_commit"]  # every record names the commit that made it


def test_transferability_script_end_to_end(data_root, trained, capsys):
    argv = ["--preset", "smoke", "--tasks", *POOL, "--data-root", str(data_root), "--results-dir", str(trained)]
    transferability.main(argv)
    out = paths.benchmark_outputs(trained, "smoke", "-".join(POOL))
    pairs = pd.read_csv(out["pairs"])
    assert len(pairs) == 3 * 2 * 1
    assert not pairs.duplicated(["source", "target", "seed"]).any()
    assert not pairs.select_dtypes("number").isna().any().any()
    for col in (
        "ftd",
        "ftd-body",
        "logdet",
        "leep",
        "nce",
        "logme",
        "hscore",
        "task2vec",
        "transrate",
        "gbc",
        "otdd",
        "random",
    ):
        assert col in pairs and f"seconds_{col}" in pairs
    for col in (
        "finetune_test_acc",
        "head_test_acc",
        "scratch_test_acc",
        "protocol",
        "git_commit",
        "finetune_at_grid_edge",
    ):
        assert col in pairs
    board = pd.read_csv(out["leaderboard"])
    assert set(board["truth"]) <= {"finetune", "head"}
    assert out["md"].read_text().startswith("# transferability") and out["png"].stat().st_size > 0
    assert "outputs:" in capsys.readouterr().out


def test_missing_networks_give_one_line_with_the_training_command(data_root, tmp_path):
    args = SimpleNamespace(
        preset="smoke",
        task_set=None,
        tasks=POOL,
        seeds=None,
        arch=None,
        data_root=str(data_root),
        results_dir=str(tmp_path),
        device="cpu",
        force=False,
    )
    from common.transferability.step import benchmark_step

    with pytest.raises(UserError, match="train_task_mnist.py"):
        benchmark_step(args)


def test_each_preset_has_its_pool_and_the_keyed_default_names_the_cpu_one(monkeypatch):
    from common.experiments import BENCHMARK_POOLS
    from common.tasks import TASK_SETS
    from common.transferability.pool import DEFAULT_TASK_SET, probe_task

    # pool.py is keyed code: its default stays until the next rerun of the benchmark, and must name the cpu pool
    assert DEFAULT_TASK_SET == BENCHMARK_POOLS["cpu"] == BENCHMARK_POOLS["paper"]
    smoke = pool([BENCHMARK_POOLS["smoke"]])
    assert {t.dataset for t in smoke} == {t.dataset for t in pool([BENCHMARK_POOLS["cpu"]])}  # three domains
    assert set(TASK_SETS[BENCHMARK_POOLS["smoke"]]) < set(TASK_SETS[BENCHMARK_POOLS["cpu"]])
    assert probe_task(smoke, benchmark_config("smoke")).name == benchmark_config("smoke").probe_task
    seen = []
    monkeypatch.setattr("common.transferability.step.benchmark_step", lambda args: seen.append(args.task_set) or {})
    for preset in ("smoke", "cpu"):
        transferability.main(["--preset", preset])
    assert seen == [BENCHMARK_POOLS["smoke"], BENCHMARK_POOLS["cpu"]]


def test_the_probe_inputs_of_a_task_are_computed_once_per_seed_not_once_per_target(monkeypatch, data_root, trained):
    import common.transferability.benchmark as B

    calls = []
    real = B.probe_features

    def counting(task, seed, *args, **kwargs):
        calls.append((task.name, seed))
        return real(task, seed, *args, **kwargs)

    monkeypatch.setattr(B, "probe_features", counting)
    monkeypatch.setattr(B, "ground_truth", _no_truth)
    b = _bench(data_root)
    run_benchmark(b, check_inputs(b, trained), trained, device=torch.device("cpu"), force=True)
    assert sorted(calls) == sorted((name, 0) for name in POOL)  # 3 tasks x 1 seed, not 3 targets x 3 tasks
