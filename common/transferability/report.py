"""The benchmark's outputs: pairs CSV, per-target metrics CSV, leaderboard CSV + Markdown, one figure, and the
verdicts the claims read (``verdicts``). Nothing is written when a table holds a NaN where a number belongs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from common.base.errors import UserError
from common.experiments import benchmark_pool
from common.store import paths
from common.store.io import atomic_write_csv, atomic_write_text
from common.store.seals import check_seal
from common.studies.paired_stats import holm
from common.transferability.benchmark import REFERENCE, TRUTHS, check_no_nan
from common.transferability.figure import figure
from common.transferability.scopes import ALL_DATASETS, SCOPES
from common.transferability.truth_quality import quality_markdown

ALPHA = 0.05  # "better" only at Holm-adjusted p < ALPHA over FTD's comparisons (docs/verdicts.md)
METRIC_TITLES = {
    "weighted_tau": "weighted τ",
    "pearson": "Pearson",
    "spearman": "Spearman",
    "top1_hit": "top-1 hit",
    "top1_regret": "top-1 regret",
}
BASELINES = ("random", "leep", "logme", "same-dataset", "otdd")  # what the claims compare FTD against


def check_scope_table(scope: pd.DataFrame) -> None:
    """Every mean and interval finite, the two-way interval too on the rows over every target, and a raw and a
    Holm p on every row but FTD's own."""
    check_no_nan(scope[["mean", "low", "high", "n_targets"]], "the leaderboard by scope")
    every = scope[scope["target_dataset"] == ALL_DATASETS]
    check_no_nan(every[["low_two_way", "high_two_way"]], "the two-way intervals of the leaderboard by scope")
    check_no_nan(
        scope[scope["scorer"] != REFERENCE][["p_vs_ftd", "p_holm"]], "the p-values of the leaderboard by scope"
    )


def check_leaderboard(board: pd.DataFrame) -> None:
    """Every interval finite; a p-value missing only for the reference itself or where the reference is absent."""
    check_no_nan(board[["mean", "low", "high", "n_targets"]], "the leaderboard")
    has_ref = set(
        board.loc[board["scorer"] == REFERENCE, "metric"] + "/" + board.loc[board["scorer"] == REFERENCE, "truth"]
    )
    for _, r in board.iterrows():
        if r["scorer"] != REFERENCE and f"{r['metric']}/{r['truth']}" in has_ref and not math.isfinite(r["p_vs_ftd"]):
            raise UserError(f"the leaderboard has no p-value for {r['scorer']} ({r['truth']}, {r['metric']})")


def holm_by_scorer(rows: pd.DataFrame) -> dict[str, float]:
    """One truth and metric's rows (indexed by scorer): Holm's adjusted p of FTD against every other scorer,
    the family being all of them that have a p."""
    others = [s for s in rows.index if s != REFERENCE and math.isfinite(float(rows.loc[s, "p_vs_ftd"]))]
    return dict(zip(others, holm([float(rows.loc[s, "p_vs_ftd"]) for s in others])))


def verdicts(board: pd.DataFrame, truth: str = "finetune", metric: str = "weighted_tau") -> dict:
    """The benchmark's answers on ``metric`` for ``truth``: FTD better than chance (its paired test against
    ``random``) and better than each of LEEP / LogME; "better", "worse" or "no evidence" at Holm-adjusted
    p < ALPHA, the family being FTD against every scorer of the leaderboard (raw p kept beside it)."""
    rows = board[(board["truth"] == truth) & (board["metric"] == metric)].set_index("scorer")
    adjusted = holm_by_scorer(rows) if REFERENCE in rows.index else {}
    out = {}
    for other in BASELINES:
        if REFERENCE not in rows.index or other not in rows.index:
            out[other] = {"verdict": "not run"}
            continue
        diff, p = float(rows.loc[other, "diff_vs_ftd"]), float(rows.loc[other, "p_vs_ftd"])  # other - ftd
        p_holm = adjusted.get(other, math.nan)
        verdict = "no evidence" if not p_holm < ALPHA else ("better" if diff < 0 else "worse")
        out[other] = {
            "verdict": verdict,
            "ftd_minus_other": -diff,
            "p_value": p,
            "p_holm": p_holm,
            "family": len(adjusted),
            "ftd_mean": float(rows.loc[REFERENCE, "mean"]),
            "other_mean": float(rows.loc[other, "mean"]),
        }
    return out


def _cell(r) -> str:
    return f"{r['mean']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]"


def leaderboard_markdown(
    board: pd.DataFrame,
    title: str,
    protocol: str,
    n_pairs: int,
    scope: pd.DataFrame | None = None,
    quality: pd.DataFrame | None = None,
) -> str:
    """The leaderboard's Markdown: the ground truths' quality (when ``quality`` is given), the weighted τ by scope
    (within the target's dataset first, when ``scope`` is given), then every metric over all sources, per ground
    truth, with the verdicts."""
    metrics = [m for m in METRIC_TITLES if m in set(board["metric"])]
    lines = [
        f"# {title}",
        "",
        f"Ground truth: {protocol}. {n_pairs} (source, target, seed) pairs. Every scorer reads the target's "
        "validation images only. Per target and seed the metric between score (higher = predicted better) and "
        "ground truth over the sources; mean over targets [95 % two-level bootstrap interval over targets and "
        "seeds]; p vs FTD: exact two-sided sign-flip permutation test over targets on the weighted τ (per-target seed "
        "means), raw and Holm-adjusted over FTD's comparisons with every scorer (the verdicts use the adjusted p).",
        "",
    ]
    if quality is not None:
        lines += quality_markdown(quality)
    if scope is not None:
        lines += scope_markdown(scope)
    for truth in TRUTHS:
        sub = board[board["truth"] == truth]
        if not len(sub):
            continue
        lines += [
            f"## Ground truth: {truth} ({'all layers fine-tuned' if truth == 'finetune' else 'head only, body frozen'})",
            "",
            "| scorer | " + " | ".join(METRIC_TITLES[m] for m in metrics) + " | p vs FTD (w. τ) | Holm | s / pair |",
            "|---|" + "---|" * (len(metrics) + 3),
        ]
        wt = sub[sub["metric"] == "weighted_tau"].set_index("scorer")
        adjusted = holm_by_scorer(wt) if REFERENCE in wt.index else {}
        order = _within_order(scope, truth) or (
            wt["mean"].sort_values(ascending=False).index.tolist() if len(wt) else []
        )
        order = [s for s in order if s in set(sub["scorer"])]
        order += [s for s in dict.fromkeys(sub["scorer"]) if s not in order]
        for scorer in order:
            cells = []
            for m in metrics:
                r = sub[(sub["scorer"] == scorer) & (sub["metric"] == m)]
                cells.append(_cell(r.iloc[0]) if len(r) else "undefined")
            p = wt.loc[scorer, "p_vs_ftd"] if scorer in wt.index else math.nan
            p_text = "—" if scorer == REFERENCE else (f"{p:.3f}" if math.isfinite(p) else "undefined")
            holm_text = f"{adjusted[scorer]:.3f}" if scorer in adjusted else "—"
            sec = sub[sub["scorer"] == scorer]["seconds_per_pair"].iloc[0]
            lines.append(f"| {scorer} | " + " | ".join(cells) + f" | {p_text} | {holm_text} | {sec:.3f} |")
        lines.append("")
        v = verdicts(board, truth)
        said = "; ".join(
            f"FTD vs {'chance (random)' if k == 'random' else k}: {d['verdict']}"
            + (
                f" (Δ weighted τ {d['ftd_minus_other']:+.2f}, p = {d['p_value']:.3f}, Holm {d['p_holm']:.3f})"
                if "p_value" in d
                else ""
            )
            for k, d in v.items()
        )
        lines += [f"Verdicts ({truth}, weighted τ, Holm-adjusted p < {ALPHA}): {said}.", ""]
    return "\n".join(lines)


def _within_order(scope: pd.DataFrame | None, truth: str) -> list[str]:
    """The scorers by their weighted τ within the target's dataset (every target), best first; [] without it."""
    if scope is None:
        return []
    rows = scope[
        (scope["scope"] == "within-dataset")
        & (scope["target_dataset"] == ALL_DATASETS)
        & (scope["truth"] == truth)
        & (scope["metric"] == "weighted_tau")
    ]
    return rows.sort_values("mean", ascending=False)["scorer"].tolist()


def _interval(low, high) -> str:
    return f"[{low:+.2f}, {high:+.2f}]" if math.isfinite(low) and math.isfinite(high) else "—"


def scope_markdown(table: pd.DataFrame, truth: str = "finetune") -> list[str]:
    """The weighted τ by scope, within the target's dataset first (the dataset confound taken out), then all
    sources and the other datasets; per target dataset beside every target; FTD's raw and Holm p."""
    sub = table[(table["truth"] == truth) & (table["metric"] == "weighted_tau")]
    if sub.empty:
        return []
    datasets = [ALL_DATASETS] + [d for d in dict.fromkeys(sub["target_dataset"]) if d != ALL_DATASETS]
    lines = [
        f"## By scope: which sources a target's ranking is judged over (ground truth {truth}, weighted τ)",
        "",
        'Within the target\'s dataset, "same dataset" says nothing; a scorer that only knows the dataset ranks '
        "no better than chance there. Mean over targets [targets-only interval] {two-way interval: targets and "
        "sources resampled}; p: FTD's sign-flip test against the scorer, raw / Holm over FTD's comparisons "
        "in that scope and target dataset.",
        "",
    ]
    for scope, (what, _) in SCOPES.items():
        rows = sub[sub["scope"] == scope]
        if rows.empty:
            continue
        order = rows[rows["target_dataset"] == ALL_DATASETS].sort_values("mean", ascending=False)["scorer"].tolist()
        n_sources = int(rows["n_sources"].median())
        lines += [
            f"### {scope}: {what} (≈ {n_sources} per target)",
            "",
            "| scorer | " + " | ".join(f"{d} targets" for d in datasets) + " | p vs FTD (raw / Holm) |",
            "|---|" + "---|" * (len(datasets) + 1),
        ]
        for scorer in order:
            cells = []
            for d in datasets:
                r = rows[(rows["scorer"] == scorer) & (rows["target_dataset"] == d)]
                if r.empty:
                    cells.append("undefined")
                    continue
                r = r.iloc[0]
                two_way = _interval(r["low_two_way"], r["high_two_way"])
                cells.append(
                    f"{r['mean']:+.2f} {_interval(r['low'], r['high'])}"
                    + (f" {{{two_way[1:-1]}}}" if two_way != "—" else "")
                )
            r = rows[(rows["scorer"] == scorer) & (rows["target_dataset"] == ALL_DATASETS)].iloc[0]
            p = "—" if scorer == REFERENCE else f"{r['p_vs_ftd']:.3f} / {r['p_holm']:.3f}"
            lines.append(f"| {scorer} | " + " | ".join(cells) + f" | {p} |")
        lines.append("")
    return lines + _other_metrics_markdown(table, truth)


def _other_metrics_markdown(table: pd.DataFrame, truth: str) -> list[str]:
    """Pearson and top-1 hit by scope over every target, each with its two-way interval, beside the weighted τ."""
    every = table[(table["truth"] == truth) & (table["target_dataset"] == ALL_DATASETS)]
    metrics = [m for m in ("weighted_tau", "pearson", "top1_hit") if m in set(every["metric"])]
    if len(metrics) < 2:
        return []
    lines = [
        f"### Weighted τ, Pearson and top-1 hit by scope (every target, ground truth {truth})",
        "",
        "Mean over targets {two-way interval: targets and sources resampled}.",
        "",
        "| scorer | "
        + " | ".join(f"{METRIC_TITLES[m]}, {scope}" for scope in ("within-dataset", "all") for m in metrics)
        + " |",
        "|---|" + "---|" * (2 * len(metrics)),
    ]
    order = _within_order(table, truth)
    for scorer in order + [s for s in dict.fromkeys(every["scorer"]) if s not in order]:
        cells = []
        for scope in ("within-dataset", "all"):
            for m in metrics:
                r = every[(every["scope"] == scope) & (every["metric"] == m) & (every["scorer"] == scorer)]
                cells.append(
                    "undefined"
                    if r.empty
                    else f"{r.iloc[0]['mean']:+.2f} {{{_interval(r.iloc[0]['low_two_way'], r.iloc[0]['high_two_way'])[1:-1]}}}"
                )
        lines.append(f"| {scorer} | " + " | ".join(cells) + " |")
    return lines + [""]


def scope_verdict(table: pd.DataFrame, other: str, scope: str = "within-dataset", truth: str = "finetune") -> dict:
    """FTD against ``other`` in ``scope`` over every target: "better", "worse" or "no evidence" at Holm p < ALPHA
    (the family: FTD's comparisons in that scope), or {"verdict": "not run"}."""
    rows = table[
        (table["scope"] == scope)
        & (table["target_dataset"] == ALL_DATASETS)
        & (table["truth"] == truth)
        & (table["metric"] == "weighted_tau")
    ]
    rows = rows.set_index("scorer")
    if REFERENCE not in rows.index or other not in rows.index:
        return {"verdict": "not run"}
    r = rows.loc[other]
    diff, p_holm = float(r["ftd_minus_scorer"]), float(r["p_holm"])
    return {
        "verdict": "no evidence" if not p_holm < ALPHA else ("better" if diff > 0 else "worse"),
        "ftd_minus_other": diff,
        "p_value": float(r["p_vs_ftd"]),
        "p_holm": p_holm,
        "family": int(rows["p_vs_ftd"].notna().sum()),
        "ftd_mean": float(rows.loc[REFERENCE, "mean"]),
        "other_mean": float(r["mean"]),
    }


def write_outputs(
    pairs: pd.DataFrame,
    per_target: pd.DataFrame,
    board: pd.DataFrame,
    scope: pd.DataFrame,
    quality: pd.DataFrame,
    out: dict,
    title: str,
) -> None:
    """Every output, after every check (a NaN where a number belongs stops the write of all of them)."""
    check_no_nan(pairs, "the pairs table")
    check_leaderboard(board)
    check_scope_table(scope)
    check_no_nan(quality.drop(columns=["seed_to_seed_tau", "seed_to_seed_tau_lowest"]), "the ground truths' quality")
    kept = per_target[per_target["excluded"] == ""].reset_index(drop=True)
    check_no_nan(kept[["value"]], "the per-target metrics")
    protocol = str(pairs["protocol"].iloc[0])
    text = leaderboard_markdown(board, title, protocol, len(pairs), scope, quality)
    atomic_write_csv(pairs, out["pairs"])
    atomic_write_csv(scope, out["scopes"])
    atomic_write_csv(quality, out["truths"])
    atomic_write_csv(kept, out["per_target"])
    atomic_write_csv(board.assign(protocol=protocol), out["leaderboard"])
    atomic_write_text(text, out["md"], seal=True)
    figure(board, pairs, out["png"], title, scope)


def benchmark_markdown(results_dir, preset: str, label: str | None = None) -> str:
    """The report block: the leaderboard of ``results/<preset>/transfer/benchmark/<label>_leaderboard.csv``
    (both ground truths, intervals, p vs FTD, the verdicts), or how to make it. ``label``: the pool (default: the
    preset's, ``experiments.BENCHMARK_POOLS``)."""
    label = label or benchmark_pool(preset)
    out = paths.benchmark_outputs(results_dir, preset, label)
    try:
        board = pd.read_csv(out["leaderboard"], keep_default_na=False, na_values=[""])
        pairs = pd.read_csv(out["pairs"])
    except (OSError, ValueError):
        return (
            f"No transferability benchmark in `results/{preset}/` yet: `.venv/bin/python transferability.py "
            f"--preset {preset} --data-root <data>` (after step 1 of the `{label}` tasks)."
        )
    scope = read_scopes(out["scopes"])
    quality = read_sealed(out["truths"])
    protocol = str(board["protocol"].iloc[0]) if "protocol" in board and len(board) else "?"
    title = f"Transferability benchmark, {label}, preset `{preset}`"
    text = leaderboard_markdown(board, title, protocol, len(pairs), scope, quality)
    if scope is None:
        text += (
            f"\n\nNo leaderboard by scope (`{out['scopes'].name}` missing or altered): `.venv/bin/python "
            f"transferability.py --preset {preset} --tables-only`.\n"
        )
    # the block has no title of its own (REPORT.md gives it one); its sections sit one level below
    return "\n".join("#" + line if line.startswith("## ") else line for line in text.splitlines()[2:])


def read_scopes(path) -> pd.DataFrame | None:
    """The leaderboard by scope, checked against its seal (None when missing, unreadable or altered: claim B4e
    then reads "not run" with the command that makes it, and the report leaves the section out and says so)."""
    return read_sealed(path)


def read_sealed(path) -> pd.DataFrame | None:
    """A benchmark table checked against its seal; None when missing, unreadable or altered."""
    if not Path(path).is_file() or check_seal(path):
        return None
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError):
        return None
