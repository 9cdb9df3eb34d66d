"""Step 2, the task-distance pipeline: the Fishers of every (source network, target data) pair
(``common/fisher/store.py``), the distance matrices d(a->b) over seeds (FTD paper, Sec. 3; log-det
paper, Sec. 3); their files, names and manifest are ``common/fisher/matrix_files.py``'s.

For a K-task matrix and one seed this costs at most K^2 Fisher evaluations (F_{a,b} for every
source a and target b, F_{b,b} included); a rerun costs none, and a new distance or sigma^2 reuses
the same Fishers.
"""

from __future__ import annotations

import pandas as pd
from tqdm import tqdm

from common.base.errors import UserError
from common.data.decode import prepare_data
from common.fisher.distance import SIGMA_DISTANCES, padded_share, task_distance, without
from common.fisher.label_controls import control_fisher_data, keyed_labels
from common.fisher.store import cached_fisher
from common.networks.init import head_parameter_names
from common.networks.models import build_network
from common.presets import PAIRINGS, FisherConfig, TrainConfig
from common.store import paths
from common.store.provenance import git_commit
from common.tasks import Task
from common.training.checkpoints import network_id, verify_checkpoints


def distance_table(
    tasks: list[Task],
    seeds,
    *,
    arch: str,
    preset: str,
    cfgs: dict[str, TrainConfig],
    fcfg: FisherConfig,
    data_root,
    results_dir,
    estimator: str,
    measures: list[tuple[str, float]],
    device,
    force: bool = False,
    parameters: str = "all",
    pairing: str = "same-seed",
) -> tuple[pd.DataFrame, dict[str, str]]:
    """(long table, networks): one row per (seed, source, target, measure) with d(source -> target)
    for each ``(distance, sigma2)`` of ``measures``; ``networks``: "task/seed<k>" -> run id of every
    network used. ``cfgs``: the training config of each dataset (its split seed and validation
    fraction). Every checkpoint is verified against the current task definitions before any Fisher.
    ``parameters`` "body": the classifier head's parameters left out of both Fishers (the head-confound
    control). Rows of the log-det distances carry ``padded_share``: the share of the sum that comes from
    the zero-padded entries of the smaller head (``fisher.distance.padded_share``). ``pairing`` "cross-seed":
    F_b is the Fisher of the target's network of the *next* seed (cyclic in ``seeds``), so that the two
    networks of an entry never share their initial weights (issue 33; the row's ``seed`` is the source's);
    d(a, a) is then the distance between two seeds of one task, not 0."""
    if pairing not in PAIRINGS:
        raise UserError(f"unknown pairing {pairing!r}; choose from {', '.join(PAIRINGS)}")
    head = head_parameter_names(build_network(arch, tasks[0], seed=0)) if parameters == "body" else []
    checkpoints = verify_checkpoints(
        tasks, seeds, arch, cfgs, preset=preset, data_root=data_root, results_dir=results_dir
    )
    for dataset in sorted({t.dataset for t in tasks}):  # damaged data stops the run here, not midway
        prepare_data(dataset, data_root, paths.data_cache_dir(results_dir))
    rows, computed = [], 0
    bar = tqdm(total=len(seeds) * len(tasks) ** 2, desc=f"Fishers ({estimator})", unit="fisher")
    for target in tasks:
        data = target_data(target, data_root, results_dir, cfgs[target.dataset], fcfg)
        per_seed = {}
        for seed in seeds:
            per_seed[seed], hits = target_fishers(
                target,
                seed,
                tasks,
                checkpoints,
                data,
                preset=preset,
                cfgs=cfgs,
                fcfg=fcfg,
                data_root=data_root,
                results_dir=results_dir,
                estimator=estimator,
                device=device,
                force=force,
                bar=bar,
            )
            computed += len(tasks) - hits
        for i, seed in enumerate(seeds):
            fishers = per_seed[seed]
            own = per_seed[list(seeds)[(i + 1) % len(seeds)]] if pairing == "cross-seed" else fishers
            for source in tasks:
                fa, fb = without(fishers[source.name], head), without(own[target.name], head)
                for distance, sigma2 in measures:
                    d = task_distance(fa, fb, distance, sigma2)
                    rows.append(
                        {
                            "seed": seed,
                            "source": source.name,
                            "target": target.name,
                            "distance": d,
                            "measure": distance,
                            "sigma2": sigma2 if distance in SIGMA_DISTANCES else None,
                            "estimator": estimator,
                            "samples": fcfg.samples or "all",
                            "parameters": parameters,
                            "target_labels": fcfg.labels,
                            **({"padded_share": padded_share(fa, fb, sigma2)} if distance in SIGMA_DISTANCES else {}),
                            **({"pairing": pairing} if pairing != "same-seed" else {}),
                            "arch": arch,
                            "git_commit": git_commit(),
                        }
                    )
    bar.close()
    total = len(seeds) * len(tasks) ** 2  # not bar.n: a disabled bar (no terminal) counts nothing
    print(f"{computed} Fisher(s) computed, {total - computed} read from the cache")
    networks = {f"{t}/seed{s}": network_id(e)["run_id"] for (t, s), e in checkpoints.items()}
    return pd.DataFrame(rows), networks


def target_data(target: Task, data_root, results_dir, cfg: TrainConfig, fcfg: FisherConfig):
    """A callable giving the target's Fisher data, loaded at its first call only (a rerun whose
    Fishers are all cached loads nothing)."""
    memo: dict = {}

    def data():
        if "split" not in memo:
            memo["split"] = control_fisher_data(
                target, data_root, results_dir, cfg, fcfg.samples, fcfg.split, fcfg.labels
            )
        return memo["split"]

    return data


def target_fishers(
    target: Task,
    seed: int,
    tasks: list[Task],
    checkpoints: dict,
    data,
    *,
    preset: str,
    cfgs: dict[str, TrainConfig],
    fcfg: FisherConfig,
    data_root,
    results_dir,
    estimator: str,
    device,
    force: bool = False,
    bar=None,
) -> tuple[dict, int]:
    """({source: F_{source,target}} for every source of ``tasks`` and ``seed``, Fishers read from the
    cache): the unit of work of one launcher job (all sources on one target's data)."""
    fishers, hits = {}, 0
    for source in tasks:
        if bar is not None:
            bar.set_postfix_str(f"seed {seed}: {source.name} on {target.name}")
        fishers[source.name], hit = cached_fisher(
            source,
            target,
            seed,
            checkpoints[(source.name, seed)],
            data,
            preset=preset,
            estimator=estimator,
            fcfg=keyed_labels(fcfg),
            target_cfg=cfgs[target.dataset],
            data_root=data_root,
            results_dir=results_dir,
            device=device,
            force=force,
        )
        hits += hit
        if bar is not None:
            bar.update()
    return fishers, hits


def fisher_job(
    target: Task,
    seed: int,
    tasks: list[Task],
    *,
    arch: str,
    preset: str,
    cfgs: dict[str, TrainConfig],
    fcfg: FisherConfig,
    data_root,
    results_dir,
    estimator: str,
    device,
    force: bool = False,
) -> int:
    """One launcher job of step 2: the Fishers of every source network of ``seed`` on ``target``'s data
    (checkpoints verified first). Returns how many were read from the cache."""
    checkpoints = verify_checkpoints(
        tasks, [seed], arch, cfgs, preset=preset, data_root=data_root, results_dir=results_dir
    )
    data = target_data(target, data_root, results_dir, cfgs[target.dataset], fcfg)
    return target_fishers(
        target,
        seed,
        tasks,
        checkpoints,
        data,
        preset=preset,
        cfgs=cfgs,
        fcfg=fcfg,
        data_root=data_root,
        results_dir=results_dir,
        estimator=estimator,
        device=device,
        force=force,
    )[1]
