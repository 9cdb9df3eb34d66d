r"""Diagonal Fisher information of a network on a dataset.

Empirical Fisher (log-det paper, appendix A, Eq. 6), diagonal only:

    F = (1/M) \sum_{i=1}^{M} (\nabla_\theta \log p(y_i | x_i, \theta))^2,

squared **per sample**. Estimators (``ESTIMATORS``):

* ``empirical`` (default): y_i = the true label of x_i.
* ``mc``: y_i ~ p(y | x_i, \theta), one label drawn from the model's predictive distribution
  (a Monte-Carlo estimate of the "true" Fisher).
* ``legacy-batch``: the released reference code's estimator, *not* the papers' definition:
  the square of the mini-batch mean gradient, summed over batches. Squaring a batch mean
  drops the per-sample variance, so it is a different (biased) quantity.

The per-sample estimators run one forward and one backward pass per batch: hooks record each
layer's input a and output gradient d, and the squared per-sample weight gradients are formed
from them (Linear: (d^2)^T (a^2); Conv2d: one batched matmul per kernel offset; BatchNorm in eval mode:
sums of d * x_hat and d over positions). Parameters are frozen during the pass, so autograd
computes no batch weight gradients: the total cost is about one ordinary backward pass.

The network is put in eval mode, so BatchNorm uses its running statistics and samples do not
interact; per-sample gradients are then well defined.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import UserError

ESTIMATORS = ("empirical", "mc", "legacy-batch")


def _log_likelihood_loss(logits: torch.Tensor, y: torch.Tensor, num_classes: int | None,
                         estimator: str, generator: torch.Generator | None, reduction: str):
    """-log p(y|x) per the estimator; logits are zero-padded when the head is smaller than the
    target's label set (the papers' rule for networks with different head sizes)."""
    if num_classes is not None and logits.shape[1] < num_classes:
        logits = F.pad(logits, (0, num_classes - logits.shape[1]))
    if estimator == "mc":
        probs = logits.detach().float().softmax(1).cpu()
        y = torch.multinomial(probs, 1, generator=generator).flatten().to(logits.device)
    elif y.max() >= logits.shape[1]:
        raise UserError(f"labels up to {int(y.max())} but the network has {logits.shape[1]} outputs "
                        "and num_classes was not given")
    return F.cross_entropy(logits, y, reduction=reduction)


class _SquaredGradHooks:
    """Accumulates sum_i (per-sample gradient)^2 for every parameter, from layer hooks."""

    SUPPORTED = (nn.Linear, nn.Conv2d, nn.BatchNorm2d, nn.BatchNorm1d)

    def __init__(self, net: nn.Module):
        self.net = net
        self.sums = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
        self.handles = []
        self.calls: dict[str, int] = {}
        for name, module in net.named_modules():
            own = [n for n, _ in module.named_parameters(recurse=False)]
            if not own:
                continue
            if not isinstance(module, self.SUPPORTED):
                raise UserError(f"layer '{name}' ({type(module).__name__}) has parameters but no "
                                "per-sample Fisher rule; use the reference loop (fisher_diag_reference)")
            if isinstance(module, nn.Conv2d) and (isinstance(module.padding, str) or module.padding_mode != "zeros"):
                raise UserError(f"conv '{name}': only numeric zero padding is supported")
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is None:
                raise UserError(f"batch norm '{name}' has no running statistics: per-sample gradients "
                                "are not defined in eval mode")
            self.handles.append(module.register_forward_hook(self._forward_hook(name)))

    def close(self):
        for h in self.handles:
            h.remove()

    def _forward_hook(self, name):
        def hook(module, inputs, output):
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] > 1:
                raise UserError(f"layer '{name}' is called twice in one forward pass (shared weights): "
                                "per-sample hooks cannot separate the calls; use fisher_diag_reference")
            a = inputs[0].detach()
            version = inputs[0]._version

            def grad_hook(d):
                # the output gradient of sample i is d[i] because the loss is a sum over samples
                if inputs[0]._version != version:
                    raise RuntimeError(f"input of '{name}' was modified in place; cannot form per-sample grads")
                self._accumulate(name, module, a, d.detach())
            output.register_hook(grad_hook)
        return hook

    def _accumulate(self, name, module, a, d):
        prefix = f"{name}." if name else ""
        wsum = self.sums[prefix + "weight"]
        bsum = self.sums.get(prefix + "bias")
        if isinstance(module, nn.Linear):
            if a.dim() == 2:
                wsum += d.pow(2).t() @ a.pow(2)             # (d^2)^T (a^2): sum_i d_io^2 a_ij^2
                if bsum is not None:
                    bsum += d.pow(2).sum(0)
            else:                                            # extra token dims: sum them per sample first
                g = torch.einsum("b...o,b...i->boi", d, a)
                wsum += g.pow(2).sum(0)
                if bsum is not None:
                    bsum += d.flatten(1, -2).sum(1).pow(2).sum(0)
        elif isinstance(module, nn.Conv2d):
            wsum += _conv_per_sample_sq_grads(module, a, d)
            if bsum is not None:
                bsum += d.flatten(2).sum(2).pow(2).sum(0)
        else:                                                # batch norm, eval mode
            shape = (1, -1) + (1,) * (a.dim() - 2)
            x_hat = (a - module.running_mean.view(shape)) / torch.sqrt(module.running_var.view(shape) + module.eps)
            dims = tuple(range(2, a.dim()))
            if module.weight is not None:
                gw = (d * x_hat).sum(dims) if dims else d * x_hat
                wsum += gw.pow(2).sum(0)
            if module.bias is not None:
                gb = d.sum(dims) if dims else d
                bsum += gb.pow(2).sum(0)


def _conv_per_sample_sq_grads(conv: nn.Conv2d, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """sum_i (dL_i/dW)^2 for a Conv2d with input a (B x Cin x H x W) and output gradient d.

    The per-sample weight gradient is g_i[o, c, p, q] = sum_l d_i[o, l] a_i[c, l shifted by (p, q)].
    One batched matmul per kernel offset (p, q) on a strided slice of the padded input: the same
    FLOPs as ``F.unfold`` + one matmul, but F.unfold is slow on CPU (measured 4x the whole
    batched weight gradient for a 64-channel 32x32 layer) and holds k*k copies of the input."""
    b, groups = a.shape[0], conv.groups
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    ho, wo = d.shape[-2:]
    cout, cin_g = conv.out_channels, conv.in_channels // groups
    padded = F.pad(a, (pw, pw, ph, ph)) if ph or pw else a
    dl = d.permute(0, 2, 3, 1).reshape(b, ho * wo, groups, cout // groups)          # B x L x G x O/G
    out = a.new_empty(cout, cin_g, kh, kw)
    for p in range(kh):
        for q in range(kw):
            sl = padded[:, :, p * dh: p * dh + sh * (ho - 1) + 1: sh, q * dw: q * dw + sw * (wo - 1) + 1: sw]
            al = sl.permute(0, 2, 3, 1).reshape(b, ho * wo, groups, cin_g)            # B x L x G x Cin/G
            if groups == 1:
                g = torch.bmm(dl[:, :, 0].transpose(1, 2), al[:, :, 0])              # B x O x Cin
            else:
                g = torch.einsum("blgo,blgi->bgoi", dl, al).reshape(b, cout, cin_g)
            out[:, :, p, q] = g.pow_(2).sum(0)
    return out


@contextmanager
def _frozen_eval(net: nn.Module):
    """Eval mode and no parameter gradients for the duration; restores both afterwards."""
    was_training = net.training
    flags = {p: p.requires_grad for p in net.parameters()}
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in flags.items():
            p.requires_grad_(f)
        net.train(was_training)


def fisher_diag(net: nn.Module, batches, *, estimator: str = "empirical", num_classes: int | None = None,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of ``net`` on ``batches`` (iterable of (normalised x, y)), per parameter name.

    ``empirical`` / ``mc``: mean over samples of squared per-sample gradients of log p(y|x) (Eq. 6).
    ``legacy-batch``: sum over batches of the squared batch-mean gradient (reference code; not Eq. 6).
    ``num_classes``: the target task's label count; a smaller head has its logits zero-padded.
    """
    if estimator not in ESTIMATORS:
        raise UserError(f"unknown estimator '{estimator}'; choose from {', '.join(ESTIMATORS)}")
    if estimator == "legacy-batch":
        return _legacy_batch_fisher(net, batches, num_classes)
    n = 0
    with _frozen_eval(net):
        hooks = _SquaredGradHooks(net)
        try:
            for x, y in batches:
                hooks.calls.clear()
                x = x.detach().requires_grad_(True)   # a graph to backpropagate through, weights frozen
                loss = _log_likelihood_loss(net(x), y, num_classes, estimator, generator, "sum")
                torch.autograd.grad(loss, x)
                n += len(x)
        finally:
            hooks.close()
    if n == 0:
        raise UserError("no samples to compute the Fisher on")
    return {k: v / n for k, v in hooks.sums.items()}


def _legacy_batch_fisher(net, batches, num_classes):
    """The released code's estimator: for each batch, (gradient of the mean loss)^2, summed."""
    total = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
    params = dict(net.named_parameters())
    with _frozen_eval(net):
        for p in params.values():
            p.requires_grad_(True)
        for x, y in batches:
            loss = _log_likelihood_loss(net(x), y, num_classes, "empirical", None, "mean")
            grads = torch.autograd.grad(loss, list(params.values()))
            for name, g in zip(params, grads):
                total[name] += g.pow(2)
    return total


def fisher_diag_reference(net: nn.Module, batches, *, estimator: str = "empirical",
                          num_classes: int | None = None, generator: torch.Generator | None = None):
    """Slow, independent reference: one backward pass per sample, plain autograd. For tests and
    benchmarks; gives the same result as ``fisher_diag`` (per-sample estimators)."""
    params = dict(net.named_parameters())
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    n = 0
    with _frozen_eval(net):
        for p in params.values():
            p.requires_grad_(True)
        for x, y in batches:
            if estimator == "mc":   # draw all labels of the batch first, as fisher_diag does
                with torch.no_grad():
                    logits = net(x)
                    if num_classes is not None and logits.shape[1] < num_classes:
                        logits = F.pad(logits, (0, num_classes - logits.shape[1]))
                    y = torch.multinomial(logits.float().softmax(1).cpu(), 1, generator=generator).flatten()
            for i in range(len(x)):
                loss = _log_likelihood_loss(net(x[i:i + 1]), y[i:i + 1], num_classes, "empirical", None, "sum")
                for name, g in zip(params, torch.autograd.grad(loss, list(params.values()))):
                    total[name] += g.pow(2)
                n += 1
    return {k: v / n for k, v in total.items()}
