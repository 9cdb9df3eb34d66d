"""Step 1 of the papers, the body of ``train_task_<dataset>.py``: every task x seed of a dataset,
each trained once (``common/training/checkpoints.py`` reuses a checkpoint whose key matches), then
``train_metrics.csv``. All input is checked before the first image is decoded."""

from __future__ import annotations

import pandas as pd
from tqdm import tqdm

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds, positive
from common.data.split_checks import check_task_splits
from common.data.splits import task_splits
from common.networks.models import build_network, count_parameters
from common.presets import train_config
from common.run.launch import Job, prepare_inputs, run_step
from common.run.plan import Cost, task_sizes
from common.store import paths
from common.tasks import resolve_tasks, tasks_of_dataset
from common.training.accel import from_args
from common.training.checkpoints import collect_metrics, train_or_load


def train_tasks(dataset: str, args, argv=None, *, script: str) -> pd.DataFrame | None:
    """Train (or reuse) every task x seed of ``dataset`` with ``args.launcher``, then write the metrics."""
    tasks = resolve_tasks(args.tasks or [dataset])
    wrong = [t.name for t in tasks if t.dataset != dataset]
    if wrong:
        raise UserError(
            f"task(s) {', '.join(wrong)} are not {dataset} tasks; "
            f"{dataset} tasks: {', '.join(tasks_of_dataset(dataset))}"
        )
    cfg = train_config(
        args.preset,
        dataset,
        arch=args.arch,
        epochs=positive("epochs", args.epochs),
        batch_size=positive("batch-size", args.batch_size),
        seeds=check_seeds(args.seeds),
    )
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    runs = [(t, s) for t in tasks for s in cfg.seeds]
    prepare_inputs(args, [dataset])
    if not args.plan:  # the splits each run trains and tests on, checked before the first run
        for task in tasks:
            check_task_splits(
                task,
                task_splits(
                    task,
                    args.data_root,
                    paths.data_cache_dir(args.results_dir),
                    val_fraction=cfg.val_fraction,
                    split_seed=cfg.split_seed,
                    max_train=cfg.max_train,
                    max_eval=cfg.max_eval,
                ),
                fix=f"add images to {dataset}'s folders, or define the task with more classes per label",
            )
    accel = from_args(args, device)

    def train(task, seed, log=None):
        return train_or_load(
            task,
            cfg.arch,
            seed,
            cfg,
            preset=args.preset,
            data_root=args.data_root,
            results_dir=args.results_dir,
            device=device,
            force=args.force,
            log=log,
            accel=accel,
        )

    def costs(task) -> tuple[Cost]:
        sizes = task_sizes(task, cfg)
        return (
            Cost(
                f"{cfg.arch} train",
                lambda: build_network(cfg.arch, task, seed=0),
                f"{cfg.arch}/{dataset}/train",
                "train",
                cfg.epochs * sizes["train"],
                cfg.batch_size,
                task.num_classes,
                eval_images=sizes["val"] + sizes["test"],
            ),
        )

    def job(task, seed) -> Job:
        return Job(f"{task.name}/seed{seed}", lambda: train(task, seed), lambda: costs(task))

    def merge() -> pd.DataFrame:
        params = count_parameters(build_network(cfg.arch, tasks[0], seed=0)) / 1e6
        print(
            f"training {len(runs)} run(s): {cfg.arch} ({params:.2f} M parameters) on "
            f"{', '.join(t.name for t in tasks)}, seeds {list(cfg.seeds)}, preset {args.preset}, device {device}"
        )
        for task, seed in tqdm(runs, desc=f"{dataset} runs", unit="run"):
            record, trained = train(task, seed, log=lambda line: tqdm.write(line.replace("recomputing", "retraining")))
            m = record["metrics"]
            if trained:
                tqdm.write(f"done {task.name} seed {seed}: test acc {m['test_acc']:.4f} ({m['train_seconds']:.0f} s)")
            else:
                tqdm.write(
                    f"skip {task.name} seed {seed}: finished earlier, test acc {m['test_acc']:.4f} "
                    "(use --force to redo)"
                )
        return summarize(tasks, cfg.arch, args)

    return run_step(
        args,
        argv,
        script=script,
        step=f"step 1, {dataset} ε-networks",
        jobs=lambda: [job(t, s) for t, s in runs],
        merge=merge,
    )


def summarize(tasks, arch: str, args) -> pd.DataFrame:
    """train_metrics.csv from every run record, and a summary of the tasks trained now."""
    df = collect_metrics(args.results_dir, args.preset)
    mine = df[df.task.isin([t.name for t in tasks]) & (df.arch == arch)] if len(df) else df
    if len(mine):
        summary = mine.groupby("task", sort=False).agg(
            runs=("seed", "count"),
            test_acc_mean=("test_acc", "mean"),
            test_acc_std=("test_acc", "std"),
            seconds=("train_seconds", "sum"),
        )
        print(summary.round(4).to_string())
    print(f"checkpoints: {paths.checkpoints_root(args.results_dir, args.preset) / arch}")
    print(f"metrics:     {paths.train_metrics_csv(args.results_dir, args.preset)}")
    return df
