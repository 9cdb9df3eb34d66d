"""``results/<preset>/REPORT.md`` and the README's measured tables, rendered from the result files
only (never typed by hand): step-1 accuracies, the FTD matrices, the published matrices side by
side, the NAS tables, and the papers' claims decided by ``common/claims.py``.

Each ``*_markdown`` function returns one block of Markdown from ``results/<preset>/``; the same
blocks go into REPORT.md and between the README's ``<!-- generated:NAME -->`` markers
(``common/collect.py``). The blocks hold numbers only, no times or commits, so regenerating them
from unchanged results gives the same text; REPORT.md adds the run's metadata.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

import pandas as pd

from . import paths
from .claims import NOT_REPRODUCED, all_claims, mean_std, read_long, read_runs
from .published import PUBLISHED
from .ranking import as_frame, closest_sources, compare
from .reproduce_plan import CORE_BUDGET_MIN, CORE_SECTIONS, SECTIONS, STEPS
from .tasks import TASK_SETS, TASKS

# (label of the fisher_distance.py run, distance) of the matrices the report shows, in paper order
MATRICES = (("mnist", "frechet"), ("cifar10", "frechet"), ("ldnas8", "frechet"), ("ldnas8", "logdet"))
# (target, baseline task set) of the NAS tables: FTD paper (own sets), log-det paper (ldnas8)
NAS_TABLES = (("mnist-2", "mnist"), ("cifar10-2", "cifar10"), ("mnist-3", "ldnas8"), ("cifar10-2", "ldnas8"))
NAS_METHODS = ("task-aware", "task-aware-warm", "full", "random", "hand-smallcnn")
# (a user's folder, the built-in dataset it copies): the example of common/dataset_registry.py, whose
# runs must equal the built-in ones
USER_FOLDER_EXAMPLE = ("cifar10-folder", "cifar10")


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if pd.isna(std) else f" ± {std:.{digits}f}")


def claims_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    claims = all_claims(results_dir, preset, arch)
    counts = pd.Series([c.status for c in claims]).value_counts()
    order = ("reproduced", "not reproduced", "inconclusive", "not run")
    lines = ["Claims of the papers (`../shared/PAPERS.md`), decided by `common/claims.py` from "
             f"`results/{preset}/`: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in order) + ".", "",
             "| # | paper | claim | verdict | evidence |", "|---|---|---|---|---|"]
    for c in claims:
        status = f"**{c.status.upper()}**" if c.status == NOT_REPRODUCED else c.status
        lines.append(f"| {c.number} | {c.paper} | {c.statement} | {status} | {c.evidence.replace('|', chr(92) + '|')} |")
    return "\n".join(lines)


def published_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """Ours vs every published matrix whose tasks we have: Spearman over the off-diagonal entries and
    the closest source per target (``common/ranking.py``); with our `arch` matrix, and also with our
    matrix of the published network when we have one (e.g. ResNet-18 ε-networks)."""
    lines = [f"Our mean matrices (preset `{preset}`) beside the published ones: Spearman rank correlation "
             "over the off-diagonal entries, and the targets whose closest source agrees.", "",
             "| published matrix | network | ours | Spearman | closest source agrees |", "|---|---|---|---|---|"]
    for name, published in PUBLISHED.items():
        label = next((s for s, members in TASK_SETS.items() if tuple(members) == published.tasks), None)
        distances = ("frechet",) if published.paper == "FTD" else ("logdet", "frechet")
        for distance in distances:
            if not label:
                lines.append(f"| {name} | {published.network} | its tasks are not in the suite | — | — |")
                continue
            for ours in dict.fromkeys([arch, published.network]):   # published.network: our name
                long = read_long(results_dir, preset, ours, label, distance) if ours else None
                if long is None:
                    if ours == arch:
                        lines.append(f"| {name} | {published.network} | {label}, {distance}, {ours}: not run | — | — |")
                    continue
                result = compare(mean_std(long)[0], as_frame(published))
                lines.append(f"| {name} | {published.network} | {label}, {distance}, {ours} | {result['spearman']:+.2f} | "
                             f"{result['closest_agree']} of {result['targets']} |")
    return "\n".join(lines)


def train_markdown(results_dir, preset: str) -> str:
    path = paths.train_metrics_csv(results_dir, preset)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No step-1 results (`{path}` missing)."
    g = df.groupby(["arch", "task"])
    rows = [f"| {task} | {arch} | {_pm(x.test_acc.mean(), x.test_acc.std(ddof=1), 4)} | {len(x)} | "
            f"{int(x.epochs.iloc[0])} | {int(x.n_train.iloc[0])} |" for (arch, task), x in g]
    return "\n".join(["| task | network | test acc (mean ± std) | seeds | epochs | train images |",
                      "|---|---|---|---|---|---|", *rows])


def matrix_markdown(results_dir, preset: str, label: str, distance: str, arch: str = "smallcnn") -> str:
    """Mean ± std over seeds, rows = source, columns = target; each target's closest source in bold."""
    long = read_long(results_dir, preset, arch, label, distance)
    if long is None:
        return f"No `{label}` {distance} matrix in `results/{preset}/`."
    return _matrix_table(long, label, distance)


def _matrix_table(long: pd.DataFrame, label: str, distance: str) -> str:
    mean, std = mean_std(long)
    closest = closest_sources(mean)
    lines = [f"`{label}`, {distance}, {long.seed.nunique()} seed(s) (rows = source, columns = target; "
             "bold: each target's closest source)", "",
             "| source \\ target | " + " | ".join(mean.columns) + " |", "|---" * (len(mean.columns) + 1) + "|"]
    for a in mean.index:
        cells = ["0" if a == b else (lambda t: f"**{t}**" if closest[b] == a else t)(_pm(mean.loc[a, b], std.loc[a, b], 3))
                 for b in mean.columns]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def nas_markdown(results_dir, preset: str) -> str:
    """One row per (target, baselines): test accuracy (%) of each method, mean ± std over seeds, with
    parameters; the verdicts are in the claims."""
    header = ["| target (baselines) | closest task | seeds | " + " | ".join(NAS_METHODS) + " |",
              "|---" * (len(NAS_METHODS) + 3) + "|"]
    rows = []
    for target, baselines in NAS_TABLES:
        runs = read_runs(results_dir, preset, target, baselines)
        if runs is None:
            rows.append(f"| {target} ({baselines}) | not run | — | " + " | ".join("—" for _ in NAS_METHODS) + " |")
            continue
        cells = []
        for method in NAS_METHODS:
            g = runs[runs.method == method]
            cells.append("—" if g.empty else f"{_pm(g.test_acc.mean() * 100, g.test_acc.std(ddof=1) * 100, 2)} "
                                             f"({g.params.mean() / 1e6:.2f} M)")
        closest = runs.closest_task.dropna()
        closest = closest[closest != ""]
        rows.append(f"| {target} ({baselines}) | {closest.iloc[0] if len(closest) else '—'} | {runs.seed.nunique()} | "
                    + " | ".join(cells) + " |")
    return "\n".join(["Test accuracy (%) of the retrained networks, mean ± std over seeds (parameters); "
                      "every row retrained with the same protocol (`nas/<target>_<baselines>_table.md`).", "",
                      *header, *rows])


def _study_table(results_dir, preset: str, arch: str, name: str, what: str, header: str, row) -> str:
    """A Markdown table of a study's CSV (``row``: one CSV row -> its cells), or one line when missing."""
    path = paths.study_outputs(results_dir, preset, arch, name)["csv"]
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No {what} in `results/{preset}/` (consistency_study.py)."
    return "\n".join([header, "|---" * header.count(" | ") + "|---|", *[row(r) for r in table.itertuples()]])


def seeds_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The consistency study (a): seed-to-seed FTD of each task beside its smallest between-task FTD."""
    return _study_table(
        results_dir, preset, arch, "consistency_seeds", "seed-to-seed study",
        "| task | FTD between two seeds of the task | seed pairs | smallest FTD to another task | ratio |",
        lambda r: f"| {r.task} | {_pm(r.seed_distance_mean, r.seed_distance_std, 3)} | {r.pairs} | "
                  f"{r.smallest_between_tasks:.3f} | {r.ratio:.2f} |")


def samples_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The consistency study (b): the matrix against the number of Fisher samples."""
    return _study_table(
        results_dir, preset, arch, "consistency_samples", "Fisher-samples study",
        "| task set | Fisher samples | mean seed std | mean \\|d − d(most samples)\\| | Spearman with most samples | "
        "same closest source |",
        lambda r: f"| {r.task_set} | {r.samples} | {r.mean_seed_std:.3f} | {r.mean_abs_change:.3f} | "
                  f"{r.spearman_vs_most:+.2f} | {r.same_closest} of {r.targets} |")


def architectures_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The consistency study (c): per task set and target, the ordering of the sources with two networks."""
    path = paths.study_outputs(results_dir, preset, arch, "consistency_architectures")["csv"]
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No architectures study in `results/{preset}/` (consistency_study.py)."
    lines = ["| task set | networks (seeds) | Spearman, all entries | Kendall τ per target | closest source agrees |",
             "|---|---|---|---|---|"]
    for (label, other), g in table.groupby(["task_set", "other"], sort=False):
        taus = ", ".join(f"{r.target} {r.kendall_tau:+.2f}" for r in g.itertuples())
        lines.append(f"| {label} | {g.reference.iloc[0]} ({g.seeds_reference.iloc[0]}) vs {other} ({g.seeds_other.iloc[0]}) | "
                     f"{g.spearman_all.iloc[0]:+.2f} | {taus} | {int(g.same_closest.sum())} of {len(g)} |")
    return "\n".join(lines)


def logdet_study_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The log-det study (``logdet_study.py``): each estimator × distance at its best σ², best first, and
    the log-det paper's own setting (empirical Fisher, Eq. 2, the default σ²) wherever it ranks."""
    from .distance import DEFAULT_SIGMA2
    path = paths.study_outputs(results_dir, preset, arch, "logdet_ldnas8")["csv"]
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No log-det study in `results/{preset}/` (logdet_study.py)."
    table = table.assign(default=(table.estimator == "empirical") & (table.distance == "logdet")
                         & (table.sigma2 == DEFAULT_SIGMA2))
    best = table.sort_values("spearman", ascending=False).groupby(["estimator", "distance"], sort=False).head(1)
    shown = pd.concat([best, table[table.default]]).drop_duplicates(["estimator", "distance", "sigma2"])
    lines = ["| estimator | distance | σ² | Spearman vs published (mean matrix) | per seed | closest source agrees | "
             "the papers' equations? |", "|---|---|---|---|---|---|---|"]
    for r in shown.sort_values("spearman", ascending=False).itertuples():
        sigma2 = "—" if pd.isna(r.sigma2) else f"{r.sigma2:g}" + (" (default)" if r.default else "")
        lines.append(f"| {r.estimator} | {r.distance} | {sigma2} | {r.spearman:+.3f} | "
                     f"{r.spearman_seed_mean:+.3f} ± {r.spearman_seed_std:.3f} | {r.closest_agree} of {r.targets} | "
                     f"{'yes' if r.principled else 'no'} |")
    return "\n".join(lines)


TRANSFER_SETS = ("mnist", "cifar10", "ldnas8")


def transfer_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The transfer study per task set: mean per-target Spearman of −d and of LEEP with the gain of
    fine-tuning over scratch, and how often each score's top source is the best one."""
    lines = ["| task set | targets × sources | Spearman(−d, gain) | Spearman(LEEP, gain) | closest by d = best | "
             "best by LEEP = best | mean gain (points) |", "|---|---|---|---|---|---|---|"]
    found = 0
    for label in TRANSFER_SETS:
        out = paths.transfer_outputs(results_dir, preset, arch, label)
        try:
            table = pd.read_csv(out["correlations"]).set_index("target")
            pairs = pd.read_csv(out["pairs"])
        except (OSError, ValueError):
            continue
        found += 1
        mean, per = table.loc["mean"], table.drop("mean")
        lines.append(f"| {label} | {len(per)} × {int(per.sources.iloc[0])} | {mean.spearman_distance:+.2f} | "
                     f"{mean.spearman_leep:+.2f} | {mean.closest_by_distance.replace(' best', '')} | "
                     f"{mean.best_by_leep.replace(' best', '')} | {100 * pairs.gain.mean():+.1f} |")
    if not found:
        return (f"No transfer study in `results/{preset}/` (`.venv/bin/python transfer.py --task-set mnist "
                f"--preset {preset}`).\n")
    return "\n".join(lines) + "\n"


DENSE_SETS = ("taskonomy-2d", "taskonomy")


def dense_markdown(results_dir, preset: str) -> str:
    """The dense task sets (``fisher_distance_taskonomy.py``, ``transfer_taskonomy.py``): per set and
    image source, the ε-networks' test MSE, the FTD matrix, the atlas' stress, and the transfer study."""
    sections = []
    for label in DENSE_SETS:
        for manifest in sorted(paths.run_dir(results_dir, preset).glob(f"dense/*/*/{label}_frechet.json")):
            arch, images = manifest.parent.parent.name, manifest.parent.name
            out = paths.dense_distance_outputs(results_dir, preset, arch, images, label)
            try:
                long = pd.read_csv(out["long"])
                metrics = pd.read_csv(paths.dense_train_metrics(results_dir, preset, arch, images))
                atlas = pd.read_csv(out["atlas_csv"])
            except (OSError, ValueError):
                continue
            groups = dict(list(metrics.groupby("task")))
            rows = [f"| {task} | {_pm(g.test_mse.mean(), g.test_mse.std(ddof=1), 4)} | {g.test_mse_mean_target.mean():.4f} "
                    f"| {len(g)} |" for task in dict.fromkeys(long.source) if (g := groups.get(task)) is not None]
            part = [f"**`{label}` on `{images}` images, `{arch}`** ({long.compared.iloc[0]}; "
                    f"{int(long.samples.iloc[0])} Fisher samples per target)", "",
                    "| task | test MSE per pixel (mean ± std) | predicting the mean target | seeds |", "|---|---|---|---|",
                    *rows, "", _matrix_table(long, label, "frechet (Gaussian Fisher)"), "",
                    f"Atlas (metric MDS of the symmetrised matrix): stress-1 {atlas.stress.iloc[0]:.3f}, "
                    f"`{out['atlas_png'].relative_to(paths.run_dir(results_dir, preset)).as_posix()}`."]
            try:
                aff = pd.read_csv(out["affinity_csv"])
                part.append(f"Against the affinity CSV: mean Spearman(−d, affinity) {aff.spearman_neg_d_affinity.mean():+.2f} "
                            f"over {len(aff)} targets; closest by d = highest affinity for "
                            f"{int((aff.closest_by_d == aff.highest_affinity).sum())} of {len(aff)}.")
            except (OSError, ValueError):
                pass
            try:
                table = pd.read_csv(paths.dense_transfer_outputs(results_dir, preset, arch, images, label)["correlations"])
                mean = table.set_index("target").loc["mean"]
                part.append(f"Transfer ({len(table) - 1} targets): mean Spearman(−d, gain) {mean.spearman_distance:+.2f}, "
                            f"Spearman(zero-shot, gain) {mean.spearman_zero_shot:+.2f}; closest by d = best for "
                            f"{mean.closest_by_distance.replace(' best', '')}, best by zero-shot = best for "
                            f"{mean.best_by_zero_shot.replace(' best', '')}.")
            except (OSError, ValueError, KeyError):
                pass
            sections.append("\n".join(part))
    if not sections:
        return (f"No dense task set in `results/{preset}/` (`.venv/bin/python train_task_taskonomy.py --preset {preset}` "
                f"then `.venv/bin/python fisher_distance_taskonomy.py --preset {preset}`).\n")
    return "\n\n".join(sections) + "\n"


def user_folder_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The example user folder against the dataset it copies: per task, the test accuracies of both
    and how many (task, seed) runs agree exactly; then the distances, entry by entry."""
    folder, builtin = USER_FOLDER_EXAMPLE
    twin = {t.name: next(b.name for b in TASKS.values() if b.dataset == builtin and b.groups == t.groups
                         and b.other == t.other) for t in TASKS.values() if t.dataset == folder}
    try:
        df = pd.read_csv(paths.train_metrics_csv(results_dir, preset))
        df = df[df.arch == arch]
    except (OSError, ValueError, AttributeError):
        return f"No step-1 results in `results/{preset}/`."
    runs = df.set_index(["task", "seed"]).test_acc
    lines = [f"| task as a user's folder | its `{builtin}` twin | test acc, folder | test acc, `{builtin}` | "
             "seeds equal |", "|---|---|---|---|---|"]
    for task, other in twin.items():
        mine = df[df.task == task].set_index("seed").test_acc
        theirs = df[df.task == other].set_index("seed").test_acc
        if mine.empty:
            lines.append(f"| {task} | {other} | not run | — | — |")
            continue
        same = sum(1 for seed, acc in mine.items() if runs.get((other, seed)) == acc)
        lines.append(f"| {task} | {other} | {_pm(mine.mean(), mine.std(ddof=1), 4)} | "
                     f"{_pm(theirs.mean(), theirs.std(ddof=1), 4) if len(theirs) else '—'} | {same} of {len(mine)} |")
    a, b = read_long(results_dir, preset, arch, folder, "frechet"), read_long(results_dir, preset, arch, builtin, "frechet")
    if a is None or b is None:
        lines += ["", f"No `{folder}` and `{builtin}` FTD matrices to compare."]
    else:
        a = a.assign(source=a.source.map(twin), target=a.target.map(twin)).set_index(["seed", "source", "target"])
        joined = a.distance.to_frame("folder").join(b.set_index(["seed", "source", "target"]).distance, how="inner")
        diff = (joined.folder - joined.distance).abs()
        lines += ["", f"FTD entries (seed, source, target) compared: {len(joined)}; identical: {int((diff == 0).sum())}; "
                      f"largest difference {diff.max():.2g}."]
    return "\n".join(lines)


def plan_markdown(results_dir, preset: str) -> str:
    """``reproduce.py --plan``'s estimate per step: jobs, device-hours, and the device it was measured on."""
    try:
        plan = pd.read_csv(paths.plan_csv(results_dir, preset))
    except (OSError, ValueError):
        return f"_No plan for preset {preset}: run `.venv/bin/python reproduce.py --preset {preset} --plan`._\n"
    # plans written before --plan timed training under --amp have no precision: fp32 then
    plan = plan.assign(precision=plan["precision"].fillna("fp32") if "precision" in plan else "fp32")
    steps = plan.groupby("step", sort=False).agg(jobs=("job", "nunique"), seconds=("seconds", "sum"),
                                                 precision=("precision", lambda p: " + ".join(sorted(set(p)))))
    lines = ["| step | jobs | device-hours | timed at |", "|---|---|---|---|"]
    lines += [f"| {step} | {int(r.jobs)} | {r.seconds / 3600:,.2f} | {r.precision} |" for step, r in steps.iterrows()]
    lines.append(f"| **all** | {int(steps.jobs.sum())} | **{steps.seconds.sum() / 3600:,.2f}** | |")
    first = plan.iloc[0]
    return ("\n".join(lines) + f"\n\nMeasured by `reproduce.py --preset {preset} --plan` on {first.device}, "
            f"{first.date}, commit {first.git_commit}.\n")


def blocks(results_dir, preset: str) -> dict[str, str]:
    """Every generated block, by the name the README's markers use."""
    out = {"claims": claims_markdown(results_dir, preset), "published": published_markdown(results_dir, preset),
           "train": train_markdown(results_dir, preset), "nas": nas_markdown(results_dir, preset),
           "consistency-seeds": seeds_markdown(results_dir, preset),
           "consistency-samples": samples_markdown(results_dir, preset),
           "consistency-architectures": architectures_markdown(results_dir, preset),
           "logdet-study": logdet_study_markdown(results_dir, preset),
           "plan": plan_markdown(results_dir, preset), "transfer": transfer_markdown(results_dir, preset),
           "dense": dense_markdown(results_dir, preset), "user-folder": user_folder_markdown(results_dir, preset)}
    for label, distance in MATRICES:
        out[f"matrix-{label}-{distance}"] = matrix_markdown(results_dir, preset, label, distance)
    return out


def _metadata(results_dir, preset: str, log: dict | None) -> list[str]:
    from .provenance import git_commit   # imports torch: only when a report is written
    import torch
    lines = [f"- suite commit: `{git_commit()}` (`-dirty`: uncommitted changes when the report was written)",
             f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}"]
    if log:
        # entries kept from earlier runs carry their own machine (logs before 2026-11-30: only the last run's)
        machines = sorted({f"{s.get('device', log.get('device', '?'))}, {s.get('threads', log.get('threads', '?'))} "
                           "thread(s)" for s in log.get("steps", [])}) or [f"{log.get('device', '?')}"]
        lines.append(f"- reproduce.py run{'s' if len(machines) > 1 else ''}: {'; '.join(machines)}, "
                     f"data root `{log.get('data_root', '?')}`")
        for name, identity in log.get("data", {}).items():
            lines.append(f"- data `{name}`: identity {identity}")
        steps = log.get("steps", [])
        total = sum(s["seconds"] for s in steps)
        peak = max((s.get("peak_rss_gib", 0.0) for s in steps), default=0.0)
        section_of = {step.name: step.section for step in STEPS}
        order = {step.name: i for i, step in enumerate(STEPS)}
        steps = sorted(steps, key=lambda s: order.get(s["step"], len(order)))     # paper order
        per_section = {name: sum(s["seconds"] for s in steps if section_of.get(s["step"], "other") == name)
                       for name in (*SECTIONS, "other")}      # other: a step no longer in reproduce_plan.STEPS
        lines += [f"- wall time of the steps: {total:.0f} s in all (partial entries included); peak RSS of the reproduce.py process: {peak:.2f} GiB "
                  "(launcher jobs run in their own processes)",
                  "- per section: " + ", ".join(f"{name} {sec:.0f} s" for name, sec in per_section.items() if sec)]
        if preset == "cpu":     # the budget is the cpu preset's (issue 12)
            core_steps = [step.name for step in STEPS if step.section in CORE_SECTIONS]
            full = [s for s in steps if s["step"] in core_steps and not _partial(s)]
            partial = sum(s["step"] in core_steps and _partial(s) for s in steps)
            core = sum(s["seconds"] for s in full)
            lines[-1] += (f"; the core ({', '.join(CORE_SECTIONS)}): {core:.0f} s = {core / 60:.0f} min, "
                          f"{len(full)} of its {len(core_steps)} steps logged"
                          + (f" (and {partial} partial, left out)" if partial else "")
                          + f" (budget on 2 CPU cores: {CORE_BUDGET_MIN} min)")
        lines += ["", "| step | section | launcher | wall time (s) | computed / reused | peak RSS so far (GiB) | finished |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {s['step']} | {section_of.get(s['step'], 'other')} | {s.get('launcher', '?')} | {s['seconds']:.0f} | "
                  f"{_work(s)} | {s.get('peak_rss_gib', float('nan')):.2f} | {s['finished']} |" for s in steps]
        if any(_partial(s) for s in steps):
            lines.append("\n_partial_: the step finished an earlier run's work (it reused stored results of that run), "
                         "so its seconds are a share of what it costs; rerun it into an empty `--results-dir` for its full time.")
    else:
        lines.append("- no `reproduce_log.json`: the results were made by the step scripts one by one "
                     "(their files carry their own provenance)")
    metrics = paths.train_metrics_csv(results_dir, preset)
    if metrics.is_file():
        df = pd.read_csv(metrics)
        lines.append(f"- step 1 ran on: {', '.join(sorted(df.device.astype(str).unique()))}; commits "
                     f"{', '.join(sorted(df.git_commit.astype(str).unique()))}")
    return lines


def _partial(entry: dict) -> bool:
    """A log entry of a step that reused results of an earlier run: its seconds are a share of its cost."""
    return (entry.get("reused") or 0) > 0


def _work(entry: dict) -> str:
    """The log entry's computed / reused counts (results, or launched jobs), when the log has them."""
    if "computed" not in entry:
        return "–"
    return f"{entry['computed']} / {entry.get('reused', '?')}" + (" (partial)" if _partial(entry) else "")


def read_log(results_dir, preset: str) -> dict | None:
    try:
        return json.loads(paths.reproduce_log(results_dir, preset).read_text())
    except (OSError, ValueError):
        return None


def report_markdown(results_dir, preset: str) -> str:
    b = blocks(results_dir, preset)
    run = paths.run_dir(results_dir, preset)
    heatmaps = sorted(run.glob("distances/*/*_mean.png"))
    nas_tables = sorted(run.glob("nas/*_table.md"))
    studies = sorted(run.glob("studies/*/*.md"))
    lines = [f"# ftd-nas report, preset `{preset}`", "",
             "Generated by `collect.py` / `reproduce.py` from the files under this folder; do not edit "
             "(rerun `.venv/bin/python collect.py --preset " + preset + "`).", "",
             "## Claims", "",
             *(["The `smoke` preset trains on tiny subsets for seconds: its verdicts test the code path, "
                "not the papers.", ""] if preset == "smoke" else []),
             b["claims"], "",
             "## Run", "", *_metadata(results_dir, preset, read_log(results_dir, preset)), "",
             "## Step 1: ε-networks", "", b["train"], "",
             "## Step 2: Fisher task distances", ""]
    for label, distance in MATRICES:
        lines += [b[f"matrix-{label}-{distance}"], ""]
    lines += ["Heatmaps:", ""] + [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in heatmaps] + [""]
    lines += ["## The published matrices side by side", "", b["published"], "",
              "## Consistency: two seeds of one task", "", b["consistency-seeds"], "",
              "## Consistency: number of Fisher samples", "", b["consistency-samples"], "",
              "## Consistency: two ε-network architectures", "", b["consistency-architectures"], ""]
    if studies:
        lines += ["Studies: " + ", ".join(f"[{p.stem}]({p.relative_to(run).as_posix()})" for p in studies), ""]
    lines += ["## Step 3: task-aware NAS", "", b["nas"], "",
              "Full tables (per-seed genotypes, verdicts, α-rank): "
              + (", ".join(f"[{p.stem}]({p.relative_to(run).as_posix()})" for p in nas_tables) or "none"), ""]
    transfer = sorted(run.glob("transfer/*/*_scatter.png"))
    lines += ["## Transfer: does a small distance mean a good transfer?", "", b["transfer"], ""]
    lines += [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in transfer] + [""]
    dense = sorted(run.glob("dense/*/*/*_frechet_mean.png")) + sorted(run.glob("dense/*/*/*_atlas.png"))
    lines += ["## Your own images: CIFAR-10 registered as a user's folder", "", b["user-folder"], ""]
    lines += ["## Dense tasks: Taskonomy and the derived taskonomy-2d set", "", b["dense"], ""]
    lines += [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in dense] + [""]
    return "\n".join(lines)


def write_report(results_dir, preset: str) -> Path:
    from .io import atomic_write_text
    path = paths.report_path(results_dir, preset)
    atomic_write_text(report_markdown(results_dir, preset), path)
    return path
