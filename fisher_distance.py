"""Step 2 of the papers: the asymmetric distance d(a->b) between every ordered pair of tasks.

    python fisher_distance.py --task-set mnist --preset cpu --data-root ../shared/data
    python fisher_distance.py --task-set ldnas8 --distance logdet --preset cpu
    python fisher_distance.py --tasks mnist-0 mnist-3 cifar10-3 --estimator mc

F_a = Fisher of N_a (trained on task a) on task b's test data, F_b = Fisher of N_b on the same
data, same arch and seed; both normalised to unit trace (see common/fisher/distance.py for the formulas).
Needs the checkpoints of step 1 (train_task_*.py with the same --preset/--arch/--seeds).
Writes results/<preset>/distances/<arch>/<label>_<distance>_<estimator>_{long,mean,std}.csv and
_{mean,std}.png; Fishers are cached under results/<preset>/fisher/ (a rerun computes none).
"""
from common.run.cli import common_parser, run
from common.run.errors import UserError, check_results_dir, check_seeds, finite_positive, positive
from common.run.names import DISTANCE_NAMES, ESTIMATOR_NAMES
from common.presets import FISHER_SPLITS, fisher_config, train_configs
from common.tasks import TASK_SETS, resolve_tasks, tasks_label


def main(argv=None):
    p = common_parser(__doc__, training=False)
    p.add_argument("--epochs", type=int, help="use networks trained with this --epochs (default: the preset's)")
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="a named task set (or use --tasks)")
    p.add_argument("--distance", choices=DISTANCE_NAMES, default="frechet",
                   help="frechet (FTD), frechet-sq (what the authors' code plotted), logdet (the log-det paper's "
                        "Eq. 2), logdet-layer (the released code's per-tensor form) (default: %(default)s)")
    p.add_argument("--estimator", choices=ESTIMATOR_NAMES, default="empirical",
                   help="empirical: true labels (default); mc: labels sampled from the model; legacy-batch: "
                        "squared batch gradients; legacy-code: those averaged over each parameter's first axis, "
                        "as the authors' released code (the legacy ones are not the papers' definition)")
    p.add_argument("--fisher-samples", type=int, help="target images per Fisher (default: the preset's)")
    p.add_argument("--fisher-split", choices=FISHER_SPLITS, default="test",
                   help="the targets' split the Fishers are computed on: test (as the papers, for the figures) or "
                        "val (no test label is read: the matrix that nas_fuse.py requires) (default: %(default)s)")
    p.add_argument("--sigma2", type=float, help="logdet, logdet-layer: sigma^2 > 0 added to each entry "
                   "(default: common/fisher/distance.py's DEFAULT_SIGMA2, as in the reference code)")
    args = p.parse_args(argv)

    # torch and the Fisher code are imported only now, so that --help answers at once
    from dataclasses import replace

    from common.run.device import select_device
    from common.fisher.distance import DEFAULT_SIGMA2
    from common.fisher.matrices import distance_table, fisher_job, matrix_key, mean_std_matrices, variant, write_matrix_outputs
    from common.run.launch import Job, prepare_inputs, run_step
    from common.networks.models import build_network
    from common.store.paths import distance_outputs
    from common.run.plan import Cost, task_sizes

    if args.sigma2 is None:
        args.sigma2 = DEFAULT_SIGMA2
    if args.task_set and args.tasks:
        raise UserError("give either --task-set or --tasks, not both")
    finite_positive("sigma2", args.sigma2)
    names = [args.task_set] if args.task_set else (args.tasks or ["mnist"])
    tasks = resolve_tasks(names)
    if len(tasks) < 2:
        raise UserError("a distance matrix needs at least two tasks")
    label = tasks_label(names)
    datasets = {t.dataset for t in tasks}
    cfgs = train_configs(args.preset, datasets, args.arch, check_seeds(args.seeds), positive("epochs", args.epochs))
    cfg = next(iter(cfgs.values()))
    fcfg = fisher_config(args.preset, args.fisher_samples, args.batch_size, args.fisher_split)
    preset_cfg = next(iter(train_configs(args.preset, datasets, args.arch, None).values()))
    suffix = variant(cfg, fcfg, args.distance, args.sigma2, preset_cfg=preset_cfg,
                     preset_fcfg=fisher_config(args.preset))
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    prepare_inputs(args, datasets)

    def job(target, seed):
        def fishers():
            return fisher_job(target, seed, tasks, arch=cfg.arch, preset=args.preset, cfgs=cfgs, fcfg=fcfg,
                              data_root=args.data_root, results_dir=args.results_dir, estimator=args.estimator,
                              device=device, force=args.force)
        def costs():
            split = task_sizes(target, replace(cfgs[target.dataset], max_train=None, max_eval=None))[fcfg.split]
            return (Cost(f"{cfg.arch} Fisher x {len(tasks)} sources", lambda: build_network(cfg.arch, target),
                         f"{cfg.arch}/{target.dataset}/fisher", "fisher", len(tasks) * min(split, fcfg.samples or split),
                         fcfg.batch_size, target.num_classes),)
        return Job(f"{target.name}/seed{seed}", fishers, costs)

    def merge():
        print(f"{args.distance} distance, {args.estimator} Fisher (fp32), {cfg.arch}, tasks "
              f"{', '.join(t.name for t in tasks)}, seeds {list(cfg.seeds)}, {fcfg.samples or 'all'} target "
              f"{fcfg.split} samples, device {device}")
        long, networks = distance_table(tasks, cfg.seeds, arch=cfg.arch, preset=args.preset, cfgs=cfgs, fcfg=fcfg,
                                        data_root=args.data_root, results_dir=args.results_dir,
                                        estimator=args.estimator, measures=[(args.distance, args.sigma2)],
                                        device=device, force=args.force)
        key = matrix_key(tasks, cfg.seeds, arch=cfg.arch, distance=args.distance, estimator=args.estimator,
                         sigma2=args.sigma2, fcfg=fcfg, networks=networks)
        mean, std = mean_std_matrices(long, [t.name for t in tasks])
        out = distance_outputs(args.results_dir, args.preset, cfg.arch, label, args.distance, args.estimator, suffix)
        title = (f"{args.distance} d(source→target), {cfg.arch}, {args.estimator} Fisher on {fcfg.split}, "
                 f"{len(cfg.seeds)} seed(s), preset {args.preset}")
        write_matrix_outputs(long, mean, std, out, key, title, device)
        print(f"\nmean over {len(cfg.seeds)} seed(s) (rows: source, columns: target)")
        print(mean.round(4).to_string())
        print("\nclosest source to each target: " + ", ".join(
            f"{t} <- {mean[t].drop(t).idxmin()}" for t in mean.columns))
        print("outputs:\n  " + "\n  ".join(str(p) for p in out.values() if p.exists()))

    return run_step(args, argv, script=__file__, step=f"step 2, Fishers of {label} ({args.estimator}, {fcfg.split})",
                    jobs=lambda: [job(t, s) for t in tasks for s in cfg.seeds], merge=merge)

if __name__ == "__main__":
    run(main)
