"""Step 3, the report: the NAS table of a target (CSV, Markdown) and its per-seed rows, from the
records of ``common/nas/runs.py`` and the step-1 metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from common.nas.keys import retrain_config
from common.presets import NASConfig, TrainConfig
from common.report.markdown import row
from common.report.markdown import table as markdown_table
from common.store import paths
from common.store.io import atomic_write_csv, atomic_write_text
from common.studies.paired_stats import paired_comparison
from common.studies.ranking import spearman
from common.tasks import Task

# method -> what the table calls it. Genotype records are named <task>_<method>_seed<k>.json.
METHODS: dict[str, str] = {
    "task-aware": "FUSE, task-aware space",
    "task-aware-warm": "FUSE, task-aware space, warm start",
    "full": "FUSE, full space",
    "random": "random search, full space",
}


def method_label(method: str) -> str:
    """What the table calls a method; ``hand-<arch>``: a hand-designed network retrained like the cells."""
    if method.startswith("hand-"):
        return f"hand-designed {method[5:]}, retrained like the cells"
    return METHODS[method]


def _cell(text: str) -> str:
    """A Markdown table cell: genotype strings contain '|', which would end the cell."""
    return text.replace("|", "\\|")


def step1_reference(results_dir, preset: str, target: str) -> str:
    """The step-1 ε-networks' test accuracy for ``target`` (another training protocol), as a note."""
    csv = paths.train_metrics_csv(results_dir, preset)
    if not csv.is_file():
        return ""
    df = pd.read_csv(csv)
    df = df[df.task == target]
    return "; ".join(f"{arch} {g.test_acc.mean() * 100:.2f} % over {len(g)} seed(s)" for arch, g in df.groupby("arch"))


def _runs_frame(records: dict, results_dir, preset: str) -> pd.DataFrame:
    rows = []
    for (method, seed), r in records.items():
        rank_stage = rank_pooled = float("nan")
        if method != "random" and not method.startswith("hand-"):
            history = paths.nas_history_path(results_dir, preset, r["task"], method, seed, r.get("baselines", ""))
            if history.is_file():
                rank_stage, rank_pooled = alpha_rank(pd.read_csv(history))
        rows.append(
            {
                "method": method,
                "seed": seed,
                "genotype": r["genotype"],
                "ops": " ".join(r["ops"]),
                "space_log10_size": r.get("space_log10_size", float("nan")),
                "alpha_rank_stage": rank_stage,
                "alpha_rank_pooled": rank_pooled,
                "test_acc": r["retrain"]["test_acc"],
                "val_acc": r["retrain"]["val_acc"],
                "params": r["retrain"]["params"],
                "macs": r["retrain"].get("macs", float("nan")),
                "width": r["retrain"].get("width"),
                "search_seconds": r["search_seconds"],
                "retrain_seconds": r["retrain"]["train_seconds"],
                "device": r["retrain"]["device"],
                "git_commit": r["retrain"].get("provenance", {}).get("git_commit", ""),
                "closest_task": (r.get("closest") or {}).get("task", ""),
                "closest_seed": (r.get("closest") or {}).get("seed", ""),
            }
        )
    return pd.DataFrame(rows)


def _closest_search_hours(closest: dict) -> float:
    """The closest task's own full-space search, as recorded when the task-aware search read it."""
    return closest.get("search_seconds", float("nan")) / 3600


def write_table(
    target: Task,
    methods: list[str],
    seeds: list[int],
    records: dict,
    *,
    cfg: NASConfig,
    stages: int,
    train_cfg: TrainConfig,
    preset: str,
    results_dir,
    baselines: str = "",
) -> dict:
    """``<target>_table.csv`` / ``.md`` (one row per method, the papers' columns) and ``<target>_runs.csv``
    (one row per method and seed). The searched rows are retrained cells; mean ± std over seeds."""
    runs = _runs_frame(records, results_dir, preset)
    rows = []
    for method in methods:
        g = runs[runs.method == method]
        genotypes = g.genotype.unique()
        closest = [r.get("closest") for (m, _), r in records.items() if m == method and r.get("closest")]
        rows.append(
            {
                "method": method_label(method),
                "space": "" if method.startswith("hand-") else method if method != "random" else "full",
                "architecture": genotypes[0]
                if len(genotypes) == 1
                else f"{len(genotypes)} genotypes over {len(g)} seeds (listed below)",
                "test_acc_mean": g.test_acc.mean(),
                "test_acc_std": g.test_acc.std(ddof=1),
                "seeds": len(g),
                "params_m": g.params.mean() / 1e6,
                "macs_m": g.macs.mean() / 1e6,
                "search_hours": g.search_seconds.mean() / 3600,
                "train_hours": g.retrain_seconds.mean() / 3600,
                "device": ", ".join(g.device.unique()),
                "space_log10_size": g.space_log10_size.mean(),
                "alpha_rank_stage": g.alpha_rank_stage.mean(),
                "alpha_rank_pooled": g.alpha_rank_pooled.mean(),
                "closest_task": closest[0]["task"] if closest else "",
                "git_commit": ", ".join(sorted(g.git_commit.astype(str).unique())),  # the rows' runs
                "closest_search_hours": (
                    pd.Series([_closest_search_hours(c) for c in closest]).mean() if closest else float("nan")
                ),
            }
        )
    table = pd.DataFrame(rows)
    # the main search (first method) minus each other method, paired by seed: points, p, interval
    paired = paired_rows(runs, methods)
    for col, field in (("diff_vs_first_points", "mean"), ("paired_p", "p"), ("paired_lo", "lo"), ("paired_hi", "hi")):
        table[col] = [paired[m][field] if m in paired else float("nan") for m in methods]
    table["paired_verdict"] = [paired[m]["verdict"] if m in paired else "" for m in methods]
    out = paths.nas_table_outputs(results_dir, preset, target.name, baselines)
    atomic_write_csv(table, out["csv"])
    atomic_write_csv(runs, out["runs"])
    atomic_write_text(
        _markdown(
            target,
            table,
            runs,
            records,
            cfg=cfg,
            stages=stages,
            train_cfg=train_cfg,
            preset=preset,
            results_dir=results_dir,
            baselines=baselines,
        ),
        out["md"],
        seal=True,
    )
    return {"table": table, "runs": runs, "outputs": out}


def paired_rows(runs: pd.DataFrame, methods: list[str]) -> dict[str, dict]:
    """method -> the paired (same seed) comparison of the main search (``methods[0]``) minus that
    method, in test-accuracy points (``common/studies/paired_stats.py``: exact sign-flip p, t-interval)."""
    main, out = methods[0], {}
    a = runs[runs.method == main].set_index("seed").test_acc
    for other in methods[1:]:
        b = runs[runs.method == other].set_index("seed").test_acc
        common = a.index.intersection(b.index)
        out[other] = paired_comparison((a[common] - b[common]) * 100)
    return out


def _comparisons(runs: pd.DataFrame, methods: list[str]) -> list[str]:
    """One line per baseline: the paired difference, its t-interval, exact p, sign count and verdict."""
    main, lines = methods[0], []
    for other, v in paired_rows(runs, methods).items():
        interval = f", 95 % paired t-interval [{v['lo']:+.2f}, {v['hi']:+.2f}]" if v["n"] > 1 else ""
        verdict = v["verdict"]
        lines.append(
            f"- {method_label(main)} − {method_label(other)}: {v['mean']:+.2f} points (paired by seed{interval}; "
            f"exact sign-flip p = {v['p']:.3g}; higher in {v['wins']} of {v['n']} seeds) → "
            + (
                f"**{method_label(main)} {verdict}** than {method_label(other)}"
                if verdict in ("better", "worse")
                else f"**{verdict}**"
            )
        )
    return lines


def alpha_rank(history: pd.DataFrame) -> tuple[float, float]:
    """Does α rank a FUSE stage's candidates like their own validation accuracy? (mean over stages of
    the Spearman correlation between final α and stand-alone validation accuracy, the same pooled
    over all stages). Candidates are compared after the last round of their stage."""
    last = history[history["round"] == history.groupby("stage")["round"].transform("max")]
    per_stage = [spearman(g.alpha, g.val_acc) for _, g in last.groupby("stage") if len(g) > 1]
    per_stage = [r for r in per_stage if r == r]
    pooled = spearman(last.alpha, last.val_acc) if len(last) > 2 else float("nan")
    return (float(np.mean(per_stage)) if per_stage else float("nan")), pooled


def _markdown(
    target: Task,
    table: pd.DataFrame,
    runs: pd.DataFrame,
    records: dict,
    *,
    cfg: NASConfig,
    stages: int,
    train_cfg: TrainConfig,
    preset: str,
    results_dir,
    baselines: str = "",
) -> str:
    rcfg = retrain_config(cfg, train_cfg)
    methods = list(dict.fromkeys(runs.method))
    seeds = sorted(runs.seed.unique())
    against = f", baseline tasks `{baselines}`" if baselines else ""
    size = (
        f"widened to the width whose network has the parameter count closest to {cfg.retrain_params / 1e6:g} M "
        f"(the hand-designed networks keep theirs), "
        if cfg.retrain_params
        else f"at width {cfg.width}, "
    )
    lines = [
        f"# NAS table: {target.name} ({target.description}), preset `{preset}`{against}",
        "",
        f"Searched rows: the genotype each search chose (search cells {cfg.width} channels x {cfg.depth}), "
        f"{size}retrained from scratch ({rcfg.epochs} epoch(s) on "
        f"≤ {rcfg.max_train or 'all'} train images) and tested once (≤ {rcfg.max_eval or 'all'} test images); "
        f"mean ± std over seeds {', '.join(map(str, seeds))}. Equal budget: {stages} search stage(s) each "
        f"({cfg.initial_candidates} candidates, then {cfg.candidates}; {cfg.rounds} round(s) of "
        f"{cfg.weight_epochs} weight epoch(s) on ≤ {cfg.search_max_train or 'all'} train images and "
        f"{cfg.alpha_epochs} α epoch(s) on ≤ {cfg.search_max_val or 'all'} validation images). "
        "The test split is never read during a search.",
        "",
        *markdown_table(
            [
                "method",
                "space size (log10 genotypes)",
                "architecture",
                "test acc (%)",
                "params (M)",
                "MACs (M)",
                "search cost per seed (device-hours)",
                "device",
            ],
            [],
        ),
    ]
    for _, r in table.iterrows():
        acc = f"{r.test_acc_mean * 100:.2f}" + (f" ± {r.test_acc_std * 100:.2f}" if r.seeds > 1 else "")
        method = r.method + (f" (ops of {r.closest_task})" if r.closest_task else "")
        arch = f"`{_cell(r.architecture)}`" if ":" in r.architecture else r.architecture
        cost = "0 (hand-designed)" if r.method.startswith("hand") else f"{r.search_hours:.4f}"
        size = "—" if pd.isna(r.get("space_log10_size", float("nan"))) else f"{r.space_log10_size:.1f}"
        lines.append(row([method, size, arch, acc, f"{r.params_m:.3f}", f"{r.macs_m:.1f}", cost, r.device]))
    lines += ["", f"Comparison at equal budget ({len(seeds)} seed(s)):"] + _comparisons(runs, methods)
    if "full" in methods and "random" in methods:
        lines += [
            "",
            "Full-space FUSE and random search of one seed draw the same candidates (the sampler is seeded "
            "by seed, task and space), so those two rows are paired; the other searches draw independently.",
        ]
    ranks = table[table.alpha_rank_stage.notna()] if "alpha_rank_stage" in table else table.iloc[0:0]
    if len(ranks):
        lines += [
            "",
            "Does α rank the candidates like their own validation accuracy? Spearman correlation between "
            "final α and stand-alone validation accuracy, mean over stages and seeds (pooled over all "
            "stages): "
            + "; ".join(
                f"{r.method} {r.alpha_rank_stage:+.2f} ({r.alpha_rank_pooled:+.2f})" for _, r in ranks.iterrows()
            )
            + ".",
        ]
    aware = table[table.closest_task != ""]
    if len(aware):
        r = aware.iloc[0]
        closest = next(rec["closest"] for rec in records.values() if rec.get("closest"))
        lines += [
            "",
            f"Task-aware space: the ops of the full-space genotype of the closest baseline task "
            f"{r.closest_task} (d = {closest['distance']:.4f} in `{Path(closest['matrix']).name}` when searched). Its "
            f"search cost above excludes that full-space search ({r.closest_search_hours:.4f} "
            "device-hours per seed), which is done once per baseline task and reused for every target.",
        ]
    hand = table[table.method.str.startswith("hand")]
    if len(hand):
        reference = step1_reference(results_dir, preset, target.name)
        lines += [
            "",
            "Hand-designed rows: the network trained from scratch by this step with exactly the searched "
            "cells' retraining config (same images, epochs, augmentation, optimiser, test images), per seed."
            + (
                f" For reference, the step-1 ε-networks (their own, longer protocol): {reference}." if reference else ""
            ),
        ]
    lines += [
        "",
        "Per seed:",
        "",
        *markdown_table(
            ["method", "seed", "genotype", "test acc (%)", "width", "params (M)", "search s", "retrain s"], []
        ),
    ]
    for _, r in runs.iterrows():
        width = "—" if pd.isna(r.width) else f"{int(r.width)}"
        lines.append(
            row(
                [
                    r.method,
                    r.seed,
                    f"`{_cell(r.genotype)}`",
                    f"{r.test_acc * 100:.2f}",
                    width,
                    f"{r.params / 1e6:.3f}",
                    f"{r.search_seconds:.0f}",
                    f"{r.retrain_seconds:.0f}",
                ]
            )
        )
    prov = next(r["provenance"] for r in records.values() if "provenance" in r)
    lines += [
        "",
        f"NAS preset `{preset}`: `{json.dumps(cfg.to_dict())}`; budget {stages} stage(s).",
        f"Provenance (first record): torch {prov['torch']}, git {prov['git_commit']}, {prov['device']}, "
        f"{prov['time']}. Total recorded search + retraining time: "
        f"{runs.search_seconds.sum() + runs.retrain_seconds.sum():.0f} s.",
        "",
    ]
    return "\n".join(lines)
