"""The NAS claims (5, 8 and the suite's B3): task-aware FUSE against each baseline, paired by seed, decided by
``rules.rule("nas")``: the plain paired verdict, at least 6 seeds, the Holm-adjusted p beside each raw one;
the α–accuracy Spearman of the search is a diagnostic and never decides."""

from __future__ import annotations

import pandas as pd

from common.report.claim_types import INCONCLUSIVE, NOT_REPRODUCED, PY, REPRODUCED, Claim, not_run
from common.report.rules import rule
from common.studies.paired_stats import holm, min_p, paired_comparison

NAS_NAMES = {"random": "random search", "full": "full-space FUSE", "hand-smallcnn": "the hand-designed smallcnn"}
SPACES = ("task-aware", "task-aware-warm")  # the spaces of the NAS sections (common/steps.py)


def add_seeds_command(preset: str, target: str, baselines: str, closest: str, seeds: int) -> str:
    """The commands that rerun a NAS comparison at ``seeds`` seeds (like section ``nas-seeds``): the closest
    task's full-space cells first (the task-aware space is made from them), then the target's searches."""
    listed = " ".join(str(s) for s in range(seeds))
    target_run = (
        f"{PY} nas_fuse.py --preset {preset} --target {target} --task-set {baselines} --space {' '.join(SPACES)} "
        f"--seeds {listed} --data-root <data>"
    )
    if not closest:
        return target_run
    first = f"{PY} nas_fuse.py --preset {preset} --target {closest} --space full --search-only --seeds {listed}"
    return f"{first} --data-root <data>` then `{target_run}"


def _alpha_diagnostic(aware: pd.DataFrame) -> str:
    rank = aware.alpha_rank_stage.mean() if "alpha_rank_stage" in aware else float("nan")
    text = f"diagnostic, not part of the verdict: α–accuracy Spearman of the task-aware search {rank:+.2f}"
    return text + ("" if rank == rank and rank > 0 else " (the search does not rank its candidates at this budget)")


def nas_claim(
    number: str,
    paper: str,
    runs: pd.DataFrame | None,
    target: str,
    baselines: str,
    preset: str,
    against: tuple[str, ...] = ("random", "hand-smallcnn"),
    **kw,
) -> Claim:
    """Task-aware FUSE against *every* method of ``against``, paired by seed (``rules.rule("nas")``)."""
    nas = rule("nas")
    statement = (
        f"FUSE in the closest task's space beats {' and '.join(NAS_NAMES.get(m, m) for m in against)} on "
        f"{target} (baselines {baselines}, equal budget)"
    )
    if runs is None:
        command = f"{PY} nas_fuse.py --preset {preset} --target {target} --task-set {baselines} --data-root <data>"
        return not_run(number, paper, statement, f"no NAS runs; make them: `{command}`", **kw)
    aware = runs[runs.method == "task-aware"]
    main = aware.set_index("seed").test_acc
    compared, seeds = [], set(main.index)
    for other in against:
        b = runs[runs.method == other].set_index("seed").test_acc
        common = main.index.intersection(b.index)
        if not len(common):
            return not_run(number, paper, statement, f"no {other} rows in the NAS runs of {target}", **kw)
        compared.append((other, paired_comparison((main[common] - b[common]) * 100)))
        seeds &= set(common)
    adjusted = holm([v["p"] for _, v in compared])
    worse_level = min(nas.alpha, 2 * nas.alpha / len(compared))  # directional calls: half their level each
    parts = []
    for (other, v), adj in zip(compared, adjusted):
        interval = f", t-interval [{v['lo']:+.2f}, {v['hi']:+.2f}]" if v["n"] > 1 else ""
        corrected = f" (Holm over {len(compared)} baselines: {adj:.3g})" if len(compared) > 1 else ""
        parts.append(
            f"vs {NAS_NAMES.get(other, other)} {v['mean']:+.2f} points{interval}, higher in {v['wins']} of "
            f"{v['n']} seed(s), exact p = {v['p']:.3g}{corrected}: {v['verdict']}"
        )
    n = len(seeds)
    if n < nas.min_seeds:
        closest = next((str(t) for t in aware.get("closest_task", pd.Series(dtype=object)).dropna() if t), "")
        command = add_seeds_command(preset, target, baselines, closest, nas.min_seeds)
        parts.append(
            f"{n} paired seed(s) ({', '.join(str(s) for s in sorted(seeds))}): the exact test's smallest p is "
            f"2 / 2^{n} = {min_p(n):.3g}, a NAS verdict needs ≥ {nas.min_seeds} seeds; add them: `{command}`"
        )
        status = INCONCLUSIVE
    elif any(v["p"] < worse_level and v["mean"] < 0 for _, v in compared):
        status = NOT_REPRODUCED
    elif all(v["p"] < nas.alpha and v["mean"] > 0 for _, v in compared):
        status = REPRODUCED
    else:
        status = INCONCLUSIVE
    parts.append(_alpha_diagnostic(aware))
    return Claim(number, paper, statement, status, "; ".join(parts), **kw)
