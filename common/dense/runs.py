"""The dense tasks' steps, keyed like the classification ones (``common/store/cache.py``): one
ε-network per (task, seed), one Gaussian Fisher per (source, target, seed), one distance matrix
per task set and image source. Every file's key holds what it depends on: the task, the images'
identity, the config, the seed and the code (``common/store/code_identity.py``); a stale file is retrained or recomputed."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import torch
from tqdm import tqdm

from common.base.errors import UserError
from common.dense.data import dense_splits, image_identity, iterate
from common.dense.fisher import gaussian_fisher_diag
from common.dense.models import build_dense_network, compared_parameters
from common.dense.presets import DENSE_PRESETS
from common.dense.train import train_network
from common.dense_tasks import DenseTask
from common.fisher.distance import task_distance
from common.store import paths
from common.store.cache import cached, code_version, fingerprint, verified
from common.store.provenance import provenance

_TRAIN_FIELDS = (
    "arch",
    "image_size",
    "epochs",
    "batch_size",
    "lr",
    "max_train",
    "max_eval",
    "val_fraction",
    "split_seed",
)


def checkpoint_key(task: DenseTask, images: str, cfg, seed: int, *, data_root, results_dir) -> dict:
    return {
        "task": task.to_dict(),
        "images": images,
        "seed": seed,
        "config": {f: getattr(cfg, f) for f in _TRAIN_FIELDS},
        "data": image_identity(task, images, data_root, paths.data_cache_dir(results_dir), cfg.image_size),
        "code": code_version("dense-network"),
    }


def _check_trained(value: dict) -> None:
    bad = [k for k, v in value["state_dict"].items() if not torch.isfinite(v).all()]
    metrics = [k for k in ("train_mse", "val_mse", "test_mse") if not value["metrics"][k] == value["metrics"][k]]
    if bad or metrics:
        raise UserError(
            f"training produced non-finite {'weights' if bad else 'metrics'} "
            f"({(bad or metrics)[0]}); lower the learning rate or add data"
        )


def train_or_load(
    task: DenseTask,
    images: str,
    seed: int,
    cfg,
    *,
    preset: str,
    data_root,
    results_dir,
    device,
    force: bool = False,
    log=None,
) -> tuple[dict, bool]:
    """The checkpoint ``{"state_dict", "metrics"}`` of (task, seed), trained now unless a file with
    this key exists; returns (value, trained_now)."""
    key = checkpoint_key(task, images, cfg, seed, data_root=data_root, results_dir=results_dir)
    path = paths.dense_checkpoint_path(results_dir, preset, cfg.arch, images, task.name, seed)

    def train():
        return train_network(
            task, images, cfg, seed, data_root=data_root, cache_dir=paths.data_cache_dir(results_dir), device=device
        )

    value, hit = cached(
        path,
        key,
        train,
        force=force,
        what="checkpoint",
        validate=_check_trained,
        provenance=lambda: provenance(device),
        log=log,
    )
    return value, not hit


def train_command(preset: str, images: str, tasks, cfg, data_root, results_dir) -> str:
    """The command that trains these networks, naming the epochs / batch size when not the preset's."""

    extra = "".join(
        f" --{flag} {getattr(cfg, field)}"
        for flag, field in (("epochs", "epochs"), ("batch-size", "batch_size"))
        if getattr(cfg, field) != getattr(DENSE_PRESETS[preset], field)
    )
    return (
        f"{paths.python_command()} train_task_taskonomy.py --preset {preset} --images {images} --arch {cfg.arch} "
        f"--tasks {' '.join(tasks)} --seeds {' '.join(map(str, cfg.seeds))}{extra} --data-root {data_root} "
        f"--results-dir {results_dir}"
    )


def load_checkpoint(task: DenseTask, images: str, seed: int, cfg, *, preset: str, data_root, results_dir) -> dict:
    """A trained network's entry, or one error line with the command that trains it (the distance
    script does not train)."""
    key = checkpoint_key(task, images, cfg, seed, data_root=data_root, results_dir=results_dir)
    path = paths.dense_checkpoint_path(results_dir, preset, cfg.arch, images, task.name, seed)

    redo = train_command(preset, images, [task.name], replace(cfg, seeds=(seed,)), data_root, results_dir)
    return verified(path, key, what="checkpoint", redo=redo)


def network(entry: dict, task: DenseTask, cfg) -> torch.nn.Module:
    net = build_dense_network(cfg.arch, task.channels, cfg.image_size, seed=entry["key"]["seed"])
    net.load_state_dict(entry["value"]["state_dict"])
    return net.eval()


def metrics_table(tasks, images: str, cfg, *, preset: str, data_root, results_dir) -> pd.DataFrame:
    rows = []
    for task in tasks:
        for seed in cfg.seeds:
            entry = load_checkpoint(
                task, images, seed, cfg, preset=preset, data_root=data_root, results_dir=results_dir
            )
            rows.append(
                {
                    "task": task.name,
                    "images": images,
                    "arch": cfg.arch,
                    "seed": seed,
                    **{k: round(v, 6) for k, v in entry["value"]["metrics"].items()},
                    "git_commit": entry.get("provenance", {}).get("git_commit", ""),
                }
            )
    return pd.DataFrame(rows)


def variant(cfg, preset: str) -> str:
    """The file-name suffix of a matrix or transfer table made from non-preset networks (seeds, epochs,
    batch size), so that it never replaces the preset's ('' for the preset's)."""

    base = DENSE_PRESETS[preset]
    parts = [] if cfg.seeds == base.seeds else [f"seeds{'-'.join(map(str, cfg.seeds))}"]
    parts += [
        f"{tag}{getattr(cfg, f)}"
        for tag, f in (("e", "epochs"), ("b", "batch_size"))
        if getattr(cfg, f) != getattr(base, f)
    ]
    return "".join(f"_{p}" for p in parts)


def _checkpoints(tasks, images, cfg, *, preset, data_root, results_dir) -> dict:
    return {
        (t.name, s): load_checkpoint(t, images, s, cfg, preset=preset, data_root=data_root, results_dir=results_dir)
        for t in tasks
        for s in cfg.seeds
    }


def matrix_key(tasks: list[DenseTask], images: str, cfg, entries: dict) -> dict:
    """What a matrix depends on: the tasks, images, seeds, networks (their keys' fingerprints),
    Fisher samples, the parameters compared and the code."""
    _, names = compared_parameters(cfg.arch, [t.channels for t in tasks], cfg.image_size)
    ids = {f"{t}/seed{s}": fingerprint(e["key"]) for (t, s), e in entries.items()}
    return {
        "tasks": [t.to_dict() for t in tasks],
        "images": images,
        "seeds": list(cfg.seeds),
        "networks": ids,
        "samples": cfg.fisher_samples,
        "compared": names,
        "code": code_version("dense-matrix"),
    }


def current_matrix_key(tasks, images: str, cfg, *, preset: str, data_root, results_dir) -> dict:
    return matrix_key(
        tasks,
        images,
        cfg,
        _checkpoints(tasks, images, cfg, preset=preset, data_root=data_root, results_dir=results_dir),
    )


def distance_matrix(
    tasks: list[DenseTask], images: str, cfg, *, preset: str, data_root, results_dir, device="cpu", force: bool = False
) -> tuple[pd.DataFrame, dict]:
    """The per-seed FTD between every ordered pair (long table) and the matrix key (for the manifest).
    F_a = Fisher of N_a on the target's test images, F_b that of N_b, compared on the parameters
    ``compared_parameters`` names (the encoder when the decoders differ)."""
    what, names = compared_parameters(cfg.arch, [t.channels for t in tasks], cfg.image_size)
    cache_dir = paths.data_cache_dir(results_dir)
    entries = _checkpoints(tasks, images, cfg, preset=preset, data_root=data_root, results_dir=results_dir)
    key = matrix_key(tasks, images, cfg, entries)
    ids = key["networks"]
    rows = []
    bar = tqdm(total=len(tasks) ** 2 * len(cfg.seeds), desc="dense Fishers", unit="fisher")
    for target in tasks:
        test = dense_splits(target, images, data_root, cache_dir, cfg)["test"]
        data = test.subset(torch.arange(min(len(test), cfg.fisher_samples or len(test))))
        for seed in cfg.seeds:
            fishers = {}
            for source in tasks:
                fkey = {
                    "network": ids[f"{source.name}/seed{seed}"],
                    "target": target.to_dict(),
                    "images": images,
                    "data": image_identity(target, images, data_root, cache_dir, cfg.image_size),
                    "samples": cfg.fisher_samples,
                    "split": "test",
                    "code": code_version("dense-fisher"),
                }
                path = paths.dense_fisher_path(
                    results_dir, preset, cfg.arch, images, cfg.fisher_samples, source.name, target.name, seed
                )

                def compute(source=source):
                    net = network(entries[(source.name, seed)], source, cfg).to(device)
                    fisher = gaussian_fisher_diag(net, iterate(data, cfg.fisher_batch, device=device))
                    return {k: v.cpu() for k, v in fisher.items()}

                fishers[source.name], _ = cached(path, fkey, compute, force=force, what="Fisher")
                bar.update()
            fb = {n: fishers[target.name][n] for n in names}  # F_b: the target's own network
            for source in tasks:
                fa = {n: fishers[source.name][n] for n in names}  # F_a: the source's network, same data
                rows.append(
                    {
                        "seed": seed,
                        "source": source.name,
                        "target": target.name,
                        "distance": task_distance(fa, fb, "frechet"),
                        "measure": "frechet",
                        "estimator": "gaussian-empirical",
                        "samples": len(data),
                        "compared": what,
                    }
                )
    bar.close()
    return pd.DataFrame(rows), key
