"""How well a scorer ranks the sources of each target, and how sure we are, across targets.

Per target (and seed): a vector of scores over its sources against the ground truth (fine-tune test accuracies):
    weighted_tau  scipy.stats.weightedtau(scores, truth): rank=True, hyperbolic weigher 1/(r + 1), the field's
                  convention (You et al. 2021, LogME): swaps among the top-ranked sources weigh most
    pearson, spearman   scipy.stats
    top1_hit      1 if the best-scored source has the best truth (ties in truth: any tied best counts); when several
                  sources tie for the best score, the mean over them (random tie-breaking's expectation)
    top1_regret   truth.max() - truth[argmax score] (same tie rule); lower is better

A constant score or constant truth makes these undefined: ``per_target_metrics`` records NaN with the reason in
``excluded``, never 0, and the aggregates leave such rows out and count them.

Across targets: ``bootstrap_mean`` (two-level: targets, then each chosen target's seeds, with replacement; percentile
interval), ``paired_scorer_test`` (exact two-sided sign-flip permutation test over targets on the per-target
seed-mean differences), ``leaderboard`` (scorer x metric with both, and each scorer's p-value against "ftd").
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import scipy.stats

__all__ = [
    "HIGHER_IS_BETTER",
    "METRICS",
    "bootstrap_mean",
    "leaderboard",
    "paired_scorer_test",
    "pearson",
    "per_target_metrics",
    "spearman",
    "top1_hit",
    "top1_regret",
    "weighted_tau",
]

EXACT_MAX_TARGETS = 22  # up to 2^22 sign patterns are enumerated (as 2^16 x 2^(n-16) sums); above, Monte Carlo
MONTE_CARLO_DRAWS = 100_000
MONTE_CARLO_SEED = 0


def _pair(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(truth, dtype=np.float64).reshape(-1)
    if s.shape != t.shape:
        raise ValueError(f"scores and truth differ in length ({s.size} vs {t.size})")
    if s.size < 2:
        raise ValueError(f"need at least 2 sources to rank, got {s.size}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(t))):
        raise ValueError("scores and truth must be finite")
    return s, t


def _varying(s: np.ndarray, t: np.ndarray, what: str) -> None:
    if np.ptp(s) == 0:
        raise ValueError(f"{what}: the scores are constant, the correlation is undefined")
    if np.ptp(t) == 0:
        raise ValueError(f"{what}: the truth is constant, the correlation is undefined")


def weighted_tau(scores: Any, truth: Any) -> float:
    """scipy.stats.weightedtau with its defaults (rank=True, hyperbolic weigher)."""
    s, t = _pair(scores, truth)
    _varying(s, t, "weighted_tau")
    return float(scipy.stats.weightedtau(s, t).statistic)


def pearson(scores: Any, truth: Any) -> float:
    s, t = _pair(scores, truth)
    _varying(s, t, "pearson")
    return float(scipy.stats.pearsonr(s, t).statistic)


def spearman(scores: Any, truth: Any) -> float:
    s, t = _pair(scores, truth)
    _varying(s, t, "spearman")
    return float(scipy.stats.spearmanr(s, t).statistic)


def _top(s: np.ndarray) -> np.ndarray:
    return np.flatnonzero(s == s.max())


def top1_hit(scores: Any, truth: Any) -> float:
    """1.0 if the best-scored source is (one of) the truth-best; ties for the best score: the mean over them."""
    s, t = _pair(scores, truth)
    return float(np.mean(t[_top(s)] == t.max()))


def top1_regret(scores: Any, truth: Any) -> float:
    """truth.max() - truth of the best-scored source (ties for the best score: the mean over them); >= 0."""
    s, t = _pair(scores, truth)
    return float(t.max() - np.mean(t[_top(s)]))


METRICS: dict[str, Callable[[Any, Any], float]] = {
    "weighted_tau": weighted_tau,
    "pearson": pearson,
    "spearman": spearman,
    "top1_hit": top1_hit,
    "top1_regret": top1_regret,
}
HIGHER_IS_BETTER = {"weighted_tau": True, "pearson": True, "spearman": True, "top1_hit": True, "top1_regret": False}


# ------------------------------------------------------------------------------------------------ per target


def per_target_metrics(
    df: pd.DataFrame,
    scorer_cols: Iterable[str],
    truth_col: str,
    group: Iterable[str] = ("target", "seed"),
    metrics: Mapping[str, Callable[[Any, Any], float]] | None = None,
) -> pd.DataFrame:
    """One row per (group..., scorer, metric): value (NaN when excluded), n_sources, excluded (the reason or "").

    ``df`` holds one row per (target, seed, source); a source whose score or truth is NaN is dropped for that
    scorer. Excluded (value NaN): fewer than 2 sources left, constant scores, or constant truth.
    """
    group = list(group)
    scorer_cols = list(scorer_cols)
    metrics = dict(METRICS if metrics is None else metrics)
    missing = [c for c in [*group, truth_col, *scorer_cols] if c not in df.columns]
    if missing:
        raise ValueError(f"per_target_metrics: missing columns {missing}")
    if not scorer_cols:
        raise ValueError("per_target_metrics: no scorer columns")
    if "source" in df.columns and df.duplicated([*group, "source"]).any():
        raise ValueError(f"per_target_metrics: a source appears twice within one {tuple(group)} group")
    rows = []
    for key, sub in df.groupby(group, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        for col in scorer_cols:
            s = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=np.float64)
            t = pd.to_numeric(sub[truth_col], errors="coerce").to_numpy(dtype=np.float64)
            ok = np.isfinite(s) & np.isfinite(t)
            s, t = s[ok], t[ok]
            if s.size < 2:
                reason = "fewer than 2 sources"
            elif np.ptp(s) == 0:
                reason = "constant score"
            elif np.ptp(t) == 0:
                reason = "constant truth"
            else:
                reason = ""
            for metric, fn in metrics.items():
                value = math.nan if reason else float(fn(s, t))
                rows.append((*key, col, metric, value, int(s.size), reason))
    return pd.DataFrame(rows, columns=[*group, "scorer", "metric", "value", "n_sources", "excluded"])


# ------------------------------------------------------------------------------------------------ aggregates


def _clean(values_by_target: Mapping[Any, Iterable[float]]) -> dict[Any, np.ndarray]:
    out = {}
    for target, values in values_by_target.items():
        v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        if v.size:
            out[target] = v
    return out


def bootstrap_mean(
    values_by_target: Mapping[Any, Iterable[float]], n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): the mean over targets of each target's seed mean, and its two-level percentile interval.

    Each replicate draws len(targets) targets with replacement and, within each draw, that target's seeds with
    replacement; the replicate's statistic is the mean over the drawn targets of their resampled seed means.
    NaN values are dropped first, and a target left with no value is dropped.
    """
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_mean: level must be in (0, 1), got {level}")
    if int(n_boot) < 1:
        raise ValueError(f"bootstrap_mean: n_boot must be >= 1, got {n_boot}")
    data = list(_clean(values_by_target).values())
    if not data:
        raise ValueError("bootstrap_mean: no finite values")
    n_boot, n_t = int(n_boot), len(data)
    mean = float(np.mean([v.mean() for v in data]))
    rng = np.random.Generator(np.random.PCG64(seed))
    picks = rng.integers(0, n_t, size=(n_boot, n_t))
    draws = np.empty((n_boot, n_t))
    for j, v in enumerate(data):
        where = picks == j
        m = int(where.sum())
        if m:
            draws[where] = v[rng.integers(0, v.size, size=(m, v.size))].mean(axis=1)
    stats = draws.mean(axis=1)
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return mean, float(low), float(high)


def _signed_sums(x: np.ndarray) -> np.ndarray:
    """sum_i s_i x_i for every sign pattern s of x (one value, 0, for an empty x)."""
    m = x.size
    signs = 1 - 2 * ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1)
    return signs @ x if m else np.zeros(1)


def paired_scorer_test(
    a_by_target: Mapping[Any, Iterable[float]], b_by_target: Mapping[Any, Iterable[float]]
) -> dict[str, Any]:
    """Is scorer a better than b on a metric? Exact two-sided sign-flip permutation test over targets.

    Per target: d = mean over seeds of a - mean over seeds of b (targets where either has no finite value are
    left out). Statistic: mean(d); p = share of the 2^n sign patterns s with |mean(s d)| >= |mean(d)| (Monte Carlo
    with a fixed seed and the +1 correction above EXACT_MAX_TARGETS targets). The smallest p the exact test can give
    is 2 / 2^n ("min_p"): with few targets no difference can be significant.
    """
    a, b = _clean(a_by_target), _clean(b_by_target)
    targets = [t for t in a if t in b]
    d = np.array([a[t].mean() - b[t].mean() for t in targets], dtype=np.float64)
    n = int(d.size)
    if n == 0:
        return {"mean_diff": math.nan, "p_value": math.nan, "n_targets": 0, "min_p": math.nan, "test": "no targets"}
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    if n <= EXACT_MAX_TARGETS:
        low, high = _signed_sums(d[:16]), _signed_sums(d[16:])  # every pattern = a low half plus a high half
        p = float(np.mean(np.abs((low[:, None] + high[None, :]) / n) >= observed - tol))
        test, min_p = f"exact two-sided sign-flip permutation test over {n} targets ({2**n} patterns)", 2.0 / 2**n
    else:
        rng = np.random.Generator(np.random.PCG64(MONTE_CARLO_SEED))
        hits = 0
        for chunk in itertools.repeat(10_000, MONTE_CARLO_DRAWS // 10_000):
            signs = rng.choice(np.array([-1.0, 1.0]), size=(chunk, n))
            hits += int(np.sum(np.abs(signs @ d / n) >= observed - tol))
        p = (hits + 1) / (MONTE_CARLO_DRAWS + 1)
        test = f"Monte Carlo two-sided sign-flip permutation test over {n} targets ({MONTE_CARLO_DRAWS} draws)"
        min_p = max(2.0 / 2**n, 1.0 / (MONTE_CARLO_DRAWS + 1))
    return {"mean_diff": float(d.mean()), "p_value": p, "n_targets": n, "min_p": min_p, "test": test}


def _by_target(rows: pd.DataFrame) -> dict[Any, list[float]]:
    return {t: sub["value"].tolist() for t, sub in rows.groupby("target", sort=True)}


def leaderboard(
    per_target_long: pd.DataFrame, n_boot: int = 2000, seed: int = 0, reference: str = "ftd"
) -> pd.DataFrame:
    """scorer x metric: mean, low, high (two-level bootstrap), n_targets, n_excluded, and p_vs_ftd / diff_vs_ftd
    (the paired test against ``reference``; NaN for the reference itself or when it is absent)."""
    need = ["target", "scorer", "metric", "value"]
    missing = [c for c in need if c not in per_target_long.columns]
    if missing:
        raise ValueError(f"leaderboard: missing columns {missing}")
    long = per_target_long
    scorers = list(dict.fromkeys(long["scorer"]))
    metrics = list(dict.fromkeys(long["metric"]))
    rows = []
    for metric in metrics:
        of_metric = long[long["metric"] == metric]
        ref_rows = of_metric[of_metric["scorer"] == reference]
        ref = _by_target(ref_rows) if len(ref_rows) else None
        for scorer in scorers:
            sub = of_metric[of_metric["scorer"] == scorer]
            values = _by_target(sub)
            valid = _clean(values)
            n_excluded = int(sub["value"].isna().sum())
            if valid:
                mean, low, high = bootstrap_mean(valid, n_boot=n_boot, seed=seed)
            else:
                mean = low = high = math.nan
            if ref is None or scorer == reference:
                p, diff = math.nan, math.nan
            else:
                test = paired_scorer_test(values, ref)
                p, diff = test["p_value"], test["mean_diff"]
            rows.append(
                {
                    "scorer": scorer,
                    "metric": metric,
                    "higher_is_better": HIGHER_IS_BETTER.get(metric, True),
                    "mean": mean,
                    "low": low,
                    "high": high,
                    "n_targets": len(valid),
                    "n_excluded": n_excluded,
                    "diff_vs_ftd": diff,
                    "p_vs_ftd": p,
                }
            )
    return pd.DataFrame(rows)
