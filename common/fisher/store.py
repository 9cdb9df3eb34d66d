"""The Fisher store: F_{a,b}, the diagonal Fisher of the (source a, seed) network on task b's data,
one keyed file each (``common/store/cache.py``).

The key names everything the Fisher depends on: the exact source network (its checkpoint key and
run id), the source and target task definitions, the identity of the target's data files, the
split seed, the number of samples, the estimator, the batch size (``legacy-batch`` depends on it),
and the source of the Fisher code. Editing a task therefore invalidates its row *and* its column.
"""

from __future__ import annotations

import torch

from common.base.errors import UserError
from common.data.decode import Split, data_identity
from common.data.splits import Normalizer, iterate_batches, task_splits
from common.fisher.estimators import fisher_diag
from common.presets import FisherConfig, TrainConfig
from common.store import paths
from common.store.cache import cached, code_version
from common.tasks import Task
from common.training.checkpoints import network_from, network_id


def fisher_data(
    task: Task,
    data_root,
    results_dir,
    cfg: TrainConfig,
    samples: int | None,
    split: str = "test",
    labels: str = "true",
) -> Split:
    """The target task's ``split`` ("test": the authors computed the Fisher on it; "val": the seeded
    validation carve-out of the train split, so that no test label is read), a seeded subset of
    ``samples`` images when given. ``labels`` "permuted": every class index shifted by one,
    y -> (y + 1) mod C, so that no class keeps its output unit (the head-confound control)."""
    data = task_splits(
        task, data_root, paths.data_cache_dir(results_dir), val_fraction=cfg.val_fraction, split_seed=cfg.split_seed
    )[split]
    if samples is not None and samples < len(data):
        g = torch.Generator().manual_seed(cfg.split_seed)
        data = data.subset(torch.randperm(len(data), generator=g)[:samples].sort().values)
    if labels == "permuted":
        data = Split(data.x, permuted_labels(data.y, task.num_classes))
    return data


def permuted_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The cyclic permutation of the class indices (no fixed point for any C >= 2)."""
    return (y + 1) % num_classes


def fisher_key(
    source: Task,
    target: Task,
    seed: int,
    checkpoint: dict,
    *,
    estimator: str,
    fcfg: FisherConfig,
    target_cfg: TrainConfig,
    data_root,
    results_dir,
) -> dict:
    return {
        "network": network_id(checkpoint),
        "source": source.to_dict(),
        "target": target.to_dict(),
        "seed": seed,
        "arch": checkpoint["key"]["arch"],
        "estimator": estimator,
        "samples": fcfg.samples,
        "batch_size": fcfg.batch_size,
        "fisher_split": fcfg.split,
        "labels": fcfg.labels,
        "split": {"val_fraction": target_cfg.val_fraction, "split_seed": target_cfg.split_seed},
        "data": data_identity(target.dataset, data_root, paths.data_cache_dir(results_dir)),
        "code": code_version("fisher"),
    }


def check_fisher(fisher: dict[str, torch.Tensor]) -> None:
    """A diagonal Fisher is finite and non-negative; anything else is never written."""
    for name, f in fisher.items():
        if not torch.isfinite(f).all():
            raise UserError(
                f"the Fisher of parameter {name} has NaN or inf entries; the network or data "
                "is broken (did training diverge?)"
            )
        if (f < 0).any():
            raise UserError(f"the Fisher of parameter {name} has negative entries")


def cached_fisher(
    source: Task,
    target: Task,
    seed: int,
    checkpoint: dict,
    data,
    *,
    preset: str,
    estimator: str,
    fcfg: FisherConfig,
    target_cfg: TrainConfig,
    data_root,
    results_dir,
    device,
    force: bool = False,
):
    """(F_{source,target}, read from the cache?). ``checkpoint``: the verified entry of the
    (source, seed) network; ``data``: a callable returning the target's Fisher data (only called
    when the Fisher must be computed)."""
    key = fisher_key(
        source,
        target,
        seed,
        checkpoint,
        estimator=estimator,
        fcfg=fcfg,
        target_cfg=target_cfg,
        data_root=data_root,
        results_dir=results_dir,
    )
    path = paths.fisher_cache_path(
        results_dir,
        preset,
        checkpoint["key"]["arch"],
        estimator,
        fcfg.samples,
        source.name,
        target.name,
        seed,
        fcfg.split,
        fcfg.labels,
        checkpoint["key"]["sgd_seed"],
    )

    def compute():
        net = network_from(checkpoint, source, device)
        batches = iterate_batches(data(), fcfg.batch_size, Normalizer(target.dataset, device), device=device)
        gen = torch.Generator().manual_seed(seed)
        fisher = fisher_diag(
            net,
            ((x.contiguous(memory_format=torch.channels_last), y) for x, y in batches),
            estimator=estimator,
            num_classes=target.num_classes,
            generator=gen,
        )
        return {k: v.cpu() for k, v in fisher.items()}

    return cached(path, key, compute, force=force, what="Fisher", validate=check_fisher)
