"""Does a small distance mean a good transfer, for dense tasks? As ``common/transfer_learning/runs.py`` for the
classification tasks: the ε-network N_a of a dense task, its output layer (the decoder's last
layer, the dense "head") replaced by a fresh one for b, is fine-tuned on a small fixed budget of b's
training images (``TransferConfig``), every layer trained; the same budget from scratch is the
baseline. The metric is −(test MSE per pixel), so **gain(a→b) = MSE(scratch) − MSE(fine-tuned N_a)**
(positive: the source helps).

The cheap alternative score (LEEP needs class probabilities): the **zero-shot** score
−MSE(N_a on b's budget images) before any fine-tuning, b's channels matched as in the Fisher
(``common/dense/fisher.match_channels``): how well the source already does the target.

Every run is one keyed JSON: the source network, the target task, the image source, the budget, the
data identity and this code.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from common.base.errors import UserError
from common.dense.data import dense_splits, image_identity, iterate
from common.dense.fisher import match_channels
from common.dense.models import build_dense_network
from common.dense.presets import DenseConfig
from common.dense.train import fit_dense
from common.dense_tasks import DenseTask
from common.presets import TransferConfig
from common.store import paths
from common.store.cache import cached, code_version, fingerprint
from common.store.provenance import provenance
from common.transfer_learning.table import Scores

DENSE_SCORES = Scores("neg_test_mse", "−test MSE", 1000, "10⁻³ MSE", "zero_shot", "zero-shot −MSE")
HEAD = "decoder."  # the last parameterised layer of the decoder is the task-specific output layer


def head_prefix(net: torch.nn.Module) -> str:
    names = [n.rsplit(".", 1)[0] for n, _ in net.named_parameters() if n.startswith(HEAD)]
    return names[-1] + "."


def transplant(source_state: dict, net: torch.nn.Module) -> torch.nn.Module:
    """``net`` (fresh, the target's output channels) with every tensor of the source network except its
    output layer's, which keeps its random initialisation (the dense "new head")."""
    head = head_prefix(net)
    body = {k: v for k, v in source_state.items() if not k.startswith(head)}
    net.load_state_dict({**net.state_dict(), **body})
    return net


def budget_config(tcfg: TransferConfig, cfg: DenseConfig) -> DenseConfig:
    return replace(cfg, epochs=tcfg.epochs, batch_size=tcfg.batch_size, lr=tcfg.lr, max_train=tcfg.images)


@torch.no_grad()
def zero_shot(net: torch.nn.Module, split, batch_size: int, device) -> float:
    """−MSE per pixel of ``net`` on ``split``, its output matched to the target's channels."""
    net.eval()
    total = 0.0
    for x, y in iterate(split, batch_size, device=device):
        total += F.mse_loss(match_channels(net(x), y.shape[1]), y, reduction="sum").item()
    return -total / split.y.numel()


def transfer_key(
    source: DenseTask | None,
    checkpoint: dict | None,
    target: DenseTask,
    images: str,
    seed: int,
    tcfg: TransferConfig,
    cfg: DenseConfig,
    *,
    data_root,
    results_dir,
) -> dict:
    budget = budget_config(tcfg, cfg).to_dict()
    for field in ("seeds", "fisher_samples", "fisher_batch"):
        budget.pop(field)
    return {
        "source": source.to_dict() if source else None,
        "network": fingerprint(checkpoint["key"]) if checkpoint else None,
        "target": target.to_dict(),
        "images": images,
        "seed": seed,
        "budget": budget,
        "data": image_identity(target, images, data_root, paths.data_cache_dir(results_dir), cfg.image_size),
        "code": code_version("dense-transfer"),
    }


def _check(value: dict) -> None:
    bad = [k for k, v in value.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(f"a dense transfer run gave {bad[0]} = {value[bad[0]]}; check the budget (empty split?)")


def transfer_run(
    source: DenseTask | None,
    checkpoint: dict | None,
    target: DenseTask,
    images: str,
    seed: int,
    tcfg: TransferConfig,
    cfg: DenseConfig,
    *,
    preset: str,
    data_root,
    results_dir,
    device,
    force: bool = False,
    variant: str = "",
) -> tuple[dict, bool]:
    """(record, run now) of fine-tuning the (source, seed) network on ``target``; ``source`` None: scratch."""
    key = transfer_key(
        source, checkpoint, target, images, seed, tcfg, cfg, data_root=data_root, results_dir=results_dir
    )
    bcfg = budget_config(tcfg, cfg)

    def run() -> dict:
        splits = dense_splits(target, images, data_root, paths.data_cache_dir(results_dir), bcfg)
        net = build_dense_network(cfg.arch, target.channels, cfg.image_size, seed=seed)  # new output layer (or all)
        extra = {}
        if source is not None:
            src = build_dense_network(cfg.arch, source.channels, cfg.image_size, seed=seed)
            src.load_state_dict(checkpoint["value"]["state_dict"])
            extra["zero_shot"] = round(zero_shot(src.to(device), splits["train"], 256, device), 6)
            net = transplant(checkpoint["value"]["state_dict"], net)
        metrics = fit_dense(
            net.to(device),
            splits,
            bcfg,
            seed,
            device,
            desc=f"{source.name if source else 'scratch'} -> {target.name} seed {seed}",
        )
        return {
            "source": source.name if source else "scratch",
            "target": target.name,
            "seed": seed,
            **{k: round(v, 6) for k, v in metrics.items()},
            "neg_test_mse": round(-metrics["test_mse"], 6),
            **extra,
            "n_train": len(splits["train"]),
            "n_test": len(splits["test"]),
            "provenance": provenance(torch.device(device)),
        }

    name = source.name if source else "scratch"
    path = paths.dense_transfer_record_path(results_dir, preset, cfg.arch, images, name, target.name, seed, variant)
    record, hit = cached(path, key, run, fmt="json", force=force, what="transfer run", validate=_check)
    return record, not hit
