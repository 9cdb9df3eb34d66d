"""The papers' qualitative claims (../shared/PAPERS.md, "Claims a report can check"), each decided
by code from the result files: "reproduced", "not reproduced", "inconclusive" (the seeds disagree
or the statistics cannot tell) or "not run" (the result files are missing: the evidence says which
command makes them). Nothing here is written by hand; ``common/report/tables.py`` renders the list.

Decision rules (stated once, here):
* a closest-source claim is *reproduced* when the mean matrix names that source and every seed's
  matrix does too; *inconclusive* when the mean does but some seed does not (or there is one seed);
  *not reproduced* when the mean names another source;
* bounds: every entry of every seed in [0, 1] and d(a, a) = 0 (to 1e-9); asymmetry: at least one
  pair whose two directions differ by more than twice the larger of their seed std's;
* consistency over seeds: the closest source per target is the mean's in ≥ 90 % of (target, seed);
* consistency across architectures (consistency study (c)): *reproduced* when every target keeps its
  closest source and every target's Kendall τ (ordering of its sources) is > 0; *not reproduced*
  when at most half of the targets keep their closest source; else *inconclusive*;
* same dataset closer: the mean within-dataset distance is below the across-dataset one *and* most
  targets have a same-dataset closest source (both: reproduced; neither: not reproduced);
* NAS: the paired bootstrap verdict of ``common/nas/table.py`` ("better" / "worse" / no evidence);
* Taskonomy affinities (``fisher_distance_taskonomy.py --task-set taskonomy --affinity CSV``): the mean
  per-target Spearman(−d, affinity) ≥ 0.5 and positive for most targets: reproduced; ≤ 0: not
  reproduced; else inconclusive. The derived ``taskonomy-2d`` set is no evidence for this claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from common.experiments import nas_targets
from common.nas.table import paired_verdict
from common.report.results import mean_std, read_long, read_runs, seed_matrices
from common.store import paths
from common.studies.ranking import closest_sources
from common.tasks import get_task, train_script

# commands in the evidence start like the README's (not like this interpreter: the text is compared)
PY = ".venv/bin/python"
# the FTD paper's ε-networks, checked beside the suite's default network (claims 2 and 3)
PAPER_NETWORKS = ("resnet18", "vgg16", "densenet121")
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN = "reproduced", "not reproduced", "inconclusive", "not run"


@dataclass(frozen=True)
class Claim:
    number: str  # the claim's number in PAPERS.md (with a letter per case)
    paper: str  # "FTD" or "log-det"
    statement: str
    status: str
    evidence: str


def _command(preset: str, arch: str, label: str, distance: str) -> str:
    extra = "" if distance == "frechet" else f" --distance {distance}"
    return f"{PY} fisher_distance.py --preset {preset} --task-set {label} --arch {arch}{extra} --data-root <data>"


def _not_run(number, paper, statement, what: str) -> Claim:
    return Claim(number, paper, statement, NOT_RUN, what)


def closest_claim(
    number: str, paper: str, long: pd.DataFrame | None, target: str, source: str, where: str, command: str
) -> Claim:
    statement = f"the closest source of {target} is {source} ({where})"
    if long is None:
        return _not_run(number, paper, statement, f"no distance matrix; make it: `{command}`")
    mean, std = mean_std(long)
    if target not in mean.columns or source not in mean.index:
        return _not_run(number, paper, statement, f"the matrix has no {target} or {source}; make it: `{command}`")
    per_seed = {s: closest_sources(m)[target] for s, m in seed_matrices(long).items()}
    best = closest_sources(mean)[target]
    agree = sum(v == source for v in per_seed.values())
    column = mean[target].drop(target).sort_values()
    runner = column.index[1] if column.index[0] == source and len(column) > 1 else column.index[0]
    spread = std.loc[best, target]
    evidence = (
        f"mean: {best} {column[best]:.3f}"
        + ("" if pd.isna(spread) else f" ± {spread:.3f}")
        + (f", next {runner} {column[runner]:.3f}" if runner != best else "")
        + (f", {source} {column[source]:.3f}" if best != source else "")
        + f"; {source} closest in {agree} of {len(per_seed)} seed(s)"
    )
    if best != source:
        status = NOT_REPRODUCED
    elif agree == len(per_seed) and len(per_seed) > 1:
        status = REPRODUCED
    else:
        status = INCONCLUSIVE
    return Claim(number, paper, statement, status, evidence)


def bounds_claim(number: str, long: pd.DataFrame | None, label: str, command: str) -> Claim:
    statement = f"d(a,a) = 0, 0 ≤ d ≤ 1, and d is asymmetric ({label})"
    if long is None:
        return _not_run(number, "FTD", statement, f"no distance matrix; make it: `{command}`")
    diag = long[long.source == long.target].distance.abs().max()
    low, high = long.distance.min(), long.distance.max()
    mean, std = mean_std(long)
    tasks = list(mean.index)
    pairs = [(a, b) for i, a in enumerate(tasks) for b in tasks[i + 1 :]]
    gaps = {(a, b): abs(mean.loc[a, b] - mean.loc[b, a]) for a, b in pairs}
    seeds = long.seed.nunique()
    spread = {(a, b): 2 * max(std.loc[a, b], std.loc[b, a]) for a, b in pairs}
    asymmetric = sum(gaps[p] > spread[p] for p in pairs) if seeds > 1 else 0
    evidence = (
        f"max |d(a,a)| = {diag:.1e}, d in [{low:.3f}, {high:.3f}]; max |d(a→b) − d(b→a)| = "
        f"{max(gaps.values()):.3f}; {asymmetric} of {len(pairs)} pairs differ by more than twice the "
        f"seed std ({seeds} seed(s))"
    )
    bounded = diag <= 1e-9 and low >= 0 and high <= 1
    status = (
        NOT_REPRODUCED if not bounded else REPRODUCED if asymmetric else INCONCLUSIVE if seeds < 2 else NOT_REPRODUCED
    )
    return Claim(number, "FTD", statement, status, evidence)


def consistency_claim(number: str, long: pd.DataFrame | None, label: str, command: str) -> Claim:
    statement = f"the distances keep their ordering over seeds ({label}; published std ≈ 0.005–0.05)"
    if long is None:
        return _not_run(number, "FTD", statement, f"no distance matrix; make it: `{command}`")
    mean, std = mean_std(long)
    best = closest_sources(mean)
    per_seed = seed_matrices(long)
    agree = sum(closest_sources(m)[t] == best[t] for m in per_seed.values() for t in mean.columns)
    total = len(per_seed) * len(mean.columns)
    off = std.where(~_eye(std)).stack()
    spread = f"off-diagonal std {off.min():.3f}–{off.max():.3f}" if off.notna().any() else "no std"
    evidence = (
        f"closest source = the mean's in {agree} of {total} (target, seed); {spread} over {len(per_seed)} seed(s)"
    )
    if len(per_seed) < 2:
        return Claim(number, "FTD", statement, INCONCLUSIVE, evidence)
    return Claim(number, "FTD", statement, REPRODUCED if agree >= 0.9 * total else NOT_REPRODUCED, evidence)


def _eye(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [[a == b for b in frame.columns] for a in frame.index], index=frame.index, columns=frame.columns
    )


def same_dataset_claim(number: str, long: pd.DataFrame | None, distance: str, command: str) -> Claim:
    statement = f"tasks of the same dataset are usually closer than tasks of different datasets (ldnas8, {distance})"
    if long is None:
        return _not_run(number, "log-det", statement, f"no 8-task matrix; make it: `{command}`")
    mean, _ = mean_std(long)
    dataset = {t: get_task(t).dataset for t in mean.index}
    within = [mean.loc[a, b] for a in mean.index for b in mean.columns if a != b and dataset[a] == dataset[b]]
    across = [mean.loc[a, b] for a in mean.index for b in mean.columns if dataset[a] != dataset[b]]
    closest = closest_sources(mean)
    same = sum(dataset[s] == dataset[t] for t, s in closest.items())
    w, a = sum(within) / len(within), sum(across) / len(across)
    seeds = seed_matrices(long)
    seeds_closer = sum(
        pd.Series([m.loc[x, y] for x in m.index for y in m.columns if x != y and dataset[x] == dataset[y]]).mean()
        < pd.Series([m.loc[x, y] for x in m.index for y in m.columns if dataset[x] != dataset[y]]).mean()
        for m in seeds.values()
    )
    evidence = (
        f"mean within {w:.3f} vs across {a:.3f} (within lower in {seeds_closer} of {len(seeds)} seed(s)); "
        f"{same} of {len(closest)} targets have a same-dataset closest source"
    )
    majority = same > len(closest) / 2
    status = REPRODUCED if w < a and majority else NOT_REPRODUCED if w >= a and not majority else INCONCLUSIVE
    return Claim(number, "log-det", statement, status, evidence)


def seed_noise_claim(number: str, results_dir, preset: str, arch: str) -> Claim:
    """Issue 12's consistency (a): are two seeds of one task closer than any two tasks?"""
    statement = (
        "two independently seeded networks of one task are closer than that task is to any other "
        "(seed-to-seed FTD below the smallest between-task FTD)"
    )
    path = paths.study_outputs(results_dir, preset, arch, "consistency_seeds")["csv"]
    try:
        table = pd.read_csv(path)
        ratio = table.set_index("task").ratio.dropna()
    except (OSError, ValueError, KeyError, AttributeError):
        return _not_run(
            number,
            "FTD",
            statement,
            f"no seed study; make it: `{PY} consistency_study.py --preset {preset} --data-root <data>`",
        )
    if ratio.empty:
        return _not_run(number, "FTD", statement, f"{path.name} has no between-task reference")
    evidence = (
        f"seed-to-seed / smallest between-task FTD: {ratio.min():.2f}–{ratio.max():.2f} over {len(ratio)} "
        f"tasks ({(ratio < 1).sum()} below 1); the networks of one seed share their initial weights, "
        "those of two seeds do not"
    )
    status = REPRODUCED if (ratio < 1).all() else NOT_REPRODUCED if (ratio >= 1).all() else INCONCLUSIVE
    return Claim(number, "FTD", statement, status, evidence)


def architecture_claim(number: str, results_dir, preset: str, arch: str, label: str, other: str) -> Claim:
    """Claim 3 across networks, from consistency study (c)'s table."""
    statement = f"the distances keep their ordering across architectures ({label}: {arch} vs {other})"
    path = paths.study_outputs(results_dir, preset, arch, "consistency_architectures")["csv"]
    try:
        table = pd.read_csv(path)
        rows = table[(table.task_set == label) & (table.other == other)]
    except (OSError, ValueError, AttributeError):
        rows = None
    if rows is None or rows.empty:
        return _not_run(
            number,
            "FTD",
            statement,
            f"no {other} matrix of {label} in the architectures study; make it: `{_train_command(preset, label, other)}`, "
            f"`{_command(preset, other, label, 'frechet')}`, then `{PY} consistency_study.py --preset {preset} --parts c`",
        )
    same, n = int(rows.same_closest.sum()), len(rows)
    evidence = (
        f"Kendall τ per target {rows.kendall_tau.min():+.2f} to {rows.kendall_tau.max():+.2f}; closest source "
        f"the same for {same} of {n} targets; Spearman over all entries {rows.spearman_all.iloc[0]:+.2f}"
    )
    status = (
        REPRODUCED if same == n and (rows.kendall_tau > 0).all() else NOT_REPRODUCED if same <= n / 2 else INCONCLUSIVE
    )
    return Claim(number, "FTD", statement, status, evidence)


def _train_command(preset: str, label: str, arch: str) -> str:
    script = train_script(label)
    return f"{PY} {script} --preset {preset} --arch {arch} --data-root <data>"


def affinity_claim(number: str, results_dir, preset: str) -> Claim:
    statement = "Taskonomy: FTD ordering agrees with the transfer affinities"
    found = sorted(paths.run_dir(results_dir, preset).glob("dense/*/taskonomy/taskonomy_frechet_affinity.csv"))
    try:
        table = pd.read_csv(found[0])
    except (IndexError, OSError, ValueError):
        return _not_run(
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
    if len(rho) and rho.mean() >= 0.5 and positive > len(rho) / 2:
        status = REPRODUCED
    elif not len(rho) or rho.mean() <= 0:
        status = NOT_REPRODUCED
    else:
        status = INCONCLUSIVE
    return Claim(number, "FTD", statement, status, evidence)


def nas_claim(
    number: str,
    paper: str,
    runs: pd.DataFrame | None,
    target: str,
    baselines: str,
    preset: str,
    against: tuple[str, ...] = ("random", "hand-smallcnn"),
) -> Claim:
    names = {"random": "random search", "full": "full-space FUSE", "hand-smallcnn": "the hand-designed smallcnn"}
    statement = (
        f"FUSE in the closest task's space beats {' and '.join(names.get(m, m) for m in against)} on "
        f"{target} (baselines {baselines}, equal budget)"
    )
    if runs is None:
        command = f"{PY} nas_fuse.py --preset {preset} --target {target} --task-set {baselines} --data-root <data>"
        return _not_run(number, paper, statement, f"no NAS runs; make them: `{command}`")
    main = runs[runs.method == "task-aware"].set_index("seed").test_acc
    verdicts, parts = [], []
    for other in against:
        b = runs[runs.method == other].set_index("seed").test_acc
        common = main.index.intersection(b.index)
        if not len(common):
            return _not_run(number, paper, statement, f"no {other} rows in the NAS runs of {target}")
        v = paired_verdict((main[common] - b[common]) * 100)
        verdicts.append(v["verdict"])
        interval = f" [{v['lo']:+.2f}, {v['hi']:+.2f}]" if v["n"] > 1 else ""
        parts.append(
            f"vs {names.get(other, other)} {v['mean']:+.2f} points{interval}, higher in {v['wins']} of "
            f"{v['n']} seed(s): {v['verdict']}"
        )
    status = (
        NOT_REPRODUCED if "worse" in verdicts else REPRODUCED if all(v == "better" for v in verdicts) else INCONCLUSIVE
    )
    return Claim(number, paper, statement, status, "; ".join(parts))


def all_claims(results_dir, preset: str, arch: str = "smallcnn") -> list[Claim]:
    """Every claim of PAPERS.md that the suite can check, decided from ``results/<preset>/``."""
    claims: list[Claim] = []
    longs = {label: read_long(results_dir, preset, arch, label, "frechet") for label in ("mnist", "cifar10", "ldnas8")}
    for i, label in enumerate(("mnist", "cifar10")):
        claims.append(bounds_claim(f"1{'ab'[i]}", longs[label], label, _command(preset, arch, label, "frechet")))
    for i, (label, name) in enumerate((("mnist", "MNIST"), ("cifar10", "CIFAR-10"))):
        claims.append(
            closest_claim(
                f"2{'ab'[i]}",
                "FTD",
                longs[label],
                f"{label}-2",
                f"{label}-3",
                f"{name}, {arch}, FTD",
                _command(preset, arch, label, "frechet"),
            )
        )
    claims.append(
        closest_claim(
            "2c",
            "FTD",
            read_long(results_dir, preset, arch, "cifar100", "frechet"),
            "cifar100-2",
            "cifar100-3",
            f"CIFAR-100, {arch}, FTD",
            f"{_train_command(preset, 'cifar100', arch)}` then `{_command(preset, arch, 'cifar100', 'frechet')}",
        )
    )
    # the same claims with the papers' networks as ε-networks (trained on a GPU when one is at hand):
    # 2d/2e and 3d/3e ResNet-18, 2f/2g and 3f/3g VGG-16, 2h/2i and 3h/3i DenseNet-121
    for k, other in enumerate(PAPER_NETWORKS):
        letters = "defghi"[2 * k : 2 * k + 2]
        for i, (label, name) in enumerate((("mnist", "MNIST"), ("cifar10", "CIFAR-10"))):
            claims.append(
                closest_claim(
                    f"2{letters[i]}",
                    "FTD",
                    read_long(results_dir, preset, other, label, "frechet"),
                    f"{label}-2",
                    f"{label}-3",
                    f"{name}, {other}, FTD",
                    f"{_train_command(preset, label, other)}` then `{_command(preset, other, label, 'frechet')}",
                )
            )
            claims.append(architecture_claim(f"3{letters[i]}", results_dir, preset, arch, label, other))
    for i, label in enumerate(("mnist", "cifar10")):
        claims.append(consistency_claim(f"3{'ab'[i]}", longs[label], label, _command(preset, arch, label, "frechet")))
    claims.append(seed_noise_claim("3c", results_dir, preset, arch))
    claims.append(affinity_claim("4", results_dir, preset))
    for i, nas in enumerate(nas_targets("FTD")):
        runs = read_runs(results_dir, preset, nas.target, nas.baselines)
        claims.append(nas_claim(f"5{'ab'[i]}", "FTD", runs, nas.target, nas.baselines, preset))
        claims.append(nas_claim(f"5{'cd'[i]}", "FTD", runs, nas.target, nas.baselines, preset, against=("full",)))
    for distance, tags in (("frechet", "ab"), ("logdet", "cd")):
        long = longs["ldnas8"] if distance == "frechet" else read_long(results_dir, preset, arch, "ldnas8", "logdet")
        command = _command(preset, arch, "ldnas8", distance)
        claims.append(same_dataset_claim(f"6{'ab'[tags == 'cd']}", long, distance, command))
        for tag, nas in zip(tags, nas_targets("log-det")):
            claims.append(
                closest_claim(f"7{tag}", "log-det", long, nas.target, "cifar10-3", f"ldnas8, {distance}", command)
            )
    for i, nas in enumerate(nas_targets("log-det")):
        claims.append(
            nas_claim(
                f"8{'ab'[i]}",
                "log-det",
                read_runs(results_dir, preset, nas.target, nas.baselines),
                nas.target,
                nas.baselines,
                preset,
            )
        )
    return sorted(claims, key=lambda c: c.number)
