"""Comparing distance matrices by rank, as the papers' claims are stated: Spearman correlation of
the off-diagonal entries, and the closest source of each target (rows = source, columns = target)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from common.studies.published import PublishedMatrix


def as_frame(published: PublishedMatrix) -> pd.DataFrame:
    frame = pd.DataFrame(published.values, index=list(published.tasks), columns=list(published.tasks))
    frame.index.name, frame.columns.name = "source", "target"
    return frame


def off_diagonal(matrix: pd.DataFrame) -> pd.Series:
    """The entries d(a -> b), a != b, indexed by (source, target)."""
    stacked = matrix.stack()
    return stacked[[a != b for a, b in stacked.index]]


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rank correlation (average ranks for ties) of two aligned series."""
    ra, rb = a.rank(), b.rank()
    da, db = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt((da**2).sum() * (db**2).sum())
    return float((da * db).sum() / denom) if denom > 0 else float("nan")


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    """Kendall's τ-b of two aligned series: (concordant − discordant pairs) over the geometric mean of
    the pairs untied in each; a pair tied in both counts in neither (as ``scipy.stats.kendalltau``)."""
    x, y = list(map(float, a)), list(map(float, b))
    concordant = discordant = tied_x = tied_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = (x[i] > x[j]) - (x[i] < x[j]), (y[i] > y[j]) - (y[i] < y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tied_x += 1
            elif dy == 0:
                tied_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    pairs = concordant + discordant
    denom = math.sqrt((pairs + tied_x) * (pairs + tied_y))
    return (concordant - discordant) / denom if denom > 0 else float("nan")


def closest_sources(matrix: pd.DataFrame) -> dict[str, str]:
    """target -> the source a != target with the smallest d(a -> target)."""
    return {t: str(matrix[t].drop(t).idxmin()) for t in matrix.columns}


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict:
    """Spearman over the off-diagonal entries and agreement of the closest source per target, on
    the tasks both matrices have (ours reordered to theirs)."""
    tasks = [t for t in theirs.index if t in ours.index]
    ours, theirs = ours.loc[tasks, tasks], theirs.loc[tasks, tasks]
    a, b = off_diagonal(ours), off_diagonal(theirs)
    closest_ours, closest_theirs = closest_sources(ours), closest_sources(theirs)
    agree = [t for t in tasks if closest_ours[t] == closest_theirs[t]]
    return {
        "spearman": spearman(a, b.reindex(a.index)),
        "closest_agree": len(agree),
        "targets": len(tasks),
        "closest_ours": closest_ours,
        "closest_theirs": closest_theirs,
    }


ORDERING_DRAWS = 5000  # Monte Carlo draws of the ordering test's null (seeded)


def ordering_agreement(matrices: list[pd.DataFrame], draws: int = ORDERING_DRAWS, seed: int = 0) -> dict:
    """Do several matrices (seeds, or architectures) order every target's sources alike? The statistic:
    Kendall τ-b between the columns (sources of one target, the target itself left out) of every pair of
    matrices, averaged over pairs and then over targets. Its null: each matrix's columns reordered
    independently at random (every ordering of a target's sources equally likely), ``draws`` seeded
    draws; one-sided p = (1 + #null >= observed) / (1 + draws). Returns the mean τ, the per-target τ, p."""

    targets = list(matrices[0].columns)
    order = {t: matrices[0][t].drop(t).index for t in targets}
    # values[m, t, i]: matrix m's distance from the i-th source of target t (sources: all tasks but t)
    values = np.array([[m[t].drop(t).reindex(order[t]).to_numpy(float) for t in targets] for m in matrices])
    n = values.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    pairs = list(itertools.combinations(range(len(matrices)), 2))

    def taus(v):  # v[..., M, T, n] -> per-target τ averaged over matrix pairs, [..., T]
        signs = np.sign(v[..., iu] - v[..., ju])
        per_pair = []
        for a, b in pairs:
            sa, sb = signs[..., a, :, :], signs[..., b, :, :]
            denom = np.sqrt((sa != 0).sum(-1) * (sb != 0).sum(-1))
            with np.errstate(invalid="ignore", divide="ignore"):
                per_pair.append(np.where(denom > 0, (sa * sb).sum(-1) / denom, np.nan))
        return np.nanmean(np.stack(per_pair), axis=0)

    per_target = taus(values)
    observed = float(np.nanmean(per_target)) if np.isfinite(per_target).any() else float("nan")
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random((draws, *values.shape)), axis=-1)
    null = np.nanmean(taus(np.take_along_axis(np.broadcast_to(values, perm.shape), perm, axis=-1)), axis=-1)
    p = float((1 + (null >= observed - 1e-12).sum()) / (1 + draws)) if observed == observed else float("nan")
    return {"tau": observed, "per_target": dict(zip(targets, map(float, per_target))), "p": p, "pairs": len(pairs)}
