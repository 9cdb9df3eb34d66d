"""reproduce.py's runner: the steps of ``common/steps.py`` in order, each a step script's
``main(argv)``, one progress line per step with its wall time, and ``reproduce_log.json`` (step
times, device, threads, data identities) for the report."""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from common.base.cli import launcher_argv
from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds
from common.data.decode import data_identity
from common.data.files import locate
from common.data.files import where as where_files
from common.data.tree_checks import check_data
from common.datasets import DATASETS as REGISTERED
from common.dense.taskonomy import FOLDER
from common.run.plan import one_plan
from common.steps import DATASETS, LOCAL_ONLY, Step
from common.store import paths
from common.store.cache import computed_count, fingerprint, reused_under
from common.store.io import atomic_write_csv, atomic_write_json
from common.store.provenance import device_name, git_commit


def is_local(dataset: str, data_root) -> bool:
    """Whether both splits of ``dataset`` (or a Taskonomy tree) are on disk under ``data_root``."""
    root = Path(data_root).expanduser().resolve()
    if dataset == "taskonomy":
        return (root / FOLDER).is_dir()

    return all(locate(dataset, split, root)[0] not in ("download", "missing") for split in ("train", "test"))


def where(dataset: str, data_root) -> str:
    root = Path(data_root).expanduser().resolve()
    if dataset == "taskonomy":
        return f"a Taskonomy tree {root / FOLDER}/<domain>/<building>/*.png"

    return where_files(dataset, "train", root)


def check_inputs(args) -> dict[str, str]:
    """Before any work: results dir writable, seeds valid, device present; returns dataset -> ""
    when usable, else the reason it is not (its steps are skipped)."""

    check_results_dir(args.results_dir)
    check_seeds(args.seeds)
    select_device(args.device)
    available = {}
    for dataset in DATASETS:
        try:
            if dataset != "taskonomy":
                check_data(dataset, args.data_root)
            available[dataset] = ""
        except UserError as exc:
            available[dataset] = str(exc)
        if dataset in LOCAL_ONLY and not available[dataset] and not is_local(dataset, args.data_root):
            alone = f", or run {REGISTERED[dataset].train_script} alone" if dataset in REGISTERED else ""
            available[dataset] = (
                f"not under {args.data_root}, and reproduce.py does not download it: put "
                f"{where(dataset, args.data_root)} in place{alone}"
            )
    return available


def step_argv(step: Step, args) -> list[str]:
    results = Path(args.results_dir) / step.root if step.root else args.results_dir
    argv = list(step.argv) + ["--preset", args.preset, "--results-dir", str(results)]
    if step.jobs:
        argv += (
            launcher_argv(args)
            + (["--plan"] if args.plan else [])
            + (["--remeasure"] if getattr(args, "remeasure", False) else [])
        )
    if step.shared:
        argv += ["--data-root", str(args.data_root), "--device", args.device]
        if args.seeds:
            argv += ["--seeds", *map(str, args.seeds)]
        if args.force:
            argv.append("--force")
    return argv


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (every step runs in it), in GiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2 ** (30 if sys.platform == "darwin" else 20)


def _write_log(args, entries: list[dict], device: str) -> None:
    path = paths.reproduce_log(args.results_dir, args.preset)

    data = {}
    for dataset in DATASETS:
        if dataset == "taskonomy" or (dataset in LOCAL_ONLY and not is_local(dataset, args.data_root)):
            continue
        try:
            data[dataset] = fingerprint(data_identity(dataset, args.data_root, paths.data_cache_dir(args.results_dir)))
        except (UserError, OSError):
            continue
    atomic_write_json(
        {
            "preset": args.preset,
            "device": device,
            "threads": torch.get_num_threads(),
            "data_root": str(args.data_root),
            "data": data,
            "steps": entries,
        },
        path,
    )


def run_steps(steps: list[Step], args, available: dict[str, str], load: Callable[[str], Callable]) -> None:
    if args.plan:
        return plan_steps(steps, args, load)

    device = device_name(select_device(args.device))
    old = {}
    try:
        old = {
            e["step"]: e for e in json.loads(paths.reproduce_log(args.results_dir, args.preset).read_text())["steps"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        pass
    entries = dict(old)
    run_dir = paths.run_dir(args.results_dir, args.preset)  # where this preset's reused results count
    start_all = time.time()
    for i, step in enumerate(steps, 1):
        missing = [d for d in step.datasets if available.get(d)]
        head = f"[{i}/{len(steps)}] {step.name}"
        if missing:
            print(f"{head}: skipped, {missing[0]} data missing ({available[missing[0]]})", flush=True)
            continue
        argv = step_argv(step, args)
        print(f"{head}: {step.script}.py {' '.join(argv)}", flush=True)
        start, computed, reused = time.time(), computed_count(), reused_under(run_dir)
        load(step.script)(argv)
        seconds = time.time() - start
        computed, reused = computed_count() - computed, len(reused_under(run_dir) - reused)
        if step.cached and computed == 0 and step.name in old:
            # everything reused: the log keeps the time of the run that computed it (the report's
            # wall-time table is what the work costs, not what a rerun took to find it done)
            print(
                f"{head}: done in {seconds:.0f} s, everything reused (computed earlier in "
                f"{old[step.name]['seconds']:.0f} s, finished {old[step.name]['finished']})",
                flush=True,
            )
            continue
        # the studies, the dense steps and the report are not split into jobs: they run in this process.
        # computed: results computed (or jobs launched); reused: results of an earlier run found done (the
        # preset's own, not the shared decoded data). Any reuse: a partial entry, whose seconds are a share
        # of the step's cost (REPORT.md says so and leaves it out of the core's time).
        entries[step.name] = {
            "step": step.name,
            "seconds": round(seconds, 1),
            "launcher": args.launcher if step.jobs else "inline",
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "peak_rss_gib": round(peak_rss_gib(), 2),
            "device": device,
            "threads": torch.get_num_threads(),
            **({"computed": computed, "reused": reused} if step.cached else {}),
        }
        _write_log(args, list(entries.values()), device)
        share = f" (partial: {reused} result(s) of an earlier run reused)" if step.cached and reused else ""
        print(f"{head}: done in {seconds:.0f} s{share}", flush=True)
    print(
        f"reproduce.py: {len(steps)} step(s) in {time.time() - start_all:.0f} s, peak RSS {peak_rss_gib():.2f} GiB "
        f"(this process; launcher jobs run in their own); report: {paths.report_path(args.results_dir, args.preset)}"
    )


def plan_steps(steps: list[Step], args, load: Callable[[str], Callable]) -> None:
    """--plan: every job step's plan (no data needed, nothing run), then the total. The plan goes to
    ``plan.csv`` unless that holds another device's plan (a measured result, e.g. the H200's): then to
    ``plan_<device>.csv`` beside it, unless --force."""

    device = device_name(select_device(args.device))
    out = plan_path(paths.plan_csv(args.results_dir, args.preset), device, force=args.force)
    tables = []
    with one_plan():  # each file is planned once over the steps (a body-only matrix reads the plain one's Fishers)
        for step in steps:
            if not step.jobs:
                print(f"{step.name}: runs in this process (minutes at most; not planned)")
                continue
            table = load(step.script)(step_argv(step, args))
            if table is not None and len(table):
                tables.append(table.assign(step=step.name))  # reproduce's names are unique (3b, 3c share targets)
    if tables:
        table = pd.concat(tables, ignore_index=True)
        table = table.assign(device=device, git_commit=git_commit(), date=time.strftime("%Y-%m-%d"))
        atomic_write_csv(table, out)
        print(
            f"\nall planned steps: {table.seconds.sum() / 3600:.2f} device-hours (the NAS steps of one target wait "
            f"for the full-space searches of its closest tasks, so steps run one after another); plan: {out}"
        )


def plan_path(default: Path, device: str, *, force: bool = False) -> Path:
    """Where this device's plan goes: ``default`` when it is absent, this device's or --force; else a file of
    its own beside it, so that a plan measured on one device is never replaced by another's estimates."""

    try:
        devices = set(pd.read_csv(default, usecols=["device"]).device.astype(str))
    except (OSError, ValueError):
        return default
    if force or devices <= {device}:
        return default
    slug = re.sub(r"[^A-Za-z0-9]+", "-", device).strip("-").lower()
    mine = default.with_name(f"{default.stem}_{slug}{default.suffix}")
    print(
        f"{default} holds the plan measured on {', '.join(sorted(devices))}; this one ({device}) goes to {mine} "
        "(--force replaces it)",
        flush=True,
    )
    return mine
