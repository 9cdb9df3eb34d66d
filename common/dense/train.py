"""Training of the dense ε-networks: Adam on the mean squared error (the Gaussian negative
log-likelihood up to scale, ``common/dense/fisher.py``), evaluated by the MSE per pixel on the
validation and test splits, beside the MSE of predicting the training split's mean target (a
network that learned nothing scores about that)."""

from __future__ import annotations

import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from common.base.errors import UserError
from common.dense.data import DenseSplit, dense_splits, iterate
from common.dense.models import build_dense_network


@torch.no_grad()
def mse(net: nn.Module, split: DenseSplit, batch_size: int, device) -> float:
    if len(split) == 0:
        return float("nan")
    net.eval()
    total = 0.0
    for x, y in iterate(split, batch_size, device=device):
        total += F.mse_loss(net(x), y, reduction="sum").item()
    return total / split.y.numel()


def mean_target_mse(train: DenseSplit, split: DenseSplit) -> float:
    """MSE of predicting the training split's per-pixel mean target: the no-learning baseline."""
    if len(split) == 0 or len(train) == 0:
        return float("nan")
    mean = train.y.float().mean(0, keepdim=True)
    return (split.y.float() - mean).pow(2).mean().item()


def fit_dense(net: nn.Module, splits: dict[str, DenseSplit], cfg, seed: int, device, desc: str = "train") -> dict:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps = cfg.epochs * -(-len(splits["train"]) // cfg.batch_size)
    bar = tqdm(total=steps, desc=desc, unit="batch", leave=False, mininterval=1.0)
    start = time.time()
    loss_sum, seen = 0.0, 0
    for epoch in range(cfg.epochs):
        net.train()
        loss_sum, seen = 0.0, 0
        for x, y in iterate(splits["train"], cfg.batch_size, shuffle=True, generator=gen, device=device):
            loss = F.mse_loss(net(x), y)
            if not torch.isfinite(loss):
                raise UserError(f"{desc}: loss became {loss.item()} at epoch {epoch + 1}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(x)
            seen += len(x)
            bar.update()
            bar.set_postfix(epoch=f"{epoch + 1}/{cfg.epochs}", mse=f"{loss_sum / seen:.4f}", refresh=False)
    bar.close()
    seconds = time.time() - start
    return {
        "train_mse": loss_sum / max(seen, 1),
        "val_mse": mse(net, splits["val"], 256, device),
        "test_mse": mse(net, splits["test"], 256, device),
        "test_mse_mean_target": mean_target_mse(splits["train"], splits["test"]),
        "train_seconds": seconds,
    }


def train_network(task, images: str, cfg, seed: int, *, data_root, cache_dir, device) -> dict:
    """One ε-network of a dense task: ``{"state_dict", "metrics"}`` (weights on the CPU)."""
    splits = dense_splits(task, images, data_root, cache_dir, cfg)
    if len(splits["train"]) == 0:
        raise UserError(f"{task.name}: no training images from {images}")
    net = build_dense_network(cfg.arch, task.channels, cfg.image_size, seed=seed).to(device)
    metrics = fit_dense(net, splits, cfg, seed, device, desc=f"{task.name} seed {seed}")
    return {"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "metrics": metrics}
