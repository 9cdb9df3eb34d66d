"""The studies' report blocks (as ``common/report/tables.py``'s, from ``results/<preset>/studies/`` only): the
consistency study (seed to seed, Fisher sample sizes, architectures), the log-det study and the α-rank study of
NAS (``results/<preset>/nas/alpha_rank.csv``); ``seeds_table``, ``samples_table``, ``logdet_table`` and
``alpha_rank_table`` also render the studies' own Markdown files."""

from __future__ import annotations

import pandas as pd

from common.fisher.distance import DEFAULT_SIGMA2
from common.report.markdown import mean_pm, table
from common.store import paths


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
                mean_pm(r.seed_distance_mean, r.seed_distance_std, 3),
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


def alpha_rank_table(curve: pd.DataFrame) -> list[str]:
    """The α-rank study (``common/studies/alpha_rank.py``): per search budget, Spearman(α, stand-alone accuracy)
    with its interval, the in-mixture Spearman, the preset's whole search's minutes and the rule's verdict."""
    return table(
        [
            "search budget",
            "targets × seeds",
            "Spearman α vs stand-alone (95 % interval)",
            "α vs in-mixture accuracy",
            "whole search (min)",
            "verdict",
        ],
        (
            [
                f"{r.images} images × {r.epochs} epoch(s)",
                r.units,
                f"{r.rho_alone:+.2f} [{r.rho_alone_low:+.2f}, {r.rho_alone_high:+.2f}]",
                f"{r.rho_mixture:+.2f}",
                f"{r.search_minutes:.1f}",
                r.verdict,
            ]
            for r in curve.itertuples()
        ),
    )


def alpha_rank_markdown(results_dir, preset: str) -> str:
    path = paths.alpha_rank_outputs(results_dir, preset)["csv"]
    try:
        curve = pd.read_csv(path)
    except (OSError, ValueError):
        return (
            f"No α-rank study in `results/{preset}/`: `.venv/bin/python alpha_rank_study.py --preset {preset} "
            "--data-root ../shared/data` runs it."
        )
    return "\n".join(alpha_rank_table(curve))
