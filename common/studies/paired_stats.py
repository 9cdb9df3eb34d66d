"""Paired statistics over seeds: the one test every verdict that compares runs uses.

Two runs of one seed (task-aware FUSE vs a baseline, a transfer vs scratch) share their seed, so
the unit of evidence is the per-seed difference d_1..d_n. Two statements are made about it:

* an **exact sign-flip permutation test** of "the mean difference is 0" (two-sided): under the null
  every d_i is as likely to be -d_i, so all 2^n sign patterns are equally likely
  (``scipy.stats.permutation_test``, ``permutation_type="samples"`` on one sample). Its smallest
  possible p is 2 / 2^n: 0.25 at 3 seeds, 0.031 at 6, so below 6 seeds no verdict can reach
  p < 0.05 whatever the data (``min_p``);
* a **paired t-interval** (95 %) of the mean difference (``scipy.stats.ttest_1samp``), reported beside
  the p-value. (A percentile bootstrap of 3 differences is not an interval: with probability 1/27 each
  resample is all one value, so its 95 % "interval" is exactly [min, max].)

"better" / "worse" only at p < ``ALPHA``; otherwise "no evidence", and the verdict says when the number
of seeds could not have reached ``ALPHA``. A family of comparisons (FTD against every scorer of the
benchmark, task-aware FUSE against each baseline of one claim) is corrected by Holm's step-down (``holm``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

ALPHA = 0.05
LEVEL = 0.95


def min_p(n: int) -> float:
    """The smallest two-sided p an exact sign-flip test over ``n`` paired seeds can give."""
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0


def seeds_needed(alpha: float = ALPHA) -> int:
    """The fewest seeds at which the exact test can reach ``alpha`` (6 for 0.05)."""
    n = 1
    while min_p(n) >= alpha:
        n += 1
    return n


def sign_flip_p(diffs) -> float:
    """Exact two-sided sign-flip permutation p-value of mean(diffs) = 0 (all 2^n sign patterns)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) == 0:
        return float("nan")
    if np.all(d == 0) or len(d) == 1:  # one seed: both sign patterns are as extreme
        return 1.0
    res = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=np.inf)
    return float(min(1.0, res.pvalue))


def t_interval(diffs, level: float = LEVEL) -> tuple[float, float]:
    """Paired t confidence interval of the mean difference (NaN below 2 seeds; a point when all equal)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return float("nan"), float("nan")
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(level)
    return float(ci.low), float(ci.high)


def paired_comparison(diffs, alpha: float = ALPHA) -> dict:
    """Per-seed differences (a - b) -> mean, t-interval, exact p, sign count, n, min_p and the verdict:
    "better" (a > b) / "worse" at p < alpha, else "no evidence" with the reason."""
    d = np.asarray(diffs, dtype=float)
    if not np.all(np.isfinite(d)):
        raise ValueError("a paired difference is NaN or infinite")
    n = len(d)
    lo, hi = t_interval(d)
    p = sign_flip_p(d) if n else float("nan")
    out = {
        "mean": float(d.mean()) if n else float("nan"),
        "lo": lo,
        "hi": hi,
        "p": p,
        "wins": int((d > 0).sum()),
        "n": n,
        "min_p": min_p(n),
    }
    if n < 2:
        out["verdict"] = "no evidence (fewer than 2 seeds)"
    elif p < alpha:
        out["verdict"] = "better" if out["mean"] > 0 else "worse"
    elif min_p(n) >= alpha:
        out["verdict"] = f"no evidence ({n} seeds cannot reach p < {alpha:g}: the exact test's floor is {min_p(n):.3g})"
    else:
        out["verdict"] = f"no evidence (p = {p:.3g})"
    return out


def holm(pvalues) -> list[float]:
    """Holm's step-down adjusted p-values of one family, in the order given: the i-th smallest of the m
    finite p's becomes max over j <= i of min(1, (m - j + 1) * p_(j)); a NaN stays NaN and is not counted
    in m. Rejecting where the adjusted p < alpha holds the family-wise error at alpha."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(x) for x in out]


def holm_floor(n: int, m: int) -> float:
    """The smallest Holm-adjusted p of a family of ``m`` exact sign-flip tests over ``n`` pairs each."""
    return min(1.0, m * min_p(n))


def kendall_with_p(x, y) -> tuple[float, float]:
    """Kendall τ between two orderings of the same items and its two-sided p (exact for small n, by
    scipy's permutation distribution); NaN when either is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan"), float("nan")
    res = stats.kendalltau(x, y)
    tau, p = float(res.statistic), float(res.pvalue)
    return tau, (p if not math.isnan(p) else float("nan"))
