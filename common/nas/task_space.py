"""The task-aware search space of step 3 (log-det paper, "Search space"): the distance matrix of
``fisher_distance.py`` -> the baseline task closest to the target -> the space of the ops of that
task's own full-space genotype (read from its keyed search record, ``common/nas/runs.py``)."""

from __future__ import annotations

import pandas as pd

from common.base.errors import UserError
from common.data.decode import data_identity
from common.fisher.matrix_files import read_mean_matrix
from common.nas.keys import search_key
from common.nas.space import Genotype, SearchSpace
from common.presets import NASConfig, train_config
from common.store import paths
from common.store.cache import check_entry
from common.tasks import TASK_SETS, Task, get_task, resolve_tasks, tasks_label

# The matrix NAS reads: fisher_distance.py --fisher-split val (file suffix of ftd.variant)
NAS_MATRIX_VARIANT = "_fval"


def default_baselines(target: Task) -> list[str]:
    """The first task set that holds the target (mnist-2: ``mnist``)."""
    for name, members in TASK_SETS.items():
        if target.name in members:
            return [name]
    raise UserError(f"{target.name} is in no task set; name the baseline tasks with --baselines")


def distance_matrix_source(target: Task, names: list[str]) -> tuple[str, list[Task], str]:
    """(label, tasks, flags) of the ``fisher_distance.py`` run whose matrix holds the baselines
    ``names`` and the target (the target is appended when the baselines do not include it); the
    label is the one ``fisher_distance.py`` gives that run (``tasks_label``)."""
    tasks = resolve_tasks(names)
    if target not in tasks:
        names, tasks = [*names, target.name], [*tasks, target]
    flags = f"--task-set {names[0]}" if len(names) == 1 and names[0] in TASK_SETS else "--tasks " + " ".join(names)
    return tasks_label(names), tasks, flags


def closest_task(mean: pd.DataFrame, target: str, baselines: list[str], command: str) -> tuple[str, float]:
    """argmin over baseline rows a != target of d(a -> target), from a mean matrix of
    ``fisher_distance.py`` (rows = source, columns = target). ``command`` recomputes the matrix."""
    sources = [b for b in baselines if b != target]
    if not sources:
        raise UserError(f"no baseline task other than the target {target}; name some with --baselines")
    missing = [t for t in [target, *sources] if t not in mean.index or t not in mean.columns]
    if missing:
        raise UserError(f"the distance matrix has no row/column for {', '.join(missing)}; recompute it: {command}")
    column = mean.loc[sources, target]
    if column.isna().any():
        raise UserError(f"the distance matrix has missing distances to {target}; recompute it: {command}")
    return str(column.idxmin()), float(column.min())


def task_aware_spaces(
    target: Task,
    names: list[str],
    seeds,
    *,
    cfg: NASConfig,
    preset: str,
    arch: str,
    distance: str,
    estimator: str,
    stages: int,
    default_stages: int,
    data_root,
    results_dir,
) -> dict[int, tuple]:
    """seed -> (SearchSpace, closest) for the task-aware search of ``target``: the ops of the closest
    baseline task's full-space genotype of the same seed, from a record whose key matches a search
    with today's task definition, data, config, budget and code. One error line names the command
    that makes a missing (or stale) distance matrix or genotype."""
    baselines = [t.name for t in resolve_tasks(names) if t != target]
    if not baselines:
        raise UserError(f"no baseline task other than the target {target.name}; name some with --baselines")
    label, tasks, flags = distance_matrix_source(target, names)
    # the Fishers on the targets' validation split: no test label chooses the space (the authors used test)
    out = paths.distance_outputs(results_dir, preset, arch, label, distance, estimator, variant=NAS_MATRIX_VARIANT)
    matrix = out["mean"]
    command = (
        f"{paths.python_command()} fisher_distance.py --preset {preset} {flags} --arch {arch} --distance {distance} "
        f"--estimator {estimator} --fisher-split val --results-dir {results_dir} --data-root {data_root}"
    )
    mean = read_mean_matrix(
        out,
        tasks=[t.name for t in tasks],
        results_dir=results_dir,
        preset=preset,
        arch=arch,
        data_root=data_root,
        command=command,
        fisher_split="val",
    )
    name, d = closest_task(mean, target.name, baselines, command)
    baseline = get_task(name)
    baseline_cfg = train_config(preset, baseline.dataset, arch=arch)
    data = data_identity(baseline.dataset, data_root, paths.data_cache_dir(results_dir))
    spaces = {}
    for seed in seeds:
        path = paths.nas_record_path(results_dir, preset, name, "full", seed)
        key = search_key(baseline, "full", SearchSpace(), None, cfg, stages, baseline_cfg, seed, data)
        entry, why = check_entry(path, key, fmt="json", what="NAS record")
        if entry is None:
            budget = f" --budget {stages}" if stages != default_stages else ""
            raise UserError(
                f"the closest baseline task to {target.name} is {name} (d = {d:.4f}, {matrix.name}), whose "
                f"full-space genotype for seed {seed} ({path}) is {why}; search it first: "
                f"{paths.python_command()} nas_fuse.py --target {name} --space full --search-only --preset {preset} "
                f"--seeds {' '.join(map(str, seeds))}{budget} --results-dir {results_dir} --data-root {data_root}"
            )
        genotype = Genotype.from_str(entry["value"]["genotype"])
        closest = {
            "task": name,
            "distance": d,
            "matrix": str(matrix),
            "seed": seed,
            "genotype": genotype.to_str(),
            "search_seconds": entry["value"]["search_seconds"],
        }
        spaces[seed] = (SearchSpace.from_genotype(genotype), closest)
    return spaces
