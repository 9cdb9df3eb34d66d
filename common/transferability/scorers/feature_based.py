r"""Feature-based scorers: the source network's penultimate features f_i in R^D (``features``) against the target
labels.

logme (You et al. 2021, ICML, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning")
    per class c, the one-hot column y = 1[labels = c] is a Bayesian linear regression on F (n x D, raw features):
    w ~ N(0, alpha^{-1} I), y | F, w ~ N(F w, beta^{-1} I). Its log evidence, with A = alpha I + beta F^T F and
    m = beta A^{-1} F^T y:
      log p(y | F, alpha, beta) = n/2 log beta + D/2 log alpha - n/2 log 2pi - beta/2 ||F m - y||^2
                                  - alpha/2 m^T m - 1/2 log det A
    alpha, beta are set by MacKay's fixed point  gamma = \sum_j beta s_j / (alpha + beta s_j),
    alpha = gamma / m^T m,  beta = (n - gamma) / ||F m - y||^2  (s_j the eigenvalues of F^T F), computed through
    the SVD F = U S V^T. LogME = (1/C) \sum_c log p(y_c | F, alpha_c, beta_c) / n over the classes present.
    Differences from thuml/LogME: iterated to convergence (relative change of alpha and beta < 1e-10, not 11 steps
    at 1e-3), no 1e-5 added to the denominators, and log det A keeps the (D - rank) eigenvalues alpha of the null
    space of F (when n < D their fixed-point version drops them), so the value equals the closed form exactly.
    MacKay's iteration converges linearly; after 100 steps without converging, the same fixed-point equation
    (gamma ||y - F m||^2 = (n - gamma) t m^T m, t = alpha/beta) is solved by brentq in log t. When the evidence only
    grows towards alpha -> inf (features that explain nothing of a class, common when n < D) there is no interior
    maximum; its supremum there, log N(y; 0, ||y||^2/n I) / n = -(log(2 pi ||y||^2/n) + 1)/2, is used; likewise
    towards beta -> inf when F interpolates y (``logme_fit(...).method`` says which, per class).

hscore (Bao et al. 2019, ICIP, "An Information-Theoretic Approach to Transferability in Task Transfer Learning")
    features centred; H = tr( cov(f)^+ cov(E[f | y]) ), E[f | y] the class mean of each image's class, ^+ the
    pseudo-inverse. Both covariances use 1/n.
    shrinkage (Ibrahim et al. 2022, "Newer is not always better: rethinking transferability metrics, their
    peculiarities, stability and performance"): cov(f) -> cov_a(f) = (1 - a) S + a tr(S)/D I with a the Ledoit-Wolf
    shrinkage (sklearn.covariance.LedoitWolf) and H_a = tr( cov_a(f)^+ (1 - a) cov(E[f | y]) ). a = 0 is plain H.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from sklearn.covariance import LedoitWolf

from common.transferability.scorers.validation import _finite, _labels, _matrix, _scalar

_ALPHA_LIMIT = 1e12  # alpha/beta beyond this (times the eigenvalue range of F^T F): MacKay running off to a boundary


_LOGME_FIELDS = ("classes", "alphas", "betas", "evidences", "iterations", "method")


@dataclass(frozen=True)
class LogMEFit:
    """What LogME's fixed point reached, per class present in the labels (evidence already divided by n)."""

    classes: tuple[int, ...]
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    evidences: tuple[float, ...]
    iterations: tuple[int, ...]  # MacKay steps taken
    # "fixed-point": MacKay's iteration converged; "root": its equation solved by brentq after it did not;
    # "limit": the evidence only grows towards alpha -> inf and its supremum there is used;
    # "limit-noise-free": it grows towards beta -> inf (F interpolates y, n <= D): its value at alpha/beta =
    # 1e-13 times the smallest nonzero eigenvalue of F^T F, within rounding of the supremum
    method: tuple[str, ...]

    @property
    def value(self) -> float:
        return float(np.mean(self.evidences))


def _log_evidence(alpha, beta, sigma, x2, res_out, n, d, rank) -> float:
    """log p(y | F, alpha, beta) from the SVD: m = V diag(s / (s^2 + t)) x, F m - y in U's and its complement."""
    t = alpha / beta
    m2 = float(np.sum(sigma * x2 / (sigma + t) ** 2))  # m^T m
    res2 = float(np.sum(x2 * (t / (sigma + t)) ** 2)) + res_out  # ||F m - y||^2
    logdet_a = float(np.sum(np.log(alpha + beta * sigma))) + (d - rank) * math.log(alpha)
    return (
        n / 2 * math.log(beta)
        + d / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * res2
        - alpha / 2 * m2
        - logdet_a / 2
    )


def _profile(log_t: np.ndarray, sigma, x2, res_out, n, rank) -> tuple[np.ndarray, np.ndarray]:
    """The evidence maximised over beta for fixed t = alpha / beta, and (the sign of) its derivative in log t.

    With alpha = t beta, log p = n/2 log beta + k/2 log t - 1/2 sum log(t + s_j) - beta/2 Q(t) - n/2 log 2pi,
    Q(t) = ||F m - y||^2 + t m^T m = sum x_j^2 t / (s_j + t) + res_out, so beta* = n / Q and
    d/dlog t = (gamma - n t Q'(t) / Q) / 2 with t Q' = t m^T m: zero exactly at MacKay's fixed point.
    """
    t = np.exp(np.asarray(log_t, dtype=np.float64))[..., None]
    q = np.sum(x2 * t / (sigma + t), axis=-1) + res_out
    gamma = np.sum(sigma / (sigma + t), axis=-1)
    t_m2 = np.sum(t * sigma * x2 / (sigma + t) ** 2, axis=-1)
    t = t[..., 0]
    value = n / 2 * np.log(n / q) - n / 2 + rank / 2 * np.log(t) - 0.5 * np.sum(np.log(t[..., None] + sigma), axis=-1)
    return value - n / 2 * math.log(2 * math.pi), gamma * q - n * t_m2


def _mackay(sigma, x2, res_out, n, max_iter, tol) -> tuple[float, float, int, bool]:
    """MacKay's fixed point from alpha = beta = 1 (as LogME): (alpha, beta, iterations, converged)."""
    alpha, beta, it = 1.0, 1.0, 0
    for it in range(1, max_iter + 1):
        t = alpha / beta
        if not math.isfinite(t) or t > _ALPHA_LIMIT * sigma.max() or t < sigma.min() / _ALPHA_LIMIT:
            return alpha, beta, it, False  # running off to a boundary: left to the root find
        gamma = float(np.sum(sigma / (sigma + t)))
        m2 = float(np.sum(sigma * x2 / (sigma + t) ** 2))  # m^T m
        res2 = float(np.sum(x2 * (t / (sigma + t)) ** 2)) + res_out  # ||F m - y||^2
        if m2 <= 0 or res2 <= 0 or n - gamma <= 0:
            return alpha, beta, it, False
        new_alpha, new_beta = gamma / m2, (n - gamma) / res2
        step = max(abs(new_alpha - alpha) / alpha, abs(new_beta - beta) / beta)
        alpha, beta = new_alpha, new_beta
        if step < tol:
            return alpha, beta, it, True
    return alpha, beta, it, False


def logme_fit(features: Any, target_labels: Any, max_iter: int = 100, tol: float = 1e-10) -> LogMEFit:
    """LogME's per-class fixed point through the SVD of F; see the module docstring for the formulas.

    MacKay's iteration runs first (from alpha = beta = 1, as LogME). It converges linearly, slowly near a
    boundary; when it has not converged after ``max_iter`` steps, the same fixed-point equation is solved as a
    root in log(alpha / beta) (the global maximum of the profiled evidence on a log grid, refined by brentq), or
    the supremum at alpha -> inf is taken when the evidence only grows towards it (``at_limit``).
    """

    f = _matrix(features, "features")
    n, d = f.shape
    y_all = _labels(target_labels, n)
    u, s, _ = np.linalg.svd(f, full_matrices=False)  # u (n, k), k = min(n, D)
    rank = int(np.sum(s > s.max() * max(n, d) * np.finfo(np.float64).eps)) if s.size and s.max() > 0 else 0
    if rank == 0:
        raise ValueError("features: all zero, LogME is undefined")
    u, sigma = u[:, :rank], s[:rank] ** 2  # eigenvalues of F^T F; the other D - rank are 0
    grid = np.linspace(math.log(sigma.min()) - 30, math.log(sigma.max()) + 30, 241)
    out: dict[str, list] = {k: [] for k in _LOGME_FIELDS}
    for c in np.unique(y_all):
        y = (y_all == c).astype(np.float64)
        x2 = (u.T @ y) ** 2
        res_out = max(float(y @ y - x2.sum()), 0.0)  # ||y||^2 outside the column space of F
        alpha, beta, it, converged = _mackay(sigma, x2, res_out, n, max_iter, tol)
        method = "fixed-point"
        if not converged:
            # every local maximum of the profiled evidence on the grid (slope + then -), and alpha -> inf if it rises
            values, slopes = _profile(grid, sigma, x2, res_out, n, rank)
            sup = -n / 2 * (math.log(2 * math.pi * float(y @ y) / n) + 1.0)  # alpha -> inf: w = 0, beta = n/||y||^2
            candidates = [(sup, math.inf, "limit")] if slopes[-1] > 0 else []
            if (
                slopes[0] < 0
            ):  # rises towards t -> 0 (beta -> inf): F interpolates y (n <= D); the grid's end is the sup
                candidates.append((float(values[0]), math.exp(grid[0]), "limit-noise-free"))
            for j in np.flatnonzero((slopes[:-1] > 0) & (slopes[1:] <= 0)):
                root = brentq(lambda v: float(_profile(v, sigma, x2, res_out, n, rank)[1]), grid[j], grid[j + 1])
                candidates.append((float(_profile(root, sigma, x2, res_out, n, rank)[0]), math.exp(root), "root"))
            if not candidates:
                raise ValueError(f"logme: class {c} is degenerate for these features (no maximum of the evidence)")
            _, best_t, method = max(candidates, key=lambda cand: cand[0])
            if method == "limit":
                alpha, beta = math.inf, n / float(y @ y)
            else:
                beta = n / (float(np.sum(x2 * best_t / (sigma + best_t))) + res_out)
                alpha = best_t * beta
        if method == "limit":
            evidence = -0.5 * (math.log(2 * math.pi * float(y @ y) / n) + 1.0)
        else:
            evidence = _log_evidence(alpha, beta, sigma, x2, res_out, n, d, rank) / n
        out["classes"].append(int(c))
        out["alphas"].append(alpha)
        out["betas"].append(beta)
        out["evidences"].append(_finite(evidence, f"logme (class {c})"))
        out["iterations"].append(it)
        out["method"].append(method)
    return LogMEFit(**{k: tuple(v) for k, v in out.items()})


def logme(features: Any, target_labels: Any) -> float:
    """LogME (You et al. 2021): mean over classes of the maximised log evidence / n; higher = better."""
    return _finite(logme_fit(features, target_labels).value, "logme")


def hscore(features: Any, target_labels: Any, shrinkage: bool | float = True) -> float:
    """H-score (Bao et al. 2019) tr(cov(f)^+ cov(E[f|y])); shrinkage=True: Ledoit-Wolf (Ibrahim et al. 2022),
    False: plain, a float a in [0, 1]: that fixed shrinkage. Higher = better."""
    f = _matrix(features, "features")
    n, d = f.shape
    y = _labels(target_labels, n)
    f = f - f.mean(axis=0, keepdims=True)
    cov_f = f.T @ f / n
    if shrinkage is True:
        lw = LedoitWolf(assume_centered=True).fit(f)
        a, cov_f = float(lw.shrinkage_), lw.covariance_
    elif shrinkage is False:
        a = 0.0
    else:
        a = _scalar(shrinkage, "shrinkage")
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"shrinkage: must be True, False or a number in [0, 1], got {a}")
        cov_f = (1 - a) * cov_f + a * np.trace(cov_f) / d * np.eye(d)
    classes, inverse = np.unique(y, return_inverse=True)
    means = np.zeros((classes.size, d))
    np.add.at(means, inverse, f)
    means /= np.bincount(inverse)[:, None]
    g = means[inverse]  # E[f | y_i]; centred because f is
    cov_g = g.T @ g / n
    return _finite(np.trace(np.linalg.pinv(cov_f, rcond=1e-15, hermitian=True) @ ((1 - a) * cov_g)), "hscore")
