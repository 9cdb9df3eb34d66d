"""The ε-approximation networks: one registry, one builder, ``build_network(arch, task, seed=k)``.

Every network takes 3 x 32 x 32 inputs (MNIST is padded and repeated to 3 channels) and has as
many outputs as the task has labels. The ImageNet models of torchvision get a CIFAR-style stem
(3x3 stride-1 first convolution, no initial max-pool), as in the papers' code. The initial weights
follow ``common/networks/init.py``: the body depends on the seed only, the head on its own generator.
"""

from __future__ import annotations

import torch.nn as nn
import torchvision

from common.base.errors import UserError
from common.networks.init import seeded_network
from common.tasks import Task


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def small_cnn(num_classes: int, in_channels: int = 3) -> nn.Module:
    """CPU-sized network (≈ 0.22 M parameters): 4 conv-BN-ReLU blocks, narrow at full resolution
    and wide at low resolution, because on 2 cores wide 32x32 layers cost several times the time
    for no accuracy (measured: 16-48-96-192 channels train at ≈ 1,500 images/s, 32-64-128-128 at
    ≈ 1,100)."""
    return nn.Sequential(
        *_conv_bn(in_channels, 16),
        nn.MaxPool2d(2),  # 16 x 16
        *_conv_bn(16, 48),
        nn.MaxPool2d(2),  # 8 x 8
        *_conv_bn(48, 96),
        nn.MaxPool2d(2),  # 4 x 4
        *_conv_bn(96, 192),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(192, num_classes),
    )


def vgg16(num_classes: int, in_channels: int = 3) -> nn.Module:
    """VGG-16 with BatchNorm, CIFAR variant: the 13 conv layers of torchvision's config "D" and one
    linear classifier on the 512 x 1 x 1 features (≈ 14.7 M parameters, as in the FTD paper)."""
    cfg = torchvision.models.vgg.cfgs["D"]
    features = torchvision.models.vgg.make_layers(cfg, batch_norm=True)
    if in_channels != 3:
        features[0] = nn.Conv2d(in_channels, 64, 3, padding=1)
    return nn.Sequential(features, nn.Flatten(), nn.Linear(512, num_classes))


def resnet18(num_classes: int, in_channels: int = 3) -> nn.Module:
    """torchvision ResNet-18 with a CIFAR stem (3x3 stride 1, no max-pool)."""
    net = torchvision.models.resnet18(num_classes=num_classes)
    net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


def densenet121(num_classes: int, in_channels: int = 3) -> nn.Module:
    """torchvision DenseNet-121 with a CIFAR stem (3x3 stride 1, no max-pool)."""
    net = torchvision.models.densenet121(num_classes=num_classes)
    net.features.conv0 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
    net.features.pool0 = nn.Identity()
    return net


NETWORKS = {
    "smallcnn": small_cnn,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "densenet121": densenet121,
}


def build_network(arch: str, task: Task, *, seed: int) -> nn.Module:
    """The ``arch`` network of ``task`` exactly as training builds it: the body of ``seed`` (the same for
    every task), the head of ``seed`` sized for the task's labels."""
    if arch not in NETWORKS:
        raise UserError(f"unknown arch '{arch}'; choose from {', '.join(NETWORKS)}")
    return seeded_network(lambda outputs: NETWORKS[arch](num_classes=outputs), task.num_classes, seed)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
