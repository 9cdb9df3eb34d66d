"""Claims 1, 2, 6 and 7 decided on their per-seed margins (issue 33): each seed's matrix gives one margin
(how far the claimed closest source is ahead of the next one, how far across-dataset entries lie beyond
within-dataset ones, one pair's d(a→b) − d(b→a)), and the claim is a test of those margins over seeds whose
networks differ in their initial weights as well as their SGD noise. The margins come from the six-seed
matrices (``MARGIN_SEEDS``; ``reproduce.py --sections margins``), where the exact sign-flip test can reach
p < 0.05 (2 / 2^6 = 0.031); on fewer seeds the verdict is inconclusive and says why.

The same rules run on the cross-seed matrix (``fisher_distance.py --pairing cross-seed``: the target network
of the next seed, so no entry compares two networks that share their initial weights) and on the controls
(body-only, labels permuted); ``common/report/claim_list.py`` reports them side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from common.report.claim_types import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, not_run
from common.report.results import mean_std, seed_matrices
from common.report.rules import rule
from common.studies.paired_stats import holm, paired_comparison
from common.studies.ranking import closest_sources
from common.tasks import get_task


def _test_text(v: dict, what: str) -> str:
    interval = f", t-interval [{v['lo']:+.3f}, {v['hi']:+.3f}]" if v["n"] > 1 else ""
    return (
        f"{what} {v['mean']:+.3f} (mean of {v['n']} seed(s){interval}), positive in {v['wins']} of {v['n']}, "
        f"exact sign-flip p = {v['p']:.3g} (the design's smallest: {v['min_p']:.3g})"
    )


def _status(v: dict, alpha: float) -> str:
    """Reproduced when the margins are positive at p < alpha, not reproduced when negative at p < alpha."""
    if v["n"] < 2 or not v["p"] < alpha:
        return INCONCLUSIVE
    return REPRODUCED if v["mean"] > 0 else NOT_REPRODUCED


def closest_margins(long: pd.DataFrame, target: str, source: str) -> list[float]:
    """Per seed: the distance to ``target`` of its closest *other* source minus that of ``source`` (> 0: the
    seed names ``source`` the closest)."""
    out = []
    for _, m in sorted(seed_matrices(long).items()):
        others = m[target].drop([target, source])
        out.append(float(others.min() - m.loc[source, target]))
    return out


def closest_margin_claim(
    number: str, paper: str, long: pd.DataFrame | None, target: str, source: str, where: str, command: str, **kw
) -> Claim:
    statement = f"the closest source of {target} is {source} ({where})"
    if long is None:
        return not_run(number, paper, statement, f"no distance matrix; make it: `{command}`", **kw)
    mean, _ = mean_std(long)
    if target not in mean.columns or source not in mean.index:
        return not_run(number, paper, statement, f"the matrix has no {target} or {source}; make it: `{command}`", **kw)
    v = paired_comparison(closest_margins(long, target, source))
    best = closest_sources(mean)[target]
    evidence = f"mean matrix's closest: {best}; " + _test_text(v, f"margin of {source} over the next source")
    return Claim(number, paper, statement, _status(v, rule("closest").alpha), evidence, **kw)


def within_across_margins(long: pd.DataFrame) -> list[float]:
    """Per seed: the mean across-dataset distance minus the mean within-dataset one (> 0: same dataset closer)."""
    out = []
    for _, m in sorted(seed_matrices(long).items()):
        dataset = {t: get_task(t).dataset for t in m.index}
        pairs = [(a, b) for a in m.index for b in m.columns if a != b]
        within = [m.loc[a, b] for a, b in pairs if dataset[a] == dataset[b]]
        across = [m.loc[a, b] for a, b in pairs if dataset[a] != dataset[b]]
        out.append(float(np.mean(across) - np.mean(within)))
    return out


def same_dataset_margin_claim(number: str, long: pd.DataFrame | None, distance: str, command: str, **kw) -> Claim:
    statement = f"tasks of the same dataset are usually closer than tasks of different datasets (ldnas8, {distance})"
    if long is None:
        return not_run(number, "log-det", statement, f"no 8-task matrix; make it: `{command}`", **kw)
    mean, _ = mean_std(long)
    closest = closest_sources(mean)
    same = sum(get_task(s).dataset == get_task(t).dataset for t, s in closest.items())
    v = paired_comparison(within_across_margins(long))
    evidence = (
        _test_text(v, "across-dataset minus within-dataset distance")
        + f"; {same} of {len(closest)} targets have a same-dataset closest source (mean matrix)"
    )
    return Claim(number, "log-det", statement, _status(v, rule("same-dataset").alpha), evidence, **kw)


def asymmetry_tests(long: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """Per unordered pair (a, b): the mean over seeds of d(a→b) − d(b→a) and the two-sided one-sample t-test
    p of it (the exact test's floor of 2 / 2^n, Holm-corrected over every pair, could never reach 0.05)."""
    seeds = seed_matrices(long)
    tasks = list(next(iter(seeds.values())).index)
    out = {}
    for i, a in enumerate(tasks):
        for b in tasks[i + 1 :]:
            gaps = np.array([m.loc[a, b] - m.loc[b, a] for m in seeds.values()])
            p = float(stats.ttest_1samp(gaps, 0.0).pvalue) if len(gaps) > 1 and gaps.std() > 0 else 1.0
            out[(a, b)] = (float(gaps.mean()), p)
    return out


def asymmetry_margin_claim(number: str, long: pd.DataFrame | None, label: str, command: str, **kw) -> Claim:
    """Claim 1's part that can fail: some pair's two directions differ, consistently over seeds."""
    statement = f"d is asymmetric ({label})"
    if long is None:
        return not_run(number, "FTD", statement, f"no distance matrix; make it: `{command}`", **kw)
    asym = rule("asymmetry")
    tests = asymmetry_tests(long)
    pairs = list(tests)
    adjusted = dict(zip(pairs, holm([tests[p][1] for p in pairs])))
    (a, b), worst = min(adjusted.items(), key=lambda kv: kv[1])
    seeds = long.seed.nunique()
    significant = sum(p < asym.alpha for p in adjusted.values())
    evidence = (
        f"{significant} of {len(pairs)} pairs differ in direction at Holm-adjusted p < {asym.alpha:g} "
        f"(one-sample t-test over {seeds} seed(s)); the strongest: d({a}→{b}) − d({b}→{a}) = {tests[(a, b)][0]:+.3f}, "
        f"p = {tests[(a, b)][1]:.3g}, Holm {worst:.3g}"
    )
    status = REPRODUCED if significant and seeds >= asym.min_seeds else INCONCLUSIVE
    return Claim(number, "FTD", statement, status, evidence, **kw)
