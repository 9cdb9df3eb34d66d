"""The probe network's inputs for the scorers that compare two TASKS in one fixed space (``inputs.py`` for the rest).

One probe for every task of a seed: the ε-network of ``pool.probe_task`` (a trained feature extractor, as Task2Vec's
ImageNet probe is; an untrained probe's Fisher would mostly reflect the input statistics).

* Task2Vec: the probe's body with a fresh head for the task, the head fitted on the task's own scorer images (the
  body frozen), then the diagonal Fisher of the body's parameters on those images: the task's embedding (keyed
  ``.pt`` per (task, seed)); distance ``scorers.task2vec_distance``;
* OTDD: the task's samples as (probe penultimate feature, label) on a seeded subset of its scorer images.
"""

from __future__ import annotations

import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common.base.errors import UserError
from common.data.decode import data_identity
from common.data.splits import Normalizer, iterate_batches
from common.fisher.distance import without
from common.fisher.estimators import fisher_diag
from common.networks.init import head_module, head_parameter_names
from common.networks.models import build_network
from common.presets import FisherConfig
from common.store import paths
from common.store.cache import cached, code_version
from common.tasks import Task
from common.training.checkpoints import network_from, network_id
from common.training.train import prepare
from common.transfer_learning.runs import transplant
from common.transferability.inputs import ESTIMATOR, probs_and_features

TASK2VEC_HEAD_STEPS = 200  # full-batch Adam steps fitting the probe's head on a task's images
TASK2VEC_HEAD_LR = 1e-2


def _fit_head(head: nn.Module, feats: torch.Tensor, y: torch.Tensor, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        opt = torch.optim.Adam(head.parameters(), lr=TASK2VEC_HEAD_LR)
        for _ in range(TASK2VEC_HEAD_STEPS):
            loss = F.cross_entropy(head(feats), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def task2vec_embedding(
    task: Task,
    seed: int,
    probe: Task,
    probe_checkpoint: dict,
    images,
    *,
    preset: str,
    arch: str,
    fcfg: FisherConfig,
    data_root,
    results_dir,
    device,
    force: bool = False,
) -> tuple[torch.Tensor, bool, float]:
    """(embedding, read from the cache?, seconds): the diagonal Fisher of the probe's body with a head fitted to
    ``task`` on ``task``'s scorer images (``images``: a callable giving them)."""
    key = {
        "probe": {"task": probe.to_dict(), "network": network_id(probe_checkpoint)},
        "task": task.to_dict(),
        "seed": seed,
        "arch": arch,
        "estimator": ESTIMATOR,
        "fisher": {"samples": fcfg.samples, "batch_size": fcfg.batch_size, "split": fcfg.split},
        "head": {"steps": TASK2VEC_HEAD_STEPS, "lr": TASK2VEC_HEAD_LR},
        "data": data_identity(task.dataset, data_root, paths.data_cache_dir(results_dir)),
        "code": code_version("transferability-scores"),
    }
    dev = torch.device(device)

    def compute():
        data = images()
        net = build_network(arch, task, seed=seed)
        net = prepare(transplant(probe_checkpoint["value"]["state_dict"], net), dev).eval()
        normalize = Normalizer(task.dataset, dev)
        _, feats, _ = probs_and_features(net, data, task.dataset, fcfg.batch_size, dev)
        _, head = head_module(net)
        _fit_head(head, torch.as_tensor(feats, dtype=torch.float32, device=dev), data.y.to(dev), seed)
        batches = iterate_batches(data, fcfg.batch_size, normalize, device=dev)
        fisher = fisher_diag(
            net,
            ((x.contiguous(memory_format=torch.channels_last), y) for x, y in batches),
            estimator=ESTIMATOR,
            num_classes=task.num_classes,
            generator=torch.Generator().manual_seed(seed),
        )
        body = without(fisher, head_parameter_names(net))
        return torch.cat([body[k].flatten().double().cpu() for k in sorted(body)])

    def check(e):
        if not (torch.isfinite(e).all() and (e >= 0).all() and (e > 0).any()):
            raise UserError(f"the Task2Vec embedding of {task.name} seed {seed} is not a valid Fisher")

    start = time.time()
    path = paths.benchmark_record_path(results_dir, preset, arch, "task2vec", "probe", task.name, seed)
    value, hit = cached(path.with_suffix(".pt"), key, compute, force=force, what="Task2Vec embedding", validate=check)
    return value, hit, time.time() - start


# ------------------------------------------------------------------------------------------------ OTDD's space


def probe_features(
    task: Task, seed: int, probe: Task, probe_checkpoint: dict, images, n_images: int, *, batch_size: int, device
) -> tuple:
    """(features, labels, seconds) of ``n_images`` of ``task``'s scorer images (a seeded subset; ``images``: a
    callable) in the probe network's penultimate space: the space OTDD compares two tasks in."""
    start = time.time()
    data = images()
    if len(data) > n_images:
        g = torch.Generator().manual_seed(8_000 + seed)
        data = data.subset(torch.randperm(len(data), generator=g)[:n_images].sort().values)
    dev = torch.device(device)
    net = network_from(probe_checkpoint, probe, dev)
    _, feats, labels = probs_and_features(net, data, task.dataset, batch_size, dev)
    return feats, labels, time.time() - start
