"""The diagonal empirical Fisher computed by other libraries, as independent references for the
suite's ``common.fisher.estimators.fisher_diag`` (tests) and as peers in ``bench/fisher_speed.py``.

Both return, like ``fisher_diag(estimator="empirical")``, the mean over samples of the squared
per-sample gradients of -log p(y|x) (cross-entropy with the true label), network in eval mode.

* BackPACK (``SumGradSquared``): sum over the batch of squared per-sample gradients, from its
  module extensions; needs every parameterised layer to be one it knows.
* Opacus (``GradSampleModule``): the per-sample gradients themselves (B x param), squared and summed.
  Opacus has no per-sample rule for BatchNorm (it asks for GroupNorm instead).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


def fisher_backpack(net: nn.Module, batches) -> dict[str, torch.Tensor]:
    from backpack import backpack, extend
    from backpack.extensions import SumGradSquared

    model = extend(copy.deepcopy(net).eval())
    loss_fn = extend(nn.CrossEntropyLoss(reduction="sum"))
    total = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    n = 0
    for x, y in batches:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        with backpack(SumGradSquared()):
            loss.backward()
        for name, p in model.named_parameters():
            total[name] += p.sum_grad_squared
        n += len(y)
    return {k: v / n for k, v in total.items()}


def fisher_opacus(net: nn.Module, batches) -> dict[str, torch.Tensor]:
    from opacus import GradSampleModule

    if any(isinstance(m, nn.modules.dropout._DropoutNd) for m in net.modules()):
        raise ValueError("fisher_opacus needs a network without dropout")
    # Opacus records activations only in training mode; without BatchNorm (which it refuses) and
    # dropout, training mode computes exactly what eval mode does.
    model = GradSampleModule(copy.deepcopy(net).train(), loss_reduction="sum")
    total = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
    n = 0
    for x, y in batches:
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y, reduction="sum").backward()
        for name, p in model._module.named_parameters():
            total[name] += p.grad_sample.pow(2).sum(0)
            p.grad_sample = None
        n += len(y)
    return {k: v / n for k, v in total.items()}
