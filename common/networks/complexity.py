"""Network size for tables: parameters and multiply-adds of one forward pass on one image."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_macs(net: nn.Module, image_shape=(3, 32, 32)) -> int:
    """Multiply-adds of one forward pass on one image (PyTorch's FLOP counter / 2), eval mode,
    on a CPU copy so that the network's own device and mode are untouched."""
    was_training = net.training
    net.eval()
    try:
        device = next(net.parameters()).device
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, *image_shape, device=device))
        return int(counter.get_total_flops() // 2)
    finally:
        net.train(was_training)
