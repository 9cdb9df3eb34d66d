"""Step 3, the body of ``nas_fuse.py``: the searches and retrainings of one target as launcher jobs, then its
NAS table (``common/nas/runs.py``, ``common/nas/table.py``)."""

from __future__ import annotations

from dataclasses import replace

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds, positive
from common.nas.runs import run_nas
from common.nas.spec import NASRun
from common.presets import NAS_PRESETS, train_config
from common.run.launch import Job, prepare_inputs, run_step
from common.run.plan import nas_costs
from common.tasks import get_task
from common.training.accel import from_args


def nas_step(args, argv, script: str):
    """The step of ``nas_fuse.py`` for the parsed ``args`` (``argv``: its flags, for the launchers' jobs)."""
    if args.task_set and args.tasks:
        raise UserError("give either --task-set or --baselines/--tasks, not both")
    target = get_task(args.target)
    names = [args.task_set] if args.task_set else args.tasks
    cfg = NAS_PRESETS[args.preset]
    cfg = replace(
        cfg,
        retrain_epochs=positive("epochs", args.epochs) or cfg.retrain_epochs,
        retrain_params=cfg.retrain_params if args.params is None else (args.params or None),
        batch_size=positive("batch-size", args.batch_size) or cfg.batch_size,
        seeds=check_seeds(args.seeds) or cfg.seeds,
    )
    stages = positive("budget", args.budget) or cfg.stages
    train_cfg = train_config(args.preset, target.dataset, arch=args.arch)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    prepare_inputs(args, [target.dataset])
    accel = from_args(args, device)

    run = NASRun(
        target,
        spaces=tuple(dict.fromkeys(args.space)),
        cfg=cfg,
        stages=stages,
        train_cfg=train_cfg,
        preset=args.preset,
        data_root=args.data_root,
        baselines=tuple(names) if names else None,
        distance=args.distance,
        estimator=args.estimator,
        search_only=args.search_only,
        accel=accel,
    )

    def nas(only=None):
        return run_nas(run, args.results_dir, device=device, force=args.force, only=only)

    def jobs():
        methods = run.methods
        hand = [] if args.search_only else [f"hand-{a}" for a in cfg.retrain_archs]
        return [
            Job(
                f"{m}/seed{s}",
                lambda m=m, s=s: nas({(m, s)}),
                lambda m=m: nas_costs(
                    target, m, cfg, stages, train_cfg, search=not m.startswith("hand-"), retrain=not args.search_only
                ),
            )
            for s in cfg.seeds
            for m in methods + hand
        ]

    def merge():
        out = nas()
        if args.search_only:
            print(
                "genotypes:\n  " + "\n  ".join(f"{m} seed {s}: {r['genotype']}" for (m, s), r in out["records"].items())
            )
            return out
        table = out["table"]
        print(
            "\n"
            + table[["method", "test_acc_mean", "test_acc_std", "params_m", "search_hours", "device"]]
            .round(4)
            .to_string(index=False)
        )
        print("outputs:\n  " + "\n  ".join(str(p) for p in out["outputs"].values()))
        return out

    return run_step(args, argv, script=script, step=f"step 3, NAS for {target.name}", jobs=jobs, merge=merge)
