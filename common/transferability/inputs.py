"""The scorers' inputs for one (source, target, seed) pair, all from the target's VALIDATION images, never test.

The images: ``scorer_images`` = the target's ``SCORER_SPLIT`` ("val": the seeded carve-out of the official train
split) subset of the Fisher preset (``fisher_config(preset, split="val")``: 1,000 images on ``cpu``), exactly the
images of the Fishers, so that the Fishers of step 2‴ (``fisher_distance.py --fisher-split val``) are reused.

* probs (LEEP, NCE): the source network's softmax over its own labels on those images;
* features (LogME, H-score): the input of its head module (``networks.init.head_module``), eval mode;
* fisher (FTD, FTD body-only, log-det): F_a = the Fisher of N_a (source, seed k) and F_b = of N_b (target, seed k),
  both on the target's images (``fisher.store.cached_fisher``, empirical estimator); body-only leaves the head's
  parameters out of both (``fisher.distance.without``); log-det at the reference sigma^2;
* task2vec: one fixed probe for every task (the ε-network of ``pool.probe_task`` of the same seed: a trained
  feature extractor, as Task2Vec's ImageNet probe is; an untrained probe's Fisher would mostly reflect the input
  statistics). Per task: the probe's body with a fresh head for the task, the head fitted on the task's own
  validation images (the body frozen), then the diagonal Fisher of the body's parameters on those images: the
  task's embedding (keyed ``.pt`` per (task, seed)); distance ``scorers.task2vec_distance``;
* probe (OTDD): both tasks' samples, (feature, label), in one fixed feature space: the penultimate features of the
  Task2Vec probe's network (the same network for every task of a seed) on ``otdd_images`` of each task's scorer
  images (a seeded subset, the same for every pair), recomputed per run (one forward pass per task);
* meta: the source's own test accuracy on ITS task (its checkpoint record), the datasets, the seed.

``pair_scores`` evaluates every scorer of ``scorers.SCORERS`` on those inputs and times each: a scorer's seconds
are its inputs' (the forward pass for probs/features, the two Fishers, the two embeddings; a cache read when they
were computed before, flagged ``*_from_cache``) plus its own call.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn as nn

from common.base.errors import UserError
from common.data.decode import Split, data_identity
from common.data.splits import Normalizer, iterate_batches
from common.fisher.distance import DEFAULT_SIGMA2, task_distance, without
from common.fisher.store import cached_fisher, fisher_data
from common.networks.init import head_module, head_parameter_names
from common.presets import FisherConfig, TrainConfig, fisher_config
from common.store import paths
from common.store.cache import cached, code_version
from common.store.provenance import provenance
from common.tasks import Task
from common.training.checkpoints import network_from, network_id
from common.transferability import scorers as S

SCORER_SPLIT = "val"  # the only split any scorer reads (a test asserts no target test image reaches a scorer)
ESTIMATOR = "empirical"


def scorer_fisher_config(preset: str) -> FisherConfig:
    """The Fisher preset on the ``SCORER_SPLIT`` split: the scorers' images and the Fishers' settings."""
    return fisher_config(preset, split=SCORER_SPLIT)


def scorer_images(task: Task, train_cfg: TrainConfig, fcfg: FisherConfig, data_root, results_dir) -> Split:
    """The images every scorer of a pair with target ``task`` reads: its Fisher data on ``SCORER_SPLIT``."""
    if fcfg.split != SCORER_SPLIT:
        raise UserError(f"the scorers read the {SCORER_SPLIT} split only, got a Fisher config on {fcfg.split}")
    return fisher_data(task, data_root, results_dir, train_cfg, fcfg.samples, SCORER_SPLIT)


# ------------------------------------------------------------------------------------------------ forward pass


@torch.no_grad()
def probs_and_features(net: nn.Module, images: Split, dataset: str, batch_size: int, device) -> tuple:
    """(softmax over the network's own labels, penultimate features, labels) on ``images``, eval mode."""
    net.eval()
    normalize = Normalizer(dataset, device)
    _, head = head_module(net)
    feats: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _m, args: feats.append(args[0].detach().flatten(1).double().cpu()))
    probs, labels = [], []
    try:
        for x, y in iterate_batches(images, batch_size, normalize, device=device):
            probs.append(net(x.contiguous(memory_format=torch.channels_last)).double().softmax(1).cpu())
            labels.append(y.cpu())
    finally:
        handle.remove()
    return torch.cat(probs).numpy(), torch.cat(feats).numpy(), torch.cat(labels).numpy()


# ------------------------------------------------------------------------------------------------ Fishers


def pool_fishers(
    target: Task,
    seed: int,
    tasks: list[Task],
    checkpoints: dict,
    images,
    *,
    preset: str,
    cfgs: dict[str, TrainConfig],
    fcfg: FisherConfig,
    data_root,
    results_dir,
    device,
    force: bool = False,
) -> tuple[dict, dict, dict]:
    """({task: F_{task,target}}, {task: seconds}, {task: read from the cache?}) for every task of the pool on
    ``target``'s scorer images (``images``: a callable, called only when a Fisher must be computed)."""
    fishers, seconds, hits = {}, {}, {}
    for source in tasks:
        start = time.time()
        fishers[source.name], hits[source.name] = cached_fisher(
            source,
            target,
            seed,
            checkpoints[(source.name, seed)],
            images,
            preset=preset,
            estimator=ESTIMATOR,
            fcfg=fcfg,
            target_cfg=cfgs[target.dataset],
            data_root=data_root,
            results_dir=results_dir,
            device=device,
            force=force,
        )
        seconds[source.name] = time.time() - start
    return fishers, seconds, hits


def fisher_distances(fa: dict, fb: dict, head: list[str]) -> dict[str, float]:
    """FTD, body-only FTD and log-det d(a -> b) from F_a, F_b (both on the target's scorer images)."""
    return {
        "ftd": task_distance(fa, fb, "frechet"),
        "ftd_body": task_distance(without(fa, head), without(fb, head), "frechet"),
        "logdet": task_distance(fa, fb, "logdet", DEFAULT_SIGMA2),
    }


# ------------------------------------------------------------------------------------------------ one pair


def score_inputs_key(
    source: Task,
    target: Task,
    seed: int,
    checkpoints: dict,
    probe: Task,
    *,
    arch: str,
    fcfg: FisherConfig,
    otdd_images: int,
    data_root,
    results_dir,
) -> dict:
    """What a pair's scores depend on: the source, target and probe networks, the scorer images, the code."""
    cache = paths.data_cache_dir(results_dir)
    return {
        "protocol": "scores",
        "source": source.to_dict(),
        "target": target.to_dict(),
        "seed": seed,
        "arch": arch,
        "networks": {
            "source": network_id(checkpoints[(source.name, seed)]),
            "target": network_id(checkpoints[(target.name, seed)]),
            "probe": network_id(checkpoints[(probe.name, seed)]),
            "probe_task": probe.to_dict(),
        },
        "fisher": {"estimator": ESTIMATOR, "samples": fcfg.samples, "batch_size": fcfg.batch_size, "split": fcfg.split},
        "scorers": sorted(S.SCORERS),
        "otdd_images": otdd_images,
        "data": {
            "target": data_identity(target.dataset, data_root, cache),
            "source": data_identity(source.dataset, data_root, cache),
        },
        "code": code_version("transferability-scores"),
    }


def pair_scores(
    source: Task,
    target: Task,
    seed: int,
    checkpoints: dict,
    images,
    fishers,
    embeddings,
    probe_space,
    *,
    eval_batch: int,
    device,
) -> dict:
    """Every registered scorer on the pair (higher = predicted better), its raw inputs' scalars, and seconds.

    ``images``: the target's scorer images (a callable); ``fishers()``: (F dict, seconds, hits) of
    ``pool_fishers``; ``embeddings(task)``: (embedding, hit, seconds) of ``task2vec_embedding``;
    ``probe_space(task)``: (features, labels, seconds) of ``probe_features``."""
    dev = torch.device(device)
    ckpt = checkpoints[(source.name, seed)]
    start = time.time()
    net = network_from(ckpt, source, dev)
    probs, feats, labels = probs_and_features(net, images(), target.dataset, eval_batch, dev)
    forward_seconds = time.time() - start
    fisher, fisher_seconds, fisher_hits = fishers()
    start = time.time()
    distances = fisher_distances(fisher[source.name], fisher[target.name], head_parameter_names(net))
    distance_seconds = (time.time() - start) / 3
    e_a, hit_a, sec_a = embeddings(source)
    e_b, hit_b, sec_b = embeddings(target)
    pf_a, pl_a, psec_a = probe_space(source)
    pf_b, pl_b, psec_b = probe_space(target)
    inputs = {
        "probs": probs,
        "features": feats,
        "labels": labels,
        **distances,
        "task2vec_a": e_a.numpy(),
        "task2vec_b": e_b.numpy(),
        "probe_features_a": pf_a,
        "probe_labels_a": pl_a,
        "probe_features_b": pf_b,
        "probe_labels_b": pl_b,
        "source_accuracy": float(ckpt["value"]["record"]["metrics"]["test_acc"]),
        "source_dataset": source.dataset,
        "target_dataset": target.dataset,
        "seed": seed,
        "source": source.name,
        "target": target.name,
    }
    input_seconds = {
        "probs": forward_seconds,
        "features": forward_seconds,
        "fisher": fisher_seconds[source.name] + fisher_seconds[target.name] + distance_seconds,
        "task2vec": sec_a + sec_b,
        "probe": psec_a + psec_b,
        "meta": 0.0,
    }
    scores, seconds = {}, {}
    for name, scorer in S.SCORERS.items():
        t0 = time.time()
        scores[name] = S.score(name, inputs)
        seconds[name] = round(input_seconds[scorer.needs] + time.time() - t0, 6)
    bad = [k for k, v in scores.items() if not math.isfinite(v)]
    if bad:
        raise UserError(f"scorer {bad[0]} gave {scores[bad[0]]} on {source.name} -> {target.name} seed {seed}")
    return {
        "source": source.name,
        "target": target.name,
        "seed": seed,
        "scores": scores,
        "seconds": seconds,
        "distances": distances,
        "n_images": int(len(labels)),
        "fisher_from_cache": bool(fisher_hits[source.name] and fisher_hits[target.name]),
        "task2vec_from_cache": bool(hit_a and hit_b),
        "provenance": provenance(dev),
    }


def cached_pair_scores(key: dict, path, compute, force: bool = False) -> tuple[dict, bool]:
    def check(value):
        bad = [k for k, v in value["scores"].items() if not (isinstance(v, float) and math.isfinite(v))]
        if bad:
            raise UserError(f"scorer {bad[0]} is not finite; nothing was written")

    return cached(path, key, compute, fmt="json", force=force, what="pair scores", validate=check)
