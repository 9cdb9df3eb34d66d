r"""Task distances between two diagonal Fishers: one registry, one signature.

Notation (FTD paper, Sec. 3; log-det paper, Eq. 1-2): F_a is the Fisher of N_a (trained on task a)
computed on task b's data, F_b the Fisher of N_b on task b's data; both are normalised to unit
trace before comparing, so the distance from source a to target b is

* ``frechet`` (FTD, default):  d(a->b) = (1/\sqrt2) || \sqrt{F_a} - \sqrt{F_b} ||_2  in [0, 1]
  (0: identical, 1: disjoint supports);
* ``frechet-sq``:  0.5 \sum_i (\sqrt{F_a,i} - \sqrt{F_b,i})^2, the square of the above, which is
  what the authors' code computed for the published figures;
* ``logdet``:  | \sum_i \log((\lambda_{a,i} + \sigma^2) / (\lambda_{b,i} + \sigma^2)) | / n, with
  \lambda the unit-trace diagonal entries, n their number, \sigma^2 = 1e-10 by default as in the
  reference code (it only guards log(0); larger values damp the small eigenvalues): the log-det
  paper's Eq. 2 for diagonal Fishers of equal size;
* ``logdet-layer``:  \sum_t | \sum_{i in t} \log((\lambda_{a,i} + \sigma^2) / (\lambda_{b,i} + \sigma^2)) | / n,
  one absolute value per parameter tensor t (the released ``log_det_distance.py``), so layers whose
  log-ratios have opposite signs cannot cancel; not the paper's equation.

The distances are asymmetric because F_a and F_b are both measured on the target's data.
Different head sizes: the smaller head's Fisher is zero-padded to the larger one's shape
(the papers' rule), see ``align``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from common.base.errors import UserError


# Every distance takes the two unit-trace vectors, sigma^2 and the sizes of the parameter tensors
# the vectors are made of (in order; only ``logdet-layer`` uses them).
def frechet(fa: torch.Tensor, fb: torch.Tensor, sigma2: float = 1e-10, segments=None) -> float:
    return math.sqrt(frechet_sq(fa, fb))


def frechet_sq(fa: torch.Tensor, fb: torch.Tensor, sigma2: float = 1e-10, segments=None) -> float:
    return 0.5 * (fa.sqrt() - fb.sqrt()).pow(2).sum().item()


def logdet(fa: torch.Tensor, fb: torch.Tensor, sigma2: float = 1e-10, segments=None) -> float:
    return abs(torch.log((fa + sigma2) / (fb + sigma2)).sum().item()) / fa.numel()


def logdet_layer(fa: torch.Tensor, fb: torch.Tensor, sigma2: float = 1e-10, segments=None) -> float:
    logs = torch.log((fa + sigma2) / (fb + sigma2))
    parts = logs.split(list(segments)) if segments else (logs,)
    return sum(abs(p.sum().item()) for p in parts) / fa.numel()


DISTANCES = {"frechet": frechet, "frechet-sq": frechet_sq, "logdet": logdet, "logdet-layer": logdet_layer}
# distances that use sigma^2, and its default (the reference code's value)
SIGMA_DISTANCES = ("logdet", "logdet-layer")
DEFAULT_SIGMA2 = 1e-10


def align(fisher_a: dict[str, torch.Tensor], fisher_b: dict[str, torch.Tensor]):
    """Flatten two per-parameter Fishers into vectors of equal length, and the size of each
    parameter's part. Parameters must have the same names (same architecture); a parameter whose
    shapes differ (a classifier head with more classes) is zero-padded at the end of each dimension
    to the larger shape."""
    if fisher_a.keys() != fisher_b.keys():
        extra = sorted(set(fisher_a) ^ set(fisher_b))[:3]
        raise UserError(f"the two Fishers come from different architectures (parameters differ: {extra} ...)")
    va, vb = [], []
    for name, a in fisher_a.items():
        b = fisher_b[name]
        if a.dim() != b.dim():
            raise UserError(
                f"parameter '{name}' has shape {tuple(a.shape)} vs {tuple(b.shape)}: not the same architecture"
            )
        if a.shape != b.shape:
            shape = [max(x, y) for x, y in zip(a.shape, b.shape)]
            a = _pad_to(a, shape)
            b = _pad_to(b, shape)
        va.append(a.flatten())
        vb.append(b.flatten())
    return torch.cat(va).double(), torch.cat(vb).double(), [len(v) for v in va]


def _pad_to(t: torch.Tensor, shape) -> torch.Tensor:
    pad = []
    for have, want in zip(reversed(t.shape), reversed(shape)):
        pad += [0, want - have]
    return F.pad(t, pad)


def unit_trace(f: torch.Tensor, what: str = "Fisher") -> torch.Tensor:
    if not torch.isfinite(f).all():
        raise UserError(f"{what} contains NaN or inf; check the checkpoint (did training diverge?)")
    if (f < 0).any():
        raise UserError(f"{what} has negative entries; a diagonal Fisher is non-negative")
    total = f.sum()
    if total <= 0:
        raise UserError(
            f"{what} is identically zero (a network with zero gradients on this data); cannot normalise to unit trace"
        )
    return f / total


def without(fisher: dict[str, torch.Tensor], names) -> dict[str, torch.Tensor]:
    """The Fisher without the parameters ``names`` (the body-only control: the head's names left out)."""
    return {k: v for k, v in fisher.items() if k not in set(names)}


def padded_share(fisher_a: dict, fisher_b: dict, sigma2: float = DEFAULT_SIGMA2) -> float:
    r"""The share of the log-det sum that comes from zero-padded entries (a smaller head's missing
    outputs, ``align``): \sum_{i padded} |\ell_i| / \sum_i |\ell_i| with \ell_i = \log((\lambda_{a,i} +
    \sigma^2) / (\lambda_{b,i} + \sigma^2)) on the unit-trace vectors; 0 when the heads are equal."""
    fa, fb, _ = align(fisher_a, fisher_b)
    ones_a = {k: torch.ones_like(v) for k, v in fisher_a.items()}
    ones_b = {k: torch.ones_like(v) for k, v in fisher_b.items()}
    ma, mb, _ = align(ones_a, ones_b)
    padded = (ma == 0) | (mb == 0)
    logs = torch.log((unit_trace(fa) + sigma2) / (unit_trace(fb) + sigma2)).abs()
    total = logs.sum().item()
    return logs[padded].sum().item() / total if total > 0 else 0.0


def task_distance(fisher_a, fisher_b, distance: str = "frechet", sigma2: float = 1e-10) -> float:
    """d(a->b) between F_a (N_a on target data) and F_b (N_b on target data); dicts or flat tensors."""
    if distance not in DISTANCES:
        raise UserError(f"unknown distance '{distance}'; choose from {', '.join(DISTANCES)}")
    if distance in SIGMA_DISTANCES and not (sigma2 is not None and math.isfinite(sigma2) and sigma2 > 0):
        raise UserError(f"sigma^2 must be a finite number > 0, got {sigma2}")
    if isinstance(fisher_a, dict):
        fa, fb, segments = align(fisher_a, fisher_b)
    else:
        fa, fb = fisher_a.double().flatten(), fisher_b.double().flatten()
        segments = None
        if fa.shape != fb.shape:
            raise UserError(f"Fisher vectors differ in length ({len(fa)} vs {len(fb)})")
    return DISTANCES[distance](unit_trace(fa, "source Fisher"), unit_trace(fb, "target Fisher"), sigma2, segments)
