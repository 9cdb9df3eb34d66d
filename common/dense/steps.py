"""The bodies of ``train_task_taskonomy.py`` and ``fisher_distance_taskonomy.py``: check every input,
then train / measure through ``common/dense/runs.py``, then write the tables and figures."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pandas as pd
from tqdm import tqdm

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds, positive
from common.data.split_checks import check_dense_splits
from common.dense.data import check_images_present, dense_splits
from common.dense.presets import dense_config
from common.dense.runs import (
    checkpoint_key,
    current_matrix_key,
    distance_matrix,
    load_checkpoint,
    metrics_table,
    train_command,
    train_or_load,
    variant,
)
from common.dense.transfer_runs import DENSE_SCORES, transfer_run
from common.dense_tasks import DEFAULT_IMAGES, DENSE_TASK_SETS, check_images, resolve_dense_tasks
from common.fisher.matrix_files import mean_std_matrices, write_matrix_outputs
from common.presets import TRANSFER_PRESETS
from common.report.plots import affinity_panels, atlas_map
from common.run.launch import prepare_inputs
from common.store import paths
from common.store.cache import check_entry
from common.store.io import atomic_write_csv
from common.studies.atlas import compare_affinity, mds_map, read_affinity
from common.transfer_learning.runs import budget_variant
from common.transfer_learning.table import correlations, pair_table, write_outputs


def _resolve(args, training: bool):
    if args.task_set not in DENSE_TASK_SETS and not args.tasks:
        raise UserError(f"unknown dense task set '{args.task_set}'; choose from {', '.join(DENSE_TASK_SETS)}")
    tasks = resolve_dense_tasks(args.tasks or [args.task_set])
    label = "-".join(t.name for t in tasks) if args.tasks else args.task_set
    images = args.images or (
        DEFAULT_IMAGES[args.task_set]
        if not args.tasks
        else ("cifar10" if all(t.derived for t in tasks) else "taskonomy")
    )
    check_images(tasks, images)
    overrides = {"arch": args.arch, "seeds": check_seeds(args.seeds)}
    if training:
        overrides.update(epochs=positive("epochs", args.epochs), batch_size=positive("batch-size", args.batch_size))
    cfg = dense_config(args.preset, **overrides)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    check_images_present(tasks, images, args.data_root)
    if images != "taskonomy":  # decode once now: damaged files stop the run before any training
        prepare_inputs(args, [images])
    return tasks, label, images, cfg, device


def train_dense_tasks(args) -> pd.DataFrame:
    tasks, label, images, cfg, device = _resolve(args, training=True)
    runs = [(t, s) for t in tasks for s in cfg.seeds]

    for task in tasks:  # before the first run: an empty split would surface only after training
        check_dense_splits(
            task,
            dense_splits(task, images, args.data_root, paths.data_cache_dir(args.results_dir), cfg),
            fix=f"add images (with --images taskonomy: more views, or a second building) to {images}",
        )
    print(
        f"training {len(runs)} run(s): {cfg.arch} on {label} ({', '.join(t.name for t in tasks)}) from {images} "
        f"images at {cfg.image_size}x{cfg.image_size}, seeds {list(cfg.seeds)}, preset {args.preset}, device {device}"
    )
    for task, seed in tqdm(runs, desc=f"{label} runs", unit="run"):
        value, trained = train_or_load(
            task,
            images,
            seed,
            cfg,
            preset=args.preset,
            data_root=args.data_root,
            results_dir=args.results_dir,
            device=device,
            force=args.force,
            log=lambda line: tqdm.write(line.replace("recomputing", "retraining")),
        )
        m = value["metrics"]
        if trained:
            tqdm.write(
                f"done {task.name} seed {seed}: test MSE {m['test_mse']:.4f} (mean-target baseline "
                f"{m['test_mse_mean_target']:.4f}, {m['train_seconds']:.0f} s)"
            )
        else:
            tqdm.write(f"skip {task.name} seed {seed}: finished earlier, test MSE {m['test_mse']:.4f} (--force redoes)")
    table = metrics_table(
        tasks, images, cfg, preset=args.preset, data_root=args.data_root, results_dir=args.results_dir
    )
    out = paths.dense_train_metrics(args.results_dir, args.preset, cfg.arch, images)
    try:
        old = pd.read_csv(out)
        keep = old[~old.set_index(["task", "seed"]).index.isin(table.set_index(["task", "seed"]).index)]
        merged = pd.concat([keep, table], ignore_index=True)
    except (OSError, ValueError, KeyError):
        merged = table
    atomic_write_csv(merged.sort_values(["task", "seed"]), out)
    summary = table.groupby("task", sort=False)[["test_mse", "test_mse_mean_target"]].agg(["mean", "std"])
    print(summary.round(4).to_string())
    print(
        f"checkpoints: {paths.dense_dir(args.results_dir, args.preset, cfg.arch, images) / 'checkpoints'}\n"
        f"metrics:     {out}"
    )
    return table


def _missing_networks(tasks, images, cfg, args) -> list[str]:
    missing = []
    for task in tasks:
        for seed in cfg.seeds:
            key = checkpoint_key(task, images, cfg, seed, data_root=args.data_root, results_dir=args.results_dir)
            path = paths.dense_checkpoint_path(args.results_dir, args.preset, cfg.arch, images, task.name, seed)
            entry, why = check_entry(path, key, what="checkpoint")
            if entry is None:
                missing.append(f"{task.name} seed {seed} ({why})")
    return missing


def dense_distances(args) -> pd.DataFrame:
    tasks, label, images, cfg, device = _resolve(args, training=True)  # --epochs: networks trained with it
    if len(tasks) < 2:
        raise UserError("a distance matrix needs at least two tasks")
    affinity = read_affinity(args.affinity, [t.name for t in tasks]) if args.affinity else None
    missing = _missing_networks(tasks, images, cfg, args)
    if missing:
        raise UserError(
            f"{len(missing)} ε-network(s) not trained or out of date ({', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}); train them first: "
            + train_command(args.preset, images, [t.name for t in tasks], cfg, args.data_root, args.results_dir)
        )
    long, key = distance_matrix(
        tasks,
        images,
        cfg,
        preset=args.preset,
        data_root=args.data_root,
        results_dir=args.results_dir,
        device=device,
        force=args.force,
    )
    order = [t.name for t in tasks]
    mean, std = mean_std_matrices(long, order)
    out = paths.dense_distance_outputs(
        args.results_dir, args.preset, cfg.arch, images, label, variant(cfg, args.preset)
    )
    compared = str(long.compared.iloc[0])
    title = f"FTD, {label} on {images} images ({cfg.arch}, {compared.split(' (')[0]}), preset {args.preset}"
    write_matrix_outputs(long, mean, std, out, key, title, device)
    coords, stress = mds_map(mean)
    atomic_write_csv(coords.assign(stress=stress), out["atlas_csv"])
    atlas_map(
        coords, stress, out["atlas_png"], f"Task atlas: {label} on {images} images ({cfg.arch}, preset {args.preset})"
    )
    print(f"FTD d(source → target), mean over seeds {list(cfg.seeds)}; compared: {compared}")
    print(mean.round(3).to_string())
    print(f"atlas (metric MDS of the symmetrised matrix): stress-1 {stress:.3f}")
    written = [out["mean"], out["mean_png"], out["atlas_png"]]
    if affinity is not None:
        table = compare_affinity(mean, affinity)
        atomic_write_csv(table, out["affinity_csv"])
        affinity_panels(mean, affinity, table, out["affinity_png"], f"FTD vs transfer affinity: {label} ({cfg.arch})")
        print(table.round(3).to_string(index=False))
        print(f"mean Spearman(−d, affinity) over targets: {table.spearman_neg_d_affinity.mean():+.3f}")
        written += [out["affinity_csv"], out["affinity_png"]]
    print("outputs: " + ", ".join(str(p) for p in written))
    return mean


def _read_matrix(tasks, label, images, cfg, args) -> pd.DataFrame:
    """The mean FTD matrix of fisher_distance_taskonomy.py for these networks, after checking its
    manifest (same networks, samples and code; the CSV unchanged); else one line with the command."""

    out = paths.dense_distance_outputs(
        args.results_dir, args.preset, cfg.arch, images, label, variant(cfg, args.preset)
    )
    command = (
        f"{paths.python_command()} fisher_distance_taskonomy.py --preset {args.preset} --images {images} "
        + (f"--tasks {' '.join(t.name for t in tasks)}" if args.tasks else f"--task-set {args.task_set}")
        + f" --arch {cfg.arch} --seeds {' '.join(map(str, cfg.seeds))} --data-root {args.data_root} "
        f"--results-dir {args.results_dir}"
    )
    key = current_matrix_key(
        tasks, images, cfg, preset=args.preset, data_root=args.data_root, results_dir=args.results_dir
    )
    entry, why = check_entry(out["manifest"], key, fmt="json", what="distance manifest")
    if entry is None or not out["mean"].is_file():
        raise UserError(f"the distance matrix {out['mean']} is {why or 'missing'}; compute it first: {command}")
    if hashlib.sha256(out["mean"].read_bytes()).hexdigest()[:16] != entry["value"]["sha256"]["mean"]:
        raise UserError(f"{out['mean']} was changed after it was computed; recompute it: {command}")
    return pd.read_csv(out["mean"], index_col="source")


def dense_transfer_study(args) -> pd.DataFrame:

    tasks, label, images, cfg, device = _resolve(args, training=False)
    if len(tasks) < 2:
        raise UserError("a transfer study needs at least two tasks")
    preset_tcfg = TRANSFER_PRESETS[args.preset]
    tcfg = replace(
        preset_tcfg,
        images=positive("budget-images", args.budget_images) or preset_tcfg.images,
        epochs=positive("epochs", args.epochs) or preset_tcfg.epochs,
        batch_size=positive("batch-size", args.batch_size) or preset_tcfg.batch_size,
    )
    budget = budget_variant(tcfg, preset_tcfg)
    missing = _missing_networks(tasks, images, cfg, args)
    if missing:
        raise UserError(
            f"{len(missing)} ε-network(s) not trained or out of date ({', '.join(missing[:3])}); train "
            "them first: "
            + train_command(args.preset, images, [t.name for t in tasks], cfg, args.data_root, args.results_dir)
        )
    distances = _read_matrix(tasks, label, images, cfg, args)  # step 2 first, before any training

    print(
        f"transfer study of {label} on {images} images: {cfg.arch}, seeds {list(cfg.seeds)}, budget {tcfg.images} "
        f"target images x {tcfg.epochs} epoch(s), preset {args.preset}, device {device}"
    )
    rows, done = [], 0
    runs = [(t, s, src) for t in tasks for s in cfg.seeds for src in [None] + [x for x in tasks if x != t]]
    for target, seed, source in tqdm(runs, desc="transfer runs", unit="run"):
        ckpt = (
            load_checkpoint(
                source, images, seed, cfg, preset=args.preset, data_root=args.data_root, results_dir=args.results_dir
            )
            if source
            else None
        )
        record, ran = transfer_run(
            source,
            ckpt,
            target,
            images,
            seed,
            tcfg,
            cfg,
            preset=args.preset,
            data_root=args.data_root,
            results_dir=args.results_dir,
            device=device,
            force=args.force,
            variant=budget,
        )
        rows.append({k: v for k, v in record.items() if k != "provenance"})
        done += ran
    print(f"{done} run(s) trained now, {len(rows) - done} read from earlier runs")
    runs_table = pd.DataFrame(rows)
    pairs = pair_table(runs_table, distances, DENSE_SCORES)
    table = correlations(pairs, DENSE_SCORES)
    out = paths.dense_transfer_outputs(
        args.results_dir, args.preset, cfg.arch, images, label + variant(cfg, args.preset) + budget
    )
    title = (
        f"transfer on {label} ({images} images): {cfg.arch}, {len(cfg.seeds)} seed(s), {tcfg.images} target "
        f"images x {tcfg.epochs} epoch(s), preset {args.preset}"
    )
    write_outputs(runs_table, pairs, table, out, title, DENSE_SCORES)
    print("\n" + table.round(3).to_string(index=False))
    print("outputs:\n  " + "\n  ".join(str(p) for p in out.values()))
    return table
