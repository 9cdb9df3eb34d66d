"""What a NAS search and a retraining depend on: their keys in the keyed cache (``common/store/cache.py``)."""

from __future__ import annotations

from dataclasses import replace

from common.nas.space import SearchSpace
from common.presets import NASConfig, TrainConfig
from common.store.cache import canonical, code_version, fingerprint
from common.tasks import Task


def search_key(
    task: Task,
    method: str,
    space: SearchSpace,
    closest: dict | None,
    cfg: NASConfig,
    stages: int,
    train_cfg: TrainConfig,
    seed: int,
    data: dict,
) -> dict:
    """What a search depends on; a record with another key is stale and searched again.
    ``data``: the identity of the task's dataset files (``common.data.decode.data_identity``)."""
    search = {k: v for k, v in cfg.to_dict().items() if not k.startswith("retrain_") and k not in ("seeds", "stages")}
    return canonical(
        {
            "task": task.to_dict(),
            "method": method,
            "space": space.to_dict(),
            "seed": seed,
            "closest": closest and {k: closest[k] for k in ("task", "genotype")},
            "stages": stages,
            "search": search,
            "data": data,
            "code": code_version("nas-search"),
            "split": {"val_fraction": train_cfg.val_fraction, "split_seed": train_cfg.split_seed},
        }
    )


def retrain_config(cfg: NASConfig, train_cfg: TrainConfig) -> TrainConfig:
    """The retraining of a chosen cell: the training preset of the task's dataset (optimiser, schedule,
    augmentation, splits) with the NAS preset's epochs, data caps and batch size."""
    return replace(
        train_cfg,
        arch="nas",
        epochs=cfg.retrain_epochs or train_cfg.epochs,
        max_train=cfg.retrain_max_train,
        max_eval=cfg.retrain_max_eval,
        batch_size=cfg.batch_size,
        seeds=cfg.seeds,
    )


def retrain_key(record_key: dict, genotype: str, cfg: NASConfig, rcfg: TrainConfig, width: int) -> dict:
    """``width``: the skeleton width the cell is retrained at (``cfg.width`` or the one matching
    ``cfg.retrain_params``)."""
    train = rcfg.to_dict()
    train.pop("seeds")
    return canonical(
        {
            "search": fingerprint(record_key),
            "genotype": genotype,
            "width": width,
            "params_target": cfg.retrain_params,
            "depth": cfg.depth,
            "train": train,
            "code": code_version("nas-retrain"),
        }
    )


def hand_designed_record(task: Task, arch: str, seed: int) -> dict:
    """A hand-designed network in the NAS step's records: nothing is searched, it is only retrained
    (``run_retrain``) with the same config as the searched cells."""
    return {
        "key": {"hand-designed": arch, "task": task.to_dict()},
        "task": task.name,
        "method": f"hand-{arch}",
        "seed": seed,
        "arch": arch,
        "genotype": arch,
        "ops": [],
        "search_seconds": 0.0,
        "closest": None,
        "space_log10_size": float("nan"),
        "device": "",
    }
