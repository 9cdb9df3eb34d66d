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
from common.transferability.benchmark import Benchmark, check_inputs, run_benchmark
from common.transferability.ground_truth import ground_truth, head_curve, select_by_validation, truth_splits
from common.transferability.pool import benchmark_config, pool

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
    curve = [
        {"lr": 1e-3, "epoch": 1, "val_acc": 0.70, "test_acc": 0.60},
        {"lr": 1e-3, "epoch": 2, "val_acc": 0.90, "test_acc": 0.50},  # best on validation
        {"lr": 1e-2, "epoch": 1, "val_acc": 0.60, "test_acc": 0.95},  # best on test
        {"lr": 1e-1, "epoch": 1, "val_acc": None, "test_acc": None, "diverged": True},
    ]
    best = select_by_validation(curve)
    assert (best["lr"], best["epoch"], best["test_acc"]) == (1e-3, 2, 0.50)
    tie = [
        {"lr": 1, "epoch": 1, "val_acc": 0.5, "test_acc": 0.1},
        {"lr": 2, "epoch": 1, "val_acc": 0.5, "test_acc": 0.9},
    ]
    assert select_by_validation(tie)["lr"] == 1  # ties: the first in grid order
    with pytest.raises(UserError):
        select_by_validation(curve[3:])


def test_head_only_leaves_the_body_unchanged(data_root, trained):
    source, target = get_task("mnist-3"), get_task("mnist-oddeven")
    state = torch.load(paths.checkpoint_path(trained, "smoke", "smallcnn", source.name, 0), weights_only=True)["value"]
    net = transplant(state["state_dict"], build_network("smallcnn", target, seed=0))
    head = head_module(net)[0] + "."
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = train_configs("smoke", {"mnist"}, None, None)["mnist"]
    splits = truth_splits(target, benchmark_config("smoke"), cfg, data_root, trained)
    curve = head_curve(net, splits, benchmark_config("smoke"), "mnist", 0, "cpu", 64)
    after = net.state_dict()
    for k, v in before.items():
        if k.startswith(head):
            continue
        assert torch.equal(after[k], v), k  # weights and BatchNorm statistics
    assert any(not torch.equal(after[k], v) for k, v in before.items() if k.startswith(head))
    assert len(curve) == 3 * benchmark_config("smoke").head_epochs


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
    changed, hit = ground_truth("scratch", None, None, target, 0, replace(budget, epochs=2), cfg, splits, **common)
    assert not hit and len(calls) == 2 and max(p["epoch"] for p in changed["curve"]) == 2
    assert first["val_acc"] == pytest.approx(
        max(p["val_acc"] for p in first["curve"] if p["val_acc"] is not None), abs=1e-6
    )


def test_transferability_script_end_to_end(data_root, trained, capsys):
    argv = ["--preset", "smoke", "--tasks", *POOL, "--data-root", str(data_root), "--results-dir", str(trained)]
    transferability.main(argv)
    out = paths.benchmark_outputs(trained, "smoke", "-".join(POOL))
    pairs = pd.read_csv(out["pairs"])
    assert len(pairs) == 3 * 2 * 1
    assert not pairs.duplicated(["source", "target", "seed"]).any()
    assert not pairs.select_dtypes("number").isna().any().any()
    for col in ("ftd", "ftd-body", "logdet", "leep", "nce", "logme", "hscore", "task2vec", "random"):
        assert col in pairs and f"seconds_{col}" in pairs
    for col in ("finetune_test_acc", "head_test_acc", "scratch_test_acc", "protocol"):
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
