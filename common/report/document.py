"""``results/<preset>/REPORT.md``: every block of ``common/report/*tables.py`` and ``verdicts.py`` under its
heading, with the run's metadata (commit, machine, the reproduce log's steps), and ``blocks``: the blocks by
the names the README's ``<!-- generated:NAME -->`` markers use."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pandas as pd
import torch

from common.experiments import MATRICES
from common.report.application_tables import dense_markdown, nas_markdown, transfer_markdown
from common.report.markdown import table
from common.report.study_tables import (
    alpha_rank_markdown,
    architectures_markdown,
    logdet_study_markdown,
    samples_markdown,
    seeds_markdown,
)
from common.report.tables import (
    matrix_markdown,
    network_timings_markdown,
    plan_markdown,
    published_markdown,
    train_markdown,
    user_folder_markdown,
)
from common.report.verdicts import claims_markdown, controls_markdown, noise_floor_markdown
from common.steps import CORE_BUDGET_MIN, CORE_SECTIONS, SECTIONS, STEPS
from common.store import paths
from common.store.io import atomic_write_text
from common.store.provenance import (
    git_commit,  # imports torch: only when a report is written
)
from common.transferability.report import benchmark_markdown


def blocks(results_dir, preset: str) -> dict[str, str]:
    """Every generated block, by the name the README's markers use."""
    out = {
        "claims": claims_markdown(results_dir, preset),
        "noise-floor": noise_floor_markdown(results_dir, preset),
        "controls": controls_markdown(results_dir, preset),
        "published": published_markdown(results_dir, preset),
        "train": train_markdown(results_dir, preset),
        "nas": nas_markdown(results_dir, preset),
        "consistency-seeds": seeds_markdown(results_dir, preset),
        "consistency-samples": samples_markdown(results_dir, preset),
        "consistency-architectures": architectures_markdown(results_dir, preset),
        "logdet-study": logdet_study_markdown(results_dir, preset),
        "alpha-rank": alpha_rank_markdown(results_dir, preset),
        "plan": plan_markdown(results_dir, preset),
        "network-timings": network_timings_markdown(results_dir, preset),
        "transfer": transfer_markdown(results_dir, preset),
        "transfer-benchmark": benchmark_markdown(results_dir, preset),
        "dense": dense_markdown(results_dir, preset),
        "user-folder": user_folder_markdown(results_dir, preset),
    }
    for label, distance in MATRICES:
        out[f"matrix-{label}-{distance}"] = matrix_markdown(results_dir, preset, label, distance)
    return out


def result_commits(results_dir, preset: str) -> set[str]:
    """Every suite commit the results of ``preset`` record: the step-1 metrics and every table's
    ``git_commit`` column, and the provenance of every JSON record (matrix manifests, NAS and transfer
    records, noise floors). A commit ending in ``-dirty`` names uncommitted code."""
    run = paths.run_dir(results_dir, preset)
    commits: set[str] = set()
    for csv in run.rglob("*.csv") if run.is_dir() else ():
        if "checkpoints" in csv.parts or "fisher" in csv.parts:
            continue
        try:
            frame = pd.read_csv(csv, usecols=lambda c: c == "git_commit", dtype=str)
        except (OSError, ValueError):
            continue
        if "git_commit" in frame:
            commits |= {c for v in frame.git_commit.dropna().astype(str) for c in v.split(", ")}
    for record in run.rglob("*.json") if run.is_dir() else ():
        if "checkpoints" in record.parts:
            continue
        try:
            commit = json.loads(record.read_text()).get("provenance", {}).get("git_commit")
        except (OSError, ValueError, AttributeError):
            continue
        if commit:
            commits.add(str(commit))
    return commits


def _metadata(results_dir, preset: str, log: dict | None) -> list[str]:

    commit = git_commit()
    state = "uncommitted changes when the report was written" if commit.endswith("-dirty") else "a clean tree"
    made = sorted(result_commits(results_dir, preset))
    unclean = [c for c in made if c.endswith("-dirty") or c == "unknown"]
    lines = [
        f"- suite commit: `{commit}` ({state})",
        f"- results made at commit(s) {', '.join(f'`{c}`' for c in made) or 'none'}"
        + (
            f": **not committed results**, {', '.join(unclean)} named uncommitted code (rerun at a clean commit)"
            if unclean
            else " (every one a clean commit)"
        ),
        f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}",
    ]
    if log:
        # entries kept from earlier runs carry their own machine (logs before 2026-11-30: only the last run's)
        machines = sorted(
            {
                f"{s.get('device', log.get('device', '?'))}, {s.get('threads', log.get('threads', '?'))} thread(s)"
                for s in log.get("steps", [])
            }
        ) or [f"{log.get('device', '?')}"]
        lines.append(
            f"- reproduce.py run{'s' if len(machines) > 1 else ''}: {'; '.join(machines)}, "
            f"data root `{log.get('data_root', '?')}`"
        )
        for name, identity in log.get("data", {}).items():
            lines.append(f"- data `{name}`: identity {identity}")
        steps = log.get("steps", [])
        total = sum(s["seconds"] for s in steps)
        peak = max((s.get("peak_rss_gib", 0.0) for s in steps), default=0.0)
        section_of = {step.name: step.section for step in STEPS}
        order = {step.name: i for i, step in enumerate(STEPS)}
        steps = sorted(steps, key=lambda s: order.get(s["step"], len(order)))  # paper order
        per_section = {
            name: sum(s["seconds"] for s in steps if section_of.get(s["step"], "other") == name)
            for name in (*SECTIONS, "other")
        }  # other: a step no longer in reproduce_plan.STEPS
        lines += [
            f"- wall time of the steps: {total:.0f} s in all (partial entries included); peak RSS of the reproduce.py process: {peak:.2f} GiB "
            "(launcher jobs run in their own processes)",
            "- per section: " + ", ".join(f"{name} {sec:.0f} s" for name, sec in per_section.items() if sec),
        ]
        if preset == "cpu":  # the budget is the cpu preset's (issue 12)
            core_steps = [step.name for step in STEPS if step.section in CORE_SECTIONS]
            full = [s for s in steps if s["step"] in core_steps and not _partial(s)]
            partial = sum(s["step"] in core_steps and _partial(s) for s in steps)
            core = sum(s["seconds"] for s in full)
            lines[-1] += (
                f"; the core ({', '.join(CORE_SECTIONS)}): {core:.0f} s = {core / 60:.0f} min, "
                f"{len(full)} of its {len(core_steps)} steps logged"
                + (f" (and {partial} partial, left out)" if partial else "")
                + f" (budget on 2 CPU cores: {CORE_BUDGET_MIN} min)"
            )
        lines += [
            "",
            *table(
                [
                    "step",
                    "section",
                    "launcher",
                    "wall time (s)",
                    "computed / reused",
                    "peak RSS so far (GiB)",
                    "finished",
                ],
                (
                    [
                        s["step"],
                        section_of.get(s["step"], "other"),
                        s.get("launcher", "?"),
                        f"{s['seconds']:.0f}",
                        _work(s),
                        f"{s.get('peak_rss_gib', float('nan')):.2f}",
                        s["finished"],
                    ]
                    for s in steps
                ),
            ),
        ]
        if any(_partial(s) for s in steps):
            lines.append(
                "\n_partial_: the step finished an earlier run's work (it reused stored results of that run), "
                "so its seconds are a share of what it costs; rerun it into an empty `--results-dir` for its full time."
            )
    else:
        lines.append(
            "- no `reproduce_log.json`: the results were made by the step scripts one by one "
            "(their files carry their own provenance)"
        )
    metrics = paths.train_metrics_csv(results_dir, preset)
    if metrics.is_file():
        df = pd.read_csv(metrics, dtype={"git_commit": str})  # a commit such as 0872525 is not a number
        lines.append(
            f"- step 1 ran on: {', '.join(sorted(df.device.astype(str).unique()))}; commits "
            f"{', '.join(sorted(df.git_commit.astype(str).unique()))}"
        )
    return lines


def _partial(entry: dict) -> bool:
    """A log entry of a step that reused results of an earlier run: its seconds are a share of its cost."""
    return (entry.get("reused") or 0) > 0


def _work(entry: dict) -> str:
    """The log entry's computed / reused counts (results, or launched jobs), when the log has them."""
    if "computed" not in entry:
        return "–"
    return f"{entry['computed']} / {entry.get('reused', '?')}" + (" (partial)" if _partial(entry) else "")


def read_log(results_dir, preset: str) -> dict | None:
    try:
        return json.loads(paths.reproduce_log(results_dir, preset).read_text())
    except (OSError, ValueError):
        return None


def report_markdown(results_dir, preset: str) -> str:
    b = blocks(results_dir, preset)
    run = paths.run_dir(results_dir, preset)
    heatmaps = sorted(run.glob("distances/*/*_mean.png"))
    nas_tables = sorted(run.glob("nas/*_table.md"))
    studies = sorted(run.glob("studies/*/*.md"))
    lines = [
        f"# ftd-nas report, preset `{preset}`",
        "",
        "Generated by `collect.py` / `reproduce.py` from the files under this folder; do not edit "
        "(rerun `.venv/bin/python collect.py --preset " + preset + "`).",
        "",
        "## Claims",
        "",
        b["claims"],
        "",
        "## Run",
        "",
        *_metadata(results_dir, preset, read_log(results_dir, preset)),
        "",
        "## Step 1: ε-networks",
        "",
        b["train"],
        "",
        "## Step 2: Fisher task distances",
        "",
    ]
    for label, distance in MATRICES:
        lines += [b[f"matrix-{label}-{distance}"], ""]
    lines += ["Heatmaps:", ""] + [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in heatmaps] + [""]
    lines += [
        "## Noise floor and head-confound controls",
        "",
        b["noise-floor"],
        "",
        b["controls"],
        "",
        "## The published matrices side by side",
        "",
        b["published"],
        "",
        "## Consistency: two seeds of one task",
        "",
        b["consistency-seeds"],
        "",
        "## Consistency: number of Fisher samples",
        "",
        b["consistency-samples"],
        "",
        "## Consistency: two ε-network architectures",
        "",
        b["consistency-architectures"],
        "",
    ]
    if studies:
        lines += ["Studies: " + ", ".join(f"[{p.stem}]({p.relative_to(run).as_posix()})" for p in studies), ""]
    lines += [
        "## Step 3: task-aware NAS",
        "",
        b["nas"],
        "",
        "Full tables (per-seed genotypes, verdicts, α-rank): "
        + (", ".join(f"[{p.stem}]({p.relative_to(run).as_posix()})" for p in nas_tables) or "none"),
        "",
    ]
    transfer = sorted(run.glob("transfer/*/*_scatter.png"))
    lines += ["## Transfer: does a small distance mean a good transfer?", "", b["transfer"], ""]
    lines += [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in transfer] + [""]
    benchmark = sorted(run.glob("transfer/benchmark/*_leaderboard.png"))
    lines += ["## Transferability benchmark: the field's scorers and metrics", "", b["transfer-benchmark"], ""]
    lines += [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in benchmark] + [""]
    dense = sorted(run.glob("dense/*/*/*_frechet_mean.png")) + sorted(run.glob("dense/*/*/*_atlas.png"))
    lines += ["## Your own images: CIFAR-10 registered as a user's folder", "", b["user-folder"], ""]
    lines += ["## Dense tasks: Taskonomy and the derived taskonomy-2d set", "", b["dense"], ""]
    lines += [f"![{p.name}]({p.relative_to(run).as_posix()})" for p in dense] + [""]
    return "\n".join(lines)


def write_report(results_dir, preset: str) -> Path:

    path = paths.report_path(results_dir, preset)
    atomic_write_text(report_markdown(results_dir, preset), path)
    return path
