"""The op table of the NAS search space: the 10 DARTS-style operations (``OPS``) that a cell's edges
choose from (DARTS, Liu et al., arXiv:1806.09055, ``operations.py``; the list of the log-det paper).
The cell, genotype, search space and network skeleton are in ``common/nas/space.py``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

# Every parametrised layer below is an nn.Conv2d with numeric zero padding or an nn.BatchNorm2d with
# running statistics, each called once per forward pass, and no op works in place: the per-sample
# Fisher hooks of common/fisher/estimators.py support exactly that.


class Zero(nn.Module):
    """``none``: an edge that contributes nothing (zeros of the output shape)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x * 0 rather than torch.zeros: the result stays in the autograd graph, so downstream
        # layers' outputs require grad even with frozen weights (the Fisher hooks need that).
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class ReLUConvBN(nn.Module):
    """ReLU -> conv -> BN, the DARTS ordering (cell inputs are BN outputs, so the ReLU comes first)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    """DARTS separable conv: (ReLU, depthwise k x k, pointwise 1x1, BN) twice; only the first
    depthwise conv has the stride."""

    def __init__(self, c: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, kernel, stride=stride, padding=pad, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c, kernel, stride=1, padding=pad, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    """DARTS dilated separable conv: ReLU, depthwise k x k with dilation 2, pointwise 1x1, BN."""

    def __init__(self, c: int, kernel: int, stride: int, dilation: int = 2):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(
                c,
                c,
                kernel,
                stride=stride,
                padding=dilation * (kernel - 1) // 2,
                dilation=dilation,
                groups=c,
                bias=False,
            ),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return self.op(x)


class Conv7x1_1x7(nn.Module):
    """DARTS ``conv_7x1_1x7``: ReLU, 1x7 conv, 7x1 conv, BN; the stride is split between the two."""

    def __init__(self, c: int, stride: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(c, c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    """``skip_connect`` at stride 2 (DARTS): two 1x1 stride-2 convs, one on the input and one on
    the input shifted by one pixel, concatenated, then BN. A strided 1x1 conv alone would only
    see the even pixels; the shifted copy sees the odd ones."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        # Shift by padding then cropping (DARTS slices x[:, :, 1:, 1:]) so both halves have
        # ceil(H/2) x ceil(W/2) pixels, like every other op at stride 2, for odd sizes too.
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


# The op table (DARTS operations, the list of the log-det paper). Each entry maps (channels C,
# stride s) to a module taking C x H x W to C x ceil(H/s) x ceil(W/s). Pools carry no BN, as in
# DARTS' evaluation networks: a cell adds them to BN outputs of other edges.
OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, stride: Zero(stride),
    "skip_connect": lambda c, stride: nn.Identity() if stride == 1 else FactorizedReduce(c, c),
    "avg_pool_3x3": lambda c, stride: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "max_pool_3x3": lambda c, stride: nn.MaxPool2d(3, stride=stride, padding=1),
    "sep_conv_3x3": lambda c, stride: SepConv(c, 3, stride),
    "sep_conv_5x5": lambda c, stride: SepConv(c, 5, stride),
    "sep_conv_7x7": lambda c, stride: SepConv(c, 7, stride),
    "dil_conv_3x3": lambda c, stride: DilConv(c, 3, stride),
    "dil_conv_5x5": lambda c, stride: DilConv(c, 5, stride),
    "conv_7x1_1x7": lambda c, stride: Conv7x1_1x7(c, stride),
}
OP_NAMES: tuple[str, ...] = tuple(OPS)
