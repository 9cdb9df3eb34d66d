"""``results/<preset>/REPORT.md`` and the README's measured tables, rendered from the result files
only (never typed by hand): step-1 accuracies, the FTD matrices, the published matrices side by
side, the NAS tables, and the papers' claims decided by ``common/report/claims.py``.

Each ``*_markdown`` function returns one block of Markdown from ``results/<preset>/``; the same
blocks go into REPORT.md and between the README's ``<!-- generated:NAME -->`` markers
(``common/report/blocks.py``). The blocks hold numbers only, no times or commits, so regenerating them
from unchanged results gives the same text; REPORT.md adds the run's metadata.
"""

from __future__ import annotations

import pandas as pd

from common.experiments import DENSE_SETS, NAS_TARGETS, TRANSFER_SETS, USER_FOLDER_EXAMPLE
from common.report.markdown import row, table
from common.report.results import mean_std, read_long, read_runs
from common.store import paths
from common.studies.paired_stats import sign_flip_p
from common.studies.published import PUBLISHED
from common.studies.ranking import as_frame, closest_sources, compare
from common.tasks import TASK_SETS, TASKS

# the columns of the NAS table: nas_fuse.py's spaces and the baselines, in this order
NAS_METHODS = ("task-aware", "task-aware-warm", "full", "random", "hand-smallcnn")


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if pd.isna(std) else f" ± {std:.{digits}f}")


def published_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """Ours vs every published matrix whose tasks we have: Spearman over the off-diagonal entries and
    the closest source per target (``common/studies/ranking.py``); with our `arch` matrix, and also with our
    matrix of the published network when we have one (e.g. ResNet-18 ε-networks)."""
    lines = [
        f"Our mean matrices (preset `{preset}`) beside the published ones: Spearman rank correlation "
        "over the off-diagonal entries, and the targets whose closest source agrees.",
        "",
        *table(["published matrix", "network", "ours", "Spearman", "closest source agrees"], []),
    ]
    for name, published in PUBLISHED.items():
        label = next((s for s, members in TASK_SETS.items() if tuple(members) == published.tasks), None)
        distances = ("frechet",) if published.paper == "FTD" else ("logdet", "frechet")
        for distance in distances:
            if not label:
                lines.append(row([name, published.network, "its tasks are not in the suite", "—", "—"]))
                continue
            for ours in dict.fromkeys([arch, published.network]):  # published.network: our name
                long = read_long(results_dir, preset, ours, label, distance) if ours else None
                if long is None:
                    if ours == arch:
                        lines.append(row([name, published.network, f"{label}, {distance}, {ours}: not run", "—", "—"]))
                    continue
                result = compare(mean_std(long)[0], as_frame(published))
                lines.append(
                    row(
                        [
                            name,
                            published.network,
                            f"{label}, {distance}, {ours}",
                            f"{result['spearman']:+.2f}",
                            f"{result['closest_agree']} of {result['targets']}",
                        ]
                    )
                )
    return "\n".join(lines)


def train_markdown(results_dir, preset: str) -> str:
    path = paths.train_metrics_csv(results_dir, preset)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No step-1 results (`{path}` missing)."
    g = df.groupby(["arch", "task"])
    rows = (
        [
            task,
            arch,
            _pm(x.test_acc.mean(), x.test_acc.std(ddof=1), 4),
            len(x),
            int(x.epochs.iloc[0]),
            int(x.n_train.iloc[0]),
        ]
        for (arch, task), x in g
    )
    return "\n".join(table(["task", "network", "test acc (mean ± std)", "seeds", "epochs", "train images"], rows))


def matrix_markdown(results_dir, preset: str, label: str, distance: str, arch: str = "smallcnn") -> str:
    """Mean ± std over seeds, rows = source, columns = target; each target's closest source in bold."""
    long = read_long(results_dir, preset, arch, label, distance)
    if long is None:
        return f"No `{label}` {distance} matrix in `results/{preset}/`."
    return _matrix_table(long, label, distance)


def _matrix_table(long: pd.DataFrame, label: str, distance: str) -> str:
    mean, std = mean_std(long)
    closest = closest_sources(mean)
    lines = [
        f"`{label}`, {distance}, {long.seed.nunique()} seed(s) (rows = source, columns = target; "
        "bold: each target's closest source)",
        "",
        *table(
            ["source \\ target", *mean.columns],
            (
                [
                    a,
                    *(
                        "0"
                        if a == b
                        else (lambda t: f"**{t}**" if closest[b] == a else t)(_pm(mean.loc[a, b], std.loc[a, b], 3))
                        for b in mean.columns
                    ),
                ]
                for a in mean.index
            ),
        ),
    ]
    return "\n".join(lines)


def nas_markdown(results_dir, preset: str) -> str:
    """One row per (target, baselines): test accuracy (%) of each method, mean ± std over seeds, with
    parameters; the verdicts are in the claims."""
    rows = []
    for target, baselines in ((t.target, t.baselines) for t in NAS_TARGETS):
        runs = read_runs(results_dir, preset, target, baselines)
        if runs is None:
            rows.append([f"{target} ({baselines})", "not run", "—", *("—" for _ in NAS_METHODS)])
            continue
        cells = []
        for method in NAS_METHODS:
            g = runs[runs.method == method]
            cells.append(
                "—"
                if g.empty
                else f"{_pm(g.test_acc.mean() * 100, g.test_acc.std(ddof=1) * 100, 2)} ({g.params.mean() / 1e6:.2f} M)"
            )
        closest = runs.closest_task.dropna()
        closest = closest[closest != ""]
        rows.append([f"{target} ({baselines})", closest.iloc[0] if len(closest) else "—", runs.seed.nunique(), *cells])
    return "\n".join(
        [
            "Test accuracy (%) of the retrained networks, mean ± std over seeds (parameters); "
            "every row retrained with the same protocol (`nas/<target>_<baselines>_table.md`).",
            "",
            *table(["target (baselines)", "closest task", "seeds", *NAS_METHODS], rows),
        ]
    )


def _study_table(results_dir, preset: str, arch: str, name: str, what: str, render) -> str:
    """``render`` of a study's CSV, or one line when it is missing."""
    path = paths.study_outputs(results_dir, preset, arch, name)["csv"]
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No {what} in `results/{preset}/` (consistency_study.py)."
    return "\n".join(render(frame))


def seeds_table(summary: pd.DataFrame) -> list[str]:
    """The consistency study (a): seed-to-seed FTD of each task beside its smallest between-task FTD."""
    return table(
        ["task", "FTD between two seeds of the task", "seed pairs", "smallest FTD to another task", "ratio"],
        (
            [
                r.task,
                _pm(r.seed_distance_mean, r.seed_distance_std, 3),
                r.pairs,
                f"{r.smallest_between_tasks:.3f}",
                f"{r.ratio:.2f}",
            ]
            for r in summary.itertuples()
        ),
    )


def samples_table(sweep: pd.DataFrame) -> list[str]:
    """The consistency study (b): the matrix against the number of Fisher samples."""
    return table(
        [
            "task set",
            "Fisher samples",
            "mean seed std",
            "mean \\|d − d(most samples)\\|",
            "Spearman with most samples",
            "same closest source",
        ],
        (
            [
                r.task_set,
                r.samples,
                f"{r.mean_seed_std:.3f}",
                f"{r.mean_abs_change:.3f}",
                f"{r.spearman_vs_most:+.2f}",
                f"{r.same_closest} of {r.targets}",
            ]
            for r in sweep.itertuples()
        ),
    )


def seeds_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    return _study_table(results_dir, preset, arch, "consistency_seeds", "seed-to-seed study", seeds_table)


def samples_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    return _study_table(results_dir, preset, arch, "consistency_samples", "Fisher-samples study", samples_table)


def architectures_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The consistency study (c): per task set and target, the ordering of the sources with two networks."""
    path = paths.study_outputs(results_dir, preset, arch, "consistency_architectures")["csv"]
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No architectures study in `results/{preset}/` (consistency_study.py)."
    rows = (
        [
            label,
            f"{g.reference.iloc[0]} ({g.seeds_reference.iloc[0]}) vs {other} ({g.seeds_other.iloc[0]})",
            f"{g.spearman_all.iloc[0]:+.2f}",
            ", ".join(f"{r.target} {r.kendall_tau:+.2f}" for r in g.itertuples()),
            f"{int(g.same_closest.sum())} of {len(g)}",
        ]
        for (label, other), g in frame.groupby(["task_set", "other"], sort=False)
    )
    return "\n".join(
        table(
            ["task set", "networks (seeds)", "Spearman, all entries", "Kendall τ per target", "closest source agrees"],
            rows,
        )
    )


def logdet_study_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The log-det study (``logdet_study.py``): each estimator × distance at its best σ², best first, and
    the log-det paper's own setting (empirical Fisher, Eq. 2, the default σ²) wherever it ranks."""
    from common.fisher.distance import DEFAULT_SIGMA2

    path = paths.study_outputs(results_dir, preset, arch, "logdet_ldnas8")["csv"]
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No log-det study in `results/{preset}/` (logdet_study.py)."
    frame = frame.assign(
        default=(frame.estimator == "empirical") & (frame.distance == "logdet") & (frame.sigma2 == DEFAULT_SIGMA2)
    )
    # headline: σ² fixed before looking at the published matrix (the paper's, i.e. the reference code's)
    fixed = frame[frame.sigma2.isna() | (frame.sigma2 == DEFAULT_SIGMA2)]
    best = frame.sort_values("spearman", ascending=False).groupby(["estimator", "distance"], sort=False).head(1)
    return "\n".join(
        [
            f"At the paper's σ² = {DEFAULT_SIGMA2:g} (chosen without looking at the published matrix; the headline):",
            "",
            *logdet_table(fixed.sort_values("spearman", ascending=False)),
            "",
            "At each variant's best-agreement σ² (**selected on the evaluation target**, the published matrix: "
            "optimistic, not evidence):",
            "",
            *logdet_table(best.sort_values("spearman", ascending=False)),
        ]
    )


def logdet_table(variants: pd.DataFrame) -> list[str]:
    """The log-det study's variants (rows of ``rank_variants``, in the order given) against the published matrix;
    a ``default`` column, where present, marks the log-det paper's own setting."""

    def sigma2(r) -> str:
        return "—" if pd.isna(r.sigma2) else f"{r.sigma2:g}" + (" (default)" if getattr(r, "default", False) else "")

    return table(
        [
            "estimator",
            "distance",
            "σ²",
            "Spearman vs published (mean matrix)",
            "per seed",
            "closest source agrees",
            "the papers' equations?",
        ],
        (
            [
                r.estimator,
                r.distance,
                sigma2(r),
                f"{r.spearman:+.3f}",
                f"{r.spearman_seed_mean:+.3f} ± {r.spearman_seed_std:.3f}",
                f"{r.closest_agree} of {r.targets}",
                "yes" if r.principled else "no",
            ]
            for r in variants.itertuples()
        ),
    )


def transfer_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The transfer study per task set: mean per-target Spearman of −d and of LEEP with the gain of
    fine-tuning over scratch, and how often each score's top source is the best one."""
    lines = table(
        [
            "task set",
            "targets × sources",
            "Spearman(−d, gain)",
            "Spearman(LEEP, gain)",
            "closest by d = best",
            "best by LEEP = best",
            "mean gain (points)",
            "p: −d vs 0",
            "p: −d vs LEEP",
        ],
        [],
    )
    found = 0
    for label in TRANSFER_SETS:
        out = paths.transfer_outputs(results_dir, preset, arch, label)
        try:
            correlations = pd.read_csv(out["correlations"]).set_index("target")
            pairs = pd.read_csv(out["pairs"])
        except (OSError, ValueError):
            continue
        found += 1
        mean, per = correlations.loc["mean"], correlations.drop("mean")
        lines.append(
            row(
                [
                    label,
                    f"{len(per)} × {int(per.sources.iloc[0])}",
                    f"{mean.spearman_distance:+.2f}",
                    f"{mean.spearman_leep:+.2f}",
                    mean.closest_by_distance.replace(" best", ""),
                    mean.best_by_leep.replace(" best", ""),
                    f"{100 * pairs.gain.mean():+.1f}",
                    f"{sign_flip_p(per.spearman_distance.dropna()):.3g}",
                    f"{sign_flip_p((per.spearman_distance - per.spearman_leep).dropna()):.3g}",
                ]
            )
        )
    if not found:
        return (
            f"No transfer study in `results/{preset}/` (`.venv/bin/python transfer.py --task-set mnist "
            f"--preset {preset}`).\n"
        )
    lines += [
        "",
        "p: exact sign-flip test over targets (`common/studies/paired_stats.py`) of the per-target Spearman of −d "
        "against 0, and of its difference from LEEP's; with 4 targets no p can go below 0.125.",
    ]
    return "\n".join(lines) + "\n"


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
            rows = (
                [
                    task,
                    _pm(g.test_mse.mean(), g.test_mse.std(ddof=1), 4),
                    f"{g.test_mse_mean_target.mean():.4f}",
                    len(g),
                ]
                for task in dict.fromkeys(long.source)
                if (g := groups.get(task)) is not None
            )
            part = [
                f"**`{label}` on `{images}` images, `{arch}`** ({long.compared.iloc[0]}; "
                f"{int(long.samples.iloc[0])} Fisher samples per target)",
                "",
                *table(["task", "test MSE per pixel (mean ± std)", "predicting the mean target", "seeds"], rows),
                "",
                _matrix_table(long, label, "frechet (Gaussian Fisher)"),
                "",
                f"Atlas (metric MDS of the symmetrised matrix): stress-1 {atlas.stress.iloc[0]:.3f}, "
                f"`{out['atlas_png'].relative_to(paths.run_dir(results_dir, preset)).as_posix()}`.",
            ]
            try:
                aff = pd.read_csv(out["affinity_csv"])
                part.append(
                    f"Against the affinity CSV: mean Spearman(−d, affinity) {aff.spearman_neg_d_affinity.mean():+.2f} "
                    f"over {len(aff)} targets; closest by d = highest affinity for "
                    f"{int((aff.closest_by_d == aff.highest_affinity).sum())} of {len(aff)}."
                )
            except (OSError, ValueError):
                pass
            try:
                correlations = pd.read_csv(
                    paths.dense_transfer_outputs(results_dir, preset, arch, images, label)["correlations"]
                )
                mean = correlations.set_index("target").loc["mean"]
                part.append(
                    f"Transfer ({len(correlations) - 1} targets): mean Spearman(−d, gain) {mean.spearman_distance:+.2f}, "
                    f"Spearman(zero-shot, gain) {mean.spearman_zero_shot:+.2f}; closest by d = best for "
                    f"{mean.closest_by_distance.replace(' best', '')}, best by zero-shot = best for "
                    f"{mean.best_by_zero_shot.replace(' best', '')}."
                )
            except (OSError, ValueError, KeyError):
                pass
            sections.append("\n".join(part))
    if not sections:
        return (
            f"No dense task set in `results/{preset}/` (`.venv/bin/python train_task_taskonomy.py --preset {preset}` "
            f"then `.venv/bin/python fisher_distance_taskonomy.py --preset {preset}`).\n"
        )
    return "\n\n".join(sections) + "\n"


def user_folder_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The example user folder against the dataset it copies: per task, the test accuracies of both
    and how many (task, seed) runs agree exactly; then the distances, entry by entry."""
    folder, builtin = USER_FOLDER_EXAMPLE
    twin = {
        t.name: next(
            b.name for b in TASKS.values() if b.dataset == builtin and b.groups == t.groups and b.other == t.other
        )
        for t in TASKS.values()
        if t.dataset == folder
    }
    try:
        df = pd.read_csv(paths.train_metrics_csv(results_dir, preset))
        df = df[df.arch == arch]
    except (OSError, ValueError, AttributeError):
        return f"No step-1 results in `results/{preset}/`."
    runs = df.set_index(["task", "seed"]).test_acc
    lines = table(
        [
            "task as a user's folder",
            f"its `{builtin}` twin",
            "test acc, folder",
            f"test acc, `{builtin}`",
            "seeds equal",
        ],
        [],
    )
    for task, other in twin.items():
        mine = df[df.task == task].set_index("seed").test_acc
        theirs = df[df.task == other].set_index("seed").test_acc
        if mine.empty:
            lines.append(row([task, other, "not run", "—", "—"]))
            continue
        same = sum(1 for seed, acc in mine.items() if runs.get((other, seed)) == acc)
        lines.append(
            row(
                [
                    task,
                    other,
                    _pm(mine.mean(), mine.std(ddof=1), 4),
                    _pm(theirs.mean(), theirs.std(ddof=1), 4) if len(theirs) else "—",
                    f"{same} of {len(mine)}",
                ]
            )
        )
    a, b = (
        read_long(results_dir, preset, arch, folder, "frechet"),
        read_long(results_dir, preset, arch, builtin, "frechet"),
    )
    if a is None or b is None:
        lines += ["", f"No `{folder}` and `{builtin}` FTD matrices to compare."]
    else:
        a = a.assign(source=a.source.map(twin), target=a.target.map(twin)).set_index(["seed", "source", "target"])
        joined = a.distance.to_frame("folder").join(b.set_index(["seed", "source", "target"]).distance, how="inner")
        diff = (joined.folder - joined.distance).abs()
        lines += [
            "",
            f"FTD entries (seed, source, target) compared: {len(joined)}; identical: {int((diff == 0).sum())}; "
            f"largest difference {diff.max():.2g}.",
        ]
    return "\n".join(lines)


def plan_markdown(results_dir, preset: str) -> str:
    """``reproduce.py --plan``'s estimate per step: jobs, device-hours, and the device it was measured on."""
    try:
        plan = pd.read_csv(paths.plan_csv(results_dir, preset), dtype={"git_commit": str})  # 0872525 stays
    except (OSError, ValueError):
        return f"_No plan for preset {preset}: run `.venv/bin/python reproduce.py --preset {preset} --plan`._\n"
    # plans written before --plan timed training under --amp have no precision: fp32 then
    plan = plan.assign(precision=plan["precision"].fillna("fp32") if "precision" in plan else "fp32")
    steps = plan.groupby("step", sort=False).agg(
        jobs=("job", "nunique"),
        seconds=("seconds", "sum"),
        precision=("precision", lambda p: " + ".join(sorted(set(p)))),
    )
    lines = table(
        ["step", "jobs", "device-hours", "timed at"],
        ([step, int(r.jobs), f"{r.seconds / 3600:,.2f}", r.precision] for step, r in steps.iterrows()),
    )
    lines.append(
        f"| **all** | {int(steps.jobs.sum())} | **{steps.seconds.sum() / 3600:,.2f}** | |"
    )  # an empty last cell
    first = plan.iloc[0]
    return (
        "\n".join(lines) + f"\n\nMeasured by `reproduce.py --preset {preset} --plan` on {first.device}, "
        f"{first.date}, commit {first.git_commit}.\n"
    )
