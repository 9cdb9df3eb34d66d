"""Step 4, the body of ``transfer.py``: every (source, target, seed) fine-tuning run as launcher jobs, then the
pairs, correlations and figure (``common/transfer_learning/table.py``)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds, positive
from common.fisher.distance import DEFAULT_SIGMA2
from common.fisher.matrix_files import read_mean_matrix, variant
from common.networks.models import build_network
from common.presets import TRANSFER_PRESETS, fisher_config, train_configs
from common.run.launch import Job, prepare_inputs, run_step
from common.run.plan import Cost
from common.store import paths
from common.tasks import resolve_tasks, tasks_label
from common.training.accel import from_args
from common.training.checkpoints import verify_checkpoints
from common.transfer_learning.runs import budget_variant
from common.transfer_learning.study import TransferStudy, target_runs
from common.transfer_learning.table import correlations, pair_table, write_outputs


def transfer_step(args, argv, script: str):
    """The step of ``transfer.py`` for the parsed ``args`` (``argv``: its flags, for the launchers' jobs)."""

    if args.task_set and args.tasks:
        raise UserError("give either --task-set or --tasks, not both")
    names = [args.task_set] if args.task_set else (args.tasks or ["mnist"])
    tasks = resolve_tasks(names)
    if len(tasks) < 2:
        raise UserError("a transfer study needs at least two tasks")
    label = tasks_label(names)
    cfgs = train_configs(args.preset, {t.dataset for t in tasks}, args.arch, check_seeds(args.seeds))
    cfg = next(iter(cfgs.values()))
    preset_tcfg = TRANSFER_PRESETS[args.preset]
    tcfg = replace(
        preset_tcfg,
        images=positive("images", args.images) or preset_tcfg.images,
        epochs=positive("epochs", args.epochs) or preset_tcfg.epochs,
        batch_size=positive("batch-size", args.batch_size) or preset_tcfg.batch_size,
    )
    budget = budget_variant(tcfg, preset_tcfg)  # another budget: other file names, never the preset's
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    preset_cfg = train_configs(args.preset, cfgs, args.arch, None)[next(iter(cfgs))]
    suffix = variant(
        cfg,
        fisher_config(args.preset, arch=cfg.arch),
        "frechet",
        DEFAULT_SIGMA2,
        preset_cfg=preset_cfg,
        preset_fcfg=fisher_config(args.preset, arch=cfg.arch),
    )
    matrix = paths.distance_outputs(args.results_dir, args.preset, cfg.arch, label, "frechet", "empirical", suffix)
    command = (
        f"{paths.python_command()} fisher_distance.py --preset {args.preset} "
        + (f"--task-set {args.task_set}" if args.task_set else f"--tasks {' '.join(args.tasks or ['mnist'])}")
        + f" --arch {cfg.arch}"
        + (f" --seeds {' '.join(map(str, cfg.seeds))}" if suffix else "")
        + f" --results-dir {args.results_dir} --data-root {args.data_root}"
    )

    def distances():
        return read_mean_matrix(
            matrix,
            tasks=[t.name for t in tasks],
            results_dir=args.results_dir,
            preset=args.preset,
            arch=cfg.arch,
            data_root=args.data_root,
            command=command,
            seeds=cfg.seeds,
        )

    prepare_inputs(args, cfgs)
    accel = from_args(args, device)
    if not args.plan:
        verify_checkpoints(
            tasks, cfg.seeds, cfg.arch, cfgs, preset=args.preset, data_root=args.data_root, results_dir=args.results_dir
        )  # step 1 first: one line with its command
        distances()  # step 2 too, before any training

    study = TransferStudy(
        tuple(tasks), label, tcfg, cfgs, preset=args.preset, data_root=args.data_root, budget=budget, accel=accel
    )

    def runs_of(target, seed):
        return target_runs(study, target, seed, args.results_dir, device=device, force=args.force)

    def costs(target):
        return (
            Cost(
                f"{cfg.arch} fine-tune x {len(tasks)}",
                lambda: build_network(cfg.arch, target, seed=0),
                f"{cfg.arch}/{target.dataset}/train",
                "train",
                len(tasks) * tcfg.epochs * tcfg.images,
                tcfg.batch_size,
                target.num_classes,
                eval_images=len(tasks) * 2 * (cfg.max_eval or 10_000),
            ),
        )

    def job(target, seed):
        return Job(f"{target.name}/seed{seed}", lambda: runs_of(target, seed), lambda: costs(target))

    def merge():
        print(
            f"transfer study of {label}: {cfg.arch}, seeds {list(cfg.seeds)}, budget {tcfg.images} target images x "
            f"{tcfg.epochs} epoch(s), preset {args.preset}, device {device}"
        )
        rows, done = [], 0
        for target in tasks:
            for seed in cfg.seeds:
                for record, ran in runs_of(target, seed):
                    rows.append({k: v for k, v in record.items() if k != "provenance"})
                    done += ran
        print(f"{done} run(s) trained now, {len(rows) - done} read from earlier runs")
        runs = pd.DataFrame(rows)
        pairs = pair_table(runs, distances())
        table = correlations(pairs)
        out = paths.transfer_outputs(args.results_dir, args.preset, cfg.arch, label + suffix + budget)
        title = (
            f"transfer on {label}: {cfg.arch}, {len(cfg.seeds)} seed(s), {tcfg.images} target images x "
            f"{tcfg.epochs} epoch(s), preset {args.preset}"
        )
        write_outputs(runs, pairs, table, out, title)
        print("\n" + table.round(3).to_string(index=False))
        print("outputs:\n  " + "\n  ".join(str(p) for p in out.values()))
        return table

    return run_step(
        args,
        argv,
        script=script,
        step=f"transfer study of {label}",
        jobs=lambda: [job(t, s) for t in tasks for s in cfg.seeds],
        merge=merge,
    )
