"""Step 3 of the papers: task-aware NAS. Search a cell for --target with FUSE in the space of the
closest baseline task, compare with FUSE and random search in the full space at the same budget,
and with the hand-designed ε-networks of step 1.

    # the closest task's own full-space search (once per baseline task), then the target
    python nas_fuse.py --target cifar10-3 --space full --search-only --preset cpu --data-root ../shared/data
    python nas_fuse.py --target cifar10-2 --preset cpu --data-root ../shared/data
    python nas_fuse.py --target mnist-2 --task-set ldnas8 --budget 5        # another matrix, 5 stages
    python nas_fuse.py --target cifar10-2 --space task-aware task-aware-warm --params 0.1M

--space task-aware (default) reads the distance matrix of fisher_distance.py (same --preset, --arch,
--distance, --estimator; baselines: --baselines or --task-set, default the target's task set),
takes the baseline task closest to the target and restricts the space to the ops of that task's
full-space genotype. The searches never read the test split; each chosen cell is retrained from
scratch and tested once, widened to the preset's parameter count (--params). Writes
results/<preset>/nas/<target>_<baselines>_table.{csv,md}, <target>_<baselines>_runs.csv and
genotypes/<task>_<method>[_from-<closest>]_seed<k>.json (+ _history.csv with α per round, _retrain.json). Finished searches
and retrainings are skipped on rerun (--force redoes them). The common flags mean: --arch, the
ε-networks whose distance matrix is read; --seeds, one search + retraining per seed and method;
--epochs, the retraining's epochs; --batch-size, the search's and the retraining's batch size.
"""
from dataclasses import replace

from common.run.cli import common_parser, parameter_count, run
from common.run.errors import UserError, check_results_dir, check_seeds, positive
from common.run.names import DISTANCE_NAMES, ESTIMATOR_NAMES, NAS_SPACE_NAMES
from common.presets import NAS_PRESETS, train_config
from common.tasks import TASK_SETS, get_task


def main(argv=None):
    p = common_parser(__doc__)
    p.add_argument("--target", required=True, help="the task to search a cell for, e.g. cifar10-2")
    p.add_argument("--baselines", dest="tasks", nargs="+", metavar="TASK",
                   help="baseline tasks or task sets whose distance to the target decides the space "
                        "(same as --tasks; default: the task set holding the target)")
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="the baselines as a named task set")
    p.add_argument("--space", choices=NAS_SPACE_NAMES, nargs="+", default=["task-aware"],
                   help="space(s) of the main FUSE search: task-aware (normal/reduction edges draw from the ops "
                        "of the closest task's normal/reduction cell), task-aware-warm (the same, the first stage "
                        "warm-started from the closest task's genotype) or full; several give one table "
                        "(default: task-aware)")
    p.add_argument("--params", type=parameter_count, metavar="N",
                   help="retrain every searched cell at the width whose network has about N parameters "
                        "(e.g. 0.2M, 150k, 200000), to compare with the hand-designed network at a matched "
                        "size (default: the NAS preset's; 0: the search width)")
    p.add_argument("--budget", type=int, help="search stages of every method (default: the NAS preset's)")
    p.add_argument("--search-only", action="store_true",
                   help="only the main search: no baselines, retraining or table (e.g. for a baseline task)")
    p.add_argument("--distance", choices=DISTANCE_NAMES, default="frechet",
                   help="the distance matrix to read, as in fisher_distance.py (default: %(default)s)")
    p.add_argument("--estimator", choices=ESTIMATOR_NAMES, default="empirical",
                   help="the Fisher estimator of that matrix, as in fisher_distance.py (default: %(default)s)")
    args = p.parse_args(argv)

    # torch and the NAS code are imported only now, so that --help answers at once
    from common.training.accel import from_args
    from common.run.device import select_device
    from common.run.launch import Job, prepare_inputs, run_step
    from common.nas.runs import nas_methods, run_nas
    from common.run.plan import nas_costs
    if args.task_set and args.tasks:
        raise UserError("give either --task-set or --baselines/--tasks, not both")
    target = get_task(args.target)
    names = [args.task_set] if args.task_set else args.tasks
    cfg = NAS_PRESETS[args.preset]
    cfg = replace(cfg, retrain_epochs=positive("epochs", args.epochs) or cfg.retrain_epochs,
                  retrain_params=cfg.retrain_params if args.params is None else (args.params or None),
                  batch_size=positive("batch-size", args.batch_size) or cfg.batch_size,
                  seeds=check_seeds(args.seeds) or cfg.seeds)
    stages = positive("budget", args.budget) or cfg.stages
    train_cfg = train_config(args.preset, target.dataset, arch=args.arch)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    prepare_inputs(args, [target.dataset])
    accel = from_args(args, device)

    def nas(only=None):
        return run_nas(target, space=args.space, names=names, cfg=cfg, stages=stages, train_cfg=train_cfg,
                       preset=args.preset, arch=train_cfg.arch, distance=args.distance, estimator=args.estimator,
                       data_root=args.data_root, results_dir=args.results_dir, device=device,
                       force=args.force, search_only=args.search_only, only=only, accel=accel)

    def jobs():
        methods = nas_methods(list(dict.fromkeys(args.space)), args.search_only)
        hand = [] if args.search_only else [f"hand-{a}" for a in cfg.retrain_archs]
        return [Job(f"{m}/seed{s}", lambda m=m, s=s: nas({(m, s)}),
                    lambda m=m: nas_costs(target, m, cfg, stages, train_cfg, search=not m.startswith("hand-"),
                                                      retrain=not args.search_only))
                for s in cfg.seeds for m in methods + hand]

    def merge():
        out = nas()
        if args.search_only:
            print("genotypes:\n  " + "\n  ".join(f"{m} seed {s}: {r['genotype']}" for (m, s), r in out["records"].items()))
            return out
        table = out["table"]
        print("\n" + table[["method", "test_acc_mean", "test_acc_std", "params_m", "search_hours", "device"]]
              .round(4).to_string(index=False))
        print("outputs:\n  " + "\n  ".join(str(p) for p in out["outputs"].values()))
        return out

    return run_step(args, argv, script=__file__, step=f"step 3, NAS for {target.name}", jobs=jobs, merge=merge)

if __name__ == "__main__":
    run(main)
