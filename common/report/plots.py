"""Figures: annotated task-distance heatmaps in the papers' layout (rows = source, columns = target),
the task atlas (an MDS map) and the distance-vs-affinity panels (``common/studies/atlas.py``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from common.store.io import atomic_write  # noqa: E402


def distance_heatmap(
    matrix: pd.DataFrame,
    path,
    title: str,
    std: pd.DataFrame | None = None,
    cmap: str = "viridis_r",
    colorbar_label: str = "d(source → target)",
    mark_closest: bool = True,
) -> Path:
    """Write an annotated heatmap PNG; cells show the value (and ± std when given). With
    ``mark_closest`` each column's smallest off-diagonal entry (the target's closest source) is
    framed in red."""
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(1.1 * k + 2.8, 0.9 * k + 2.0))
    im = ax.imshow(matrix.values, cmap=cmap)
    ax.set_xticks(range(k), matrix.columns, rotation=45, ha="right")
    ax.set_yticks(range(k), matrix.index)
    ax.set_xlabel("target task")
    ax.set_ylabel("source task")
    ax.set_title(title, fontsize=10)
    vmax = max(float(matrix.values.max()), 1e-12)
    for i in range(k):
        for j in range(k):
            v = matrix.values[i, j]
            text = f"{v:.3f}" if std is None else f"{v:.3f}\n±{std.values[i, j]:.3f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7 if std is not None else 8,
                color="white" if v > 0.6 * vmax else "black",
            )
    if mark_closest:
        for j, target in enumerate(matrix.columns):
            column = matrix[target].drop(target, errors="ignore")
            if len(column) and column.notna().any():
                i = list(matrix.index).index(column.idxmin())
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        ax.set_xlabel("target task   (red frame: the target's closest source)")
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label(colorbar_label)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path) -> Path:
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out


def atlas_map(coords: pd.DataFrame, stress: float, path, title: str) -> Path:
    """The tasks at their MDS coordinates (``common/studies/atlas.py``), labelled."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.scatter(coords.x, coords.y, s=60, color="tab:blue")
    for row in coords.itertuples():
        ax.annotate(row.task, (row.x, row.y), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.set_title(f"{title}\nmetric MDS of the symmetrised FTD, stress-1 = {stress:.3f}", fontsize=10)
    ax.set_xlabel("MDS axis 1 (FTD units)")
    ax.set_ylabel("MDS axis 2 (FTD units)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def affinity_panels(mean: pd.DataFrame, affinity: pd.DataFrame, table: pd.DataFrame, path, title: str) -> Path:
    """One panel per target: each source's distance against its affinity."""
    targets = list(mean.columns)
    cols = min(5, len(targets))
    rows = -(-len(targets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax, target, rho in zip(axes.flat, targets, table.spearman_neg_d_affinity):
        pairs = pd.DataFrame({"d": mean[target], "a": affinity[target]}).drop(index=target).dropna()
        ax.scatter(pairs.d, pairs.a, s=25)
        for name, r in pairs.iterrows():
            ax.annotate(name, (r.d, r.a), fontsize=6, xytext=(3, 2), textcoords="offset points")
        ax.set_title(f"target {target}\nSpearman(−d, affinity) = {rho:+.2f}", fontsize=8)
        ax.set_xlabel("FTD d(source → target)", fontsize=8)
        ax.set_ylabel("affinity (source → target)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(targets) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def noise_floor_figure(table: pd.DataFrame, floor: dict, path, title: str) -> Path:
    """Box plots of the distances of each kind of a noise-floor table (``common/studies/noise_floor.py``):
    the null (same task, same initialisation, other SGD noise), two initialisations of one task, and the
    between-task entries paired by seed and across seeds; the floor of a difference printed in the title."""
    cross = table[table.kind == "cross-seed"]
    groups = {
        "null: same task,\nsame init, other SGD noise": table[table.kind == "null twin"].distance,
        "same task,\nother init (cross-seed)": cross[cross.source == cross.target].distance,
        "between tasks,\npaired seed (the matrix)": table[table.kind == "paired"].distance,
        "between tasks,\nother seeds (cross-seed)": cross[cross.source != cross.target].distance,
    }
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot([g.values for g in groups.values()], showmeans=True)
    ax.set_xticks(range(1, len(groups) + 1), [f"{k}\n(n = {len(g)})" for k, g in groups.items()], fontsize=7)
    ax.set_ylabel("FTD d(source → target)")
    ax.set_ylim(0, 1)
    ax.set_title(
        f"{title}\nentry noise (source swapped for its twin) std {floor['entry_noise_std']:.3f}; "
        f"floor of a difference of two {floor['seeds']}-seed means {floor['floor']:.3f}",
        fontsize=9,
    )
    fig.tight_layout()
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out


def alpha_rank_figure(curve: pd.DataFrame, rows: pd.DataFrame, path, title: str, threshold: float) -> Path:
    """The α-rank study (``common/studies/alpha_rank.py``): per search budget, Spearman(α, stand-alone accuracy)
    of every target and seed (dots), their mean with its 95 % bootstrap interval, the in-mixture Spearman, and
    the rule's threshold."""
    labels = [f"{int(r.images)} img\n× {int(r.epochs)} ep\n≈ {r.search_minutes:.1f} min" for r in curve.itertuples()]
    x = range(len(curve))
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, r in enumerate(curve.itertuples()):
        units = rows[(rows.images == r.images) & (rows.epochs == r.epochs)]
        ax.scatter([i] * len(units), units.rho_alone, s=12, color="0.6", zorder=2)
    low, high = curve.rho_alone - curve.rho_alone_low, curve.rho_alone_high - curve.rho_alone
    ax.errorbar(x, curve.rho_alone, yerr=[low, high], fmt="o-", capsize=4, label="α vs stand-alone accuracy (truth)")
    ax.plot(x, curve.rho_mixture, "s--", color="tab:orange", label="α vs accuracy inside the mixture")
    ax.axhline(threshold, color="tab:red", lw=0.8, ls=":", label=f"rule: interval at or above {threshold}")
    ax.axhline(0, color="0.3", lw=0.5)
    ax.set_xticks(list(x), labels, fontsize=7)
    ax.set_xlabel("search budget: train images × weight epochs per round (below: minutes of the preset's whole search)")
    ax.set_ylabel("Spearman over a stage's candidates")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, path)
