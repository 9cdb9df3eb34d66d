"""The applications' report blocks (as ``common/report/tables.py``'s, from the result files only): the NAS tables
of the papers' targets, the transfer study, and the dense (Taskonomy) tasks."""

from __future__ import annotations

import pandas as pd

from common.experiments import DENSE_SETS, NAS_TARGETS, TRANSFER_SETS
from common.report.markdown import mean_pm, row, table
from common.report.results import read_runs
from common.report.tables import matrix_table
from common.store import paths
from common.studies.paired_stats import sign_flip_p

# the columns of the NAS table: nas_fuse.py's spaces and the baselines, in this order
NAS_METHODS = ("task-aware", "task-aware-warm", "full", "random", "hand-smallcnn")


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
                else f"{mean_pm(g.test_acc.mean() * 100, g.test_acc.std(ddof=1) * 100, 2)} ({g.params.mean() / 1e6:.2f} M)"
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
                    mean_pm(g.test_mse.mean(), g.test_mse.std(ddof=1), 4),
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
                matrix_table(long, label, "frechet (Gaussian Fisher)"),
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
