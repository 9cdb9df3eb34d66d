"""Every claim the suite decides, in order: the papers' claims (``section`` "papers", counted once each)
and the suite's own checks ("beyond the papers": the seed-to-seed check, the noise floors, TA-NAS against
the full space, the benchmark), the checks of the code (true by construction, listed apart), plus the
head-confound and label controls of claims 2, 6 and 7 (the same rules on the body-only, label-permuted,
label-shuffled and cross-seed matrices).
The rules are ``common/report/rules.py``'s."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from common.experiments import benchmark_pool, nas_targets
from common.presets import train_config
from common.report import claims as c
from common.report import margin_claims as m
from common.report.network_claims import network_claims
from common.report.results import margin_variant, mean_std, read_long, read_runs
from common.report.rules import rule
from common.store import paths
from common.store.cache import read_entry
from common.tasks import TASK_SETS
from common.transferability.report import read_scopes, scope_verdict, verdicts

# the controls of the head confound: (file-name variant of fisher_distance.py, what the column says)
CONTROLS = (
    ("_body", "body-only (head left out)"),
    ("_labels-permuted", "target labels permuted"),
    ("_labels-shuffled", "target labels shuffled"),
    ("_cross-seed", "cross-seed (no shared initial weights)"),
)


def noise_floor(results_dir, preset: str, arch: str, label: str, measure: str = "frechet") -> dict | None:
    """The noise-floor summary of a task set's matrix (``noise_floor.py``), or None when missing,
    unreadable, or made from other networks than the matrix's (then the floor does not describe it)."""
    stem = paths.study_outputs(results_dir, preset, arch, f"noise_floor_{label}")["csv"]
    entry = read_entry(stem.with_suffix(".json"), "json", "noise floor")
    matrix = read_entry(
        paths.distance_outputs(results_dir, preset, arch, label, measure, "empirical")["manifest"],
        "json",
        "distance manifest",
    )
    try:
        floor, networks = entry["value"][measure], entry["key"]["networks"]
        used = matrix["key"]["networks"]
        float(floor["floor"])
    except (TypeError, KeyError, ValueError):
        return None
    return floor if all(networks.get(name) == run for name, run in used.items()) else None


def _floor_command(preset: str, label: str) -> str:
    return f"{c.PY} noise_floor.py --preset {preset} --task-set {label} --data-root <data>"


def _same_closest_entries(ldnas8: pd.DataFrame | None, own: pd.DataFrame | None, target: str) -> bool:
    """Whether the ldnas8 claim on ``target`` is decided by the same entries as its own task set's claim:
    the closest source in ldnas8 is one of the own set's tasks and those entries are the same numbers."""
    if ldnas8 is None or own is None:
        return False
    big, small = mean_std(ldnas8)[0], mean_std(own)[0]
    if target not in big.columns or target not in small.columns:
        return False
    column = big[target].drop(target)
    shared = [s for s in small.index if s in column.index and s != target]
    return column.idxmin() in shared and all(abs(column[s] - small.loc[s, target]) < 1e-9 for s in shared)


def shared_runs(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame | None:
    """The runs of two NAS tables that are one comparison: every run of the seeds they share the same in
    both (method, seed, genotype, test accuracy). Returns the runs of every seed of either (the shared
    claim is decided on all of them), or None when they share no seed or differ on one."""
    cols = ["method", "seed", "genotype", "test_acc"]
    if a is None or b is None or not set(cols) <= set(a.columns) & set(b.columns):
        return None
    shared = set(a.seed) & set(b.seed)
    if not shared:
        return None
    key = lambda f: f[f.seed.isin(shared)][cols].sort_values(["method", "seed"]).reset_index(drop=True)  # noqa: E731
    if not key(a).equals(key(b)):
        return None
    return pd.concat([b, a[~a.seed.isin(set(b.seed))]], ignore_index=True)


def margin_command(preset: str) -> str:
    return f"{c.PY} reproduce.py --preset {preset} --sections margins --data-root <data>"


def paper_claims(results_dir, preset: str, arch: str, variant: str = "") -> list[c.Claim]:
    """Claims 1-8 of PAPERS.md. ``variant``: a control's matrices (claims 2, 6, 7 only make sense there).
    Claims 1, 2, 6 and 7 read the six-seed matrices (``paths.margin_results``) and test their per-seed margins
    (``common/report/margin_claims.py``); the ordering claims read the preset's own matrices."""
    out: list[c.Claim] = []

    def long(label, distance="frechet", network=arch):
        return read_long(results_dir, preset, network, label, distance, variant=variant)

    def margin_long(label, distance="frechet"):
        return read_long(
            paths.margin_results(results_dir),
            preset,
            arch,
            label,
            distance,
            variant=margin_variant(preset, arch) + variant,
        )

    longs = {label: long(label) for label in ("mnist", "cifar10", "ldnas8")}
    six = {label: margin_long(label) for label in ("mnist", "cifar10", "ldnas8")}
    for i, label in enumerate(("mnist", "cifar10")):
        out.append(m.asymmetry_margin_claim(f"1{'ab'[i]}", six[label], label, margin_command(preset)))
        out.append(
            c.construction_check(f"C1{'ab'[i]}", longs[label], label, c._command(preset, arch, label, "frechet"))
        )
    for i, (label, name) in enumerate((("mnist", "MNIST"), ("cifar10", "CIFAR-10"))):
        out.append(
            m.closest_margin_claim(
                f"2{'ab'[i]}",
                "FTD",
                six[label],
                f"{label}-2",
                f"{label}-3",
                f"{name}, {arch}, FTD",
                margin_command(preset),
            )
        )
    out.append(
        m.closest_margin_claim(
            "2c",
            "FTD",
            long("cifar100"),
            "cifar100-2",
            "cifar100-3",
            f"CIFAR-100, {arch}, FTD",
            f"{c._train_command(preset, 'cifar100', arch)}` then `{c._command(preset, arch, 'cifar100', 'frechet')}",
        )
    )
    # the papers' networks (section arch-<network>): 2d-2i and 3d-3i
    out += network_claims(results_dir, preset, arch, variant, longs)
    for i, label in enumerate(("mnist", "cifar10")):
        out.append(c.consistency_claim(f"3{'ab'[i]}", longs[label], label, c._command(preset, arch, label, "frechet")))
    out.append(c.affinity_claim("4", results_dir, preset))
    ftd_runs = {}
    for i, nas in enumerate(nas_targets("FTD")):
        ftd_runs[nas.target] = runs = read_runs(results_dir, preset, nas.target, nas.baselines)
        out.append(c.nas_claim(f"5{'ab'[i]}", "FTD", runs, nas.target, nas.baselines, preset))
    for distance, tags in (("frechet", "ab"), ("logdet", "cd")):
        ld = six["ldnas8"] if distance == "frechet" else margin_long("ldnas8", "logdet")
        command = margin_command(preset)
        out.append(m.same_dataset_margin_claim(f"6{'ab'[tags == 'cd']}", ld, distance, command))
        for tag, nas in zip(tags, nas_targets("log-det")):
            own = next((s for s in ("mnist", "cifar10") if nas.target in TASK_SETS[s]), None)
            same = tag == "b" and _same_closest_entries(ld, six.get(own), nas.target)
            out.append(
                m.closest_margin_claim(
                    f"7{tag}",
                    "log-det",
                    ld,
                    nas.target,
                    "cifar10-3",
                    f"ldnas8, {distance}",
                    command,
                    same_runs_as="2b" if same else "",
                )
            )
    for i, nas in enumerate(nas_targets("log-det")):
        runs = read_runs(results_dir, preset, nas.target, nas.baselines)
        twin = next((f"5{'ab'[k]}" for k, t in enumerate(nas_targets("FTD")) if t.target == nas.target), "")
        merged = shared_runs(runs, ftd_runs.get(nas.target)) if twin else None
        if merged is None:
            twin = ""
        else:
            runs = merged  # one comparison with 5's: decided on every seed of either
        out.append(c.nas_claim(f"8{'ab'[i]}", "log-det", runs, nas.target, nas.baselines, preset, same_runs_as=twin))
    return out


def beyond_claims(results_dir, preset: str, arch: str) -> list[c.Claim]:
    """The suite's own checks: not claims of the papers."""
    seeds = len(train_config(preset, "mnist", arch=arch).seeds)
    out = [c.seed_noise_claim("B1", results_dir, preset, arch, seeds)]
    for letter, label in zip("abc", ("mnist", "cifar10", "ldnas8")):
        out.append(
            c.noise_floor_claim(
                f"B2{letter}", label, noise_floor(results_dir, preset, arch, label), _floor_command(preset, label)
            )
        )
    for i, nas in enumerate(nas_targets("FTD")):
        runs = read_runs(results_dir, preset, nas.target, nas.baselines)
        claim = c.nas_claim(f"B3{'ab'[i]}", "suite", runs, nas.target, nas.baselines, preset, against=("full",))
        out.append(replace(claim, section=c.BEYOND))
    out += benchmark_claims(results_dir, preset)
    return out


def benchmark_claims(results_dir, preset: str, label: str | None = None) -> list[c.Claim]:
    """The FTD paper's transfer application on the benchmark (``transferability.py``): does the FTD rank the
    sources of a target like their fine-tuning accuracy, better than chance, LEEP, LogME and the same-dataset
    baseline (B4a-d, over all sources), better than chance within the target's own dataset, where "same
    dataset" says nothing (B4e), and better than OTDD, its task-distance peer (B4f)? Weighted τ per target, exact sign-flip test over targets, Holm over FTD's
    comparisons with every scorer (in B4e: within that scope), p < 0.05. ``label``: the pool (default: the preset's)."""
    label = label or benchmark_pool(preset)
    out = paths.benchmark_outputs(results_dir, preset, label)
    try:
        board = pd.read_csv(out["leaderboard"])
    except (OSError, ValueError):
        board = None
    scope = read_scopes(out["scopes"])
    command = f"{c.PY} transferability.py --preset {preset} --data-root <data>"
    found = verdicts(board) if board is not None else {}
    claims = []
    for letter, other, what, v in (
        ("a", "random", "chance (random scores)", found.get("random")),
        ("b", "leep", "LEEP", found.get("leep")),
        ("c", "logme", "LogME", found.get("logme")),
        (
            "d",
            "same-dataset",
            "the same-dataset baseline (1 when the source's dataset is the target's)",
            found.get("same-dataset"),
        ),
        (
            "e",
            "random",
            "chance within the target's own dataset (only its sources)",
            scope_verdict(scope, "random") if scope is not None else None,
        ),
        ("f", "otdd", "OTDD, a distance between the two tasks' samples (Alvarez-Melis & Fusi 2020)", found.get("otdd")),
    ):
        statement = f"FTD ranks a target's sources by fine-tuning accuracy better than {what} ({label}, weighted τ)"
        if v is None or v["verdict"] == "not run":
            by_scope = letter == "e" and board is not None  # the benchmark ran, its by-scope table is missing
            what_missing = "no leaderboard by scope" if by_scope else "no benchmark"
            how = f"{c.PY} transferability.py --preset {preset} --tables-only" if by_scope else command
            claims.append(
                c.not_run(f"B4{letter}", "suite", statement, f"{what_missing}; make it: `{how}`", section=c.BEYOND)
            )
            continue
        significant = v["p_holm"] < rule("benchmark").alpha
        status = c.INCONCLUSIVE if not significant else c.REPRODUCED if v["ftd_minus_other"] > 0 else c.NOT_REPRODUCED
        evidence = (
            f"weighted τ FTD {v['ftd_mean']:+.2f} vs {other} {v['other_mean']:+.2f} (mean over targets), "
            f"difference {v['ftd_minus_other']:+.2f}, exact sign-flip p = {v['p_value']:.3g}, Holm over FTD's "
            f"{v['family']} comparisons {v['p_holm']:.3g}: {v['verdict']}"
        )
        claims.append(c.Claim(f"B4{letter}", "suite", statement, status, evidence, section=c.BEYOND))
    return claims


def all_claims(results_dir, preset: str, arch: str = "smallcnn") -> list[c.Claim]:
    """Every claim of PAPERS.md that the suite can check and its own checks, from ``results/<preset>/``;
    on ``smoke`` every verdict is "code path checked"."""
    claims = sorted(paper_claims(results_dir, preset, arch), key=lambda x: x.number) + beyond_claims(
        results_dir, preset, arch
    )
    if preset == "smoke":
        claims = [x if x.status == c.NOT_RUN else replace(x, status=c.CODE_PATH_CHECKED) for x in claims]
    return claims


def counted(claims: list[c.Claim]) -> list[c.Claim]:
    """The papers' claims each counted once (not the suite's checks, not the checks of the code, not a repeat of
    another claim's runs)."""
    return [x for x in claims if x.section == c.PAPERS and not x.same_runs_as]


def control_rows(results_dir, preset: str, arch: str = "smallcnn") -> list[tuple[c.Claim, list[c.Claim]]]:
    """Claims 2, 6 and 7 on the papers' protocol beside the same rules on each control's matrices."""
    # the default network's, then the closest-source claims of the FTD paper's networks (2d-2i) on their matrices
    numbers = ("2a", "2b", "6a", "6b", "7a", "7b", "7c", "7d", "2d", "2e", "2f", "2g", "2h", "2i")
    main = {x.number: x for x in paper_claims(results_dir, preset, arch)}
    controls = [{x.number: x for x in paper_claims(results_dir, preset, arch, variant)} for variant, _ in CONTROLS]
    rows = [(main[n], [ctl[n] for ctl in controls]) for n in numbers]
    if preset == "smoke":
        smoke = lambda x: x if x.status == c.NOT_RUN else replace(x, status=c.CODE_PATH_CHECKED)  # noqa: E731
        rows = [(smoke(m), [smoke(x) for x in ctl]) for m, ctl in rows]
    return rows


def padded_share(results_dir, preset: str, arch: str = "smallcnn") -> dict | None:
    """For the ldnas8 log-det matrix: the mean share of the sum that comes from zero-padded head entries,
    over all ordered pairs and over the pairs whose heads differ."""
    long = read_long(results_dir, preset, arch, "ldnas8", "logdet")
    if long is None or "padded_share" not in long:
        return None
    unequal = long[long.padded_share > 0]
    return {
        "all": float(long.padded_share.mean()),
        "unequal": float(unequal.padded_share.mean()) if len(unequal) else 0.0,
        "pairs_unequal": int(len(unequal)),
        "pairs": int(len(long)),
    }
