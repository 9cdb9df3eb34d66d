r"""The noise floor of a distance matrix: how far apart two networks are when only chance differs.

The matrices pair seed k of every task: N_a^k and N_b^k share their body's initial weights
(``common/networks/init.py``) and differ by task and by SGD noise (data order, augmentation). Their
**null twins** separate the two: the twin of N_a^k has the same task and the same initial weights, and
only another SGD seed (``twin_sgd_seed``). From the Fisher store (one table, one row per distance):

* ``null twin``: d(twin of a^k -> a^k) on X_a, per task and seed (>= 3 pairs per task at 3 seeds): the
  distance between two runs that differ by SGD noise alone;
* ``cross-seed``: d(a^i -> b^j) for seeds i != j (a = b included: two initialisations of one task),
  from the same Fishers as the matrix (F of N_a^i on X_b, F of N_b^j on X_b);
* ``paired``: the matrix's own entries d(a^k -> b^k), a != b;
* ``twin-swap``: d(twin of a^k -> b^k), a != b, and ``delta`` its difference from the paired entry:
  how much one entry moves when its source network is replaced by an equally trained twin.

The floor a difference between two entries of the mean matrix must exceed (``floor``) is the 2-sigma
rule for a difference of two S-seed means under that entry noise: 2 * std(delta) * sqrt(2 / S).
"""

from __future__ import annotations

import math

import pandas as pd
from tqdm import tqdm

from common.fisher.distance import task_distance
from common.fisher.label_controls import keyed_labels
from common.fisher.matrices import target_data
from common.fisher.store import cached_fisher
from common.presets import FisherConfig, TrainConfig
from common.tasks import Task
from common.training.checkpoints import network_id, train_or_load, verify_checkpoints

NULL_SGD_OFFSET = 100  # the twin of seed k trains with SGD seed 100 + k (never a training seed of a preset)
KINDS = ("null twin", "cross-seed", "paired", "twin-swap")
MEASURES = ("frechet", "logdet")  # the FTD and the log-det paper's distance (sigma^2 its default)


def twin_sgd_seed(seed: int) -> int:
    return NULL_SGD_OFFSET + seed


def train_twins(tasks, seeds, arch, cfgs, *, preset, data_root, results_dir, device, force=False) -> dict:
    """(task, seed) -> the verified checkpoint entry of the null twin of every network (trained when missing)."""
    for task in tqdm(tasks, desc="null twins", unit="task"):
        for seed in seeds:
            train_or_load(
                task,
                arch,
                seed,
                cfgs[task.dataset],
                preset=preset,
                data_root=data_root,
                results_dir=results_dir,
                device=device,
                force=force,
                sgd_seed=twin_sgd_seed(seed),
            )
    return verify_checkpoints(
        tasks,
        seeds,
        arch,
        cfgs,
        preset=preset,
        data_root=data_root,
        results_dir=results_dir,
        sgd_seeds={s: twin_sgd_seed(s) for s in seeds},
    )


def noise_table(
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
    device,
    measures=MEASURES,
    force: bool = False,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """(one row per (kind, source, target, seed_a, seed_b) with its distance, the run id of every network
    used): the kinds of the module docstring. Twins are trained when missing, Fishers read from the store."""
    main = verify_checkpoints(tasks, seeds, arch, cfgs, preset=preset, data_root=data_root, results_dir=results_dir)
    twins = train_twins(
        tasks,
        seeds,
        arch,
        cfgs,
        preset=preset,
        data_root=data_root,
        results_dir=results_dir,
        device=device,
        force=force,
    )

    def fisher(source, target, seed, entry, data):
        return cached_fisher(
            source,
            target,
            seed,
            entry,
            data,
            preset=preset,
            estimator=estimator,
            fcfg=keyed_labels(fcfg),
            target_cfg=cfgs[target.dataset],
            data_root=data_root,
            results_dir=results_dir,
            device=device,
        )[0]

    rows = []
    for target in tqdm(tasks, desc="noise floor (Fishers per target)", unit="target"):
        data = target_data(target, data_root, results_dir, cfgs[target.dataset], fcfg)
        own = {(s.name, k): fisher(s, target, k, main[(s.name, k)], data) for s in tasks for k in seeds}
        twin = {(s.name, k): fisher(s, target, k, twins[(s.name, k)], data) for s in tasks for k in seeds}
        t = target.name

        def row(kind, source, seed_a, seed_b, fa, fb, reference=None):
            for measure in measures:
                d = task_distance(fa, fb, measure)
                delta = d - task_distance(*reference, measure) if reference else float("nan")
                rows.append(
                    {
                        "measure": measure,
                        "kind": kind,
                        "source": source,
                        "target": t,
                        "seed_a": seed_a,
                        "seed_b": seed_b,
                        "distance": d,
                        "delta": delta,
                    }
                )

        for k in seeds:
            row("null twin", t, k, k, twin[(t, k)], own[(t, k)])
            for s in tasks:
                if s.name == t:
                    continue
                row("paired", s.name, k, k, own[(s.name, k)], own[(t, k)])
                row("twin-swap", s.name, k, k, twin[(s.name, k)], own[(t, k)], (own[(s.name, k)], own[(t, k)]))
            for j in seeds:
                if j == k:
                    continue
                for s in tasks:
                    row("cross-seed", s.name, k, j, own[(s.name, k)], own[(t, j)])
    networks = {f"{t}/seed{s}": network_id(e)["run_id"] for (t, s), e in main.items()}
    networks |= {f"{t}/seed{s}-sgd{twin_sgd_seed(s)}": network_id(e)["run_id"] for (t, s), e in twins.items()}
    return pd.DataFrame(rows), networks


def summary(table: pd.DataFrame, seeds: int) -> dict:
    """Mean, std and count of each kind (cross-seed split into same task / between tasks), the entry
    noise std(delta) and the floor 2 * std(delta) * sqrt(2 / seeds) of the module docstring, of one
    measure's rows."""

    def stats(frame: pd.DataFrame) -> dict:
        d = frame.distance
        std = float(d.std(ddof=1)) if len(d) > 1 else 0.0
        return {"mean": float(d.mean()), "std": std, "min": float(d.min()), "max": float(d.max()), "n": int(len(d))}

    cross = table[table.kind == "cross-seed"]
    groups = {
        "null twin": table[table.kind == "null twin"],  # not "null": pandas reads that back as NaN
        "cross-seed, same task": cross[cross.source == cross.target],
        "cross-seed, between tasks": cross[cross.source != cross.target],
        "paired, between tasks": table[table.kind == "paired"],
    }
    out = {name: stats(g) for name, g in groups.items() if len(g)}  # one seed: no cross-seed pairs
    delta = table[table.kind == "twin-swap"].delta
    entry_noise = float(delta.std(ddof=1)) if len(delta) > 1 else float("nan")
    out["entry_noise_std"] = entry_noise
    out["seeds"] = int(seeds)
    out["floor"] = 2 * entry_noise * math.sqrt(2 / seeds) if seeds else float("nan")
    return out
