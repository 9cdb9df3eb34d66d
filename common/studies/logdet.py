"""Why does the log-det distance not reproduce the log-det paper's 8-task matrix? Every combination
of Fisher estimator x distance x sigma^2, each mean matrix (over seeds) ranked against the published
one (``common/studies/published.py``): Spearman over the 56 off-diagonal entries, the closest source of each
target, and the spread of the per-seed Spearman. Fishers come from the keyed cache, so the study
costs one Fisher pass per estimator, and a rerun none.
"""

from __future__ import annotations

import pandas as pd

from common.fisher.distance import SIGMA_DISTANCES
from common.fisher.matrices import distance_table
from common.fisher.matrix_files import mean_std_matrices
from common.studies.published import PublishedMatrix
from common.studies.ranking import as_frame, compare, off_diagonal, spearman

DISTANCES_STUDIED = ("logdet", "logdet-layer", "frechet")
SIGMAS_STUDIED = (1e-10, 1e-8, 1e-6, 1e-4)
# which variant does what the papers' equations say (the rest mimic the released code)
PRINCIPLED = {("empirical", "logdet"), ("mc", "logdet"), ("empirical", "frechet"), ("mc", "frechet")}


def measures(distances, sigmas) -> list[tuple[str, float | None]]:
    return [(d, s) for d in distances for s in (sigmas if d in SIGMA_DISTANCES else (None,))]


def rank_variants(long: pd.DataFrame, published: PublishedMatrix) -> pd.DataFrame:
    """One row per (estimator, distance, sigma^2) of the long table: its mean matrix against the
    published one, and the per-seed Spearman's mean and std."""
    theirs = as_frame(published)
    order = list(published.tasks)
    rows = []
    keys = ["estimator", "measure", "sigma2"]
    for (estimator, measure, sigma2), group in long.fillna({"sigma2": -1.0}).groupby(keys, sort=False):
        mean, _ = mean_std_matrices(group, order)
        result = compare(mean, theirs)
        per_seed = []
        for _, g in group.groupby("seed"):
            m, _ = mean_std_matrices(g, order)
            per_seed.append(spearman(off_diagonal(m), off_diagonal(theirs).reindex(off_diagonal(m).index)))
        seeds = pd.Series(per_seed)
        rows.append(
            {
                "estimator": estimator,
                "distance": measure,
                "sigma2": None if sigma2 < 0 else sigma2,
                "spearman": result["spearman"],
                "spearman_seed_mean": seeds.mean(),
                "spearman_seed_std": seeds.std(ddof=1) if len(seeds) > 1 else 0.0,
                "seeds": len(seeds),
                "closest_agree": result["closest_agree"],
                "targets": result["targets"],
                "principled": (estimator, measure) in PRINCIPLED,
                "closest": " ".join(f"{t}<-{s}" for t, s in result["closest_ours"].items()),
            }
        )
    return pd.DataFrame(rows).sort_values("spearman", ascending=False).reset_index(drop=True)


def run_study(tasks, seeds, *, estimators, distances, sigmas, **table_args) -> pd.DataFrame:
    """The long table of every estimator x measure (``table_args``: those of ``distance_table``)."""
    frames = []
    for estimator in estimators:
        long, _ = distance_table(tasks, seeds, estimator=estimator, measures=measures(distances, sigmas), **table_args)
        frames.append(long)
    return pd.concat(frames, ignore_index=True)
