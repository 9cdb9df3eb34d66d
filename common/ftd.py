"""The task-distance pipeline: Fishers of every (source network, target data) pair, cached on
disk, and the distance matrices d(a->b) over seeds (FTD paper, Sec. 3; log-det paper, Sec. 3).

For a K-task matrix and one seed this costs at most K^2 Fisher evaluations (F_{a,b} for every
source a and target b, F_{b,b} included); a rerun costs none, and a new distance or sigma^2 reuses
the same Fishers.
"""
from __future__ import annotations

import json

import pandas as pd
import torch
from tqdm import tqdm

from . import paths
from .data import Normalizer, Split, iterate_batches, task_splits
from .distance import task_distance
from .errors import UserError
from .fisher import fisher_diag
from .io import atomic_torch_save
from .presets import FisherConfig, TrainConfig
from .tasks import Task
from .train import load_checkpoint

TRAIN_SCRIPTS = {"mnist": "train_task_mnist.py", "cifar10": "train_task_cifar.py",
                 "cifar100": "train_task_cifar100.py"}


def require_checkpoints(results_dir, preset: str, arch: str, tasks: list[Task], seeds) -> None:
    """One error line naming the exact training command(s) for any missing checkpoint."""
    missing = {}
    for t in tasks:
        for s in seeds:
            if not paths.checkpoint_path(results_dir, preset, arch, t.name, s).is_file():
                missing.setdefault(t.dataset, ({}, set()))
                missing[t.dataset][0][t.name] = None
                missing[t.dataset][1].add(s)
    if missing:
        cmds = [f"python {TRAIN_SCRIPTS[ds]} --preset {preset} --arch {arch} --tasks {' '.join(ts)} "
                f"--seeds {' '.join(map(str, sorted(ss)))} --results-dir {results_dir}"
                for ds, (ts, ss) in missing.items()]
        raise UserError(f"missing checkpoints under {paths.checkpoints_root(results_dir, preset) / arch}; "
                        f"train them first: {' && '.join(cmds)}")


def fisher_data(task: Task, data_root, results_dir, cfg: TrainConfig, samples: int | None) -> Split:
    """The target task's test split (the authors computed the Fisher on it), a seeded subset of
    ``samples`` images when given."""
    test = task_splits(task, data_root, paths.data_cache_dir(results_dir), val_fraction=cfg.val_fraction,
                       split_seed=cfg.split_seed)["test"]
    if samples is None or samples >= len(test):
        return test
    g = torch.Generator().manual_seed(cfg.split_seed)
    return test.subset(torch.randperm(len(test), generator=g)[:samples].sort().values)


def _source_id(results_dir, preset, arch, task_name, seed) -> str:
    """Identifies the exact trained network, so a retrained checkpoint invalidates its Fishers."""
    rec = json.loads(paths.record_path(results_dir, preset, arch, task_name, seed).read_text())
    return json.dumps([rec["key"], rec["provenance"]["time"], rec["metrics"]["train_loss"]], sort_keys=True)


def cached_fisher(source: Task, target: Task, seed: int, data: Split, *, arch: str, preset: str,
                  results_dir, estimator: str, fcfg: FisherConfig, device, force: bool = False):
    """F_{source,target}: the Fisher of the (source, seed) network on the target's data."""
    path = paths.fisher_cache_path(results_dir, preset, arch, estimator, fcfg.samples, source.name,
                                   target.name, seed)
    sid = _source_id(results_dir, preset, arch, source.name, seed)
    if path.is_file() and not force:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob["source_id"] == sid and blob["samples"] == len(data):
            return blob["fisher"], True
    net, _ = load_checkpoint(paths.checkpoint_path(results_dir, preset, arch, source.name, seed), device)
    batches = iterate_batches(data, fcfg.batch_size, Normalizer(target.dataset, device), device=device)
    gen = torch.Generator().manual_seed(seed)
    fisher = fisher_diag(net, ((x.contiguous(memory_format=torch.channels_last), y) for x, y in batches),
                         estimator=estimator, num_classes=target.num_classes, generator=gen)
    fisher = {k: v.cpu() for k, v in fisher.items()}
    atomic_torch_save({"fisher": fisher, "source_id": sid, "samples": len(data), "estimator": estimator,
                       "source": source.name, "target": target.name, "seed": seed}, path)
    return fisher, False


def distance_table(tasks: list[Task], seeds, *, arch: str, preset: str, cfgs: dict[str, TrainConfig],
                   fcfg: FisherConfig, data_root, results_dir, distance: str, estimator: str,
                   sigma2: float, device, force: bool = False) -> pd.DataFrame:
    """Long table: one row per (seed, source, target) with d(source -> target).
    ``cfgs``: the training config of each dataset (its split seed and validation fraction)."""
    require_checkpoints(results_dir, preset, arch, tasks, seeds)
    rows, computed = [], 0
    bar = tqdm(total=len(seeds) * len(tasks) ** 2, desc="Fishers", unit="fisher")
    for target in tasks:
        data = fisher_data(target, data_root, results_dir, cfgs[target.dataset], fcfg.samples)
        for seed in seeds:
            fishers = {}
            for source in tasks:
                bar.set_postfix_str(f"seed {seed}: {source.name} on {target.name}")
                fishers[source.name], hit = cached_fisher(
                    source, target, seed, data, arch=arch, preset=preset, results_dir=results_dir,
                    estimator=estimator, fcfg=fcfg, device=device, force=force)
                computed += not hit
                bar.update()
            for source in tasks:
                d = task_distance(fishers[source.name], fishers[target.name], distance, sigma2)
                rows.append({"seed": seed, "source": source.name, "target": target.name, "distance": d,
                             "measure": distance, "estimator": estimator, "samples": len(data), "arch": arch})
    bar.close()
    print(f"{computed} Fisher(s) computed, {bar.n - computed} read from the cache")
    return pd.DataFrame(rows)


def mean_std_matrices(long: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows = source, columns = target, in task order; std over seeds (ddof=1; 0 for one seed)."""
    grouped = long.groupby(["source", "target"])["distance"]
    mean = grouped.mean().unstack().reindex(index=order, columns=order)
    std = grouped.std(ddof=1).fillna(0.0).unstack().reindex(index=order, columns=order)
    for m in (mean, std):
        m.index.name, m.columns.name = "source", "target"
    return mean, std
