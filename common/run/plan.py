"""``--plan``: what a step's jobs cost before anything runs, from each network's multiply-adds, the
images each job pushes through it, and a throughput measured now on the current device.

A job's cost is one or more ``Cost`` parts (a NAS job = a search + a retraining). For every distinct
(network, kind, batch) the plan times a few real steps of that kind on random images: a training
step (forward, backward, Adam), or a per-sample Fisher pass (``fisher.fisher_diag``). Forward-only
evaluation is counted at a third of a training step per image. Image counts come from the official
split sizes and the task's classes (uniform class frequencies assumed: exact for CIFAR, ±10 % for
MNIST), with the preset's caps applied, so no data has to be decoded: an estimate, not a promise.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd
import torch
import torch.nn as nn

from common.base.errors import UserError
from common.datasets import DATASETS
from common.fisher.estimators import fisher_diag
from common.nas.keys import retrain_config
from common.nas.space import SearchSpace, build_nas_network, width_for_params
from common.networks.complexity import count_macs
from common.networks.models import build_network
from common.presets import TrainConfig
from common.tasks import Task
from common.training.accel import Accel
from common.training.train import prepare

KINDS = ("train", "fisher")
EVAL_COST = 1 / 3  # a forward pass is about a third of forward + backward


@dataclass(frozen=True)
class Cost:
    """One part of a job: ``images`` through ``kind`` steps of a network (``multiplier`` networks of
    that size at once: a FUSE stage trains its candidates side by side), ``eval_images`` forward only."""

    label: str  # what this part is, e.g. "smallcnn train"
    network: Callable[[], nn.Module]  # builds the network (random weights are enough)
    measure_key: str  # networks with the same key share one measurement
    kind: str  # "train" or "fisher"
    images: float
    batch_size: int
    num_classes: int
    eval_images: float = 0.0
    multiplier: int = 1
    amp_eligible: bool = True  # trained under --amp when the run uses it (FUSE searches stay fp32)
    # what the part computes, when another step may compute the very same files (a body-only or cross-seed
    # matrix reads the Fishers of the plain one): planned once per ``reproduce.py --plan`` (``one_plan``)
    identity: tuple | None = None


# the identities planned so far by the plans open in this process (``one_plan``: reproduce.py's --plan spans its
# steps; a step planned alone gets a plan of its own)
_OPEN_PLANS: list[set[tuple]] = []


@contextmanager
def one_plan():
    """Within it, every ``estimate`` shares one set of planned identities (each file is planned once)."""
    _OPEN_PLANS.append(set())
    try:
        yield
    finally:
        _OPEN_PLANS.pop()


def task_sizes(task: Task, cfg: TrainConfig) -> dict[str, int]:
    """Estimated images of a task's train / val / test splits under ``cfg``'s caps (``data.task_splits``'
    rule: named groups kept whole, "other" subsampled to one group's mean size)."""
    entry = DATASETS[task.dataset]
    if entry.split_sizes is None:  # the data itself is never read by a plan
        raise UserError(
            f"--plan needs the (train, test) sizes of {task.dataset}: add split_sizes=(N_TRAIN, N_TEST) "
            "to its entry in common/datasets.py"
        )
    n_classes = len(entry.classes)
    named = sum(len(g) for g in task.groups) / n_classes
    kept = min(1.0, named * (1 + 1 / len(task.groups))) if task.other else named
    n_train_all, n_test = (round(kept * n) for n in entry.split_sizes)

    def cap(n, limit):
        return int(n if limit is None else min(n, limit))

    return {
        "train": cap(n_train_all * (1 - cfg.val_fraction), cfg.max_train),
        "val": cap(n_train_all * cfg.val_fraction, cfg.max_eval),
        "test": cap(n_test, cfg.max_eval),
    }


def timed_batch(cost: Cost, device: torch.device) -> int:
    """The batch ``_time_steps`` times: the job's own on a GPU, at most 16 images on a CPU (seconds, not minutes)."""
    return cost.batch_size if device.type == "cuda" else min(cost.batch_size, 16)


def _time_steps(cost: Cost, device: torch.device, amp: bool = False) -> float:
    """Images per second of ``cost.kind`` steps on ``device`` (one warm-up step first); training steps
    under bf16 autocast when ``amp`` (what ``--amp`` does to the job), Fisher passes always fp32."""

    steps = 10 if device.type == "cuda" else 3  # GPU steps take milliseconds: time more of them
    net = prepare(cost.network(), device)
    batch = timed_batch(cost, device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=gen).to(device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, cost.num_classes, (batch,), generator=gen).to(device)
    opt = torch.optim.Adam(net.parameters())

    def step():
        if cost.kind == "fisher":
            fisher_diag(net, [(x, y)], num_classes=cost.num_classes)
        else:
            net.train()
            with autocast:
                loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    autocast = Accel(amp=amp).autocast(device.type)  # the training scripts' own autocast

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * batch / (time.perf_counter() - start)


def estimate(
    jobs,
    device: torch.device,
    measure: Callable[..., float] = _time_steps,
    amp: bool = False,
    macs_of: Callable[[Cost], int] | None = None,
) -> pd.DataFrame:
    """One row per (job, cost part): MACs per image, images, measured images/s, estimated seconds,
    and the precision the part runs at (``amp``: the run trains under bf16 autocast, ``accel.resolve``)."""
    speed: dict[tuple[str, bool], float] = {}
    macs: dict[str, int] = {}
    planned = _OPEN_PLANS[-1] if _OPEN_PLANS else set()
    rows = []
    for job in jobs:
        for cost in job.costs():
            if cost.identity is not None and cost.identity in planned:  # an earlier step computes these files
                cost = replace(cost, label=cost.label + " (planned earlier)", images=0.0, eval_images=0.0)
            elif cost.identity is not None:
                planned.add(cost.identity)
            bf16 = amp and cost.kind == "train" and cost.amp_eligible
            key = (cost.measure_key, bf16)
            if key not in speed:
                speed[key] = measure(cost, device, amp=bf16)
            if cost.measure_key not in macs:
                macs[cost.measure_key] = macs_of(cost) if macs_of else count_macs(cost.network())
            ips = speed[key] / cost.multiplier
            seconds = (cost.images + EVAL_COST * cost.eval_images) / ips
            rows.append(
                {
                    "job": job.name,
                    "part": cost.label,
                    "macs_m": macs[cost.measure_key] * cost.multiplier / 1e6,
                    "images": int(cost.images + cost.eval_images),
                    "precision": "bf16" if bf16 else "fp32",
                    "images_per_s": round(ips, 1),
                    "seconds": seconds,
                }
            )
    return pd.DataFrame(rows, columns=["job", "part", "macs_m", "images", "precision", "images_per_s", "seconds"])


def describe(table: pd.DataFrame, *, step: str, device_label: str, workers: int) -> str:
    """The plan as people read it: the job table, then totals in device-hours and wall time."""
    if table.empty:
        return f"{step}: no jobs"
    per_job = table.groupby("job", sort=False)["seconds"].sum()
    shown = table.assign(macs_m=table.macs_m.round(1), seconds=table.seconds.round(1))
    total = per_job.sum()
    # a greedy longest-first assignment of the jobs to the workers (what a pool of workers does)
    loads = [0.0] * max(1, workers)
    for s in sorted(per_job, reverse=True):
        loads[loads.index(min(loads))] += s
    return (
        f"{step}: {len(per_job)} job(s) on {device_label} (throughputs measured on it, images estimated "
        f"from the split sizes)\n{shown.to_string(index=False)}\n"
        f"total: {total / 3600:.2f} device-hours ({total:.0f} s); with {workers} worker(s) about "
        f"{max(loads) / 3600:.2f} h wall"
    )


def nas_costs(
    target: Task, method: str, cfg, stages: int, train_cfg: TrainConfig, *, search: bool, retrain: bool = True
) -> tuple[Cost, ...]:
    """The parts of one NAS job: the search (FUSE trains its candidates side by side; random search
    validates once per stage) unless ``search`` is False, then the retraining at the retraining width
    unless ``retrain`` is False (``--search-only``: 3a's full-space cells)."""

    uncapped = task_sizes(target, replace(train_cfg, max_train=None, max_eval=None))
    genotype = SearchSpace().sample(torch.Generator().manual_seed(0))  # a typical cell for the timing
    parts = []
    if search and not method.startswith("hand-"):
        n_train = min(uncapped["train"], cfg.search_max_train or uncapped["train"])
        n_val = min(uncapped["val"], cfg.search_max_val or uncapped["val"])
        evals = stages * (cfg.rounds if method != "random" else 1) * n_val
        parts.append(
            Cost(
                f"{method} search",
                lambda: build_nas_network(genotype, target, cfg.width, cfg.depth),
                f"nas/{cfg.width}x{cfg.depth}/train",
                "train",
                stages * cfg.rounds * cfg.weight_epochs * n_train,
                cfg.batch_size,
                target.num_classes,
                eval_images=evals,
                multiplier=cfg.candidates,
                amp_eligible=False,
            )
        )
    if not retrain:
        return tuple(parts)
    rcfg = retrain_config(cfg, train_cfg)
    sizes = task_sizes(target, rcfg)
    if method.startswith("hand-"):
        arch = method.removeprefix("hand-")
        network, key = (lambda: build_network(arch, target, seed=0)), f"{arch}/{target.dataset}/train"
    else:
        width = width_for_params(genotype, target, cfg.depth, cfg.retrain_params) if cfg.retrain_params else cfg.width
        network, key = (lambda: build_nas_network(genotype, target, width, cfg.depth)), f"nas/{width}x{cfg.depth}/train"
    parts.append(
        Cost(
            f"{method} retrain",
            network,
            key,
            "train",
            rcfg.epochs * sizes["train"],
            rcfg.batch_size,
            target.num_classes,
            eval_images=sizes["val"] + sizes["test"],
        )
    )
    return tuple(parts)
