"""How far each ground truth can be trusted (issue 34): where its selections sit, and how well it repeats itself.

Per ground truth (``finetune``, ``head``), from the pairs table:

share_at_grid_edge    selected learning rate at an end of the protocol's ladder (``pool.Schedule``): the grid may
                      be too narrow for it (aim < 10 %)
share_at_epoch_cap    selected run stopped by the epoch cap, not by early stopping: it may still have been improving
share_below_scratch   test accuracy below training the target's network from scratch with the same budget
seed_to_seed_tau      per target, the weighted τ between two seeds' truths over the sources (every pair of seeds),
                      mean over seed pairs, then over targets: a scorer cannot be judged more finely than its truth
                      repeats (aim >= 0.8); with the lowest target's value beside it
"""

from __future__ import annotations

import itertools

import pandas as pd

from common.transferability import metrics as M

TAU_AIM = 0.8
EDGE_AIM = 0.10


def seed_to_seed_tau(pairs: pd.DataFrame, column: str) -> pd.Series:
    """Per target: the mean over seed pairs of weighted τ(truth of seed i, truth of seed j) over its sources
    (NaN for a target with one seed or a constant truth)."""
    out = {}
    for target, rows in pairs.groupby("target", sort=False):
        wide = rows.pivot_table(index="source", columns="seed", values=column)
        values = []
        for a, b in itertools.combinations(wide.columns, 2):
            both = wide[[a, b]].dropna()
            if len(both) >= 2 and both[a].nunique() > 1 and both[b].nunique() > 1:
                values.append(M.weighted_tau(both[a].to_numpy(), both[b].to_numpy()))
        out[target] = sum(values) / len(values) if values else float("nan")
    return pd.Series(out, name="seed_to_seed_tau")


def truth_quality(pairs: pd.DataFrame, truths: dict[str, str]) -> pd.DataFrame:
    """One row per ground truth (``truths``: name -> its pairs column of test accuracies)."""
    rows = []
    for truth, column in truths.items():
        tau = seed_to_seed_tau(pairs, column)
        rows.append(
            {
                "truth": truth,
                "n_pairs": int(len(pairs)),
                "share_at_grid_edge": float(pairs[f"{truth}_at_grid_edge"].astype(bool).mean()),
                "share_at_epoch_cap": float(pairs[f"{truth}_at_epoch_cap"].astype(bool).mean()),
                "share_below_scratch": float((pairs[column] < pairs["scratch_test_acc"]).mean()),
                "seed_to_seed_tau": float(tau.mean()),
                "seed_to_seed_tau_lowest": float(tau.min()),
                "lowest_target": str(tau.idxmin()) if tau.notna().any() else "",
            }
        )
    return pd.DataFrame(rows)


def quality_markdown(quality: pd.DataFrame) -> list[str]:
    """The table of the ground truths' quality, with what each aim is."""
    lines = [
        "## How far the ground truths can be trusted",
        "",
        f"Shares of the (source, target, seed) pairs; aims: at the grid's edge < {EDGE_AIM:.0%}, the seed-to-seed "
        f"weighted τ ≥ {TAU_AIM} (a scorer cannot be judged more finely than its truth repeats from seed to seed).",
        "",
        "| ground truth | at the grid's edge | at the epoch cap | below scratch | seed-to-seed weighted τ (lowest target) |",
        "|---|---|---|---|---|",
    ]
    for r in quality.itertuples():
        lines.append(
            f"| {r.truth} | {r.share_at_grid_edge:.1%} | {r.share_at_epoch_cap:.1%} | {r.share_below_scratch:.1%} | "
            f"{r.seed_to_seed_tau:+.2f} ({r.seed_to_seed_tau_lowest:+.2f}, {r.lowest_target}) |"
        )
    short = [r.truth for r in quality.itertuples() if not r.seed_to_seed_tau >= TAU_AIM]
    if short:
        lines.append(
            f"\nBelow the aim of τ ≥ {TAU_AIM}: {', '.join(short)}; every result on "
            + ("it" if len(short) == 1 else "them")
            + " is read with that figure beside it."
        )
    lines.append("")
    return lines
