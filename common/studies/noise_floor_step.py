"""The body of ``noise_floor.py``: the null twins, the noise-floor table of a task set, its summary,
figure and manifest (the computation is ``common/studies/noise_floor.py``)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from common.base.device import select_device
from common.base.errors import UserError, check_results_dir, check_seeds
from common.data.tree_checks import check_data
from common.presets import fisher_config, train_configs
from common.report.markdown import table as markdown_table
from common.report.plots import noise_floor_figure
from common.store import paths
from common.store.cache import code_version, write_entry
from common.store.io import atomic_write_csv, atomic_write_text
from common.store.provenance import git_commit, provenance
from common.studies.noise_floor import NULL_SGD_OFFSET, noise_table, summary
from common.tasks import resolve_tasks, tasks_label


def noise_floor_outputs(results_dir, preset: str, arch: str, label: str) -> dict:
    out = paths.study_outputs(results_dir, preset, arch, f"noise_floor_{label}")
    return {**out, "png": out["csv"].with_suffix(".png"), "manifest": out["csv"].with_suffix(".json")}


def noise_floor_step(args) -> list[Path]:
    names = [args.task_set] if args.task_set else (args.tasks or ["mnist"])
    tasks = resolve_tasks(names)
    if len(tasks) < 2:
        raise UserError("a noise floor needs at least two tasks (the between-task entries it is compared with)")
    label = tasks_label(names)
    datasets = sorted({t.dataset for t in tasks})
    cfgs = train_configs(args.preset, datasets, args.arch, check_seeds(args.seeds))
    cfg = next(iter(cfgs.values()))
    fcfg = fisher_config(args.preset, None, args.batch_size, arch=cfg.arch)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    for ds in datasets:
        check_data(ds, args.data_root)
    table, networks = noise_table(
        tasks,
        cfg.seeds,
        arch=cfg.arch,
        preset=args.preset,
        cfgs=cfgs,
        fcfg=fcfg,
        data_root=args.data_root,
        results_dir=args.results_dir,
        estimator="empirical",
        device=device,
        force=args.force,
    )
    if not table.distance.map(math.isfinite).all():
        raise UserError("a noise-floor distance is NaN or infinite; nothing was written: check the twins' training")
    floors = {m: summary(g, len(cfg.seeds)) for m, g in table.groupby("measure", sort=False)}
    out = noise_floor_outputs(args.results_dir, args.preset, cfg.arch, label)
    rows = [
        {"measure": m, "kind": k, **v, "entry_noise_std": f["entry_noise_std"], "floor": f["floor"]}
        for m, f in floors.items()
        for k, v in f.items()
        if isinstance(v, dict)
    ]
    frame = pd.DataFrame(rows).assign(seeds=len(cfg.seeds), git_commit=git_commit())
    atomic_write_csv(table.assign(arch=cfg.arch, git_commit=git_commit()), out["long"])
    atomic_write_csv(frame, out["csv"])
    title = f"Noise floor of the {label} matrices ({cfg.arch}, preset {args.preset}, seeds {list(cfg.seeds)})"
    noise_floor_figure(table[table.measure == "frechet"], floors["frechet"], out["png"], title)
    lines = [
        f"# {title}",
        "",
        f"Null twins: the same task and initial weights as seed k, SGD seed {NULL_SGD_OFFSET} + k (data order and "
        f"augmentation). Fishers: empirical, {fcfg.samples or 'all'} {fcfg.split} images of the target.",
        "",
        *markdown_table(
            ["distance", "pairs", "mean", "std", "n"],
            [[r["measure"], r["kind"], f"{r['mean']:.3g}", f"{r['std']:.3g}", r["n"]] for r in rows],
        ),
        "",
        "Entry noise (an entry's change when its source network is replaced by its twin) and the floor of a "
        f"difference between two entries of the {len(cfg.seeds)}-seed mean matrix (2 · std · √(2/seeds)): "
        + "; ".join(f"{m} std {f['entry_noise_std']:.3g}, **floor {f['floor']:.3g}**" for m, f in floors.items())
        + ".",
        "",
        f"Figure (FTD): `{out['png'].name}`; every distance: `{out['long'].name}`. Commit {git_commit()}.",
        "",
    ]
    atomic_write_text("\n".join(lines), out["md"], seal=True)
    key = {
        "tasks": [t.to_dict() for t in tasks],
        "seeds": list(cfg.seeds),
        "arch": cfg.arch,
        "fisher": {"samples": fcfg.samples, "batch_size": fcfg.batch_size, "split": fcfg.split},
        "networks": networks,
        "code": code_version("distance-matrix"),
    }
    write_entry(out["manifest"], key, floors, "json", provenance(device))
    print("\n".join(lines[4:]))
    return [out[k] for k in ("csv", "long", "md", "png", "manifest")]
