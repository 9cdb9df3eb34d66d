"""Study: which Fisher estimator and distance reproduce the log-det paper's 8-task matrix?

    .venv/bin/python logdet_study.py --preset cpu --data-root ../shared/data

Every combination of --estimators x --distances x --sigma2s on the ldnas8 task set (the log-det
paper's 8 tasks), each mean matrix over seeds ranked against the published one (Spearman over the
56 off-diagonal entries, closest source per target, per-seed spread). Needs the step-1 checkpoints
of the 8 tasks (train_task_mnist.py --tasks mnist mnist-oddeven, train_task_cifar.py); Fishers are
shared with fisher_distance.py through the cache. Writes results/<preset>/studies/<arch>/
logdet_ldnas8.{csv,md} and logdet_ldnas8_long.csv (every distance, per seed).
"""
from common.cli import common_parser, run


def main(argv=None):
    from common.names import DISTANCE_NAMES, ESTIMATOR_NAMES

    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument("--estimators", nargs="+", choices=ESTIMATOR_NAMES, default=list(ESTIMATOR_NAMES),
                   help="Fisher estimators to compare (default: all)")
    p.add_argument("--distances", nargs="+", choices=DISTANCE_NAMES,
                   help="distances to compare (default: common/logdet_study.py's DISTANCES_STUDIED)")
    p.add_argument("--sigma2s", nargs="+", type=float,
                   help="sigma^2 values of the log-det distances (default: common/logdet_study.py's SIGMAS_STUDIED)")
    p.add_argument("--fisher-samples", type=int, help="target test images per Fisher (default: the preset's)")
    args = p.parse_args(argv)

    from common.logdet_study import DISTANCES_STUDIED, SIGMAS_STUDIED   # torch: only after parsing
    args.distances = args.distances or list(DISTANCES_STUDIED)
    args.sigma2s = args.sigma2s or list(SIGMAS_STUDIED)

    import numpy as np

    from common import paths
    from common.datasets import check_data
    from common.device import select_device
    from common.errors import UserError, check_results_dir, check_seeds, finite_positive
    from common.io import atomic_write_csv, atomic_write_text
    from common.logdet_study import markdown, rank_variants, run_study
    from common.presets import fisher_config, train_configs
    from common.provenance import git_commit
    from common.published import PUBLISHED
    from common.tasks import resolve_tasks

    if args.tasks:
        raise UserError("the study runs on the ldnas8 task set (the published matrix's tasks); drop --tasks")
    for s in args.sigma2s:
        finite_positive("sigma2s", s)
    published = PUBLISHED["logdet-ldnas8"]
    tasks = resolve_tasks(list(published.tasks))
    seeds = check_seeds(args.seeds)
    cfgs = train_configs(args.preset, ("mnist", "cifar10"), args.arch, seeds)
    cfg = cfgs["mnist"]
    fcfg = fisher_config(args.preset, args.fisher_samples, args.batch_size)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    for ds in cfgs:
        check_data(ds, args.data_root)
    print(f"log-det study: {len(args.estimators)} estimator(s) x {len(args.distances)} distance(s), sigma^2 in "
          f"{args.sigma2s}, {cfg.arch}, seeds {list(cfg.seeds)}, {fcfg.samples or 'all'} target samples")

    long = run_study(tasks, cfg.seeds, estimators=args.estimators, distances=args.distances, sigmas=args.sigma2s,
                     arch=cfg.arch, preset=args.preset, cfgs=cfgs, fcfg=fcfg, data_root=args.data_root,
                     results_dir=args.results_dir, device=device, force=args.force)
    bad = long[~(np.isfinite(long.distance) & (long.distance >= 0))]
    if len(bad):
        raise UserError(f"{len(bad)} distance(s) are not finite and non-negative; nothing was written")
    table = rank_variants(long, published)
    out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "logdet_ldnas8")
    command = "python logdet_study.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    atomic_write_csv(long, out["long"])
    atomic_write_csv(table.assign(git_commit=git_commit()), out["csv"])
    atomic_write_text(markdown(table, published, preset=args.preset, arch=cfg.arch, seeds=cfg.seeds,
                               samples=fcfg.samples or "all", command=command), out["md"])
    print(table.drop(columns=["closest"]).round(3).to_string(index=False))
    print("outputs:\n  " + "\n  ".join(str(p) for p in out.values()))


if __name__ == "__main__":
    run(main)
