r"""Diagonal Fisher of a regression network (the dense tasks), per sample.

A dense target is modelled as y ~ N(ŷ(x; θ), I) (unit variance per pixel), so

    \log p(y | x, θ) = −½ ‖ŷ(x; θ) − y‖² + const,   F = (1/M) \sum_i (∇_θ ½ ‖ŷ(x_i; θ) − y_i‖²)^2,

the empirical Fisher with the true targets, squared **per sample** as for the classification tasks
(``common/fisher/estimators.py``, log-det paper Eq. 6). A network whose output has other channels than the
target (a source task with another decoder) predicts the target's channels: extra output channels
are dropped, missing ones are zero (the analogue of the papers' zero-padded classifier heads).
Per-sample gradients come from ``torch.func`` (``vmap`` over ``grad``), in fp32.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap


def match_channels(out: torch.Tensor, channels: int) -> torch.Tensor:
    """``out`` (N x C x H x W) with exactly ``channels`` channels: extra dropped, missing zero."""
    if out.shape[1] >= channels:
        return out[:, :channels]
    return F.pad(out, (0, 0, 0, 0, 0, channels - out.shape[1]))


def half_squared_error(net: nn.Module, params: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """½ ‖ŷ − y‖² of one sample (x: 3 x H x W, y: C x H x W): −log p(y|x) up to a constant."""
    out = match_channels(functional_call(net, params, (x[None],)), y.shape[0])
    return 0.5 * (out[0] - y).pow(2).sum()


def gaussian_fisher_diag(net: nn.Module, batches) -> dict[str, torch.Tensor]:
    """F per parameter (same shapes), the mean over all samples of ``batches`` ((x, y) pairs)."""
    net.eval()
    params = {k: v.detach().float() for k, v in net.named_parameters()}
    per_sample = vmap(grad(lambda p, x, y: half_squared_error(net, p, x, y)), in_dims=(None, 0, 0))
    total = {k: torch.zeros_like(v) for k, v in params.items()}
    n = 0
    for x, y in batches:
        grads = per_sample(params, x.float(), y.float())
        for k, g in grads.items():
            total[k] += g.pow(2).sum(0)
        n += len(x)
    if n == 0:
        raise ValueError("no samples for the Fisher")
    return {k: v / n for k, v in total.items()}
