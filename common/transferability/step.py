"""The body of ``transferability.py``: checks first (one ``error:`` line before any long work), then the
benchmark's records (``benchmark.run_benchmark``), the tables and the outputs (``report.write_outputs``)."""

from __future__ import annotations

import time

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds
from common.presets import train_configs
from common.store import paths
from common.tasks import TASK_SETS, tasks_label
from common.transferability.benchmark import (
    TRUTHS,
    Benchmark,
    check_inputs,
    metric_tables,
    pairs_table,
    read_pairs,
    run_benchmark,
    scope_tables,
)
from common.transferability.inputs import scorer_fisher_config
from common.transferability.pool import benchmark_config, pool
from common.transferability.report import verdicts, write_outputs
from common.transferability.truth_quality import truth_quality


def benchmark_step(args) -> dict:
    """Run the benchmark for parsed ``args`` (preset, task_set, tasks, seeds, arch, data_root, results_dir,
    device, force); returns the output paths."""
    if args.task_set and args.tasks:
        raise UserError("give either --task-set or --tasks, not both")
    if args.task_set and args.task_set not in TASK_SETS:
        raise UserError(f"unknown task set '{args.task_set}'; known: {', '.join(TASK_SETS)}")
    names = [args.task_set] if args.task_set else list(args.tasks)
    tasks = pool(names)
    label = tasks_label(names)
    cfgs = train_configs(args.preset, {t.dataset for t in tasks}, args.arch, check_seeds(args.seeds))
    cfg = next(iter(cfgs.values()))
    check_results_dir(args.results_dir)
    b = Benchmark(
        tasks=tasks,
        seeds=tuple(cfg.seeds),
        arch=cfg.arch,
        preset=args.preset,
        cfgs=cfgs,
        budget=benchmark_config(args.preset),
        fcfg=scorer_fisher_config(args.preset),
        data_root=args.data_root,
    )
    out = paths.benchmark_outputs(args.results_dir, b.preset, label)
    if getattr(args, "tables_only", False):
        pairs = read_pairs(out["pairs"], b.preset)  # the tables only, from the pairs this preset's run wrote
        print(f"tables of {label} from {out['pairs']} ({len(pairs)} pairs; no record is read or computed)")
    else:
        device = select_device(args.device)
        checkpoints = check_inputs(b, args.results_dir)  # every ε-network of the pool, or one line with the command
        n_pairs = len(tasks) * (len(tasks) - 1) * len(b.seeds)
        print(
            f"transferability benchmark of {label}: {len(tasks)} tasks x {len(tasks) - 1} sources x "
            f"{len(b.seeds)} seed(s) = {n_pairs} pairs, {b.arch}, preset {b.preset}, device {device}"
        )
        start = time.time()
        records, computed = run_benchmark(b, checkpoints, args.results_dir, device=device, force=args.force)
        print(
            f"{computed} record(s) computed now, {len(records) - computed} read from earlier runs "
            f"({time.time() - start:.0f} s)"
        )
        pairs = pairs_table(records, tasks, b.seeds, b.budget)
    per_target, board = metric_tables(pairs)
    scope = scope_tables(pairs, b.preset)
    quality = truth_quality(pairs, TRUTHS)
    n_sources = int(pairs.groupby(["target", "seed"]).size().max())  # what the pairs hold, not what was asked
    title = (
        f"transferability on {label}: {pairs.target.nunique()} targets x {n_sources} sources x "
        f"{pairs.seed.nunique()} seed(s), {b.arch}, preset {b.preset}"
    )
    write_outputs(pairs, per_target, board, scope, quality, out, title)
    for truth in ("finetune", "head"):
        said = ", ".join(f"vs {k}: {v['verdict']}" for k, v in verdicts(board, truth).items())
        print(f"FTD ({truth}, weighted tau): {said}")
    return out
