r"""Diagonal Fisher information of a network on a dataset.

Empirical Fisher (log-det paper, appendix A, Eq. 6), diagonal only:

    F = (1/M) \sum_{i=1}^{M} (\nabla_\theta \log p(y_i | x_i, \theta))^2,

squared **per sample**. Estimators (``ESTIMATORS``):

* ``empirical`` (default): y_i = the true label of x_i.
* ``mc``: y_i ~ p(y | x_i, \theta), one label drawn from the model's predictive distribution
  (a Monte-Carlo estimate of the "true" Fisher).
* ``legacy-batch``: *not* the papers' definition: the square of the mini-batch mean gradient,
  summed over batches. Squaring a batch mean drops the per-sample variance, so it is a different
  (biased) quantity; it depends on the batch size.
* ``legacy-code``: what the authors' released code computes (its Fisher loop in the FTD repository
  adds ``(p.grad ** 2).mean(0)`` per batch, ``p.grad`` the gradient of the batch's mean loss):
  ``legacy-batch`` averaged over the first axis of every parameter (output channels of a conv,
  rows of a linear weight, all entries of a bias) and broadcast back to its shape, so every output
  unit of a layer gets the same value. Summed over batches; the authors' loader used batches of 100.

The per-sample estimators run one forward and one backward pass per batch: hooks record each
layer's input a and output gradient d, and the squared per-sample weight gradients are formed
from them (Linear: (d^2)^T (a^2); Conv2d: batched matmuls, scheduled by layer shape; BatchNorm in eval mode:
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

from common.base.errors import UserError

ESTIMATORS = ("empirical", "mc", "legacy-batch", "legacy-code")


def _log_likelihood_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    num_classes: int | None,
    estimator: str,
    generator: torch.Generator | None,
    reduction: str,
):
    """-log p(y|x) per the estimator; logits are zero-padded when the head is smaller than the
    target's label set (the papers' rule for networks with different head sizes)."""
    if num_classes is not None and logits.shape[1] < num_classes:
        logits = F.pad(logits, (0, num_classes - logits.shape[1]))
    if estimator == "mc":
        probs = logits.detach().float().softmax(1).cpu()
        y = torch.multinomial(probs, 1, generator=generator).flatten().to(logits.device)
    elif y.max() >= logits.shape[1]:
        raise UserError(
            f"labels up to {int(y.max())} but the network has {logits.shape[1]} outputs and num_classes was not given"
        )
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
                raise UserError(
                    f"layer '{name}' ({type(module).__name__}) has parameters but no "
                    "per-sample Fisher rule; use the reference loop (fisher_diag_reference)"
                )
            if isinstance(module, nn.Conv2d) and (isinstance(module.padding, str) or module.padding_mode != "zeros"):
                raise UserError(f"conv '{name}': only numeric zero padding is supported")
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is None:
                raise UserError(
                    f"batch norm '{name}' has no running statistics: per-sample gradients are not defined in eval mode"
                )
            self.handles.append(module.register_forward_hook(self._forward_hook(name)))

    def close(self):
        for h in self.handles:
            h.remove()

    def _forward_hook(self, name):
        def hook(module, inputs, output):
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] > 1:
                raise UserError(
                    f"layer '{name}' is called twice in one forward pass (shared weights): "
                    "per-sample hooks cannot separate the calls; use fisher_diag_reference"
                )
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
                wsum += d.pow(2).t() @ a.pow(2)  # (d^2)^T (a^2): sum_i d_io^2 a_ij^2
                if bsum is not None:
                    bsum += d.pow(2).sum(0)
            else:  # extra token dims: sum them per sample first
                g = torch.einsum("b...o,b...i->boi", d, a)
                wsum += g.pow(2).sum(0)
                if bsum is not None:
                    bsum += d.flatten(1, -2).sum(1).pow(2).sum(0)
        elif isinstance(module, nn.Conv2d):
            wsum += _conv_per_sample_sq_grads(module, a, d)
            if bsum is not None:
                bsum += d.flatten(2).sum(2).pow(2).sum(0)
        else:  # batch norm, eval mode
            # per sample: dL/dbias = sum_l d, dL/dweight = sum_l d * x_hat with x_hat = (a - mean) / std,
            # i.e. (sum_l d * a - mean * sum_l d) / std: no full-size x_hat is formed
            dims = tuple(range(2, a.dim()))
            gb = d.sum(dims) if dims else d
            if module.weight is not None:
                da = (d * a).sum(dims) if dims else d * a
                gw = (da - module.running_mean * gb) * torch.rsqrt(module.running_var + module.eps)
                wsum += gw.pow(2).sum(0)
            if module.bias is not None:
                bsum += gb.pow(2).sum(0)


# Schedules of the per-sample conv rule, chosen per layer by shape (timed with
# bench/fisher_conv_layers.py and bench/fisher_speed.py, 2 CPU threads): up to SMALL_MAP output
# positions a few samples at a time, as many as fit CHUNK_FLOATS of per-sample gradients (cache-sized:
# small layers then keep both threads busy, large ones go one sample at a time); up to FEW_COLUMNS
# input columns (Cin*kh*kw, e.g. a first layer on RGB) one batched matmul.
SMALL_MAP = 64
FEW_COLUMNS = 64
CHUNK_FLOATS = 2**20


def _conv_per_sample_sq_grads(conv: nn.Conv2d, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """sum_i (dL_i/dW)^2 for a Conv2d with input a (B x Cin x H x W) and output gradient d.

    The per-sample weight gradient is g_i[o, c, p, q] = sum_l d_i[o, l] a_i[c, l shifted by (p, q)],
    a matmul over the L output positions. All schedules below do the FLOPs of one batched weight
    gradient; they differ in what they copy and in how many B x O x Cin products they write:
    * few input columns (Cin*k*k <= FEW_COLUMNS, e.g. the first layer) on a larger map: one batched
      matmul with the unfolded input;
    * small maps (L <= SMALL_MAP): the unfolded input is small; a few samples' matmuls at a time,
      squared and summed, so the O x Cin*k*k gradients in flight stay in cache instead of B of them
      being written and reduced;
    * otherwise one batched matmul per kernel offset (p, q), on windows of the input (stride 1:
      no copies) or strided slices.
    The unfolded input is built from k*k shifted slices: F.unfold is several times slower on CPU."""
    ho, wo = d.shape[-2:]
    b, groups = a.shape[0], conv.groups
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    cout, cin_g = conv.out_channels, conv.in_channels // groups
    offsets = [(p * dh, q * dw) for p in range(kh) for q in range(kw)]
    hs, ws = sh * (ho - 1) + 1, sw * (wo - 1) + 1  # extent of one offset's window
    small_map = ho * wo <= SMALL_MAP

    if groups == 1 and not small_map and cin_g * kh * kw <= FEW_COLUMNS:
        # unfolded input (p, q, c) x L per sample, gathered channels-first even from a channels-last
        # input: with few channels, whole map rows are copied instead of runs of Cin values (2x faster)
        first = F.pad(a.contiguous(), (pw, pw, ph, ph))
        cols = torch.cat([first[:, :, i : i + hs : sh, j : j + ws : sw] for i, j in offsets], dim=1).view(
            b, -1, ho * wo
        )
        dl = d.permute(0, 2, 3, 1).reshape(b, ho * wo, cout)  # B x L x O
        out = torch.bmm(cols, dl).pow_(2).sum(0)  # (p, q, c) x O
        return out.t().reshape(cout, kh, kw, cin_g).permute(0, 3, 1, 2).contiguous()
    padded = F.pad(a, (pw, pw, ph, ph)) if ph or pw else a
    if groups == 1 and small_map:
        # unfolded input L x (p, q, c) per sample, gathered channels-last (contiguous Cin-runs);
        # g_i = d_i cols_i with d_i as O x L (a free view of a channels-last gradient)
        rows = padded.permute(0, 2, 3, 1).contiguous()
        cols = torch.cat([rows[:, i : i + hs : sh, j : j + ws : sw] for i, j in offsets], dim=3).view(b, ho * wo, -1)
        dl = d.permute(0, 2, 3, 1).reshape(b, ho * wo, cout).transpose(1, 2)  # B x O x L
        out = a.new_zeros(cout, cols.shape[2])
        chunk = min(b, CHUNK_FLOATS // out.numel())
        if chunk > 1:
            for s in range(0, b, chunk):
                out += torch.bmm(dl[s : s + chunk], cols[s : s + chunk]).pow_(2).sum(0)
        else:
            g = torch.empty_like(out)
            for i in range(b):
                torch.mm(dl[i], cols[i], out=g)
                out.addcmul_(g, g)
        return out.view(cout, kh, kw, cin_g).permute(0, 3, 1, 2).contiguous()
    out = a.new_empty(cout, cin_g, kh, kw)
    if groups == 1 and sh == sw == 1:
        # Stride 1: on the padded map flattened to Hp*Wp positions, offset (p, q) sees a contiguous
        # window starting at p*dh*Wp + q*dw, if the output grid is widened to Wp columns whose extra
        # columns get a zero output gradient. No per-offset copies of the input.
        wp = padded.shape[3]
        flat = padded.reshape(b, cin_g, -1)  # B x Cin x Hp*Wp
        n = ho * wp - (wp - wo)  # the last row's extra columns read past the map: drop them
        dt = F.pad(d, (0, wp - wo)).reshape(b, cout, ho * wp)[:, :, :n]  # B x O x n
        for p, q in offsets:
            window = flat[:, :, p * wp + q : p * wp + q + n].transpose(1, 2)  # B x n x Cin
            out[:, :, p // dh, q // dw] = torch.bmm(dt, window).pow_(2).sum(0)
        return out
    dl = d.permute(0, 2, 3, 1).reshape(b, ho * wo, groups, cout // groups)  # B x L x G x O/G
    rows = padded.permute(0, 2, 3, 1)  # B x Hp x Wp x Cin
    for p, q in offsets:
        al = rows[:, p : p + hs : sh, q : q + ws : sw].reshape(b, ho * wo, groups, cin_g)  # B x L x G x Cin/G
        g = torch.einsum("blgo,blgi->bgoi", dl, al).reshape(b, cout, cin_g)
        out[:, :, p // dh, q // dw] = g.pow_(2).sum(0)
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


def fisher_diag(
    net: nn.Module,
    batches,
    *,
    estimator: str = "empirical",
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of ``net`` on ``batches`` (iterable of (normalised x, y)), per parameter name.

    ``empirical`` / ``mc``: mean over samples of squared per-sample gradients of log p(y|x) (Eq. 6).
    ``legacy-batch``: sum over batches of the squared batch-mean gradient (not Eq. 6).
    ``legacy-code``: the same averaged over each parameter's first axis (the released code; not Eq. 6).
    ``num_classes``: the target task's label count; a smaller head has its logits zero-padded.
    """
    if estimator not in ESTIMATORS:
        raise UserError(f"unknown estimator '{estimator}'; choose from {', '.join(ESTIMATORS)}")
    if estimator in ("legacy-batch", "legacy-code"):
        return _legacy_batch_fisher(net, batches, num_classes, axis0_mean=estimator == "legacy-code")
    n = 0
    with _frozen_eval(net):
        hooks = _SquaredGradHooks(net)
        try:
            for x, y in batches:
                hooks.calls.clear()
                x = x.detach().requires_grad_(True)  # a graph to backpropagate through, weights frozen
                loss = _log_likelihood_loss(net(x), y, num_classes, estimator, generator, "sum")
                torch.autograd.grad(loss, x)
                n += len(x)
        finally:
            hooks.close()
    if n == 0:
        raise UserError("no samples to compute the Fisher on")
    return {k: v / n for k, v in hooks.sums.items()}


def _legacy_batch_fisher(net, batches, num_classes, axis0_mean: bool = False):
    """For each batch, (gradient of the mean loss)^2, summed over batches; ``axis0_mean``: each
    square averaged over the parameter's first axis and broadcast back (the released code)."""
    total = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
    params = dict(net.named_parameters())
    n = 0
    with _frozen_eval(net):
        for p in params.values():
            p.requires_grad_(True)
        for x, y in batches:
            n += len(x)
            loss = _log_likelihood_loss(net(x), y, num_classes, "empirical", None, "mean")
            grads = torch.autograd.grad(loss, list(params.values()))
            for name, g in zip(params, grads):
                sq = g.pow(2)
                total[name] += sq.mean(0).expand_as(sq) if axis0_mean else sq
    if n == 0:
        raise UserError("no samples to compute the Fisher on")
    return total


def fisher_diag_reference(
    net: nn.Module,
    batches,
    *,
    estimator: str = "empirical",
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
):
    """Slow, independent reference: one backward pass per sample, plain autograd. For tests and
    benchmarks; gives the same result as ``fisher_diag`` (per-sample estimators)."""
    params = dict(net.named_parameters())
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    n = 0
    with _frozen_eval(net):
        for p in params.values():
            p.requires_grad_(True)
        for x, y in batches:
            if estimator == "mc":  # draw all labels of the batch first, as fisher_diag does
                with torch.no_grad():
                    logits = net(x)
                    if num_classes is not None and logits.shape[1] < num_classes:
                        logits = F.pad(logits, (0, num_classes - logits.shape[1]))
                    y = torch.multinomial(logits.float().softmax(1).cpu(), 1, generator=generator).flatten()
            for i in range(len(x)):
                loss = _log_likelihood_loss(net(x[i : i + 1]), y[i : i + 1], num_classes, "empirical", None, "sum")
                for name, g in zip(params, torch.autograd.grad(loss, list(params.values()))):
                    total[name] += g.pow(2)
                n += 1
    return {k: v / n for k, v in total.items()}
