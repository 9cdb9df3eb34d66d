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

Each protocol trains with its ``pool.Schedule``: per learning rate, Adam until the target's validation accuracy has
not improved for ``patience`` epochs (early stopping) or the epoch cap; the rate grid widens itself along the
schedule's ladder while the best rate is the lowest or the highest tried (``widening_grid``). The (rate, epoch) with
the best validation accuracy is selected (ties: the lowest rate, then the earliest epoch), on validation only; its
state is kept and its TEST accuracy, read once after the selection, is the ground truth. The record says whether
the selection sits at an end of the ladder or was stopped by the cap (``truth_quality`` reports both shares). A
learning rate whose loss became non-finite is recorded as diverged and never selected.

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
from common.store.provenance import device_name, provenance
from common.tasks import Task
from common.training.checkpoints import network_id
from common.training.train import evaluate, prepare
from common.transfer_learning.runs import transplant
from common.transferability.model_selection import early_stopped, outcome, widening_grid
from common.transferability.pool import PROTOCOLS, BenchmarkConfig, Schedule

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


# ------------------------------------------------------------------------------------------------ training


def _full_rate(make_net, splits, schedule: Schedule, dataset, lr, seed, device, augment, eval_batch) -> dict:
    """All layers trained with Adam at ``lr`` from a fresh ``make_net()``, early-stopped on validation."""
    normalize = Normalizer(dataset, device)
    net = prepare(make_net(), device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    def train_epoch() -> bool:
        net.train()
        for x, y in iterate_batches(
            splits["train"], schedule.batch_size, normalize, shuffle=True, augment=augment, generator=gen, device=device
        ):
            loss = F.cross_entropy(net(x.contiguous(memory_format=_CL)), y)
            if not torch.isfinite(loss):
                return False
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return True

    return early_stopped(
        train_epoch,
        lambda: evaluate(net, splits["val"], normalize, eval_batch, device),
        lambda: copy.deepcopy(net.state_dict()),
        schedule,
    )


def full_truth(make_net, splits, budget: BenchmarkConfig, dataset: str, seed: int, device, eval_batch: int) -> dict:
    """Fine-tuning (or scratch): the widening grid of ``budget.finetune``; the selected state's test accuracy."""
    schedule = budget.finetune
    best, runs = widening_grid(
        lambda lr: _full_rate(make_net, splits, schedule, dataset, lr, seed, device, budget.augment, eval_batch),
        schedule,
    )
    net = prepare(make_net(), device)
    net.load_state_dict(best["state"])
    test = evaluate(net, splits["test"], Normalizer(dataset, device), eval_batch, device)
    return outcome(best, runs, test, schedule)


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


def head_truth(net, splits, budget: BenchmarkConfig, dataset: str, seed: int, device, eval_batch: int) -> dict:
    """Head-only: ``net``'s body frozen (features computed once, eval mode), its head retrained from its initial
    state at every rate of the widening grid of ``budget.head``; leaves ``net`` with its body unchanged (weights
    and BatchNorm statistics) and the selected head."""
    normalize = Normalizer(dataset, device)
    feats = {k: Split(head_features(net, s, normalize, eval_batch, device), s.y) for k, s in splits.items()}
    _, head = head_module(net)
    initial = copy.deepcopy(head.state_dict())
    schedule = budget.head

    def run_rate(lr: float) -> dict:
        head.load_state_dict(initial)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(head.parameters(), lr=lr)

        def train_epoch() -> bool:
            for x, y in iterate_batches(
                feats["train"], schedule.batch_size, _FeatureNormalizer(), shuffle=True, generator=gen, device=device
            ):
                loss = F.cross_entropy(head(x), y)
                if not torch.isfinite(loss):
                    return False
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            return True

        return early_stopped(
            train_epoch, lambda: _head_accuracy(head, feats["val"]), lambda: copy.deepcopy(head.state_dict()), schedule
        )

    best, runs = widening_grid(run_rate, schedule)
    head.load_state_dict(best["state"])
    return outcome(best, runs, _head_accuracy(head, feats["test"]), schedule)


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
            out = head_truth(
                prepare(fresh(), device), data, budget, target.dataset, seed, device, train_cfg.eval_batch_size
            )
        else:
            out = full_truth(fresh, data, budget, target.dataset, seed, device, train_cfg.eval_batch_size)
        return {
            "protocol": protocol,
            "source": source.name if source else "scratch",
            "target": target.name,
            "seed": seed,
            **out,
            "val_acc": round(out["val_acc"], 6),
            "test_acc": round(out["test_acc"], 6),
            "n_train": len(data["train"]),
            "n_val": len(data["val"]),
            "n_test": len(data["test"]),
            "seconds": round(time.time() - start, 3),
            "device": device_name(device),
            "provenance": provenance(device),
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
