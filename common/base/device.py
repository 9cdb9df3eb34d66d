"""Which device a run uses: ``--device {auto,cpu,cuda,mps}``."""

from __future__ import annotations

import torch

from common.base.errors import UserError
from common.base.names import DEVICE_NAMES

DEVICES = DEVICE_NAMES


def select_device(name: str) -> torch.device:
    """``auto``: cuda > mps > cpu. On CUDA, cudnn.benchmark picks the fastest convolution algorithm
    for the suite's fixed image sizes (the first batches of each shape are timed)."""
    device = _select(name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


def _select(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("--device mps requested but MPS is not available; use --device cpu or auto")
    return torch.device(name)
