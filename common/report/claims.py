"""The papers' qualitative claims (../shared/PAPERS.md, "Claims a report can check") and the suite's own
checks, each decided by code from the result files: "reproduced", "not reproduced", "inconclusive" (the
seeds disagree, or the statistics cannot tell) or "not run" (the result files are missing: the evidence
says which command makes them). Nothing here is written by hand; ``common/report/claim_list.py`` lists
them, ``common/report/verdicts.py`` renders them. On ``smoke`` (tiny subsets) every verdict reads "code
path checked": it is no evidence.

The decision rules are plain data in ``common/report/rules.py`` (``RULES``, the table of docs/verdicts.md):
each function here reads its thresholds from its rule. The NAS claims are ``common/report/nas_claims.py``'s
(``nas_claim`` is re-exported here). A claim decided by the same runs as another (the same matrix entries,
the same NAS records) names it in ``same_runs_as`` and is not counted again; the checks of the code (d(a, a)
= 0 and 0 ≤ d ≤ 1, true of the formula) are listed apart (``CHECKS``) and are no evidence.
"""

from __future__ import annotations

import pandas as pd

from common.report.claim_types import (  # noqa: F401 (re-exported: the claims' vocabulary, one import for callers)
    BEYOND,
    CHECKS,
    CODE_PATH_CHECKED,
    FAILS,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    PAPERS,
    PASSES,
    PY,
    REPRODUCED,
    Claim,
    not_run,
)
from common.report.nas_claims import NAS_NAMES, nas_claim  # noqa: F401 (re-exported)
from common.report.results import mean_std, seed_matrices
from common.report.rules import rule
from common.store import paths
from common.studies.ranking import closest_sources, ordering_agreement
from common.tasks import train_script


def _command(preset: str, arch: str, label: str, distance: str) -> str:
    extra = "" if distance == "frechet" else f" --distance {distance}"
    return f"{PY} fisher_distance.py --preset {preset} --task-set {label} --arch {arch}{extra} --data-root <data>"


def _eye(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [[a == b for b in frame.columns] for a in frame.index], index=frame.index, columns=frame.columns
    )


def construction_check(number: str, long: pd.DataFrame | None, label: str, command: str) -> Claim:
    """d(a, a) = 0 and 0 ≤ d ≤ 1 on every seed: true of the formula for any Fishers, so a check of the code
    (section ``CHECKS``), not evidence for the paper."""
    statement = f"d(a,a) = 0 and 0 ≤ d ≤ 1 on every seed ({label}; true by construction of the distance)"
    if long is None:
        return not_run(number, "FTD", statement, f"no distance matrix; make it: `{command}`", section=CHECKS)
    diag = long[long.source == long.target].distance.abs().max()
    low, high = long.distance.min(), long.distance.max()
    evidence = f"max |d(a,a)| = {diag:.1e}, d in [{low:.3f}, {high:.3f}] over {long.seed.nunique()} seed(s)"
    bounded = diag <= rule("construction").threshold and low >= 0 and high <= 1
    return Claim(number, "FTD", statement, PASSES if bounded else FAILS, evidence, section=CHECKS)


def ordering_status(result: dict) -> str:
    """The ordering rule of the module docstring, from ``ranking.ordering_agreement``."""
    taus = [t for t in result["per_target"].values() if t == t]
    if not taus or result["tau"] != result["tau"]:
        return INCONCLUSIVE
    if result["tau"] <= 0:
        return NOT_REPRODUCED
    return REPRODUCED if result["p"] < rule("ordering").alpha and all(t > 0 for t in taus) else INCONCLUSIVE


def _ordering_evidence(result: dict, what: str) -> str:
    taus = [t for t in result["per_target"].values() if t == t]
    return (
        f"Kendall τ of every target's ordering of its sources, {what}: mean {result['tau']:+.2f} (per target "
        f"{min(taus):+.2f} to {max(taus):+.2f}), permutation p = {result['p']:.4f}"
    )


def consistency_claim(number: str, long: pd.DataFrame | None, label: str, command: str) -> Claim:
    statement = (
        f"the distances keep their ordering over seeds ({label}: every target's whole ordering of its sources; "
        "published std ≈ 0.005–0.05)"
    )
    if long is None:
        return not_run(number, "FTD", statement, f"no distance matrix; make it: `{command}`")
    _, std = mean_std(long)
    per_seed = seed_matrices(long)
    off = std.where(~_eye(std)).stack()
    spread = f"; off-diagonal std {off.min():.3f}–{off.max():.3f}" if off.notna().any() else ""
    if len(per_seed) < 2:
        return Claim(number, "FTD", statement, INCONCLUSIVE, f"one seed: nothing to compare{spread}")
    result = ordering_agreement(list(per_seed.values()))
    evidence = _ordering_evidence(result, f"between {len(per_seed)} seeds' matrices (pairs averaged)") + spread
    return Claim(number, "FTD", statement, ordering_status(result), evidence)


def seed_noise_claim(number: str, results_dir, preset: str, arch: str, seeds: int) -> Claim:
    """The suite's own check (consistency study (a)): are two seeds of one task closer than any two tasks?"""
    statement = (
        "two networks of one task with other initial weights are closer than that task is to any other "
        "(seed-to-seed FTD below the smallest between-task FTD)"
    )
    path = paths.study_outputs(results_dir, preset, arch, "consistency_seeds")["csv"]
    try:
        table = pd.read_csv(path)
        ratio = table.set_index("task").ratio.dropna()
    except (OSError, ValueError, KeyError, AttributeError):
        make = (
            f"it needs ≥ 2 seeds (preset {preset} has {seeds}): `{PY} consistency_study.py --preset {preset} "
            "--seeds 0 1 --data-root <data>` after training those seeds"
            if seeds < 2
            else f"make it: `{PY} consistency_study.py --preset {preset} --data-root <data>`"
        )
        return not_run(number, "suite", statement, f"no seed study; {make}", section=BEYOND)
    if ratio.empty:
        return not_run(number, "suite", statement, f"{path.name} has no between-task reference", section=BEYOND)
    evidence = (
        f"seed-to-seed / smallest between-task FTD: {ratio.min():.2f}–{ratio.max():.2f} over {len(ratio)} "
        f"tasks ({(ratio < 1).sum()} below 1); the networks of one seed share their body's initial weights "
        "(common/networks/init.py), those of two seeds do not"
    )
    one = rule("seed-to-seed").threshold
    status = REPRODUCED if (ratio < one).all() else NOT_REPRODUCED if (ratio >= one).all() else INCONCLUSIVE
    return Claim(number, "suite", statement, status, evidence, section=BEYOND)


def noise_floor_claim(number: str, label: str, floor: dict | None, command: str) -> Claim:
    """The suite's own check: are the matrix's between-task entries above its null (SGD noise alone)?"""
    statement = (
        f"two runs of one task that differ by SGD noise alone are closer than two tasks ({label}: every "
        "null distance below the smallest between-task entry, paired seeds)"
    )
    if floor is None:
        return not_run(number, "suite", statement, f"no noise floor; make it: `{command}`", section=BEYOND)
    null, paired = floor["null twin"], floor["paired, between tasks"]
    evidence = (
        f"null {null['mean']:.3f} ± {null['std']:.3f} (max {null['max']:.3f}, n = {null['n']}) vs between tasks "
        f"{paired['mean']:.3f} ± {paired['std']:.3f} (min {paired['min']:.3f}, n = {paired['n']}); entry noise std "
        f"{floor['entry_noise_std']:.3f}, floor of a difference {floor['floor']:.3f}"
    )
    status = (
        REPRODUCED
        if null["max"] < paired["min"]
        else NOT_REPRODUCED
        if null["mean"] >= paired["mean"]
        else INCONCLUSIVE
    )
    return Claim(number, "suite", statement, status, evidence, section=BEYOND)


def architecture_claim(
    number: str, ours: pd.DataFrame | None, theirs: pd.DataFrame | None, arch: str, label: str, other: str, command: str
) -> Claim:
    """Claim 3 across networks: the ordering test between the two networks' mean matrices."""
    statement = f"the distances keep their ordering across architectures ({label}: {arch} vs {other})"
    if ours is None or theirs is None:
        missing = arch if ours is None else other
        return not_run(number, "FTD", statement, f"no {missing} matrix of {label}; make it: `{command}`")
    mean_ours, _ = mean_std(ours)
    mean_theirs, _ = mean_std(theirs)
    tasks = [t for t in mean_ours.index if t in mean_theirs.index]
    result = ordering_agreement([mean_ours.loc[tasks, tasks], mean_theirs.loc[tasks, tasks]])
    same = sum(
        closest_sources(mean_ours.loc[tasks, tasks])[t] == closest_sources(mean_theirs.loc[tasks, tasks])[t]
        for t in tasks
    )
    evidence = (
        _ordering_evidence(result, "between the two mean matrices")
        + f"; closest source the same for {same} of {len(tasks)}"
    )
    return Claim(number, "FTD", statement, ordering_status(result), evidence)


def _train_command(preset: str, label: str, arch: str) -> str:
    script = train_script(label)
    return f"{PY} {script} --preset {preset} --arch {arch} --data-root <data>"


def affinity_claim(number: str, results_dir, preset: str) -> Claim:
    statement = "Taskonomy: FTD ordering agrees with the transfer affinities"
    found = sorted(paths.run_dir(results_dir, preset).glob("dense/*/taskonomy/taskonomy_frechet_affinity.csv"))
    try:
        table = pd.read_csv(found[0])
    except (IndexError, OSError, ValueError):
        return not_run(
            number,
            "FTD",
            statement,
            "no Taskonomy tree on this machine; with one in `<data>/taskonomy`: "
            f"`{PY} train_task_taskonomy.py --preset {preset} --task-set taskonomy --data-root <data>` then "
            f"`{PY} fisher_distance_taskonomy.py --preset {preset} --task-set taskonomy --data-root <data> "
            "--affinity <affinities.csv>`",
        )
    rho = table.spearman_neg_d_affinity.dropna()
    positive = int((rho > 0).sum())
    evidence = (
        f"mean per-target Spearman(−d, affinity) {rho.mean():+.2f} over {len(rho)} targets, positive for "
        f"{positive}; closest by d = highest affinity for "
        f"{int((table.closest_by_d == table.highest_affinity).sum())} of {len(table)} ({found[0].parent.parent.name})"
    )
    if len(rho) and rho.mean() >= rule("affinity").threshold and positive > len(rho) / 2:
        status = REPRODUCED
    elif not len(rho) or rho.mean() <= 0:
        status = NOT_REPRODUCED
    else:
        status = INCONCLUSIVE
    return Claim(number, "FTD", statement, status, evidence)
