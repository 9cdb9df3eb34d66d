"""The transfer study's tables and figure: per (source, target) the mean gain of fine-tuning over
scratch (``common/transfer_learning/runs.py``; dense tasks: ``common/dense/transfer_runs.py``) beside d(source→target)
and an alternative score (LEEP; for dense tasks the zero-shot score); per target, the Spearman
correlation of −d and of the alternative with the gain over its sources (a good score ranks the
sources as the gain does: +1)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from common.report.markdown import row
from common.report.markdown import table as markdown_table
from common.store.io import atomic_write, atomic_write_csv, atomic_write_text  # noqa: E402
from common.studies.ranking import spearman  # noqa: E402


@dataclass(frozen=True)
class Scores:
    """What a study measures: ``metric`` (a run's column, higher = better; gain = fine-tuned − scratch),
    how gains are printed (× ``scale``, in ``unit``), and the alternative score's column and name."""

    metric: str
    metric_label: str
    scale: float
    unit: str
    alt: str
    alt_label: str


CLASSIFICATION = Scores("test_acc", "test accuracy", 100, "points", "leep", "LEEP")


def pair_table(runs: pd.DataFrame, distances: pd.DataFrame, scores: Scores = CLASSIFICATION) -> pd.DataFrame:
    """One row per ordered pair (source ≠ target): mean ± std over seeds of the fine-tuned and scratch
    test accuracies and of the gain, mean LEEP, and d(source→target) from the mean matrix
    ``distances`` (rows = source, columns = target)."""
    m = scores.metric
    scratch = runs[runs.source == "scratch"].set_index(["target", "seed"])[m]
    tuned = runs[(runs.source != "scratch") & (runs.source != runs.target)].copy()
    tuned["scratch"] = [scratch.get((t, s), float("nan")) for t, s in zip(tuned.target, tuned.seed)]
    tuned["gain"] = tuned[m] - tuned.scratch
    short = "acc" if m == "test_acc" else m  # classification keeps its column names
    pairs = (
        tuned.groupby(["source", "target"], sort=False)
        .agg(
            seeds=("seed", "count"),
            **{f"finetuned_{short}": (m, "mean"), f"scratch_{short}": ("scratch", "mean")},
            gain=("gain", "mean"),
            gain_std=("gain", "std"),
            **{scores.alt: (scores.alt, "mean")},
        )
        .reset_index()
    )
    pairs["distance"] = [float(distances.loc[a, b]) for a, b in zip(pairs.source, pairs.target)]
    return pairs


def correlations(pairs: pd.DataFrame, scores: Scores = CLASSIFICATION) -> pd.DataFrame:
    """Per target: Spearman(−d, gain) and Spearman(alternative, gain) over its sources, the closest
    source by d, the best by the alternative and by gain; a last row "mean" averages the per-target
    correlations."""
    alt, rho_alt, best_alt = scores.alt, f"spearman_{scores.alt}", f"best_by_{scores.alt}"
    rows = []
    for target, group in pairs.groupby("target", sort=False):
        g = group.set_index("source")
        rows.append(
            {
                "target": target,
                "sources": len(g),
                "spearman_distance": spearman(-g.distance, g.gain),
                rho_alt: spearman(g[alt], g.gain),
                "closest_by_distance": g.distance.idxmin(),
                best_alt: g[alt].idxmax(),
                "best_by_gain": g.gain.idxmax(),
                "best_gain": g.gain.max(),
                "gain_std_max": g.gain_std.max(),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    [
                        {
                            "target": "mean",
                            "sources": int(table.sources.sum()),
                            "spearman_distance": table.spearman_distance.mean(),
                            rho_alt: table[rho_alt].mean(),
                            "closest_by_distance": f"{int((table.closest_by_distance == table.best_by_gain).sum())} of {len(table)} best",
                            best_alt: f"{int((table[best_alt] == table.best_by_gain).sum())} of {len(table)} best",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    return table


def correlations_markdown(table: pd.DataFrame, title: str, scores: Scores = CLASSIFICATION) -> str:
    def f(v):
        return "—" if pd.isna(v) else f"{v:+.2f}"

    a = scores.alt_label
    lines = [
        f"{title}\n",
        *markdown_table(
            [
                "target",
                "sources",
                "Spearman(−d, gain)",
                f"Spearman({a}, gain)",
                "closest by d",
                f"best by {a}",
                f"best by gain (gain, {scores.unit})",
            ],
            [],
        ),
    ]
    for r in table.to_dict("records"):
        best = "" if pd.isna(r["best_gain"]) else f"{r['best_by_gain']} ({scores.scale * r['best_gain']:+.1f})"
        lines.append(
            row(
                [
                    r["target"],
                    r["sources"],
                    f(r["spearman_distance"]),
                    f(r[f"spearman_{scores.alt}"]),
                    r["closest_by_distance"],
                    r[f"best_by_{scores.alt}"],
                    best,
                ]
            )
        )
    return "\n".join(lines) + "\n"


def scatter(pairs: pd.DataFrame, table: pd.DataFrame, path, title: str, scores: Scores = CLASSIFICATION) -> None:
    """Gain against d(source→target) and against the alternative score, one colour per target."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    mean = table.set_index("target").loc["mean"] if "mean" in set(table.target) else None
    k = scores.scale
    for ax, column, label, key in (
        (axes[0], "distance", "FTD d(source → target)", "spearman_distance"),
        (
            axes[1],
            scores.alt,
            f"{scores.alt_label}(source → target) (higher: better expected)",
            f"spearman_{scores.alt}",
        ),
    ):
        for target, group in pairs.groupby("target", sort=False):
            ax.errorbar(
                group[column], k * group.gain, yerr=k * group.gain_std.fillna(0), fmt="o", capsize=2, label=target
            )
            for r in group.to_dict("records"):
                ax.annotate(
                    r["source"], (r[column], k * r["gain"]), fontsize=6, xytext=(3, 2), textcoords="offset points"
                )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(label)
        if mean is not None:
            ax.set_title(
                f"mean per-target Spearman with the gain: {mean[key]:+.2f}"
                + (" (of −d)" if column == "distance" else ""),
                fontsize=9,
            )
    axes[0].set_ylabel(f"gain: fine-tuned − scratch {scores.metric_label} ({scores.unit})")
    axes[1].legend(title="target", fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(
        f"{title}\n(one point per source → target pair, labelled with the source; bars: std over seeds)", fontsize=10
    )
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def write_outputs(
    runs: pd.DataFrame, pairs: pd.DataFrame, table: pd.DataFrame, out: dict, title: str, scores: Scores = CLASSIFICATION
) -> None:
    atomic_write_csv(pairs, out["pairs"])
    atomic_write_csv(table, out["correlations"])
    atomic_write_text(correlations_markdown(table, title, scores), out["md"], seal=True)
    scatter(pairs, table, out["png"], title, scores)
