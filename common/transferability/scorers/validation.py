"""The scorers' input checks: arrays (numpy or torch) to float64 matrices, integer labels, softmax rows, finite
scalars; each refusal one ``ValueError`` naming the input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_PROB_ATOL = 1e-4  # a softmax row in float32 sums to 1 within ~1e-6; more than this is not a distribution


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor (possibly on a GPU, possibly requiring grad)
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _matrix(x: Any, name: str, min_rows: int = 2) -> np.ndarray:
    try:
        a = _numpy(x).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not a numeric array ({exc})") from None
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n, dim), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows (samples), got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name}: has no columns")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def _labels(y: Any, n: int, name: str = "target_labels") -> np.ndarray:
    try:
        a = _numpy(y)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not an array ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name}: has {a.shape[0]} entries but the other input has {n} rows")
    if a.dtype.kind not in "iub":
        try:
            f = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: not numeric") from None
        if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
            raise ValueError(f"{name}: must be integer class indices")
        a = f
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"{name}: class indices must be >= 0, got {a.min()}")
    return a


def _probs(p: Any) -> np.ndarray:
    a = _matrix(p, "source_probs")
    if a.min() < 0:
        raise ValueError("source_probs: negative entries (expected softmax outputs)")
    sums = a.sum(axis=1)
    if np.max(np.abs(sums - 1.0)) > _PROB_ATOL:
        raise ValueError(
            f"source_probs: rows must sum to 1 (worst row sums to {sums[np.argmax(np.abs(sums - 1))]:.6g})"
        )
    return a / sums[:, None]


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: the result is not finite ({value}); the inputs are degenerate")
    return value


def _scalar(x: Any, name: str) -> float:
    try:
        a = _numpy(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number") from None
    if a.size != 1:
        raise ValueError(f"{name}: expected one number, got shape {a.shape}")
    try:
        v = float(a.reshape(()))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number ({x!r})") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}: not finite ({v})")
    return v
