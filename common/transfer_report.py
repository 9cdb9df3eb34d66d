"""The transfer study's tables and figure: per (source, target) the mean gain of fine-tuning over
scratch (``common/transfer.py``) beside d(source→target) and LEEP; per target, the Spearman
correlation of −d and of LEEP with the gain over its sources (a good score ranks the sources as the
gain does: +1)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_write, atomic_write_csv, atomic_write_text  # noqa: E402
from .ranking import spearman  # noqa: E402


def pair_table(runs: pd.DataFrame, distances: pd.DataFrame) -> pd.DataFrame:
    """One row per ordered pair (source ≠ target): mean ± std over seeds of the fine-tuned and scratch
    test accuracies and of the gain, mean LEEP, and d(source→target) from the mean matrix
    ``distances`` (rows = source, columns = target)."""
    scratch = runs[runs.source == "scratch"].set_index(["target", "seed"]).test_acc
    tuned = runs[(runs.source != "scratch") & (runs.source != runs.target)].copy()
    tuned["scratch_acc"] = [scratch.get((t, s), float("nan")) for t, s in zip(tuned.target, tuned.seed)]
    tuned["gain"] = tuned.test_acc - tuned.scratch_acc
    pairs = (tuned.groupby(["source", "target"], sort=False)
             .agg(seeds=("seed", "count"), finetuned_acc=("test_acc", "mean"), scratch_acc=("scratch_acc", "mean"),
                  gain=("gain", "mean"), gain_std=("gain", "std"), leep=("leep", "mean"))
             .reset_index())
    pairs["distance"] = [float(distances.loc[a, b]) for a, b in zip(pairs.source, pairs.target)]
    return pairs


def correlations(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per target: Spearman(−d, gain) and Spearman(LEEP, gain) over its sources, the closest source by d,
    the best by LEEP and by gain; a last row "mean" averages the per-target correlations."""
    rows = []
    for target, group in pairs.groupby("target", sort=False):
        g = group.set_index("source")
        rows.append({"target": target, "sources": len(g),
                     "spearman_distance": spearman(-g.distance, g.gain), "spearman_leep": spearman(g.leep, g.gain),
                     "closest_by_distance": g.distance.idxmin(), "best_by_leep": g.leep.idxmax(),
                     "best_by_gain": g.gain.idxmax(), "best_gain": g.gain.max(), "gain_std_max": g.gain_std.max()})
    table = pd.DataFrame(rows)
    if len(table):
        table = pd.concat([table, pd.DataFrame([{
            "target": "mean", "sources": int(table.sources.sum()),
            "spearman_distance": table.spearman_distance.mean(), "spearman_leep": table.spearman_leep.mean(),
            "closest_by_distance": f"{int((table.closest_by_distance == table.best_by_gain).sum())} of {len(table)} best",
            "best_by_leep": f"{int((table.best_by_leep == table.best_by_gain).sum())} of {len(table)} best"}])],
            ignore_index=True)
    return table


def correlations_markdown(table: pd.DataFrame, title: str) -> str:
    def f(v):
        return "—" if pd.isna(v) else f"{v:+.2f}"
    lines = [f"{title}\n", "| target | sources | Spearman(−d, gain) | Spearman(LEEP, gain) | closest by d | best by LEEP | "
             "best by gain (gain, points) |", "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        best = "" if pd.isna(r.best_gain) else f"{r.best_by_gain} ({100 * r.best_gain:+.1f})"
        lines.append(f"| {r.target} | {r.sources} | {f(r.spearman_distance)} | {f(r.spearman_leep)} | "
                     f"{r.closest_by_distance} | {r.best_by_leep} | {best} |")
    return "\n".join(lines) + "\n"


def scatter(pairs: pd.DataFrame, table: pd.DataFrame, path, title: str) -> None:
    """Gain against d(source→target) and against LEEP, one colour per target."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    mean = table.set_index("target").loc["mean"] if "mean" in set(table.target) else None
    for ax, column, label, key in ((axes[0], "distance", "FTD d(source → target)", "spearman_distance"),
                                   (axes[1], "leep", "LEEP(source → target) (higher: better expected)",
                                    "spearman_leep")):
        for target, group in pairs.groupby("target", sort=False):
            ax.errorbar(group[column], 100 * group.gain, yerr=100 * group.gain_std.fillna(0), fmt="o", capsize=2,
                        label=target)
            for r in group.itertuples():
                ax.annotate(r.source, (getattr(r, column), 100 * r.gain), fontsize=6, xytext=(3, 2),
                            textcoords="offset points")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(label)
        if mean is not None:
            ax.set_title(f"mean per-target Spearman with the gain: {mean[key]:+.2f}"
                         + (" (of −d)" if column == "distance" else ""), fontsize=9)
    axes[0].set_ylabel("gain: fine-tuned − scratch test accuracy (points)")
    axes[1].legend(title="target", fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(f"{title}\n(one point per source → target pair, labelled with the source; bars: std over seeds)",
                 fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def write_outputs(runs: pd.DataFrame, pairs: pd.DataFrame, table: pd.DataFrame, out: dict, title: str) -> None:
    atomic_write_csv(pairs, out["pairs"])
    atomic_write_csv(table, out["correlations"])
    atomic_write_text(correlations_markdown(table, title), out["md"])
    scatter(pairs, table, out["png"], title)
