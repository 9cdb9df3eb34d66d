r"""Dense targets derived from RGB images alone (the ``taskonomy-2d`` set, ``common/dense_tasks.py``).

Every generator maps images ``x`` (float N x 3 x H x W in [0, 1]) to ``(input, target)``: the
network sees ``input`` (N x 3 x H x W) and is trained to output ``target`` (N x C x H x W, in [0, 1]).

* ``autoencoding``: input = target = the image.
* ``denoising``: input = clip(x + 0.2 n), n ~ N(0, 1) drawn from a generator seeded by ``seed``
  (the same noise on every run); target = the image.
* ``colorization``: input = the luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) repeated to 3
  channels; target = the image.
* ``inpainting``: input = the image with a central square of half the side set to 0; target = the
  image.
* ``edges`` (Canny-like, as Taskonomy's edge_texture): Y blurred by a Gaussian (σ = 1), Sobel
  gradients g_x, g_y (kernels / 8: a unit step gives a peak of about 0.3 after the blur), target 1
  where \sqrt{g_x^2 + g_y^2} > 0.2 else 0. No non-maximum suppression or hysteresis: a step edge
  gives a line 2 pixels wide, one on each side of the step.
* ``keypoints`` (as Taskonomy's keypoints2d): the Harris corner response of Y,
  R = det(M) − 0.04 tr(M)^2 with M the Gaussian-weighted (σ = 1.5) structure tensor of the Sobel
  gradients of Y blurred as for the edges (σ = 1); target = max(R, 0) / max over the image (0 for a
  flat image).

Gaussian kernels (torchvision's gaussian_blur) span ±3σ rounded up to whole pixels, reflect padding at the
borders; the Sobel kernels use replicate padding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

NOISE_STD = 0.2
EDGE_THRESHOLD = 0.2
HARRIS_K = 0.04


def luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma, N x 1 x H x W."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    size = 2 * math.ceil(3 * sigma) + 1
    return TF.gaussian_blur(x, [size, size], [sigma, sigma])


def sobel(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical Sobel derivatives (kernels / 8) of N x 1 x H x W, replicate padding."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=y.dtype, device=y.device) / 8
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kx.view(1, 1, 3, 3)), F.conv2d(padded, kx.t().contiguous().view(1, 1, 3, 3))


def inpainting_mask(h: int, w: int) -> torch.Tensor:
    """True on the masked central square (side h // 2 by w // 2)."""
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2] = True
    return mask


def autoencoding(x, seed):
    return x, x


def denoising(x, seed):
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed)).to(x)
    return (x + NOISE_STD * noise).clamp(0, 1), x


def colorization(x, seed):
    return luma(x).expand(-1, 3, -1, -1).contiguous(), x


def inpainting(x, seed):
    return x.masked_fill(inpainting_mask(*x.shape[-2:]).to(x.device), 0.0), x


def edges(x, seed):
    gx, gy = sobel(_blur(luma(x), 1.0))
    return x, ((gx**2 + gy**2).sqrt() > EDGE_THRESHOLD).to(x.dtype)


def harris(x: torch.Tensor) -> torch.Tensor:
    """The Harris response R of the luma, N x 1 x H x W."""
    gx, gy = sobel(_blur(luma(x), 1.0))
    sxx, syy, sxy = (_blur(t, 1.5) for t in (gx * gx, gy * gy, gx * gy))
    return sxx * syy - sxy**2 - HARRIS_K * (sxx + syy) ** 2


def keypoints(x, seed):
    r = harris(x).clamp(min=0)
    peak = r.amax(dim=(1, 2, 3), keepdim=True)
    return x, torch.where(peak > 0, r / peak.clamp(min=1e-12), torch.zeros_like(r))


GENERATORS = {
    "autoencoding": autoencoding,
    "denoising": denoising,
    "colorization": colorization,
    "inpainting": inpainting,
    "edges": edges,
    "keypoints": keypoints,
}
