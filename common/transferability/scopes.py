"""Which sources a target's ranking is judged over, and intervals that resample sources as well as targets (issue 34).

Most of the benchmark's signal could be "the source comes from the target's own dataset": a 0/1 same-dataset
score ranks sources about as well as the best scorers. So every scorer is judged, besides over all of a target's
sources, over the sources of the target's own dataset only (``within-dataset``, where "same dataset" says nothing)
and over those of the other datasets (``other-dataset``), for all targets and per target dataset.

The targets are not independent units: each task is a source for every other target. ``source_target_bootstrap``
resamples both (a two-way bootstrap): each replicate draws the targets and the pool's tasks as sources with
replacement; a target's metric is computed over its drawn sources (a source drawn k times counts k times, tied)
and averaged over its seeds, the replicate's statistic is the mean over the drawn targets. Its percentile interval
is wider than the targets-only one exactly when a few sources carry the result.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np
import pandas as pd

from common.studies.paired_stats import holm
from common.transferability import metrics as M

# scope -> (what it keeps, the rows of the pairs table it keeps): plain data, one entry per scope
SCOPES: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "within-dataset": (
        "only the sources of the target's own dataset",
        lambda p: p["source_dataset"] == p["target_dataset"],
    ),
    "all": ("every other task of the pool", lambda p: pd.Series(True, index=p.index)),
    "other-dataset": (
        "only the sources of the other datasets",
        lambda p: p["source_dataset"] != p["target_dataset"],
    ),
}
ALL_DATASETS = "all"  # the target-dataset column of the rows over every target
# the metrics judged by scope (issue 34: weighted τ, Pearson, top-1), each with its two-way interval; the claims
# and the Markdown's tables read the weighted τ
SCOPE_METRICS: dict[str, Callable] = {"weighted_tau": M.weighted_tau, "pearson": M.pearson, "top1_hit": M.top1_hit}
# replicates of the two-way bootstrap per preset (each recomputes every target's weighted τ: ≈ 30 s per 100 on
# the cpu pairs; smoke checks the code path only)
TWO_WAY_BOOT = {"smoke": 20, "cpu": 300, "paper": 300}


def scoped(pairs: pd.DataFrame, scope: str, target_dataset: str = ALL_DATASETS) -> pd.DataFrame:
    """The rows of ``pairs`` in ``scope``, of the targets of ``target_dataset`` (``ALL_DATASETS``: every target)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")
    keep = SCOPES[scope][1](pairs)
    if target_dataset != ALL_DATASETS:
        keep &= pairs["target_dataset"] == target_dataset
    return pairs[keep.to_numpy()]


def source_target_bootstrap(
    pairs: pd.DataFrame,
    scorer: str,
    truth_col: str,
    n_boot: int = TWO_WAY_BOOT["cpu"],
    seed: int = 0,
    level: float = 0.95,
    metric: Callable = M.weighted_tau,
) -> tuple[float, float]:
    """(low, high): the two-way percentile interval of the mean over targets of ``metric`` (scores of ``scorer``
    against ``truth_col`` over each target's sources, mean over seeds), resampling targets and sources. A target
    whose drawn sources leave the metric undefined (fewer than 2 distinct sources, constant scores or truth) is
    left out of that replicate; a replicate with no target left is drawn again (at most ``n_boot`` times)."""
    targets = sorted(pairs["target"].unique())
    sources = sorted(pairs["source"].unique())
    column = {s: i for i, s in enumerate(sources)}
    cells: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for (target, _), sub in pairs.groupby(["target", "seed"], sort=True):
        idx = sub["source"].map(column).to_numpy()
        cells.setdefault(target, []).append(
            (idx, sub[scorer].to_numpy(dtype=np.float64), sub[truth_col].to_numpy(dtype=np.float64))
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    stats: list[float] = []
    tries = 0
    while len(stats) < n_boot and tries < 2 * n_boot:
        tries += 1
        drawn_targets = rng.integers(0, len(targets), size=len(targets))
        counts = np.bincount(rng.integers(0, len(sources), size=len(sources)), minlength=len(sources))
        values = {}
        for j in set(drawn_targets.tolist()):
            per_seed = []
            for idx, s, t in cells[targets[j]]:
                k = counts[idx]
                if np.count_nonzero(k) < 2:
                    continue
                s_k, t_k = np.repeat(s, k), np.repeat(t, k)
                if np.ptp(s_k) == 0 or np.ptp(t_k) == 0:
                    continue
                per_seed.append(metric(s_k, t_k))
            if per_seed:
                values[j] = float(np.mean(per_seed))
        kept = [values[j] for j in drawn_targets if j in values]
        if kept:
            stats.append(float(np.mean(kept)))
    if not stats:
        return math.nan, math.nan
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def scope_table(
    pairs: pd.DataFrame,
    scorers: list[str],
    truths: dict[str, str],
    reference: str,
    n_boot: int = 2000,
    n_two_way: int = TWO_WAY_BOOT["cpu"],
) -> pd.DataFrame:
    """One row per (scope, target dataset, truth, metric, scorer) for each of ``SCOPE_METRICS``: mean over targets,
    the targets-only interval (``metrics.bootstrap_mean``), the two-way interval (``source_target_bootstrap``; for
    every target only, ``ALL_DATASETS``), n_targets, and FTD's paired test against the scorer, raw and
    Holm-adjusted over FTD's comparisons in that (scope, target dataset, truth, metric). A scorer constant within a scope (same-dataset within
    one dataset) has no row there: it cannot rank those sources."""
    rows = []
    datasets = [ALL_DATASETS, *sorted(pairs["target_dataset"].unique())]
    for scope in SCOPES:
        for target_dataset in datasets:
            sub = scoped(pairs, scope, target_dataset)
            if sub.empty:
                continue
            n_sources = int(sub.groupby(["target", "seed"]).size().median())
            for (truth, col), (metric, fn) in itertools.product(truths.items(), SCOPE_METRICS.items()):
                long = M.per_target_metrics(sub, scorers, col, metrics={metric: fn})
                board = M.leaderboard(long, n_boot=n_boot, reference=reference)
                board = board[board["n_targets"] > 0].set_index("scorer")
                others = [s for s in board.index if s != reference and math.isfinite(board.loc[s, "p_vs_ftd"])]
                adjusted = dict(zip(others, holm([float(board.loc[s, "p_vs_ftd"]) for s in others])))
                for scorer, r in board.iterrows():
                    low2 = high2 = math.nan
                    if target_dataset == ALL_DATASETS and n_two_way:
                        low2, high2 = source_target_bootstrap(sub, scorer, col, n_boot=n_two_way, metric=fn)
                    rows.append(
                        {
                            "scope": scope,
                            "target_dataset": target_dataset,
                            "truth": truth,
                            "metric": metric,
                            "scorer": scorer,
                            "mean": r["mean"],
                            "low": r["low"],
                            "high": r["high"],
                            "low_two_way": low2,
                            "high_two_way": high2,
                            "n_targets": int(r["n_targets"]),
                            "n_sources": n_sources,
                            "ftd_minus_scorer": -r["diff_vs_ftd"],
                            "p_vs_ftd": r["p_vs_ftd"],
                            "p_holm": adjusted.get(scorer, math.nan),
                        }
                    )
    return pd.DataFrame(rows)
