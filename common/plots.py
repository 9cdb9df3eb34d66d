"""Figures: annotated task-distance heatmaps in the papers' layout (rows = source, columns = target)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .io import atomic_write  # noqa: E402


def distance_heatmap(matrix: pd.DataFrame, path, title: str, std: pd.DataFrame | None = None,
                     cmap: str = "viridis_r", colorbar_label: str = "d(source → target)",
                     mark_closest: bool = True) -> Path:
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
            ax.text(j, i, text, ha="center", va="center", fontsize=7 if std is not None else 8,
                    color="white" if v > 0.6 * vmax else "black")
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
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out
