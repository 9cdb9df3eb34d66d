"""Reading results back for the report: the per-seed distances of a matrix and the runs of a NAS table,
each None when missing or unreadable (the report then says "not run")."""

from __future__ import annotations

import pandas as pd

from common.experiments import MARGIN_SEEDS
from common.presets import train_config
from common.store import paths


def read_long(
    results_dir, preset: str, arch: str, label: str, distance: str, estimator: str = "empirical", variant: str = ""
) -> pd.DataFrame | None:
    """The per-seed distances of a ``fisher_distance.py`` run, or None when missing or unreadable."""
    path = paths.distance_outputs(results_dir, preset, arch, label, distance, estimator, variant=variant)["long"]
    try:
        long = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    return long if {"seed", "source", "target", "distance"} <= set(long.columns) and len(long) else None


def seed_matrices(long: pd.DataFrame) -> dict[int, pd.DataFrame]:
    order = list(dict.fromkeys(long.target))
    return {
        int(s): g.pivot(index="source", columns="target", values="distance").loc[order, order]
        for s, g in long.groupby("seed")
    }


def mean_std(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = list(dict.fromkeys(long.target))
    grouped = long.groupby(["source", "target"]).distance
    mean = grouped.mean().unstack().loc[order, order]
    std = grouped.std(ddof=1).unstack().loc[order, order]
    return mean, std


def read_runs(results_dir, preset: str, target: str, baselines: str) -> pd.DataFrame | None:
    path = paths.nas_table_outputs(results_dir, preset, target, baselines)["runs"]
    try:
        runs = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    return runs if {"method", "seed", "test_acc"} <= set(runs.columns) else None


def margin_variant(preset: str, arch: str) -> str:
    """The file-name part of the six-seed matrices (``fisher_distance.py --seeds 0 ... 5``)."""
    seeds = tuple(train_config(preset, "mnist", arch=arch).seeds)
    return "" if seeds == MARGIN_SEEDS else "_seeds" + "-".join(map(str, MARGIN_SEEDS))
