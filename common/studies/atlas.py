"""The task atlas: a 2-D map of a distance matrix, and its comparison with published transfer
affinities (figures: ``common/report/plots.py``).

* Atlas: the FTD is asymmetric, so the map is drawn from the symmetrised distances
  D_s = (D + D^T) / 2 by metric multidimensional scaling (scikit-learn's SMACOF ``MDS``, seeded);
  the stress (Kruskal's stress-1, sqrt(Σ (δ_ij − D_s,ij)² / Σ δ_ij²) with δ the map's distances; 0 =
  exact) is printed on the map.
* Affinity CSV (``--affinity``): one row per ordered pair, columns ``source,target,affinity``; higher
  affinity = the source transfers better to the target, e.g. Taskonomy's published task affinities
  (Zamir et al. 2018, the normalised win rates of its transfer matrix). Task names as in
  ``common/dense_tasks.py``; pairs the CSV lacks are left out of the comparison. Per target, the
  Spearman correlation between −d(source → target) and the affinity over the sources both name
  (positive: the distance ranks sources as the affinities do).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.manifold import MDS

from common.base.errors import UserError
from common.studies.ranking import spearman


def symmetrised(mean: pd.DataFrame) -> pd.DataFrame:
    return (mean + mean.T) / 2


def mds_map(mean: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """(task, x, y) coordinates of the symmetrised matrix and the stress-1 of the map."""

    if list(mean.index) != list(mean.columns):
        raise ValueError("the matrix needs the same task order in rows and columns")
    d = symmetrised(mean).to_numpy(dtype=float)
    mds = MDS(
        n_components=2,
        metric_mds=True,
        metric="precomputed",
        random_state=seed,
        n_init=4,
        init="random",
        normalized_stress=False,
    )
    xy = mds.fit_transform(d)
    fitted = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    iu = np.triu_indices(len(d), 1)
    denom = (fitted[iu] ** 2).sum()  # Kruskal's stress-1: normalised by the map's distances
    stress = math.sqrt(((fitted[iu] - d[iu]) ** 2).sum() / denom) if denom > 0 else 0.0
    return pd.DataFrame({"task": list(mean.index), "x": xy[:, 0], "y": xy[:, 1]}), stress


def read_affinity(path, tasks: list[str]) -> pd.DataFrame:
    """The affinity CSV as a source x target matrix over ``tasks`` (NaN where the CSV has no row)."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot read the affinity CSV {path} ({type(exc).__name__}); it needs columns source,target,affinity"
        ) from None
    missing = {"source", "target", "affinity"} - set(table.columns)
    if missing:
        raise UserError(
            f"the affinity CSV {path} has no column(s) {', '.join(sorted(missing))}; it needs "
            "source,target,affinity (one row per ordered pair)"
        )
    unknown = sorted((set(table.source) | set(table.target)) - set(tasks))
    if unknown:
        raise UserError(
            f"the affinity CSV {path} names tasks not in this matrix: {', '.join(map(str, unknown[:5]))}; "
            f"the matrix has {', '.join(tasks)}"
        )
    if not np.isfinite(pd.to_numeric(table.affinity, errors="coerce")).all():
        raise UserError(f"the affinity CSV {path} has non-numeric or missing affinity values")
    return table.pivot_table(index="source", columns="target", values="affinity").reindex(index=tasks, columns=tasks)


def compare_affinity(mean: pd.DataFrame, affinity: pd.DataFrame) -> pd.DataFrame:
    """Per target: Spearman(−d(source → target), affinity) over the other sources both name."""
    rows = []
    for target in mean.columns:
        pairs = pd.DataFrame({"d": mean[target], "a": affinity[target]}).drop(index=target).dropna()
        rho = spearman(-pairs.d, pairs.a) if len(pairs) >= 3 else float("nan")
        rows.append(
            {
                "target": target,
                "sources": len(pairs),
                "spearman_neg_d_affinity": rho,
                "closest_by_d": pairs.d.idxmin() if len(pairs) else "",
                "highest_affinity": pairs.a.idxmax() if len(pairs) else "",
            }
        )
    return pd.DataFrame(rows)
