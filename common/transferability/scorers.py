r"""Transferability scorers: predict, from a target's validation images only, how well a source network transfers.

Sign convention: ``score(name, inputs)`` always returns a number where HIGHER = predicted better transfer. The
functions below return their paper's raw quantity; a distance (smaller = closer = better) has
``higher_is_better=False`` in its registry entry and ``score`` negates it.

Notation: n target validation images, labels y_i in [0, C_t); the source network gives softmax outputs
theta_i = p_src(z | x_i) over its C_s source classes (``probs``) or penultimate features f_i in R^D (``features``).

leep (Nguyen et al. 2020, "LEEP: A New Measure to Evaluate Transferability of Learned Representations")
    empirical joint   P(y, z) = 1/n \sum_i theta_{i,z} 1[y_i = y],   P(z) = \sum_y P(y, z),   P(y|z) = P(y, z) / P(z)
    LEEP = 1/n \sum_i \log \sum_z P(y_i | z) theta_{i,z}                       (<= 0; 0 = perfect)
    A source class z that no image puts mass on (P(z) = 0) is multiplied by theta_{i,z} = 0 everywhere: it is skipped.

nce (Tran et al. 2019, "Transferability and Hardness of Supervised Classification Tasks")
    hard source labels z_i = argmax_z theta_{i,z} (ties: the lowest index, numpy's argmax);
    empirical joint P(y, z) = 1/n #{i : y_i = y, z_i = z};   NCE = -H(Y|Z) = \sum_{y,z} P(y, z) \log P(y|z)   (<= 0)

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

task2vec (Achille et al. 2019, ICCV, "Task2Vec: Task Embedding for Meta-Learning")
    e_a, e_b: diagonal Fishers of ONE fixed probe network (a head fitted per task), elementwise >= 0. As in
    awslabs/aws-cv-task2vec's "cosine" distance (task_similarity.py, get_scaled_hessian):
      h_a = e_a / (e_a + e_b),  h_b = e_b / (e_a + e_b)   (elementwise; 0 where e_a + e_b = 0)
      d = 1 - <h_a, h_b> / (||h_a|| ||h_b||)            in [0, 1] for non-negative embeddings
    The reference adds 1e-8 to the denominator; here entries with e_a + e_b = 0 are set to 0 instead, which makes d
    exactly invariant to a common scale (d(c e_a, c e_b) = d(e_a, e_b)). Note d(e, c e) = 0 for every c > 0: both
    normalised vectors are constant, so the distance ignores a global scale between the two tasks.

ftd / ftd-body / logdet: precomputed Fisher Task Distances of the pair (this project, Le et al.): the full-network
    FTD, the body-only FTD, and the log-det distance; distances, so negated.

Baselines: source-accuracy (the source network's own test accuracy on ITS OWN task, a pass-through), same-dataset
    (1 when source and target tasks come from the same dataset, else 0), random (a deterministic uniform in [0, 1)
    from a SHA-256 of (seed, source, target)).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "INPUT_KEYS",
    "NEEDS",
    "SCORERS",
    "LogMEFit",
    "Scorer",
    "hscore",
    "leep",
    "logme",
    "logme_fit",
    "nce",
    "random_score",
    "same_dataset",
    "score",
    "source_accuracy",
    "task2vec_distance",
]

_PROB_ATOL = 1e-4  # a softmax row in float32 sums to 1 within ~1e-6; more than this is not a distribution


# ------------------------------------------------------------------------------------------------ validation


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


# ------------------------------------------------------------------------------------------------ probs scorers


def leep(source_probs: Any, target_labels: Any) -> float:
    """LEEP (Nguyen et al. 2020): 1/n sum_i log sum_z P(y_i | z) theta_{i,z}; <= 0, higher = better."""
    theta = _probs(source_probs)
    n = theta.shape[0]
    y = _labels(target_labels, n)
    ct = int(y.max()) + 1
    onehot = np.zeros((n, ct))
    onehot[np.arange(n), y] = 1.0
    joint = onehot.T @ theta / n  # (Ct, Cs): P(y, z)
    pz = joint.sum(axis=0)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z); unused z -> 0
    eep = np.sum(theta * cond[y], axis=1)  # sum_z P(y_i | z) theta_{i,z}
    return _finite(np.mean(np.log(eep)), "leep")


def nce(source_probs: Any, target_labels: Any) -> float:
    """NCE (Tran et al. 2019): -H(Y | Z) with Z the argmax source label; <= 0, higher = better."""
    theta = _probs(source_probs)
    n = theta.shape[0]
    y = _labels(target_labels, n)
    z = np.argmax(theta, axis=1)
    joint = np.zeros((int(y.max()) + 1, theta.shape[1]))
    np.add.at(joint, (y, z), 1.0 / n)
    pz = joint.sum(axis=0)
    nz = joint > 0
    cond = joint[nz] / np.broadcast_to(pz, joint.shape)[nz]
    return _finite(np.sum(joint[nz] * np.log(cond)), "nce")


# ------------------------------------------------------------------------------------------------ features: LogME


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
    from scipy.optimize import brentq

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


# ------------------------------------------------------------------------------------------------ features: H-score


def hscore(features: Any, target_labels: Any, shrinkage: bool | float = True) -> float:
    """H-score (Bao et al. 2019) tr(cov(f)^+ cov(E[f|y])); shrinkage=True: Ledoit-Wolf (Ibrahim et al. 2022),
    False: plain, a float a in [0, 1]: that fixed shrinkage. Higher = better."""
    f = _matrix(features, "features")
    n, d = f.shape
    y = _labels(target_labels, n)
    f = f - f.mean(axis=0, keepdims=True)
    cov_f = f.T @ f / n
    if shrinkage is True:
        from sklearn.covariance import LedoitWolf

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


# ------------------------------------------------------------------------------------------------ Task2Vec


def task2vec_distance(embedding_a: Any, embedding_b: Any) -> float:
    """Task2Vec's cosine distance of the sum-normalised embeddings e_a/(e_a+e_b), e_b/(e_a+e_b); in [0, 1]."""
    ea = _numpy(embedding_a).astype(np.float64).reshape(-1)
    eb = _numpy(embedding_b).astype(np.float64).reshape(-1)
    if ea.shape != eb.shape:
        raise ValueError(f"task2vec: the embeddings differ in size ({ea.size} vs {eb.size})")
    if ea.size == 0:
        raise ValueError("task2vec: empty embeddings")
    for name, e in (("embedding_a", ea), ("embedding_b", eb)):
        if not np.all(np.isfinite(e)):
            raise ValueError(f"task2vec: {name} contains NaN or infinite values")
        if e.min() < 0:
            raise ValueError(f"task2vec: {name} has negative entries (a diagonal Fisher is >= 0)")
        if not np.any(e > 0):
            raise ValueError(f"task2vec: {name} is all zero, its direction is undefined")
    total = ea + eb
    ha = np.divide(ea, total, out=np.zeros_like(ea), where=total > 0)
    hb = np.divide(eb, total, out=np.zeros_like(eb), where=total > 0)
    cos = float(ha @ hb) / (np.linalg.norm(ha) * np.linalg.norm(hb))
    return _finite(min(max(1.0 - cos, 0.0), 1.0), "task2vec")  # clip the rounding of identical embeddings


# ------------------------------------------------------------------------------------------------ baselines


def source_accuracy(accuracy: Any) -> float:
    """The source network's own test accuracy on its own task (a pass-through baseline)."""
    return _scalar(accuracy, "source_accuracy")


def same_dataset(source_dataset: str, target_dataset: str) -> float:
    """1.0 when the source and the target task come from the same dataset, else 0.0."""
    for name, v in (("source_dataset", source_dataset), ("target_dataset", target_dataset)):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}: expected a non-empty dataset name, got {v!r}")
    return 1.0 if source_dataset == target_dataset else 0.0


def random_score(rng_seed: Any, source: str, target: str) -> float:
    """A deterministic uniform in [0, 1) from SHA-256 of (seed, source, target): the same in every process."""
    seed = _scalar(rng_seed, "seed")
    if seed != int(seed):
        raise ValueError(f"seed: expected an integer, got {seed}")
    for name, v in (("source", source), ("target", target)):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}: expected a non-empty name, got {v!r}")
    digest = hashlib.sha256(f"{int(seed)}\x1f{source}\x1f{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _identity(distance: Any) -> float:
    return _scalar(distance, "distance")


# ------------------------------------------------------------------------------------------------ registry

NEEDS = ("probs", "features", "fisher", "task2vec", "meta")


@dataclass(frozen=True)
class Scorer:
    """One transferability scorer as plain data.

    needs            the kind of input it reads (one of NEEDS)
    inputs           (function argument, key of the pair's inputs dict) for each argument of ``function``
    higher_is_better whether ``function``'s raw value already reads "higher = better"; if not (a distance),
                     ``score`` negates it
    """

    name: str
    needs: str
    inputs: tuple[tuple[str, str], ...]
    higher_is_better: bool
    function: Callable[..., float]
    citation: str

    def __post_init__(self):
        if self.needs not in NEEDS:
            raise ValueError(f"scorer {self.name}: needs must be one of {NEEDS}, got {self.needs!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for _, key in self.inputs)

    def __call__(self, inputs: dict) -> float:
        missing = [key for key in self.keys if key not in inputs or inputs[key] is None]
        if missing:
            raise ValueError(f"scorer {self.name}: missing input {', '.join(repr(k) for k in missing)}")
        raw = self.function(**{arg: inputs[key] for arg, key in self.inputs})
        value = _finite(raw, self.name)
        return value if self.higher_is_better else -value


_FTD_CITE = "Le, Soltani, Dong, Ravier, Tarokh: Fisher Task Distance and its application in neural architecture search"

SCORERS: dict[str, Scorer] = {
    s.name: s
    for s in (
        Scorer("ftd", "fisher", (("distance", "ftd"),), False, _identity, _FTD_CITE),
        Scorer("ftd-body", "fisher", (("distance", "ftd_body"),), False, _identity, _FTD_CITE + " (body only)"),
        Scorer("logdet", "fisher", (("distance", "logdet"),), False, _identity, _FTD_CITE + " (log-det distance)"),
        Scorer(
            "leep",
            "probs",
            (("source_probs", "probs"), ("target_labels", "labels")),
            True,
            leep,
            "Nguyen, Hassner, Seeger, Archambeau 2020, LEEP (ICML)",
        ),
        Scorer(
            "nce",
            "probs",
            (("source_probs", "probs"), ("target_labels", "labels")),
            True,
            nce,
            "Tran, Nguyen, Hassner 2019, Transferability and hardness of supervised classification tasks (ICCV)",
        ),
        Scorer(
            "logme",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            logme,
            "You, Liu, Wang, Long 2021, LogME (ICML)",
        ),
        Scorer(
            "hscore",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            hscore,
            "Bao et al. 2019, H-score (ICIP); shrinkage: Ibrahim, Ponomareva, Mazumder 2022",
        ),
        Scorer(
            "task2vec",
            "task2vec",
            (("embedding_a", "task2vec_a"), ("embedding_b", "task2vec_b")),
            False,
            task2vec_distance,
            "Achille et al. 2019, Task2Vec (ICCV); distance as in awslabs/aws-cv-task2vec",
        ),
        Scorer("source-accuracy", "meta", (("accuracy", "source_accuracy"),), True, source_accuracy, "baseline"),
        Scorer(
            "same-dataset",
            "meta",
            (("source_dataset", "source_dataset"), ("target_dataset", "target_dataset")),
            True,
            same_dataset,
            "baseline",
        ),
        Scorer(
            "random",
            "meta",
            (("rng_seed", "seed"), ("source", "source"), ("target", "target")),
            True,
            random_score,
            "baseline (chance)",
        ),
    )
}

INPUT_KEYS: tuple[str, ...] = tuple(sorted({key for s in SCORERS.values() for key in s.keys}))


def score(name: str, inputs: dict) -> float:
    """The registered scorer ``name`` on one (source, target) pair's ``inputs``; higher = predicted better."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; known: {', '.join(SCORERS)}")
    if not isinstance(inputs, dict):
        raise ValueError(f"scorer {name}: inputs must be a dict, got {type(inputs).__name__}")
    return SCORERS[name](inputs)
