"""The benchmark's figure (``report.write_outputs``): each scorer's weighted τ within the target's dataset first,
then over all sources, both ground truths; and the best scorer's same-dataset pairs. Labelled to read without the
code."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from common.store.io import atomic_write  # noqa: E402
from common.transferability.scopes import ALL_DATASETS  # noqa: E402


def _zscore(v: pd.Series) -> pd.Series:
    sd = v.std(ddof=0)
    return (v - v.mean()) / sd if sd > 0 else v * 0.0


def _tau_panel(ax, rows: pd.DataFrame, order: list[str], title: str) -> None:
    """Mean weighted τ per scorer with its interval, one marker per ground truth (``rows``: truth, scorer, mean,
    low, high)."""
    for i, (truth, colour) in enumerate((("finetune", "tab:blue"), ("head", "tab:orange"))):
        sub = rows[rows["truth"] == truth].set_index("scorer")
        ys = [k + (i - 0.5) * 0.3 for k, s in enumerate(order) if s in sub.index]
        picked = [sub.loc[s] for s in order if s in sub.index]
        if picked:
            mean = np.array([r["mean"] for r in picked])
            err = np.array([[r["mean"] - r["low"] for r in picked], [r["high"] - r["mean"] for r in picked]])
            label = "fine-tuning (all layers)" if truth == "finetune" else "head only (body frozen)"
            ax.errorbar(mean, ys, xerr=err, fmt="o", color=colour, capsize=3, label=label)
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel("weighted Kendall τ(score, test accuracy) per target\nmean over targets, 95 % bootstrap interval")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")


def figure(board: pd.DataFrame, pairs: pd.DataFrame, path, title: str, scope: pd.DataFrame | None = None):
    """Left: per scorer the mean weighted τ over the sources of the target's OWN dataset (the dataset confound
    taken out; from ``scope``), then over all sources, one marker per ground truth, sorted by the first. Right: for
    the best scorer within datasets, score against fine-tuning accuracy on those pairs, both centred within each
    target and seed (the target's difficulty taken out)."""
    wt = board[board["metric"] == "weighted_tau"]
    panels = []
    if scope is not None:
        within = scope[
            (scope["scope"] == "within-dataset")
            & (scope["target_dataset"] == ALL_DATASETS)
            & (scope["metric"] == "weighted_tau")
        ]
        panels.append((within, "within the target's dataset: which of its own dataset's sources?"))
    panels.append((wt, "all sources (the dataset of the source counts)"))
    first = panels[0][0]
    ft = first[first["truth"] == "finetune"].sort_values("mean")
    order = ft["scorer"].tolist() + [s for s in dict.fromkeys(wt["scorer"]) if s not in set(ft["scorer"])]
    best = ft.sort_values("mean", ascending=False)["scorer"].tolist()[:1]
    fig, axes = plt.subplots(
        1, len(panels) + len(best), figsize=(5.2 * len(panels) + 4.4 * len(best), 0.35 * len(order) + 3)
    )
    axes = np.atleast_1d(axes)
    for ax, (rows, what) in zip(axes, panels):
        _tau_panel(ax, rows, order, what)
    shown = pairs[pairs["source_dataset"] == pairs["target_dataset"]] if scope is not None else pairs
    for ax, scorer in zip(axes[len(panels) :], best):
        grouped = shown.groupby(["target", "seed"])
        x = grouped[scorer].transform(_zscore)
        y = 100 * (shown["finetune_test_acc"] - grouped["finetune_test_acc"].transform("mean"))
        for target, idx in shown.groupby("target").groups.items():
            ax.scatter(x[idx], y[idx], s=10, alpha=0.7, label=target)
        ax.set_xlabel(f"{scorer} score, z-scored within each target and seed\n(higher = predicted better)")
        ax.set_ylabel("fine-tuning test accuracy − target's mean over these sources (points)")
        ax.set_title(f"{scorer}{', same-dataset sources only' if scope is not None else ''}", fontsize=9)
        ax.axhline(0, color="grey", lw=0.8)
        ax.legend(fontsize=6, ncol=2, loc="best", title="target", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)
    return out
