"""The initialisation protocol of every ε-network (classification and dense): the body's initial
weights depend on the seed only, never on the head or the task; the head is drawn from its own
seeded generator.

Why: the distance matrices pair seed k of every task, and the consistency claims rest on "the
networks of one seed share their initial weights". Built as ``torch.manual_seed(k)`` then the
constructor, that held for smallcnn and VGG-16 but not for torchvision's ResNet-18 and DenseNet-121,
which draw their head *before* their init loop, so the head's size shifted every later draw (a 2-
and a 10-class ResNet-18 of one seed shared none of their 20 conv weights).

So a network is built twice under the seed: once with a fixed ``BODY_OUTPUTS``-output head (the
body every task of that seed gets) and once with the task's head; the task network takes the
body's tensors, and its head (the last module with parameters: every registered network ends
with it) is reset under the seed ``HEAD_SEED_OFFSET + seed``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

BODY_OUTPUTS = 1  # the placeholder head the body is drawn with (any fixed size would do)
HEAD_SEED_OFFSET = 1_000_003  # the head's generator: its own stream, never the body's


def head_module(net: nn.Module) -> tuple[str, nn.Module]:
    """(name, module) of the network's head: the last module that holds parameters of its own."""
    last = None
    for name, module in net.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            last = (name, module)
    if last is None:
        raise ValueError("the network has no parameters")
    return last


def head_parameter_names(net: nn.Module) -> list[str]:
    """The parameter names of the head (as in ``net.named_parameters()`` and the Fisher dicts)."""
    name, module = head_module(net)
    return [f"{name}.{p}" if name else p for p, _ in module.named_parameters(recurse=False)]


def seeded_network(build: Callable[[int], nn.Module], outputs: int, seed: int) -> nn.Module:
    """``build(outputs)`` with the body of ``build(BODY_OUTPUTS)`` under ``seed`` and a head drawn from
    the head's own generator; the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        body = build(BODY_OUTPUTS)
        net = build(outputs)
        head = set(head_parameter_names(net))
        body_state = {k: v for k, v in body.state_dict().items() if k not in head}
        missing, unexpected = net.load_state_dict(body_state, strict=False)
        if set(missing) != head or unexpected:
            raise ValueError(f"the body and the network differ beyond the head: {sorted(set(missing) - head)[:3]}")
        torch.manual_seed(HEAD_SEED_OFFSET + seed)
        head_module(net)[1].reset_parameters()
    return net
