"""Step 2, the body of ``fisher_distance.py``: the Fishers of every (source network, target) pair as launcher jobs,
then the distance matrix, its CSVs, manifest and heatmap (``common/fisher/matrices.py``)."""

from __future__ import annotations

from dataclasses import replace

from common.base.device import select_device
from common.base.errors import (
    UserError,
    check_results_dir,
    check_seeds,
    finite_positive,
    positive,
)
from common.data.split_checks import check_fisher_data
from common.fisher.distance import DEFAULT_SIGMA2
from common.fisher.matrices import distance_table, fisher_job
from common.fisher.matrix_files import matrix_key, mean_std_matrices, variant, write_matrix_outputs
from common.fisher.store import fisher_data
from common.networks.models import build_network
from common.presets import fisher_config, train_configs
from common.run.launch import Job, prepare_inputs, run_step
from common.run.plan import Cost, task_sizes
from common.store.paths import distance_outputs
from common.tasks import resolve_tasks, tasks_label


def distance_step(args, argv, script: str):
    """The step of ``fisher_distance.py`` for the parsed ``args`` (``argv``: its flags, for the launchers' jobs)."""

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
    fcfg = fisher_config(
        args.preset, args.fisher_samples, args.batch_size, args.fisher_split, args.target_labels, arch=cfg.arch
    )
    preset_cfg = next(iter(train_configs(args.preset, datasets, args.arch, None).values()))
    suffix = variant(
        cfg,
        fcfg,
        args.distance,
        args.sigma2,
        preset_cfg=preset_cfg,
        preset_fcfg=fisher_config(args.preset, arch=cfg.arch),
        parameters=args.parameters,
        pairing=args.pairing,
    )
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    prepare_inputs(args, datasets)
    samples_used = {} if args.plan else fisher_samples_used(tasks, args, cfgs, fcfg)

    def job(target, seed):
        def fishers():
            return fisher_job(
                target,
                seed,
                tasks,
                arch=cfg.arch,
                preset=args.preset,
                cfgs=cfgs,
                fcfg=fcfg,
                data_root=args.data_root,
                results_dir=args.results_dir,
                estimator=args.estimator,
                device=device,
                force=args.force,
            )

        def costs():
            split = task_sizes(target, replace(cfgs[target.dataset], max_train=None, max_eval=None))[fcfg.split]
            return (
                Cost(
                    f"{cfg.arch} Fisher x {len(tasks)} sources",
                    lambda: build_network(cfg.arch, target, seed=0),
                    f"{cfg.arch}/{target.dataset}/fisher",
                    "fisher",
                    len(tasks) * min(split, fcfg.samples or split),
                    fcfg.batch_size,
                    target.num_classes,
                    # the Fishers' inputs: the body-only and cross-seed matrices read the same ones
                    identity=(
                        "fisher",
                        cfg.arch,
                        target.name,
                        seed,
                        tuple(t.name for t in tasks),
                        fcfg,
                        args.estimator,
                        tuple(sorted(cfgs.items())),
                        str(args.results_dir),
                    ),
                ),
            )

        return Job(f"{target.name}/seed{seed}", fishers, costs)

    def merge():
        print(
            f"{args.distance} distance, {args.estimator} Fisher (fp32), {cfg.arch}, tasks "
            f"{', '.join(t.name for t in tasks)}, seeds {list(cfg.seeds)}, {fcfg.samples or 'all'} target "
            f"{fcfg.split} samples, device {device}"
        )
        long, networks = distance_table(
            tasks,
            cfg.seeds,
            arch=cfg.arch,
            preset=args.preset,
            cfgs=cfgs,
            fcfg=fcfg,
            data_root=args.data_root,
            results_dir=args.results_dir,
            estimator=args.estimator,
            measures=[(args.distance, args.sigma2)],
            device=device,
            force=args.force,
            parameters=args.parameters,
            pairing=args.pairing,
        )
        key = matrix_key(
            tasks,
            cfg.seeds,
            arch=cfg.arch,
            distance=args.distance,
            estimator=args.estimator,
            sigma2=args.sigma2,
            fcfg=fcfg,
            networks=networks,
            parameters=args.parameters,
            pairing=args.pairing,
        )
        mean, std = mean_std_matrices(long, [t.name for t in tasks])
        out = distance_outputs(args.results_dir, args.preset, cfg.arch, label, args.distance, args.estimator, suffix)
        control = "".join(
            [
                ", head left out" if args.parameters == "body" else "",
                {"true": "", "permuted": ", target labels permuted", "shuffled": ", target labels shuffled"}[
                    fcfg.labels
                ],
                ", target networks of the next seed" * (args.pairing == "cross-seed"),
            ]
        )
        title = (
            f"{args.distance} d(source→target){control}, {cfg.arch}, {args.estimator} Fisher on {fcfg.split}, "
            f"{len(cfg.seeds)} seed(s), preset {args.preset}"
        )
        write_matrix_outputs(long, mean, std, out, key, title, device, samples_used=samples_used)
        print(f"\nmean over {len(cfg.seeds)} seed(s) (rows: source, columns: target)")
        print(mean.round(4).to_string())
        print(
            "\nclosest source to each target: " + ", ".join(f"{t} <- {mean[t].drop(t).idxmin()}" for t in mean.columns)
        )
        print("outputs:\n  " + "\n  ".join(str(p) for p in out.values() if p.exists()))

    return run_step(
        args,
        argv,
        script=script,
        step=f"step 2, Fishers of {label} ({args.estimator}, {fcfg.split})",
        jobs=lambda: [job(t, s) for t in tasks for s in cfg.seeds],
        merge=merge,
    )


def fisher_samples_used(tasks, args, cfgs, fcfg) -> dict[str, int]:
    """Target -> the images its Fishers are computed on, checked against the minimum before any Fisher."""

    used = {}
    for target in tasks:
        n = len(fisher_data(target, args.data_root, args.results_dir, cfgs[target.dataset], fcfg.samples, fcfg.split))
        check_fisher_data(
            target, n, fcfg.split, fix=f"add images to {target.dataset}'s folders, or use --fisher-split test"
        )
        used[target.name] = n
    return used
