"""Encoder–decoder ε-networks of the dense tasks (registry ``DENSE_NETWORKS``). Every network has an
``encoder`` and a ``decoder`` module; only the decoder's last layer depends on the task (its output
channels), so when the tasks of a distance matrix differ in output channels, the distance compares
the encoder's parameters only (``compared_parameters``).

* ``convae`` (default): conv encoder 3 → 16 → 32 (stride 2) → 64 (stride 2) with ReLU, transposed-conv
  decoder back to full size, a 3 x 3 conv to the task's channels; linear output. ≈ 0.06 M parameters.
* ``mlpae``: the authors' MLP autoencoder, 3·H·W → 512 → 128 → 512 → C·H·W with ReLU (encoder: the
  first two layers). ≈ 3.3 M parameters at 32 x 32, 50 M at 128 x 128.
"""

from __future__ import annotations

import torch.nn as nn

from common.base.errors import UserError
from common.networks.init import seeded_network


class EncoderDecoder(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def conv_autoencoder(channels: int, size: int, width: int = 16) -> nn.Module:
    w = width
    encoder = nn.Sequential(
        nn.Conv2d(3, w, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
        nn.ReLU(),
    )
    decoder = nn.Sequential(
        nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(w, channels, 3, padding=1),
    )
    return EncoderDecoder(encoder, decoder)


def mlp_autoencoder(channels: int, size: int) -> nn.Module:
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU())
    decoder = nn.Sequential(
        nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, channels * size * size), nn.Unflatten(1, (channels, size, size))
    )
    return EncoderDecoder(encoder, decoder)


DENSE_NETWORKS = {"convae": conv_autoencoder, "mlpae": mlp_autoencoder}


def build_dense_network(arch: str, channels: int, size: int, *, seed: int) -> nn.Module:
    """The network of a ``channels``-output task exactly as training builds it: the encoder and decoder
    of ``seed`` (the same for every task), the output layer from its own generator
    (``common/networks/init.py``)."""
    if arch not in DENSE_NETWORKS:
        raise UserError(f"unknown dense network '{arch}'; choose from {', '.join(DENSE_NETWORKS)}")
    if arch == "convae" and size % 4:
        raise UserError(f"convae needs an image size divisible by 4, got {size}")
    return seeded_network(lambda outputs: DENSE_NETWORKS[arch](outputs, size), channels, seed)


def compared_parameters(arch: str, channels, size: int) -> tuple[str, list[str]]:
    """Which parameters enter the distance of a matrix whose tasks have these output ``channels``:
    all of them when every network has the same shapes, else the encoder's (the shared part).
    Returns (what, parameter names)."""
    nets = [build_dense_network(arch, c, size, seed=0) for c in sorted(set(channels))]
    shapes = [{n: p.shape for n, p in net.named_parameters()} for net in nets]
    if all(s == shapes[0] for s in shapes):
        return "all parameters", list(shapes[0])
    return "encoder only (the tasks' decoders differ in output channels)", [
        n for n in shapes[0] if n.startswith("encoder.")
    ]
