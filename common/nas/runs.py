"""Step 3, the runs: every search and retraining of ``nas_fuse.py`` as a keyed record
(``common/store/cache.py``), reused on rerun when its key matches, then the table (``common/nas/table.py``).

Records (``common/store/paths.py``): one JSON per (task, method, seed) with the genotype, seconds and device,
keyed by what the search depends on (task, space, closest task's genotype, config, data identity,
code; ``common/nas/keys.py``); the retraining in its own keyed JSON next to it; the α history CSV
beside them. The search functions (``common/nas/fuse.py``) receive the train and validation splits only.
"""

from __future__ import annotations

import math

import torch
from tqdm import tqdm

from common.base.errors import UserError
from common.data.decode import data_identity
from common.data.splits import Split, task_splits
from common.nas.fuse import fuse_search, random_search
from common.nas.keys import hand_designed_record, retrain_config, retrain_key, search_key
from common.nas.space import Genotype, SearchSpace, build_nas_network, width_for_params
from common.nas.spec import TASK_AWARE, NASRun
from common.nas.table import write_table
from common.nas.task_space import default_baselines, distance_matrix_source, task_aware_spaces
from common.networks.complexity import count_macs
from common.networks.models import build_network, count_parameters
from common.presets import NASConfig, TrainConfig
from common.store import paths
from common.store.cache import cached
from common.store.io import atomic_write_csv
from common.store.provenance import device_name, provenance
from common.tasks import Task
from common.training.accel import on_device
from common.training.train import fit, prepare


def search_splits(task: Task, data_root, results_dir, cfg: NASConfig, train_cfg: TrainConfig) -> dict[str, Split]:
    """The search's train and validation splits (the same carve-out as step 1's). The test split
    is dropped here, before any search code can see it."""
    splits = task_splits(
        task,
        data_root,
        paths.data_cache_dir(results_dir),
        val_fraction=train_cfg.val_fraction,
        split_seed=train_cfg.split_seed,
        max_train=cfg.search_max_train,
        max_eval=cfg.search_max_val,
    )
    return {"train": splits["train"], "val": splits["val"]}


def run_search(
    run: NASRun,
    method: str,
    seed: int,
    *,
    space: SearchSpace,
    closest: dict | None,
    results_dir,
    device,
    baselines: str = "",
    force: bool = False,
) -> tuple[dict, bool]:
    """Search (or reuse) the genotype of (task, method, seed); returns (record, searched now).
    The record's file carries the search key; the record itself carries that key too.
    ``baselines``: "from-<closest task>" for a task-aware space (in the file name, so the searches of
    one target against two closest tasks keep both, and two task sets with the same closest task
    share them; the key decides reuse); "" for the full space."""
    task, cfg, stages, train_cfg, preset, data_root = (
        run.target,
        run.cfg,
        run.stages,
        run.train_cfg,
        run.preset,
        run.data_root,
    )
    path = paths.nas_record_path(results_dir, preset, task.name, method, seed, baselines)
    key = search_key(
        task,
        method,
        space,
        closest,
        cfg,
        stages,
        train_cfg,
        seed,
        data_identity(task.dataset, data_root, paths.data_cache_dir(results_dir)),
    )

    def search() -> dict:
        splits = search_splits(task, data_root, results_dir, cfg, train_cfg)
        desc = f"{task.name} {method} seed {seed}"
        if method == "random":
            result = random_search(
                task, space, splits["train"], splits["val"], cfg, seed, device, stages=stages, desc=desc
            )
        else:
            warm = Genotype.from_str(closest["genotype"]) if method == "task-aware-warm" else None
            result = fuse_search(
                task, space, splits["train"], splits["val"], cfg, seed, device, stages=stages, desc=desc, incumbent=warm
            )
        history = paths.nas_history_path(results_dir, preset, task.name, method, seed, baselines)
        atomic_write_csv(result.history.assign(method=method, seed=seed), history)
        return {
            "key": key,
            "task": task.name,
            "method": method,
            "seed": seed,
            "preset": preset,
            "genotype": result.genotype.to_str(),
            "ops": list(result.genotype.ops),
            "space": space.to_dict(),
            "space_log10_size": round(space.log10_size, 4),
            "closest": closest,
            "baselines": baselines,
            "history": history.name,
            "search_seconds": round(result.seconds, 3),
            "stages": stages,
            "n_train": len(splits["train"]),
            "n_val": len(splits["val"]),
            "device": device_name(torch.device(device)),
            "provenance": provenance(torch.device(device)),
        }

    record, hit = cached(path, key, search, fmt="json", force=force, what="NAS record")
    return record, not hit


def _check_retrain(value: dict) -> None:
    bad = [k for k, v in value.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(f"the retraining gave {bad[0]} = {value[bad[0]]} (an empty split? check the NAS preset's caps)")


def run_retrain(record: dict, run: NASRun, *, results_dir, device, force: bool = False) -> tuple[dict, bool]:
    """Retrain the record's genotype from scratch on the train split and test it once (its own
    keyed file next to the record). Returns (record with "retrain", retrained now)."""
    task, cfg, train_cfg, data_root, accel, preset = (
        run.target,
        run.cfg,
        run.train_cfg,
        run.data_root,
        run.accel,
        run.preset,
    )
    rcfg = retrain_config(cfg, train_cfg)
    seed = record["seed"]
    hand_designed = "arch" in record
    # the searched cell widened to the preset's parameter count (hand-designed networks keep theirs)
    width = (
        cfg.width
        if hand_designed or cfg.retrain_params is None
        else width_for_params(record["genotype"], task, cfg.depth, cfg.retrain_params)
    )
    key = retrain_key(record["key"], record["genotype"], cfg, rcfg, width)

    def retrain() -> dict:
        splits = task_splits(
            task,
            data_root,
            paths.data_cache_dir(results_dir),
            val_fraction=rcfg.val_fraction,
            split_seed=rcfg.split_seed,
            max_train=rcfg.max_train,
            max_eval=rcfg.max_eval,
        )
        torch.manual_seed(seed)  # the NAS network's weights (the ε-architectures seed themselves)
        built = (
            build_network(record["arch"], task, seed=seed)
            if hand_designed
            else build_nas_network(record["genotype"], task, width, cfg.depth)
        )
        net = prepare(built, torch.device(device))
        with accel.autocast():
            metrics = fit(
                accel.wrap(net),
                on_device(splits, torch.device(device)),
                rcfg,
                task.dataset,
                seed,
                torch.device(device),
                desc=f"{task.name} {record['method']} seed {seed}: retrain",
            )
        return {
            **{k: round(v, 6) for k, v in metrics.items()},
            "params": count_parameters(net),
            "macs": count_macs(net),
            "width": None if hand_designed else width,
            "epochs": rcfg.epochs,
            "n_train": len(splits["train"]),
            "n_test": len(splits["test"]),
            "device": device_name(torch.device(device)),
            "provenance": provenance(torch.device(device)),
            **accel.record(),
        }

    path = paths.nas_retrain_path(results_dir, preset, task.name, record["method"], seed, record.get("baselines", ""))
    retrained, hit = cached(path, key, retrain, fmt="json", force=force, what="NAS retraining", validate=_check_retrain)
    return {**record, "retrain": retrained}, not hit


def run_nas(run: NASRun, results_dir, *, device, force: bool = False, only: set[tuple[str, int]] | None = None) -> dict:
    """The body of ``nas_fuse.py``: the main search(es) for every seed, then, unless ``run.search_only``, the
    baselines at equal budget, every retraining and the table. Returns the records by (method, seed) and,
    with the table, its output paths. ``only``: the (method, seed) pairs to run, "hand-<arch>" for a
    hand-designed network (one launcher job); no table is written then."""
    target, cfg, stages, preset, search_only = run.target, run.cfg, run.stages, run.preset, run.search_only
    seeds = list(cfg.seeds)
    spaces = {seed: (SearchSpace(), None) for seed in seeds}
    label = ""  # the baseline task set of the task-aware rows (in their file names and the table's)
    if run.task_aware:
        names = list(run.baselines or default_baselines(target))
        label = distance_matrix_source(target, names)[0]
        spaces = task_aware_spaces(
            target,
            names,
            seeds,
            cfg=cfg,
            preset=preset,
            arch=run.arch,
            distance=run.distance,
            estimator=run.estimator,
            stages=stages,
            default_stages=cfg.stages,
            data_root=run.data_root,
            results_dir=results_dir,
        )
        closest = spaces[seeds[0]][1]
        print(
            f"closest baseline task to {target.name} among {label}: {closest['task']} (d = {closest['distance']:.4f}); "
            f"task-aware space per seed: "
            + "; ".join(
                f"seed {s}: normal {', '.join(sp.cell_ops('normal'))} | reduce {', '.join(sp.cell_ops('reduce'))}"
                for s, (sp, _) in spaces.items()
            )
        )
    methods = run.methods
    width = f"widened to ~{cfg.retrain_params / 1e6:g} M parameters" if cfg.retrain_params else "same width"
    print(
        f"NAS for {target.name}: {', '.join(methods)}; {stages} stage(s), seeds {seeds}, preset {preset}, "
        f"search cells {cfg.width} channels x {cfg.depth} (retraining: {width}), device {device}"
    )
    records: dict[tuple[str, int], dict] = {}
    pairs = [(s, m) for s in seeds for m in methods if only is None or (m, s) in only]
    for seed, method in tqdm(pairs, desc=f"NAS {target.name}", unit="run"):
        method_space, closest = spaces[seed] if method in TASK_AWARE else (SearchSpace(), None)
        record, searched = run_search(
            run,
            method,
            seed,
            space=method_space,
            closest=closest,
            results_dir=results_dir,
            device=device,
            force=force,
            baselines=f"from-{closest['task']}" if closest else "",
        )
        # a skipped search spent nothing now: its recorded time is labelled as the earlier run's
        took = f"{record['search_seconds']:.0f} s" if searched else f"took {record['search_seconds']:.0f} s then"
        tqdm.write(
            f"{'searched' if searched else 'skip search (finished earlier; --force redoes)'} {target.name} "
            f"{method} seed {seed}: {record['genotype']} ({took})"
        )
        if not search_only:
            record, trained = run_retrain(record, run, results_dir=results_dir, device=device, force=force)
            r = record["retrain"]
            took = f"{r['train_seconds']:.0f} s" if trained else f"took {r['train_seconds']:.0f} s then"
            tqdm.write(
                f"{'retrained' if trained else 'skip retraining (finished earlier)'} {target.name} {method} "
                f"seed {seed}: test acc {r['test_acc']:.4f} ({took})"
            )
        records[(method, seed)] = record
    if not search_only:  # the hand-designed networks, retrained exactly like the searched cells
        for seed, arch in [
            (s, a) for s in seeds for a in cfg.retrain_archs if only is None or (f"hand-{a}", s) in only
        ]:
            record, trained = run_retrain(
                hand_designed_record(target, arch, seed), run, results_dir=results_dir, device=device, force=force
            )
            tqdm.write(
                f"{'retrained' if trained else 'skip retraining (finished earlier)'} {target.name} {arch} "
                f"seed {seed}: test acc {record['retrain']['test_acc']:.4f}"
            )
            records[(record["method"], seed)] = record
        methods = methods + [f"hand-{arch}" for arch in cfg.retrain_archs]
    out = {"records": records}
    if not search_only and only is None:
        out.update(
            write_table(
                target,
                methods,
                seeds,
                records,
                cfg=cfg,
                stages=stages,
                train_cfg=run.train_cfg,
                preset=preset,
                results_dir=results_dir,
                baselines=label,
            )
        )
    return out
