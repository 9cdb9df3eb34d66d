"""Step 3 of the papers: FUSE search, random search, the task-aware space and the NAS table.

FUSE (arXiv:2010.13962; log-det paper, Sec. 5). A stage takes C candidate networks c (cells from
``common/nas.py``) and mixes their logits,

    c̄(x) = Σ_c softmax(α)_c · c(x),

then alternates, ``rounds`` times:
  (i)  weight steps on the *train* split with α frozen: min_w CE(c̄(x), y)            (Eq. 8);
  (ii) α steps on the *validation* split with the weights frozen: min_α CE(c̄(x), y)  (Eq. 9).
The stage keeps c* = argmax α (Eq. 10); the next stage mixes c* with C - 1 new samples of the space,
until the budget (``stages``) is spent. The search functions receive the train and validation
splits only: the test split never reaches them (the authors' code trained α on the test data).

Choices the papers leave open, made here:
* every candidate, the incumbent included, starts each stage from fresh weights (the authors' code
  re-initialises the incumbent too), so α compares architectures trained for the same number of steps;
* the weights of a round are frozen during its α steps, so their validation logits are computed once
  per round and the α epochs run on those logits;
* with tens of weight steps per stage, BatchNorm running averages have not converged, so the
  validation logits use batch statistics (train-mode BN, as in the authors' code and DARTS); the
  running buffers are restored afterwards, so an α step changes nothing but α;
* the search trains without augmentation (a few epochs do not overfit); the retraining uses the
  training preset's settings (``common/presets.py``), augmentation included.

Random search, the baseline at equal budget: every stage trains C new samples of the full space
independently, for the same epochs as a FUSE stage, and keeps the best validation accuracy so far.
The genotype sampler is seeded by the seed alone, so full-space FUSE and random search of one seed
start from the same first-stage candidates (a paired comparison) — for every task alike.

The task-aware space (log-det paper, "Search space"): the ops of the genotype that a full-space
search found for the closest baseline task, closest by the distance matrix of ``fisher_distance.py``.

Records (``common/paths.py``), keyed files of ``common/cache.py``: one JSON per (task, method, seed)
with the genotype, seconds and device, keyed by what the search depends on (task, space, closest
task's genotype, config, data identity, code); the retraining in its own keyed JSON next to it; the
α history CSV beside them. A record whose key matches is reused (resume), unless ``force``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from . import paths
from .cache import cached, check_entry, code_version, fingerprint
from .data import Normalizer, Split, iterate_batches, num_batches, task_splits
from .datasets import data_identity
from .errors import UserError
from .ftd import read_mean_matrix
from .io import atomic_write_csv, atomic_write_text
from .models import count_parameters
from .nas import Genotype, SearchSpace, build_nas_network
from .presets import NASConfig, TrainConfig, train_config
from .provenance import device_name, provenance
from .tasks import TASK_SETS, Task, get_task, resolve_tasks, tasks_label
from .train import fit, prepare

# method -> what the table calls it. Genotype records are named <task>_<method>_seed<k>.json.
METHODS: dict[str, str] = {
    "task-aware": "FUSE, task-aware space",
    "full": "FUSE, full space",
    "random": "random search, full space",
}
SPACES = ("task-aware", "full")


# --------------------------------------------------------------------------- search
@dataclass
class SearchResult:
    genotype: Genotype
    history: pd.DataFrame   # one row per candidate and evaluation: α, softmax(α), validation accuracy
    seconds: float


def _train_weights(nets: nn.ModuleList, train: Split, mix: torch.Tensor | None, opt, cfg: NASConfig,
                   normalize: Normalizer, generator: torch.Generator, device, bar) -> None:
    """``cfg.weight_epochs`` epochs over ``train``. FUSE (Eq. 8): ``mix`` = softmax(α), frozen, and the
    loss of the mixed logits. Random search (``mix`` None): the sum of every candidate's own loss,
    i.e. independent training (the candidates share no parameters)."""
    nets.train()
    for _ in range(cfg.weight_epochs):
        for x, y in iterate_batches(train, cfg.batch_size, normalize, shuffle=True, generator=generator,
                                    device=device):
            x = x.contiguous(memory_format=torch.channels_last)
            logits = torch.stack([net(x) for net in nets])                       # C x B x K
            if mix is None:
                loss = sum(F.cross_entropy(out, y) for out in logits)
            else:
                loss = F.cross_entropy(torch.einsum("c,cbk->bk", mix, logits), y)
            if not torch.isfinite(loss):
                raise UserError(f"search loss became {loss.item()}; lower the NAS preset's lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update()


@torch.no_grad()
def _val_logits(nets: nn.ModuleList, val: Split, cfg: NASConfig, normalize: Normalizer,
                device) -> tuple[torch.Tensor, torch.Tensor]:
    """Every candidate's logits on the validation split (C x N x K) and its labels, weights frozen.
    BN uses batch statistics; its running buffers are restored (see the module docstring)."""
    saved = [b.clone() for b in nets.buffers()]
    nets.train()
    logits, labels = [], []
    for x, y in iterate_batches(val, cfg.batch_size, normalize, device=device):
        x = x.contiguous(memory_format=torch.channels_last)
        logits.append(torch.stack([net(x) for net in nets]).float())
        labels.append(y)
    for buffer, value in zip(nets.buffers(), saved):
        buffer.copy_(value)
    return torch.cat(logits, dim=1), torch.cat(labels)


def _alpha_steps(alpha: torch.Tensor, opt, logits: torch.Tensor, labels: torch.Tensor, cfg: NASConfig,
                 generator: torch.Generator) -> None:
    """Eq. 9: ``cfg.alpha_epochs`` epochs of Adam on α over mini-batches of the validation logits."""
    n = len(labels)
    for _ in range(cfg.alpha_epochs):
        order = torch.randperm(n, generator=generator).to(labels.device)
        for start in range(0, n, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            mixed = torch.einsum("c,cbk->bk", alpha.softmax(0), logits[:, idx])
            loss = F.cross_entropy(mixed, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def _search(task: Task, space: SearchSpace, train: Split, val: Split, cfg: NASConfig, seed: int, device,
            stages: int, fuse: bool, desc: str) -> SearchResult:
    if len(train) == 0 or len(val) == 0:
        raise UserError(f"{task.name}: the search needs train and validation images "
                        f"(got {len(train)} and {len(val)}); check the data and the NAS preset's caps")
    device = torch.device(device)
    normalize = Normalizer(task.dataset, device)
    sampler = torch.Generator().manual_seed(seed)            # the candidates' genotypes
    batches = torch.Generator().manual_seed(10_000 + seed)   # the order of train and α mini-batches
    total = stages * cfg.rounds * cfg.weight_epochs * num_batches(train, cfg.batch_size)
    bar = tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=1.0)
    rows: list[dict] = []
    best, best_acc = None, float("-inf")
    start = time.time()
    for stage in range(1, stages + 1):
        n = cfg.initial_candidates if stage == 1 else cfg.candidates
        keep = [best] if fuse and best is not None else []
        genotypes = keep + [space.sample(sampler) for _ in range(n - len(keep))]
        torch.manual_seed(seed * 1000 + stage)   # fresh weights for every candidate of the stage
        nets = prepare(nn.ModuleList(build_nas_network(g, task, cfg.width, cfg.depth) for g in genotypes),
                       device)
        opt = torch.optim.Adam(nets.parameters(), lr=cfg.lr)
        alpha = torch.zeros(len(genotypes), device=device, requires_grad=True)   # uniform softmax
        alpha_opt = torch.optim.Adam([alpha], lr=cfg.alpha_lr)
        for rnd in range(1, cfg.rounds + 1):
            bar.set_postfix_str(f"stage {stage}/{stages}, round {rnd}/{cfg.rounds}")
            _train_weights(nets, train, alpha.detach().softmax(0) if fuse else None, opt, cfg, normalize,
                           batches, device, bar)
            if not fuse and rnd < cfg.rounds:
                continue   # random search: validated once, after all its epochs
            logits, labels = _val_logits(nets, val, cfg, normalize, device)
            if fuse:
                _alpha_steps(alpha, alpha_opt, logits, labels, cfg, batches)
            acc = (logits.argmax(2) == labels).double().mean(1)
            loss = torch.stack([F.cross_entropy(out, labels) for out in logits])
            weight = alpha.detach().softmax(0)
            rows += [{"stage": stage, "round": rnd, "candidate": c, "genotype": g.to_str(),
                      "alpha": alpha[c].item() if fuse else float("nan"),
                      "weight": weight[c].item() if fuse else float("nan"),
                      "val_acc": acc[c].item(), "val_loss": loss[c].item(), "chosen": False}
                     for c, g in enumerate(genotypes)]
        if fuse:
            k = int(alpha.detach().argmax())        # Eq. 10
            best = genotypes[k]
        else:
            k = int(acc.argmax())
            if acc[k].item() > best_acc:
                best, best_acc = genotypes[k], acc[k].item()
        if best == genotypes[k]:
            rows[len(rows) - len(genotypes) + k]["chosen"] = True
    bar.close()
    return SearchResult(best, pd.DataFrame(rows), time.time() - start)


def fuse_search(task: Task, space: SearchSpace, train: Split, val: Split, cfg: NASConfig, seed: int,
                device="cpu", stages: int | None = None, desc: str = "FUSE") -> SearchResult:
    """FUSE in ``space`` for ``stages`` stages (default: the preset's). Weights see ``train``
    only, α sees ``val`` only; there is no test split to pass. ``chosen`` in the history marks
    the argmax-α candidate each stage keeps."""
    return _search(task, space, train, val, cfg, seed, device, stages or cfg.stages, True, desc)


def random_search(task: Task, space: SearchSpace, train: Split, val: Split, cfg: NASConfig, seed: int,
                  device="cpu", stages: int | None = None, desc: str = "random") -> SearchResult:
    """Random search at FUSE's budget: per stage ``candidates`` new samples trained independently
    for ``rounds * weight_epochs`` epochs; the best validation accuracy over all stages wins."""
    return _search(task, space, train, val, cfg, seed, device, stages or cfg.stages, False, desc)


# --------------------------------------------------------------------------- the task-aware space
def default_baselines(target: Task) -> list[str]:
    """The first task set that holds the target (mnist-2: ``mnist``)."""
    for name, members in TASK_SETS.items():
        if target.name in members:
            return [name]
    raise UserError(f"{target.name} is in no task set; name the baseline tasks with --baselines")


def distance_matrix_source(target: Task, names: list[str]) -> tuple[str, list[Task], str]:
    """(label, tasks, flags) of the ``fisher_distance.py`` run whose matrix holds the baselines
    ``names`` and the target (the target is appended when the baselines do not include it); the
    label is the one ``fisher_distance.py`` gives that run (``tasks_label``)."""
    tasks = resolve_tasks(names)
    if target not in tasks:
        names, tasks = [*names, target.name], [*tasks, target]
    flags = f"--task-set {names[0]}" if len(names) == 1 and names[0] in TASK_SETS else "--tasks " + " ".join(names)
    return tasks_label(names), tasks, flags


def closest_task(mean: pd.DataFrame, target: str, baselines: list[str], command: str) -> tuple[str, float]:
    """argmin over baseline rows a != target of d(a -> target), from a mean matrix of
    ``fisher_distance.py`` (rows = source, columns = target). ``command`` recomputes the matrix."""
    sources = [b for b in baselines if b != target]
    if not sources:
        raise UserError(f"no baseline task other than the target {target}; name some with --baselines")
    missing = [t for t in [target, *sources] if t not in mean.index or t not in mean.columns]
    if missing:
        raise UserError(f"the distance matrix has no row/column for {', '.join(missing)}; recompute it: {command}")
    column = mean.loc[sources, target]
    if column.isna().any():
        raise UserError(f"the distance matrix has missing distances to {target}; recompute it: {command}")
    return str(column.idxmin()), float(column.min())


# --------------------------------------------------------------------------- records
def _jsonable(obj):
    return json.loads(json.dumps(obj))


# The code a search or a retraining comes from (its source is in the key).
SEARCH_CODE = ("data", "nas", "fuse")
RETRAIN_CODE = ("data", "nas", "train")


def search_key(task: Task, method: str, space: SearchSpace, closest: dict | None, cfg: NASConfig,
               stages: int, train_cfg: TrainConfig, seed: int, data: dict) -> dict:
    """What a search depends on; a record with another key is stale and searched again.
    ``data``: the identity of the task's dataset files (``common.datasets.data_identity``)."""
    search = {k: v for k, v in cfg.to_dict().items() if not k.startswith("retrain_") and k not in ("seeds", "stages")}
    return _jsonable({"task": task.to_dict(), "method": method, "space": list(space.ops), "seed": seed,
                      "closest": closest and {k: closest[k] for k in ("task", "genotype")},
                      "stages": stages, "search": search, "data": data, "code": code_version(*SEARCH_CODE),
                      "split": {"val_fraction": train_cfg.val_fraction, "split_seed": train_cfg.split_seed}})


def retrain_config(cfg: NASConfig, train_cfg: TrainConfig) -> TrainConfig:
    """The retraining of a chosen cell: the training preset of the task's dataset (optimiser, schedule,
    augmentation, splits) with the NAS preset's epochs, data caps and batch size."""
    return replace(train_cfg, arch="nas", epochs=cfg.retrain_epochs or train_cfg.epochs,
                   max_train=cfg.retrain_max_train, max_eval=cfg.retrain_max_eval,
                   batch_size=cfg.batch_size, seeds=cfg.seeds)


def _retrain_key(record_key: dict, genotype: str, cfg: NASConfig, rcfg: TrainConfig) -> dict:
    train = rcfg.to_dict()
    train.pop("seeds")
    return _jsonable({"search": fingerprint(record_key), "genotype": genotype, "width": cfg.width,
                      "depth": cfg.depth, "train": train, "code": code_version(*RETRAIN_CODE)})


def search_splits(task: Task, data_root, results_dir, cfg: NASConfig, train_cfg: TrainConfig) -> dict[str, Split]:
    """The search's train and validation splits (the same carve-out as step 1's). The test split
    is dropped here, before any search code can see it."""
    splits = task_splits(task, data_root, paths.data_cache_dir(results_dir), val_fraction=train_cfg.val_fraction,
                         split_seed=train_cfg.split_seed, max_train=cfg.search_max_train,
                         max_eval=cfg.search_max_val)
    return {"train": splits["train"], "val": splits["val"]}


def run_search(task: Task, method: str, seed: int, cfg: NASConfig, stages: int, train_cfg: TrainConfig, *,
               space: SearchSpace, closest: dict | None, preset: str, data_root, results_dir, device,
               force: bool = False) -> tuple[dict, bool]:
    """Search (or reuse) the genotype of (task, method, seed); returns (record, searched now).
    The record's file carries the search key; the record itself carries that key too."""
    path = paths.nas_record_path(results_dir, preset, task.name, method, seed)
    key = search_key(task, method, space, closest, cfg, stages, train_cfg, seed,
                     data_identity(task.dataset, data_root, paths.data_cache_dir(results_dir)))

    def search() -> dict:
        splits = search_splits(task, data_root, results_dir, cfg, train_cfg)
        algorithm = random_search if method == "random" else fuse_search
        result = algorithm(task, space, splits["train"], splits["val"], cfg, seed, device, stages=stages,
                           desc=f"{task.name} {method} seed {seed}")
        history = paths.nas_history_path(results_dir, preset, task.name, method, seed)
        atomic_write_csv(result.history.assign(method=method, seed=seed), history)
        return {"key": key, "task": task.name, "method": method, "seed": seed, "preset": preset,
                "genotype": result.genotype.to_str(), "ops": list(result.genotype.ops), "space": list(space.ops),
                "closest": closest, "history": history.name, "search_seconds": round(result.seconds, 3),
                "stages": stages, "n_train": len(splits["train"]), "n_val": len(splits["val"]),
                "device": device_name(torch.device(device)), "provenance": provenance(torch.device(device))}

    record, hit = cached(path, key, search, fmt="json", force=force, what="NAS record")
    return record, not hit


def _check_retrain(value: dict) -> None:
    bad = [k for k, v in value.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(f"the retraining gave {bad[0]} = {value[bad[0]]} (an empty split? check the NAS preset's caps)")


def run_retrain(record: dict, task: Task, cfg: NASConfig, train_cfg: TrainConfig, *, preset: str, data_root,
                results_dir, device, force: bool = False) -> tuple[dict, bool]:
    """Retrain the record's genotype from scratch on the train split and test it once (its own
    keyed file next to the record). Returns (record with "retrain", retrained now)."""
    rcfg = retrain_config(cfg, train_cfg)
    seed = record["seed"]
    key = _retrain_key(record["key"], record["genotype"], cfg, rcfg)

    def retrain() -> dict:
        splits = task_splits(task, data_root, paths.data_cache_dir(results_dir), val_fraction=rcfg.val_fraction,
                             split_seed=rcfg.split_seed, max_train=rcfg.max_train, max_eval=rcfg.max_eval)
        torch.manual_seed(seed)
        net = prepare(build_nas_network(record["genotype"], task, cfg.width, cfg.depth), torch.device(device))
        metrics = fit(net, splits, rcfg, task.dataset, seed, torch.device(device),
                      desc=f"{task.name} {record['method']} seed {seed}: retrain")
        return {**{k: round(v, 6) for k, v in metrics.items()}, "params": count_parameters(net),
                "epochs": rcfg.epochs, "n_train": len(splits["train"]), "n_test": len(splits["test"]),
                "device": device_name(torch.device(device)), "provenance": provenance(torch.device(device))}

    path = paths.nas_retrain_path(results_dir, preset, task.name, record["method"], seed)
    retrained, hit = cached(path, key, retrain, fmt="json", force=force, what="NAS retraining",
                            validate=_check_retrain)
    return {**record, "retrain": retrained}, not hit


# --------------------------------------------------------------------------- the pipeline
def task_aware_spaces(target: Task, names: list[str], seeds, *, cfg: NASConfig, preset: str, arch: str,
                      distance: str, estimator: str, stages: int, default_stages: int, data_root,
                      results_dir) -> dict[int, tuple]:
    """seed -> (SearchSpace, closest) for the task-aware search of ``target``: the ops of the closest
    baseline task's full-space genotype of the same seed, from a record whose key matches a search
    with today's task definition, data, config, budget and code. One error line names the command
    that makes a missing (or stale) distance matrix or genotype."""
    baselines = [t.name for t in resolve_tasks(names) if t != target]
    if not baselines:
        raise UserError(f"no baseline task other than the target {target.name}; name some with --baselines")
    label, tasks, flags = distance_matrix_source(target, names)
    out = paths.distance_outputs(results_dir, preset, arch, label, distance, estimator)
    matrix = out["mean"]
    command = (f"{paths.python_command()} fisher_distance.py --preset {preset} {flags} --arch {arch} --distance {distance} "
               f"--estimator {estimator} --results-dir {results_dir} --data-root {data_root}")
    mean = read_mean_matrix(out, tasks=[t.name for t in tasks], results_dir=results_dir, preset=preset, arch=arch,
                            data_root=data_root, command=command)
    name, d = closest_task(mean, target.name, baselines, command)
    baseline = get_task(name)
    baseline_cfg = train_config(preset, baseline.dataset, arch=arch)
    data = data_identity(baseline.dataset, data_root, paths.data_cache_dir(results_dir))
    spaces = {}
    for seed in seeds:
        path = paths.nas_record_path(results_dir, preset, name, "full", seed)
        key = search_key(baseline, "full", SearchSpace(), None, cfg, stages, baseline_cfg, seed, data)
        entry, why = check_entry(path, key, fmt="json", what="NAS record")
        if entry is None:
            budget = f" --budget {stages}" if stages != default_stages else ""
            raise UserError(
                f"the closest baseline task to {target.name} is {name} (d = {d:.4f}, {matrix.name}), whose "
                f"full-space genotype for seed {seed} ({path}) is {why}; search it first: "
                f"{paths.python_command()} nas_fuse.py --target {name} --space full --search-only --preset {preset} "
                f"--seeds {' '.join(map(str, seeds))}{budget} --results-dir {results_dir} --data-root {data_root}")
        genotype = Genotype.from_str(entry["value"]["genotype"])
        closest = {"task": name, "distance": d, "matrix": str(matrix), "seed": seed, "genotype": genotype.to_str(),
                   "search_seconds": entry["value"]["search_seconds"]}
        spaces[seed] = (SearchSpace.from_genotype(genotype), closest)
    return spaces


def run_nas(target: Task, *, space: str, names: list[str] | None, cfg: NASConfig, stages: int,
            train_cfg: TrainConfig, preset: str, arch: str, distance: str, estimator: str, data_root,
            results_dir, device, force: bool = False, search_only: bool = False) -> dict:
    """The body of ``nas_fuse.py``: the main search (``space``) for every seed, then, unless
    ``search_only``, the baselines at equal budget, every retraining and the table.
    Returns the records by (method, seed) and, with the table, its output paths."""
    if space not in SPACES:
        raise UserError(f"unknown space '{space}'; choose from {', '.join(SPACES)}")
    seeds = list(cfg.seeds)
    spaces = {seed: (SearchSpace(), None) for seed in seeds}
    if space == "task-aware":
        spaces = task_aware_spaces(target, names or default_baselines(target), seeds, cfg=cfg, preset=preset, arch=arch,
                                   distance=distance, estimator=estimator, stages=stages,
                                   default_stages=cfg.stages, data_root=data_root, results_dir=results_dir)
        closest = spaces[seeds[0]][1]
        print(f"closest baseline task to {target.name}: {closest['task']} (d = {closest['distance']:.4f}); "
              f"task-aware space per seed: " + "; ".join(f"seed {s}: {', '.join(sp.ops)}"
                                                         for s, (sp, _) in spaces.items()))
    methods = [space] if search_only else [space] + [m for m in ("full", "random") if m != space]
    print(f"NAS for {target.name}: {', '.join(methods)}; {stages} stage(s), seeds {seeds}, preset {preset}, "
          f"cells {cfg.width} channels x {cfg.depth}, device {device}")
    records: dict[tuple[str, int], dict] = {}
    for seed, method in tqdm([(s, m) for s in seeds for m in methods], desc=f"NAS {target.name}", unit="run"):
        method_space, closest = spaces[seed] if method == "task-aware" else (SearchSpace(), None)
        record, searched = run_search(target, method, seed, cfg, stages, train_cfg, space=method_space,
                                      closest=closest, preset=preset, data_root=data_root,
                                      results_dir=results_dir, device=device, force=force)
        tqdm.write(f"{'searched' if searched else 'skip search (finished; --force redoes)'} {target.name} "
                   f"{method} seed {seed}: {record['genotype']} ({record['search_seconds']:.0f} s)")
        if not search_only:
            record, trained = run_retrain(record, target, cfg, train_cfg, preset=preset, data_root=data_root,
                                          results_dir=results_dir, device=device, force=force)
            r = record["retrain"]
            tqdm.write(f"{'retrained' if trained else 'skip retraining (finished)'} {target.name} {method} "
                       f"seed {seed}: test acc {r['test_acc']:.4f} ({r['train_seconds']:.0f} s)")
        records[(method, seed)] = record
    out = {"records": records}
    if not search_only:
        out.update(write_table(target, methods, seeds, records, cfg=cfg, stages=stages, train_cfg=train_cfg,
                               preset=preset, results_dir=results_dir))
    return out


# --------------------------------------------------------------------------- the table
def _cell(text: str) -> str:
    """A Markdown table cell: genotype strings contain '|', which would end the cell."""
    return text.replace("|", "\\|")


def hand_designed_rows(results_dir, preset: str, target: str) -> list[dict]:
    """One row per ε-network architecture trained for ``target`` in step 1 (``train_metrics.csv``)."""
    csv = paths.train_metrics_csv(results_dir, preset)
    if not csv.is_file():
        return []
    df = pd.read_csv(csv)
    df = df[df.task == target]
    rows = []
    for arch, g in df.groupby("arch", sort=False):
        rows.append({"method": "hand-designed (ε-network, step 1)", "space": "", "architecture": arch,
                     "test_acc_mean": g.test_acc.mean(), "test_acc_std": g.test_acc.std(ddof=1),
                     "seeds": len(g), "params_m": g.params.mean() / 1e6, "search_hours": 0.0,
                     "train_hours": g.train_seconds.mean() / 3600, "device": ", ".join(map(str, g.device.unique())),
                     "closest_task": "", "closest_search_hours": float("nan")})
    return rows


def _runs_frame(records: dict) -> pd.DataFrame:
    rows = []
    for (method, seed), r in records.items():
        rows.append({"method": method, "seed": seed, "genotype": r["genotype"], "ops": " ".join(r["ops"]),
                     "test_acc": r["retrain"]["test_acc"], "val_acc": r["retrain"]["val_acc"],
                     "params": r["retrain"]["params"], "search_seconds": r["search_seconds"],
                     "retrain_seconds": r["retrain"]["train_seconds"], "device": r["device"],
                     "closest_task": (r.get("closest") or {}).get("task", ""),
                     "closest_seed": (r.get("closest") or {}).get("seed", "")})
    return pd.DataFrame(rows)


def _closest_search_hours(closest: dict) -> float:
    """The closest task's own full-space search, as recorded when the task-aware search read it."""
    return closest.get("search_seconds", float("nan")) / 3600


def write_table(target: Task, methods: list[str], seeds: list[int], records: dict, *, cfg: NASConfig,
                stages: int, train_cfg: TrainConfig, preset: str, results_dir) -> dict:
    """``<target>_table.csv`` / ``.md`` (one row per method, the papers' columns) and ``<target>_runs.csv``
    (one row per method and seed). The searched rows are retrained cells; mean ± std over seeds."""
    runs = _runs_frame(records)
    rows = []
    for method in methods:
        g = runs[runs.method == method]
        genotypes = g.genotype.unique()
        closest = [r.get("closest") for (m, _), r in records.items() if m == method and r.get("closest")]
        rows.append({"method": METHODS[method], "space": method if method != "random" else "full",
                     "architecture": genotypes[0] if len(genotypes) == 1 else
                     f"{len(genotypes)} genotypes over {len(g)} seeds (listed below)",
                     "test_acc_mean": g.test_acc.mean(), "test_acc_std": g.test_acc.std(ddof=1), "seeds": len(g),
                     "params_m": g.params.mean() / 1e6, "search_hours": g.search_seconds.mean() / 3600,
                     "train_hours": g.retrain_seconds.mean() / 3600, "device": ", ".join(g.device.unique()),
                     "closest_task": closest[0]["task"] if closest else "",
                     "closest_search_hours": (pd.Series([_closest_search_hours(c) for c in closest]).mean()
                                              if closest else float("nan"))})
    rows += hand_designed_rows(results_dir, preset, target.name)
    table = pd.DataFrame(rows)
    out = paths.nas_table_outputs(results_dir, preset, target.name)
    atomic_write_csv(table, out["csv"])
    atomic_write_csv(runs, out["runs"])
    atomic_write_text(_markdown(target, table, runs, records, cfg=cfg, stages=stages, train_cfg=train_cfg,
                                preset=preset), out["md"])
    return {"table": table, "runs": runs, "outputs": out}


def _comparisons(runs: pd.DataFrame, methods: list[str]) -> list[str]:
    """Paired (same seed) differences of test accuracy between the main search and each baseline."""
    main, lines = methods[0], []
    a = runs[runs.method == main].set_index("seed").test_acc
    for other in methods[1:]:
        b = runs[runs.method == other].set_index("seed").test_acc
        common = a.index.intersection(b.index)
        diff = (a[common] - b[common]) * 100
        wins = int((diff > 0).sum())
        spread = f" ± {diff.std(ddof=1):.2f}" if len(diff) > 1 else ""
        verdict = ("higher" if diff.mean() > 0 else "lower" if diff.mean() < 0 else "equal")
        lines.append(f"- {METHODS[main]} − {METHODS[other]}: {diff.mean():+.2f}{spread} points (paired by seed; "
                     f"mean {verdict}; higher in {wins} of {len(diff)} seeds)")
    return lines


def _markdown(target: Task, table: pd.DataFrame, runs: pd.DataFrame, records: dict, *, cfg: NASConfig, stages: int,
              train_cfg: TrainConfig, preset: str) -> str:
    rcfg = retrain_config(cfg, train_cfg)
    methods = list(dict.fromkeys(runs.method))
    seeds = sorted(runs.seed.unique())
    lines = [f"# NAS table: {target.name} ({target.description}), preset `{preset}`", "",
             f"Searched rows: the genotype each search chose, retrained from scratch ({rcfg.epochs} epoch(s) on "
             f"≤ {rcfg.max_train or 'all'} train images) and tested once (≤ {rcfg.max_eval or 'all'} test images); "
             f"mean ± std over seeds {', '.join(map(str, seeds))}. Equal budget: {stages} search stage(s) each "
             f"({cfg.initial_candidates} candidates, then {cfg.candidates}; {cfg.rounds} round(s) of "
             f"{cfg.weight_epochs} weight epoch(s) on ≤ {cfg.search_max_train or 'all'} train images and "
             f"{cfg.alpha_epochs} α epoch(s) on ≤ {cfg.search_max_val or 'all'} validation images). "
             "The test split is never read during a search.", "",
             "| method | architecture | test acc (%) | params (M) | search cost per seed (device-hours) | device |",
             "|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        acc = f"{r.test_acc_mean * 100:.2f}" + (f" ± {r.test_acc_std * 100:.2f}" if r.seeds > 1 else "")
        method = r.method + (f" (ops of {r.closest_task})" if r.closest_task else "")
        arch = f"`{_cell(r.architecture)}`" if ":" in r.architecture else r.architecture
        cost = "0 (hand-designed)" if r.method.startswith("hand") else f"{r.search_hours:.4f}"
        lines.append(f"| {method} | {arch} | {acc} | {r.params_m:.3f} | {cost} | {r.device} |")
    lines += ["", f"Comparison at equal budget ({len(seeds)} seed(s)):"] + _comparisons(runs, methods)
    aware = table[table.closest_task != ""]
    if len(aware):
        r = aware.iloc[0]
        closest = next(rec["closest"] for rec in records.values() if rec.get("closest"))
        lines += ["", f"Task-aware space: the ops of the full-space genotype of the closest baseline task "
                      f"{r.closest_task} (d = {closest['distance']:.4f} in `{Path(closest['matrix']).name}` when searched). Its "
                      f"search cost above excludes that full-space search ({r.closest_search_hours:.4f} "
                      "device-hours per seed), which is done once per baseline task and reused for every target."]
    hand = table[table.method.str.startswith("hand")]
    if len(hand):
        lines += ["", f"Hand-designed rows: the ε-networks of step 1 ({train_cfg.epochs} epoch(s) on ≤ "
                      f"{train_cfg.max_train or 'all'} train images, same test images when the caps agree); their "
                      "training budget differs from the searched cells' retraining, so compare the searched rows "
                      "with each other and the hand-designed rows only as a reference."]
    lines += ["", "Per seed:", "", "| method | seed | genotype | test acc (%) | params (M) | search s | retrain s |",
              "|---|---|---|---|---|---|---|"]
    for _, r in runs.iterrows():
        lines.append(f"| {r.method} | {r.seed} | `{_cell(r.genotype)}` | {r.test_acc * 100:.2f} | {r.params / 1e6:.3f} | "
                     f"{r.search_seconds:.0f} | {r.retrain_seconds:.0f} |")
    prov = next(iter(records.values()))["provenance"]
    lines += ["", f"NAS preset `{preset}`: `{json.dumps(cfg.to_dict())}`; budget {stages} stage(s).",
              f"Provenance (first record): torch {prov['torch']}, git {prov['git_commit']}, {prov['device']}, "
              f"{prov['time']}. Total recorded search + retraining time: "
              f"{runs.search_seconds.sum() + runs.retrain_seconds.sum():.0f} s.", ""]
    return "\n".join(lines)
