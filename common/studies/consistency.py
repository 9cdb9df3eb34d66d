"""Consistency studies of the distance (issue 12, item 4), from the Fisher store and the matrices:

(a) ``seed_distances``: d between independently seeded ε-networks of the *same* task on its own data,
    F_i = Fisher of N_a(seed i) on X_a, F_j = the same for seed j: how far apart two runs of one task
    are, to compare with the smallest distance between different tasks (the noise floor of the FTD);
(b) ``samples_sweep``: the matrix against the number of Fisher samples;
(c) ``architecture_agreement``: the same task set's matrices made with two ε-network architectures:
    per target, Kendall's τ between the two orderings of its sources, and whether the closest source
    is the same (the FTD paper's claim 3: "the distances keep their ordering across architectures");
(d) ``measure_agreement``: for every (estimator, distance, σ²) of the log-det study's long table, the
    Spearman correlation of its mean matrix with a reference one (empirical Fisher, ``frechet``) over
    the off-diagonal entries, and how many targets keep their closest source.
"""

from __future__ import annotations

import itertools

import pandas as pd
from tqdm import tqdm

from common.fisher.distance import task_distance
from common.fisher.label_controls import control_fisher_data, keyed_labels
from common.fisher.store import cached_fisher
from common.presets import FisherConfig, TrainConfig
from common.studies.ranking import closest_sources, kendall_tau, off_diagonal, spearman
from common.tasks import Task
from common.training.checkpoints import verify_checkpoints


def seed_distances(
    tasks: list[Task],
    seeds,
    *,
    arch: str,
    preset: str,
    cfgs: dict[str, TrainConfig],
    fcfg: FisherConfig,
    data_root,
    results_dir,
    estimator: str,
    device,
    distance: str = "frechet",
) -> pd.DataFrame:
    """One row per (task, seed i < seed j): d(N_a^i, N_a^j) on X_a. Uses the Fishers F_{a,a} of
    every seed (the diagonal of ``fisher_distance.py``'s runs, shared through the Fisher store)."""
    checkpoints = verify_checkpoints(
        tasks, seeds, arch, cfgs, preset=preset, data_root=data_root, results_dir=results_dir
    )
    rows = []
    for task in tqdm(tasks, desc="seed-to-seed distances", unit="task"):
        memo: dict = {}

        def data(task=task, memo=memo):
            if "split" not in memo:
                memo["split"] = control_fisher_data(
                    task, data_root, results_dir, cfgs[task.dataset], fcfg.samples, fcfg.split, fcfg.labels
                )
            return memo["split"]

        fishers = {
            seed: cached_fisher(
                task,
                task,
                seed,
                checkpoints[(task.name, seed)],
                data,
                preset=preset,
                estimator=estimator,
                fcfg=keyed_labels(fcfg),
                target_cfg=cfgs[task.dataset],
                data_root=data_root,
                results_dir=results_dir,
                device=device,
            )[0]
            for seed in seeds
        }
        for i, j in itertools.combinations(seeds, 2):
            rows.append(
                {
                    "task": task.name,
                    "seed_i": i,
                    "seed_j": j,
                    "measure": distance,
                    "distance": task_distance(fishers[i], fishers[j], distance),
                }
            )
    return pd.DataFrame(rows)


def seed_summary(pairs: pd.DataFrame, between: pd.DataFrame) -> pd.DataFrame:
    """Per task: mean ± std of the seed-to-seed distance beside the smallest distance between that
    task and another one (``between``: a mean matrix, rows = source, columns = target), as source or
    target; ratio < 1 means two runs of the task are closer than any other task."""
    rows = []
    for task, g in pairs.groupby("task", sort=False):
        others = pd.concat([between.loc[task].drop(task), between[task].drop(task)]) if task in between.index else None
        smallest = float(others.min()) if others is not None else float("nan")
        rows.append(
            {
                "task": task,
                "seed_distance_mean": g.distance.mean(),
                "seed_distance_std": g.distance.std(ddof=1),
                "pairs": len(g),
                "smallest_between_tasks": smallest,
                "ratio": g.distance.mean() / smallest if smallest == smallest else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def measure_agreement(long: pd.DataFrame, reference=("empirical", "frechet")) -> pd.DataFrame:
    """(d) per (estimator, measure, σ²) of a long table: Spearman with the reference mean matrix over
    the off-diagonal entries, and the targets whose closest source equals the reference's."""
    long = long.assign(sigma2=long.sigma2.fillna(0.0))
    means = {
        key: g.groupby(["source", "target"]).distance.mean().unstack()
        for key, g in long.groupby(["estimator", "measure", "sigma2"])
    }
    ref_key = next((k for k in means if k[:2] == tuple(reference)), None)
    if ref_key is None:
        raise KeyError(f"no {reference} rows in the long table")
    ref = means[ref_key]
    ref_closest = closest_sources(ref)
    rows = []
    for (estimator, measure, sigma2), m in means.items():
        m = m.loc[ref.index, ref.columns]
        closest = closest_sources(m)
        rows.append(
            {
                "estimator": estimator,
                "measure": measure,
                "sigma2": sigma2 or None,
                "spearman_vs_reference": spearman(off_diagonal(m), off_diagonal(ref)),
                "same_closest": sum(closest[t] == ref_closest[t] for t in ref.columns),
                "targets": len(ref.columns),
            }
        )
    return pd.DataFrame(rows).sort_values("spearman_vs_reference", ascending=False, ignore_index=True)


def samples_sweep(longs: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """(b) Fisher samples -> how the matrix moves: per sample count n (``longs``: n -> long table of
    one task set), the mean seed std of the off-diagonal entries, the mean |d_n − d_ref| to the matrix
    with the most samples, the Spearman correlation with it, and the targets whose closest source
    equals its closest source. The ranking has settled at the smallest n from which every later n
    keeps all closest sources."""
    ref_n = max(longs)
    ref = longs[ref_n].groupby(["source", "target"]).distance.mean().unstack()
    ref_closest = closest_sources(ref)
    rows = []
    for n in sorted(longs):
        grouped = longs[n].groupby(["source", "target"]).distance
        mean = grouped.mean().unstack().loc[ref.index, ref.columns]
        std = grouped.std(ddof=1).unstack().loc[ref.index, ref.columns]
        closest = closest_sources(mean)
        rows.append(
            {
                "samples": n,
                "mean_seed_std": off_diagonal(std).mean(),
                "mean_abs_change": (off_diagonal(mean) - off_diagonal(ref)).abs().mean(),
                "spearman_vs_most": spearman(off_diagonal(mean), off_diagonal(ref)),
                "same_closest": sum(closest[t] == ref_closest[t] for t in ref.columns),
                "targets": len(ref.columns),
            }
        )
    table = pd.DataFrame(rows)
    settled = [n for i, n in enumerate(table.samples) if (table.same_closest[i:] == table.targets[i:]).all()]
    return table.assign(settled_from=settled[0] if settled else None)


def architecture_agreement(reference: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """(c) Two mean matrices of one task set (rows = source, columns = target) made with different
    architectures: one row per target with Kendall's τ between the distances of its sources in the
    two matrices, both closest sources, and the Spearman correlation of all off-diagonal entries
    (the same on every row). Tasks are matched by name, in the reference's order."""
    missing = sorted(set(reference.index) - set(other.index))
    if missing:
        raise KeyError(f"the second matrix lacks task(s) {', '.join(missing)}")
    other = other.loc[reference.index, reference.columns]
    overall = spearman(off_diagonal(other), off_diagonal(reference))
    closest_ref, closest_other = closest_sources(reference), closest_sources(other)
    rows = [
        {
            "target": t,
            "kendall_tau": kendall_tau(reference[t].drop(t), other[t].drop(t)),
            "closest_reference": closest_ref[t],
            "closest_other": closest_other[t],
            "same_closest": closest_ref[t] == closest_other[t],
            "spearman_all": overall,
        }
        for t in reference.columns
    ]
    return pd.DataFrame(rows)
