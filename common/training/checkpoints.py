"""ε-network checkpoints: one keyed file per (preset, arch, task, seed), made by training and
verified against the task asked for on every read.

``seed<k>.pt`` holds ``{"key", "value": {"state_dict", "record"}}``; ``seed<k>.json`` is the same
key and record without the weights, for people and for ``train_metrics.csv``. The key
(``checkpoint_key``) names the task definition, arch, training config, seed, the identity of the
dataset's files and the training code. A training script recomputes a stale or unreadable
checkpoint; a script that only *uses* checkpoints (Fishers, distances) refuses it with the
training command that redoes it.
"""

from __future__ import annotations

import math
import uuid

import pandas as pd
import torch
import torch.nn as nn

from common.base.errors import UserError
from common.data.decode import data_identity
from common.data.splits import task_splits
from common.networks.models import build_network, count_parameters
from common.presets import TrainConfig, train_config
from common.store import paths
from common.store.cache import (
    cached,
    canonical,
    check_entry,
    code_version,
    fingerprint,
    read_entry,
    retired_reason,
    warn,
    write_entry,
)
from common.store.io import atomic_write_csv
from common.store.provenance import provenance
from common.tasks import TASKS, Task, train_script
from common.training.accel import BROKEN_PRECISION, Accel, on_device
from common.training.train import fit, prepare


def checkpoint_key(
    task: Task, arch: str, cfg: TrainConfig, seed: int, *, data_root, results_dir, sgd_seed: int | None = None
) -> dict:
    """Everything a trained network depends on (the run's provenance is stored beside it). ``seed`` draws
    the initial weights (``common/networks/init.py``), ``sgd_seed`` (default: ``seed``) the data order and
    augmentation; a network with ``sgd_seed != seed`` is the null twin of seed ``seed``."""
    config = cfg.to_dict()
    config.pop("seeds")
    return {
        "task": task.to_dict(),
        "arch": arch,
        "config": config,
        "seed": seed,
        "sgd_seed": seed if sgd_seed is None else sgd_seed,
        "data": data_identity(task.dataset, data_root, paths.data_cache_dir(results_dir)),
        "code": code_version("epsilon-network"),
    }


def train_command(
    preset: str,
    arch: str,
    runs: dict[str, tuple[list[str], set[int]]],
    *,
    data_root,
    results_dir,
    cfgs: dict[str, TrainConfig] | None = None,
) -> str:
    """The training command(s) for ``runs`` (dataset -> (task names, seeds)); ``cfgs``: the configs
    asked for, whose epochs / batch size are named when they are not the preset's."""

    def overrides(ds: str) -> str:
        if not cfgs or ds not in cfgs:
            return ""
        default, cfg = train_config(preset, ds, arch=arch), cfgs[ds]
        return "".join(
            f" --{flag} {getattr(cfg, field)}"
            for flag, field in (("epochs", "epochs"), ("batch-size", "batch_size"))
            if getattr(cfg, field) != getattr(default, field)
        )

    return " && ".join(
        f"{paths.python_command()} {train_script(ds)} --preset {preset} --arch {arch} --tasks {' '.join(ts)} "
        f"--seeds {' '.join(map(str, sorted(ss)))}{overrides(ds)} --data-root {data_root} --results-dir {results_dir}"
        for ds, (ts, ss) in runs.items()
    )


def _check_trained(value: dict) -> None:
    """Never write a checkpoint with non-finite weights or metrics."""
    bad = [k for k, v in value["state_dict"].items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise UserError(f"training produced non-finite weights ({bad[0]} ...); lower the learning rate")
    metrics = value["record"]["metrics"]
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(
            f"training of {metrics['task']} seed {metrics['seed']} gave {bad[0]} = {metrics[bad[0]]} "
            "(an empty split? check the preset's data caps)"
        )


def train_or_load(
    task: Task,
    arch: str,
    seed: int,
    cfg: TrainConfig,
    *,
    preset: str,
    data_root,
    results_dir,
    device: torch.device,
    force: bool = False,
    log=None,
    accel: Accel = Accel(),
    sgd_seed: int | None = None,
) -> tuple[dict, bool]:
    """The record of the (task, arch, seed) network: reused when its checkpoint's key matches,
    else trained (and written atomically). Returns (record, trained now). ``accel``: how the
    training uses a GPU (``common/training/accel.py``; recorded in the record, not the key);
    ``sgd_seed``: train the null twin (same initial weights, other data order and augmentation)."""
    key = checkpoint_key(task, arch, cfg, seed, data_root=data_root, results_dir=results_dir, sgd_seed=sgd_seed)

    def train() -> dict:
        splits = task_splits(
            task,
            data_root,
            paths.data_cache_dir(results_dir),
            val_fraction=cfg.val_fraction,
            split_seed=cfg.split_seed,
            max_train=cfg.max_train,
            max_eval=cfg.max_eval,
        )
        net = prepare(build_network(arch, task, seed=seed), device)
        with accel.autocast():
            metrics = fit(
                accel.wrap(net),
                on_device(splits, device),
                cfg,
                task.dataset,
                key["sgd_seed"],  # the data order and augmentation
                device,
                desc=f"{task.name} {arch} seed {seed}"
                + ("" if key["sgd_seed"] == seed else f" (sgd {key['sgd_seed']})"),
            )
        row = {
            "task": task.name,
            "arch": arch,
            "seed": seed,
            "sgd_seed": key["sgd_seed"],
            "preset": preset,
            "epochs": cfg.epochs,
            **{k: round(v, 6) for k, v in metrics.items()},
            "n_train": len(splits["train"]),
            "n_val": len(splits["val"]),
            "n_test": len(splits["test"]),
            "params": count_parameters(net),
            "device": str(device),
            **accel.record(),
        }
        prov = provenance(device)
        row["git_commit"] = prov["git_commit"]
        record = {"metrics": row, "run_id": uuid.uuid4().hex, "preset": preset, "seed": seed, "provenance": prov}
        return {"state_dict": {k: v.cpu() for k, v in net.state_dict().items()}, "record": record}

    value, hit = cached(
        paths.checkpoint_path(results_dir, preset, arch, task.name, seed, sgd_seed),
        key,
        train,
        force=force,
        what="checkpoint",
        validate=_check_trained,
        log=log,
    )
    record = value["record"]
    sidecar = paths.record_path(results_dir, preset, arch, task.name, seed, sgd_seed)
    stored, _ = check_entry(sidecar, key, fmt="json", what="run record")
    if stored is None or stored["value"] != record:
        write_entry(sidecar, key, record, "json")
    return record, not hit


def verify_checkpoints(
    tasks: list[Task],
    seeds,
    arch: str,
    cfgs: dict[str, TrainConfig],
    *,
    preset: str,
    data_root,
    results_dir,
    sgd_seeds: dict[int, int] | None = None,
) -> dict[tuple[str, int], dict]:
    """(task, seed) -> verified checkpoint entry, for every task and seed; one error line with the
    training command for all missing, unreadable or stale ones (checked before any other work).
    ``sgd_seeds``: seed -> the SGD seed of its null twin, to verify the twins instead."""
    entries, redo, reasons = {}, {}, []
    for task in tasks:
        for seed in seeds:
            twin = None if sgd_seeds is None else sgd_seeds[seed]
            key = checkpoint_key(
                task, arch, cfgs[task.dataset], seed, data_root=data_root, results_dir=results_dir, sgd_seed=twin
            )
            path = paths.checkpoint_path(results_dir, preset, arch, task.name, seed, twin)
            entry, why = check_entry(path, key, what="checkpoint")
            if entry is not None:
                entries[(task.name, seed)] = entry
                continue
            reasons.append(f"{task.name}/seed{seed}.pt {why}")
            names, seed_set = redo.setdefault(task.dataset, ([], set()))
            if task.name not in names:
                names.append(task.name)
            seed_set.add(seed)
    if redo:
        raise UserError(
            f"{len(reasons)} checkpoint(s) under {paths.checkpoints_root(results_dir, preset) / arch} "
            f"cannot be used ({'; '.join(reasons[:3])}{' ...' if len(reasons) > 3 else ''}); "
            "train them first: "
            + train_command(preset, arch, redo, data_root=data_root, results_dir=results_dir, cfgs=cfgs)
        )
    return entries


def network_from(entry: dict, task: Task, device="cpu") -> nn.Module:
    """The network of a checkpoint entry verified for ``task``, in eval mode on ``device``."""
    net = build_network(entry["key"]["arch"], task, seed=entry["key"]["seed"])
    net.load_state_dict(entry["value"]["state_dict"])
    return prepare(net, torch.device(device)).eval()


def network_id(entry: dict) -> dict:
    """What identifies a trained network in the keys of results computed from it."""
    return {"key": fingerprint(entry["key"]), "run_id": entry["value"]["record"]["run_id"]}


def load_network(
    task: Task, arch: str, seed: int, cfg: TrainConfig, *, preset: str, data_root, results_dir, device="cpu"
) -> tuple[nn.Module, dict]:
    """(network in eval mode, record) of a checkpoint verified against ``task`` as defined now."""
    entry = verify_checkpoints(
        [task], [seed], arch, {task.dataset: cfg}, preset=preset, data_root=data_root, results_dir=results_dir
    )[(task.name, seed)]
    return network_from(entry, task, device), entry["value"]["record"]


def collect_metrics(results_dir, preset: str) -> pd.DataFrame:
    """Gather every readable run record of a preset into ``train_metrics.csv`` (rewritten atomically);
    an unreadable record is skipped with a warning (its training script rewrites it). Rows of the
    existing CSV for runs that have no record here (trained on another machine, e.g. a GPU, whose
    checkpoints did not travel) are kept, so that a rerun never drops them; a record replaces its row."""
    rows, seen = [], set()
    for p in sorted(paths.checkpoints_root(results_dir, preset).glob("*/*/seed*.json")):
        if "-sgd" in p.stem:  # null twins (noise_floor.py) are not step 1's networks
            continue
        seen.add((p.parent.parent.name, p.parent.name, p.stem.removeprefix("seed"), preset))
        entry = read_entry(p, "json", "run record")
        if entry is None:
            continue
        try:
            metrics, task = entry["value"]["metrics"], entry["key"]["task"]
        except (TypeError, KeyError):
            warn(f"run record {p} has no metrics; left out of {paths.train_metrics_csv(results_dir, preset).name}")
            continue
        if task.get("name") not in TASKS or canonical(TASKS[task["name"]].to_dict()) != task:
            warn(
                f"run record {p} was trained for another definition of task {task.get('name')}; left out of "
                f"{paths.train_metrics_csv(results_dir, preset).name} until it is retrained"
            )
            continue
        if why := retired_reason(entry["value"]):
            warn(
                f"run record {p} is retired ({why}); left out of {paths.train_metrics_csv(results_dir, preset).name} "
                "until it is retrained"
            )
            continue
        rows.append(metrics)
    df = pd.DataFrame(rows)
    try:
        old = pd.read_csv(paths.train_metrics_csv(results_dir, preset))
    except (OSError, ValueError):
        old = None
    run_key = ["arch", "task", "seed", "preset"]
    if old is not None and len(old) and set(run_key) <= set(old.columns):
        # a run with a record file here (even an unreadable or outdated one) is the record's to report
        keep = old[[tuple(map(str, r)) not in seen and r[1] in TASKS for r in old[run_key].values]]
        if "precision" in keep:  # rows of runs trained under the broken autocast (accel.retired)
            keep = keep[keep["precision"].astype(str) != BROKEN_PRECISION]
        # rows without sgd_seed were trained before the initialisation protocol (common/networks/init.py)
        keep = keep[keep["sgd_seed"].notna()] if "sgd_seed" in keep else keep.iloc[0:0]
        df = pd.concat([df, keep], ignore_index=True) if len(df) else keep
    if len(df):
        first = [
            "task",
            "arch",
            "seed",
            "preset",
            "epochs",
            "train_acc",
            "val_acc",
            "test_acc",
            "params",
            "train_seconds",
            "device",
            "git_commit",
        ]
        df = df[[c for c in first if c in df] + sorted(c for c in df if c not in first)]
        df = df.sort_values(["arch", "task", "seed"]).reset_index(drop=True)
    atomic_write_csv(df, paths.train_metrics_csv(results_dir, preset))
    return df
