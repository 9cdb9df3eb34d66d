"""The training algorithm of every network of the suite (ε-networks, retrained NAS cells):
Adam on the train split, accuracy on the validation and test splits.

Its source is part of the key of every checkpoint (``common/training/checkpoints.py``): editing this file
makes the checkpoints trained with the old code stale.
"""

from __future__ import annotations

import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from common.base.errors import UserError
from common.data.splits import Normalizer, Split, iterate_batches, num_batches
from common.presets import TrainConfig


def prepare(net: nn.Module, device: torch.device) -> nn.Module:
    # channels_last: measured 1.2-1.5x faster convolutions on 2 CPU cores; also the fast layout on GPUs.
    return net.to(device=device, memory_format=torch.channels_last)


@torch.no_grad()
def evaluate(net: nn.Module, split: Split, normalize: Normalizer, batch_size: int, device) -> float:
    """Top-1 accuracy in eval mode."""
    if len(split) == 0:
        return float("nan")
    net.eval()
    correct = 0
    for x, y in iterate_batches(split, batch_size, normalize, device=device):
        correct += (net(x.contiguous(memory_format=torch.channels_last)).argmax(1) == y).sum().item()
    return correct / len(split)


def fit(
    net: nn.Module,
    splits: dict[str, Split],
    cfg: TrainConfig,
    dataset: str,
    seed: int,
    device: torch.device,
    desc: str = "train",
) -> dict:
    """Adam on the train split; returns accuracies (train: running, last epoch, augmented) and time."""
    normalize = Normalizer(dataset, device)
    gen = torch.Generator().manual_seed(seed)
    steps = cfg.epochs * num_batches(splits["train"], cfg.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1))
        if cfg.lr_schedule == "onecycle"
        else None
    )
    start = time.time()
    bar = tqdm(total=steps, desc=desc, unit="batch", leave=False, mininterval=1.0)
    for epoch in range(cfg.epochs):
        net.train()
        seen = correct = 0
        loss_sum = 0.0
        for x, y in iterate_batches(
            splits["train"], cfg.batch_size, normalize, shuffle=True, augment=cfg.augment, generator=gen, device=device
        ):
            logits = net(x.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise UserError(
                    f"{desc}: loss became {loss.item()} at epoch {epoch + 1}; "
                    "lower --lr in the preset or check the data"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            seen += len(y)
            correct += (logits.argmax(1) == y).sum().item()
            loss_sum += loss.item() * len(y)
            bar.update()
            bar.set_postfix(
                epoch=f"{epoch + 1}/{cfg.epochs}",
                loss=f"{loss_sum / seen:.3f}",
                acc=f"{correct / seen:.3f}",
                refresh=False,
            )
    bar.close()
    train_seconds = time.time() - start
    return {
        "train_acc": correct / max(seen, 1),
        "train_loss": loss_sum / max(seen, 1),
        "val_acc": evaluate(net, splits["val"], normalize, cfg.eval_batch_size, device),
        "test_acc": evaluate(net, splits["test"], normalize, cfg.eval_batch_size, device),
        "train_seconds": train_seconds,
    }
