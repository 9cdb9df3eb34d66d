"""The benchmark's ground truth: how well a source network really transfers to a target.

Per (source, target, seed), two protocols (the field reports both: they rank sources differently), and a
reference (``pool.BenchmarkConfig`` holds every constant):

* ``finetune``: the source ε-network's body (every tensor but the head, ``transfer_learning.runs.transplant``)
  with a fresh head for the target (``build_network(arch, target, seed=k)``: the same head for every source and
  learning rate), every layer trained with Adam at a constant rate;
* ``head``: the same body frozen in eval mode (its BatchNorm statistics kept), its penultimate features (the
  input of the head module) computed once per pair and shared by the whole grid, a fresh linear head trained on
  them (a linear probe);
* ``scratch``: the target's network randomly initialised (seed k), the fine-tuning budget and grid.

Each protocol runs once per learning rate of its grid; after every epoch it records the accuracy on the target's
validation images and on its test images (``curve``). ``select_by_validation`` picks the (rate, epoch) with the
best validation accuracy (ties: the first in grid order, then the earliest epoch): the grid search and the early
stopping are one choice, made on validation only; the reported ground truth is the selected point's TEST accuracy.
A learning rate whose loss became non-finite is recorded as diverged and never selected.

One keyed JSON per (protocol, source, target, seed) (``common/store/cache.py``): its key names the source
network (``network_id``), the target task, the seed, the budget, the split settings, the data identity and this
code (``code_version("transferability-truth")``), so a rerun resumes and a stale record is recomputed.
"""

from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common.base.errors import UserError
from common.data.decode import Split, data_identity
from common.data.splits import Normalizer, iterate_batches, task_splits
from common.networks.init import head_module
from common.networks.models import build_network
from common.presets import TrainConfig
from common.store import paths
from common.store.cache import cached, code_version
from common.store.provenance import device_name
from common.tasks import Task
from common.training.checkpoints import network_id
from common.training.train import evaluate, prepare
from common.transfer_learning.runs import transplant
from common.transferability.pool import PROTOCOLS, BenchmarkConfig

_CL = torch.channels_last


# ------------------------------------------------------------------------------------------------ data


def _subset(split: Split, cap: int | None, seed: int) -> Split:
    if cap is None or len(split) <= cap:
        return split
    g = torch.Generator().manual_seed(seed)
    return split.subset(torch.randperm(len(split), generator=g)[:cap].sort().values)


def truth_splits(target: Task, budget: BenchmarkConfig, train_cfg: TrainConfig, data_root, results_dir) -> dict:
    """The target's train (``budget.train_images``), val (``val_images``, model selection) and test
    (``test_images``, the reported accuracy) images; seeded subsets, the same for every source and for scratch."""
    splits = task_splits(
        target,
        data_root,
        paths.data_cache_dir(results_dir),
        val_fraction=train_cfg.val_fraction,
        split_seed=train_cfg.split_seed,
        max_train=budget.train_images,
    )
    base = 7_000 + train_cfg.split_seed
    return {
        "train": splits["train"],
        "val": _subset(splits["val"], budget.val_images, base + 1),
        "test": _subset(splits["test"], budget.test_images, base + 2),
    }


# ------------------------------------------------------------------------------------------------ selection


def select_by_validation(curve: list[dict]) -> dict:
    """The point of ``curve`` (dicts with lr, epoch, val_acc, test_acc; diverged points have val_acc None) with
    the best validation accuracy; ties: the first in curve order (grid order, then the earliest epoch)."""
    best = None
    for point in curve:
        v = point.get("val_acc")
        if v is None or not math.isfinite(v):
            continue
        if best is None or v > best["val_acc"]:
            best = point
    if best is None:
        raise UserError("every learning rate of the grid diverged (non-finite loss); lower the grid in pool.py")
    return best


# ------------------------------------------------------------------------------------------------ training


def _train_curve(net, params, splits, dataset, lr, epochs, batch_size, seed, device, augment, eval_batch, forward):
    """Adam at ``lr`` on ``splits["train"]``; after every epoch (val_acc, test_acc). ``forward(net, x)``."""
    normalize = Normalizer(dataset, device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    curve = []
    for epoch in range(1, epochs + 1):
        net.train()
        for x, y in iterate_batches(
            splits["train"], batch_size, normalize, shuffle=True, augment=augment, generator=gen, device=device
        ):
            loss = F.cross_entropy(forward(net, x), y)
            if not torch.isfinite(loss):
                curve.append({"lr": lr, "epoch": epoch, "val_acc": None, "test_acc": None, "diverged": True})
                return curve
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        curve.append(
            {
                "lr": lr,
                "epoch": epoch,
                "val_acc": evaluate(net, splits["val"], normalize, eval_batch, device),
                "test_acc": evaluate(net, splits["test"], normalize, eval_batch, device),
            }
        )
    return curve


def _image_forward(net, x):
    return net(x.contiguous(memory_format=_CL))


def full_curve(make_net, splits, budget: BenchmarkConfig, dataset: str, seed: int, device, eval_batch: int) -> list:
    """Every learning rate of ``budget.finetune_lrs`` from a fresh ``make_net()``; all layers trained."""
    curve = []
    for lr in budget.finetune_lrs:
        net = prepare(make_net(), device)
        curve += _train_curve(
            net,
            net.parameters(),
            splits,
            dataset,
            lr,
            budget.epochs,
            budget.batch_size,
            seed,
            device,
            budget.augment,
            eval_batch,
            _image_forward,
        )
    return curve


@torch.no_grad()
def head_features(net: nn.Module, split: Split, normalize: Normalizer, batch_size: int, device) -> torch.Tensor:
    """The input of ``net``'s head module (its penultimate features) on ``split``, the network in eval mode."""
    net.eval()
    _, head = head_module(net)
    seen: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().flatten(1).float()))
    try:
        for x, _ in iterate_batches(split, batch_size, normalize, device=device):
            net(x.contiguous(memory_format=_CL))
    finally:
        handle.remove()
    return torch.cat(seen) if seen else torch.zeros(0)


def head_curve(net, splits, budget: BenchmarkConfig, dataset: str, seed: int, device, eval_batch: int):
    """Head-only: ``net``'s body frozen (features computed once, eval mode), its head retrained from its initial
    state for every rate of ``budget.head_lrs``. Returns the curve and leaves ``net`` with its body unchanged
    (weights and BatchNorm statistics) and the validation-selected head."""
    normalize = Normalizer(dataset, device)
    feats = {k: Split(head_features(net, s, normalize, eval_batch, device), s.y) for k, s in splits.items()}
    _, head = head_module(net)
    initial = copy.deepcopy(head.state_dict())
    identity = _FeatureNormalizer()
    curve, states = [], {}
    for lr in budget.head_lrs:
        head.load_state_dict(initial)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(head.parameters(), lr=lr)
        for epoch in range(1, budget.head_epochs + 1):
            diverged = False
            for x, y in iterate_batches(
                feats["train"], budget.head_batch_size, identity, shuffle=True, generator=gen, device=device
            ):
                loss = F.cross_entropy(head(x), y)
                if not torch.isfinite(loss):
                    diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if diverged:
                curve.append({"lr": lr, "epoch": epoch, "val_acc": None, "test_acc": None, "diverged": True})
                break
            point = {"lr": lr, "epoch": epoch, **{f"{k}_acc": _head_accuracy(head, feats[k]) for k in ("val", "test")}}
            curve.append(point)
            states[(lr, epoch)] = copy.deepcopy(head.state_dict())
    best = select_by_validation(curve)
    head.load_state_dict(states[(best["lr"], best["epoch"])])
    return curve


class _FeatureNormalizer:
    """iterate_batches' normaliser for features: they are already floats."""

    def __call__(self, x):
        return x


@torch.no_grad()
def _head_accuracy(head: nn.Module, feats: Split) -> float:
    if len(feats) == 0:
        return float("nan")
    return float((head(feats.x).argmax(1) == feats.y).float().mean())


# ------------------------------------------------------------------------------------------------ keyed runs


def truth_key(
    protocol: str,
    source: Task | None,
    checkpoint: dict | None,
    target: Task,
    seed: int,
    budget: BenchmarkConfig,
    train_cfg: TrainConfig,
    *,
    data_root,
    results_dir,
) -> dict:
    return {
        "protocol": protocol,
        "source": source.to_dict() if source else None,
        "network": network_id(checkpoint) if checkpoint else None,
        "target": target.to_dict(),
        "seed": seed,
        "arch": train_cfg.arch,
        "budget": budget.to_dict(),
        "split": {"val_fraction": train_cfg.val_fraction, "split_seed": train_cfg.split_seed},
        "data": data_identity(target.dataset, data_root, paths.data_cache_dir(results_dir)),
        "code": code_version("transferability-truth"),
    }


def _check(value: dict) -> None:
    for name in ("val_acc", "test_acc"):
        v = value.get(name)
        if not (isinstance(v, float) and math.isfinite(v)):
            raise UserError(f"a {value.get('protocol')} run gave {name} = {v}; check the budget (an empty split?)")


def ground_truth(
    protocol: str,
    source: Task | None,
    checkpoint: dict | None,
    target: Task,
    seed: int,
    budget: BenchmarkConfig,
    train_cfg: TrainConfig,
    splits,
    *,
    preset: str,
    data_root,
    results_dir,
    device,
    force: bool = False,
) -> tuple[dict, bool]:
    """(record, computed now) of one ground-truth run. ``protocol``: ``finetune`` or ``head`` (``source`` and its
    verified ``checkpoint`` entry given) or ``scratch`` (both None). ``splits``: a callable giving
    ``truth_splits`` (only called when the run must be computed)."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol '{protocol}'; choose from {', '.join(PROTOCOLS)}")
    if (protocol == "scratch") != (source is None):
        raise UserError(f"protocol {protocol}: a source is {'not ' if protocol == 'scratch' else ''}expected")
    key = truth_key(
        protocol, source, checkpoint, target, seed, budget, train_cfg, data_root=data_root, results_dir=results_dir
    )
    device = torch.device(device)

    def compute() -> dict:
        start = time.time()
        data = splits()

        def fresh() -> nn.Module:
            net = build_network(train_cfg.arch, target, seed=seed)  # the target's head (or the whole scratch net)
            return net if source is None else transplant(checkpoint["value"]["state_dict"], net)

        if protocol == "head":
            curve = head_curve(
                prepare(fresh(), device), data, budget, target.dataset, seed, device, train_cfg.eval_batch_size
            )
        else:
            curve = full_curve(fresh, data, budget, target.dataset, seed, device, train_cfg.eval_batch_size)
        best = select_by_validation(curve)
        return {
            "protocol": protocol,
            "source": source.name if source else "scratch",
            "target": target.name,
            "seed": seed,
            "lr": best["lr"],
            "epoch": best["epoch"],
            "val_acc": round(best["val_acc"], 6),
            "test_acc": round(best["test_acc"], 6),
            "curve": curve,
            "n_train": len(data["train"]),
            "n_val": len(data["val"]),
            "n_test": len(data["test"]),
            "seconds": round(time.time() - start, 3),
            "device": device_name(device),
        }

    return cached(
        paths.benchmark_record_path(
            results_dir, preset, train_cfg.arch, protocol, source.name if source else "scratch", target.name, seed
        ),
        key,
        compute,
        fmt="json",
        force=force,
        what=f"{protocol} run",
        validate=_check,
    )
