"""The files of a distance matrix (step 2): their names (``variant``), the manifest's key (``matrix_key``),
the ``<stem>_{long,mean,std}.csv`` tables with their heatmaps and manifest (``write_matrix_outputs``), and
reading a matrix back with every check (``read_mean_matrix``). The matrices themselves are computed in
``common/fisher/matrices.py``.

The manifest's key names the task definitions, seeds, networks (run ids), Fisher settings and distance, and
holds a hash of each CSV: readers (NAS, the transfer study) refuse a matrix of other task definitions or other
networks, or an edited CSV, with the command that recomputes it. Nothing is written unless every entry is
finite and non-negative, so a bad run never replaces a good matrix."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pandas as pd

from common.base.errors import UserError
from common.fisher.distance import DEFAULT_SIGMA2, SIGMA_DISTANCES
from common.fisher.label_controls import matrix_key_part
from common.presets import FisherConfig, TrainConfig, fisher_config, train_config
from common.report.plots import distance_heatmap
from common.store import paths
from common.store.cache import canonical, check_entry, code_version, read_entry, write_entry
from common.store.io import atomic_write_csv
from common.store.provenance import provenance
from common.tasks import TASKS, Task
from common.training.checkpoints import checkpoint_key


def matrix_key(
    tasks: list[Task],
    seeds,
    *,
    arch: str,
    distance: str,
    estimator: str,
    sigma2: float,
    fcfg: FisherConfig,
    networks: dict[str, str],
    parameters: str = "all",
    pairing: str = "same-seed",
) -> dict:
    """What a distance matrix depends on (the Fishers' own keys follow from these); ``pairing`` enters the key
    only when it is not the papers' (so every same-seed matrix keeps its key)."""
    return {
        **({"pairing": pairing} if pairing != "same-seed" else {}),
        "parameters": parameters,
        "tasks": [t.to_dict() for t in tasks],
        "seeds": list(seeds),
        "arch": arch,
        "distance": distance,
        "estimator": estimator,
        "sigma2": sigma2 if distance in SIGMA_DISTANCES else None,
        "fisher": {
            "samples": fcfg.samples,
            "batch_size": fcfg.batch_size,
            "split": fcfg.split,
            "labels": fcfg.labels,
        },
        "networks": networks,
        "code": code_version("distance-matrix"),
        **matrix_key_part(fcfg),
    }


def variant(
    cfg: TrainConfig,
    fcfg: FisherConfig,
    distance: str,
    sigma2: float,
    *,
    preset_cfg: TrainConfig,
    preset_fcfg: FisherConfig,
    parameters: str = "all",
    pairing: str = "same-seed",
) -> str:
    """The file-name suffix of a matrix made with non-default settings (networks' seeds or epochs,
    Fisher samples or batch size, sigma^2), so that it never replaces the preset's matrix, which
    NAS reads: '' for the preset's own settings."""
    parts = []
    if tuple(cfg.seeds) != tuple(preset_cfg.seeds):
        parts.append("seeds" + "-".join(map(str, cfg.seeds)))
    if cfg.epochs != preset_cfg.epochs:
        parts.append(f"e{cfg.epochs}")
    if fcfg.samples != preset_fcfg.samples:
        parts.append(f"n{fcfg.samples or 'all'}")
    if fcfg.batch_size != preset_fcfg.batch_size:
        parts.append(f"b{fcfg.batch_size}")
    if fcfg.split != preset_fcfg.split:
        parts.append(f"f{fcfg.split}")
    if distance in SIGMA_DISTANCES and sigma2 != DEFAULT_SIGMA2:
        parts.append(f"sigma{sigma2:g}")
    if parameters != "all":
        parts.append(parameters)
    if fcfg.labels != preset_fcfg.labels:
        parts.append(f"labels-{fcfg.labels}")
    if pairing != "same-seed":
        parts.append(pairing)
    return "".join(f"_{p}" for p in parts)


def mean_std_matrices(long: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows = source, columns = target, in task order; std over seeds (ddof=1; 0 for one seed)."""
    grouped = long.groupby(["source", "target"])["distance"]
    mean = grouped.mean().unstack().reindex(index=order, columns=order)
    std = grouped.std(ddof=1).fillna(0.0).unstack().reindex(index=order, columns=order)
    for m in (mean, std):
        m.index.name, m.columns.name = "source", "target"
    return mean, std


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def check_matrix(long: pd.DataFrame, mean: pd.DataFrame) -> None:
    """Refuse (before anything is written) a matrix with a NaN, infinite or negative entry."""
    values = list(long.distance) + [v for v in mean.values.flatten()]
    bad = [v for v in values if not (isinstance(v, float) and math.isfinite(v) and v >= 0)]
    if bad:
        raise UserError(
            f"the distance matrix has {len(bad)} invalid entr{'y' if len(bad) == 1 else 'ies'} "
            f"(e.g. {bad[0]}); nothing was written: check --sigma2 and the Fishers"
        )


def write_matrix_outputs(
    long: pd.DataFrame,
    mean: pd.DataFrame,
    std: pd.DataFrame,
    out: dict,
    key: dict,
    title: str,
    device,
    samples_used: dict[str, int] | None = None,
) -> None:
    """CSV and PNG outputs and the manifest, only when every entry is valid; the manifest last, so a
    run killed in between leaves a manifest whose hashes do not match (refused by readers).
    ``samples_used``: target -> the images its Fishers were computed on, recorded in the manifest's value
    (the key keeps the number asked for)."""
    check_matrix(long, mean)
    atomic_write_csv(long, out["long"])
    atomic_write_csv(mean.reset_index(), out["mean"])
    atomic_write_csv(std.reset_index(), out["std"])
    n_seeds = len(set(long.seed))
    measure = str(long.measure.iloc[0])
    distance_heatmap(
        mean,
        out["mean_png"],
        f"mean {title}",
        std=std if n_seeds > 1 else None,
        colorbar_label=f"{measure} d(source → target), mean over {n_seeds} seed(s)",
    )
    if n_seeds > 1:
        distance_heatmap(
            std,
            out["std_png"],
            f"std over seeds, {title}",
            mark_closest=False,
            colorbar_label=f"std over {n_seeds} seeds of {measure} d(source → target)",
        )
    else:
        out["std_png"].unlink(missing_ok=True)
    hashes = {name: _sha(out[name]) for name in ("long", "mean", "std")}
    value = {"sha256": hashes, **({"fisher_samples_used": samples_used} if samples_used else {})}
    write_entry(out["manifest"], key, value, "json", provenance(device))


def read_mean_matrix(
    out: dict,
    *,
    tasks: list[str],
    results_dir,
    preset: str,
    arch: str,
    data_root,
    command: str,
    fisher_split: str = "test",
    seeds=None,
) -> pd.DataFrame:
    """The mean matrix of a ``fisher_distance.py`` run with the preset's settings, after checking
    its manifest: present and readable, the CSV unchanged since written, made by today's distance
    and Fisher code with the preset's seeds (or ``seeds``) and Fisher samples on the target's ``fisher_split``,
    the task definitions equal to today's, and the networks equal to the local checkpoints where
    those exist (a fresh clone has none). Otherwise one error line with ``command``, which
    recomputes it."""
    mean_csv, manifest = out["mean"], out["manifest"]
    if not mean_csv.is_file():
        raise UserError(f"no distance matrix at {mean_csv}; compute it first: {command}")
    entry = read_entry(manifest, "json", "distance manifest")
    try:
        key, hashes = entry["key"], entry["value"]["sha256"]
        stored = {t["name"]: t for t in key["tasks"]}
        networks = dict(key["networks"])
        [int(name.rsplit("/seed", 1)[1]) for name in networks]
        seeds, samples, code = key["seeds"], key["fisher"]["samples"], key["code"]
        split = key["fisher"].get("split", "test")
        control = (key.get("parameters", "all"), key["fisher"].get("labels", "true"))
    except (TypeError, KeyError, AttributeError, IndexError, ValueError):
        raise UserError(
            f"{mean_csv} has no readable manifest {manifest.name} (made by an older version, or "
            f"damaged), so what it was computed from is unknown; recompute it: {command}"
        ) from None
    if hashes.get("mean") != _sha(mean_csv):
        raise UserError(
            f"{mean_csv} was changed after it was computed (its hash differs from the manifest's); "
            f"recompute it: {command}"
        )
    if code != code_version("distance-matrix"):
        raise UserError(
            f"{mean_csv} was computed by an older version of the Fisher or distance code; recompute it: {command}"
        )
    datasets = {TASKS[n].dataset for n in tasks if n in TASKS}
    cfgs = {ds: train_config(preset, ds, arch=arch) for ds in datasets}
    preset_seeds = tuple(seeds) if seeds is not None else (next(iter(cfgs.values())).seeds if cfgs else ())
    if control != ("all", "true"):
        raise UserError(
            f"{mean_csv} is a control matrix (parameters {control[0]}, target labels {control[1]}), not the "
            f"preset's; recompute it: {command}"
        )
    if split != fisher_split:
        raise UserError(
            f"{mean_csv} was computed on the targets' {split} split, not their {fisher_split} "
            f"split; compute it: {command}"
        )
    preset_samples = fisher_config(preset, arch=arch).samples  # the network's own budget (network_budgets.py)
    if tuple(seeds) != tuple(preset_seeds) or samples != preset_samples:
        raise UserError(
            f"{mean_csv} was computed with seeds {seeds} and {samples} Fisher samples, not the "
            f"preset's {list(preset_seeds)} and {preset_samples}; recompute it: {command}"
        )
    changed = [n for n in tasks if n not in stored or stored[n] != canonical(TASKS[n].to_dict())]
    if changed:
        raise UserError(
            f"{mean_csv} was computed for other definitions of {', '.join(changed)} "
            f"(common/tasks.py changed since); recompute it: {command}"
        )
    stale = []
    for name, run_id in networks.items():
        task, seed = name.rsplit("/seed", 1)
        path = paths.checkpoint_path(results_dir, preset, arch, task, int(seed))
        if not path.is_file():
            continue  # a fresh clone has no checkpoints: the manifest is all there is
        ckpt_key = checkpoint_key(
            TASKS[task], arch, cfgs[TASKS[task].dataset], int(seed), data_root=data_root, results_dir=results_dir
        )
        local, _ = check_entry(path, ckpt_key, what="checkpoint")
        if local is None or local["value"]["record"]["run_id"] != run_id:
            stale.append(name)
    if stale:
        raise UserError(
            f"{mean_csv} was computed from networks that are out of date or have since been retrained "
            f"({', '.join(stale[:3])}); recompute it: {command}"
        )
    try:
        return pd.read_csv(mean_csv, index_col="source")
    except Exception as exc:  # noqa: BLE001 - damaged CSV: treated as missing
        raise UserError(f"cannot read {mean_csv} ({type(exc).__name__}); recompute it: {command}") from None
