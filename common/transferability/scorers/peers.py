"""Issue 34's peers of FTD: the newer feature scorers TransRate and GBC, and OTDD, a distance between two tasks.

Each is one entry of the registry (``SCORERS`` of ``__init__``) and is checked against its paper's formula on
hand-computed examples (``tests/test_transferability_peers.py``).

Notation as in the package: n images of the target, labels y_i in [0, C), features f_i in R^D (the source network's
penultimate layer for TransRate and GBC; any fixed feature map, stated by the caller, for OTDD).

transrate  Huang, Zhang, Chen, Lu 2022, Frustratingly easy transferability estimation (ICML), with the authors'
           released code's constants: Z = f centred over all images, R(Z) = 1/2 log det(I_D + Z^T Z / (n eps)),
           eps = 1e-4; TrR = R(Z) - (1/C) sum_c R(Z_c), Z_c the rows of class c (the code's mean over classes,
           not the paper's n_c/n weights). Higher = more transferable.
gbc        Pandy, Agostinelli, Uijlings, Ferrari, Mensink 2022, Transferability estimation using Bhattacharyya
           class separability (CVPR): features projected on their first ``pca_dim`` principal components
           (64 in the paper), one diagonal Gaussian per class (mean, population variance), Bhattacharyya distance
           D_B(i, j) = 1/8 sum (mu_i - mu_j)^2 / s + 1/2 sum log(s / sqrt(s_i s_j)), s = (s_i + s_j) / 2,
           GBC = - sum over ordered pairs i != j of exp(-D_B(i, j)). Higher (closer to 0) = better separated.
otdd       Alvarez-Melis, Fusi 2020, Geometric dataset distances via optimal transport (NeurIPS): the exact
           optimal-transport distance between the two tasks' (feature, label) samples, uniform weights, with the
           ground cost d((x, y), (x', y'))^2 = ||x - x'||^2 + W2(P_y, P'_y')^2, each label a Gaussian over its
           class's features and W2 the Bures-Wasserstein distance between those Gaussians; POT's ``ot.emd2``
           solves the transport. A distance: smaller = closer tasks = predicted better transfer.
"""

from __future__ import annotations

import numpy as np

from common.transferability.scorers.validation import _labels, _matrix

TRANSRATE_EPS = 1e-4  # the released code's distortion
GBC_PCA_DIM = 64  # the paper's projection
VARIANCE_FLOOR = 1e-12  # a class whose feature is constant would make log(s_i) infinite
OT_MAX_ITER = 10**7  # POT's network simplex; its default 1e5 is too few for 1,000 x 1,000 samples


def _check_features_labels(features, labels, name: str) -> tuple[np.ndarray, np.ndarray]:
    f = _matrix(features, f"{name}: features")
    return f, _labels(labels, f.shape[0], f"{name}: labels")


def _coding_rate(z: np.ndarray, eps: float) -> float:
    n, d = z.shape
    sign, logdet = np.linalg.slogdet(np.eye(d) + z.T @ z / (n * eps))
    return 0.5 * float(logdet)


def transrate(features, target_labels, eps: float = TRANSRATE_EPS) -> float:
    """TransRate of the target's features under its labels (see the module docstring)."""
    f, y = _check_features_labels(features, target_labels, "transrate")
    z = f - f.mean(axis=0, keepdims=True)
    classes = np.unique(y)
    within = np.mean([_coding_rate(z[y == c], eps) for c in classes])
    return _coding_rate(z, eps) - float(within)


def _pca(f: np.ndarray, dim: int) -> np.ndarray:
    centred = f - f.mean(axis=0, keepdims=True)
    if f.shape[1] <= dim:
        return centred  # fewer features than components: the projection would only rotate them
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:dim].T


def gbc(features, target_labels, pca_dim: int = GBC_PCA_DIM) -> float:
    """Gaussian Bhattacharyya coefficient of the target's classes in the source's feature space (see above)."""
    f, y = _check_features_labels(features, target_labels, "gbc")
    z = _pca(f, pca_dim)
    classes = np.unique(y)
    mean = np.stack([z[y == c].mean(axis=0) for c in classes])
    var = np.stack([np.maximum(z[y == c].var(axis=0), VARIANCE_FLOOR) for c in classes])
    total = 0.0
    for i in range(len(classes)):
        for j in range(len(classes)):
            if i == j:
                continue
            s = (var[i] + var[j]) / 2
            d_b = np.sum((mean[i] - mean[j]) ** 2 / s) / 8 + 0.5 * np.sum(np.log(s / np.sqrt(var[i] * var[j])))
            total += float(np.exp(-d_b))
    return -total


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def bures_wasserstein_sq(mean_a, cov_a, mean_b, cov_b, root_a=None) -> float:
    """W2(N(mean_a, cov_a), N(mean_b, cov_b))^2 = ||mean_a - mean_b||^2 + tr(cov_a + cov_b - 2 (cov_a^1/2 cov_b
    cov_a^1/2)^1/2); ``root_a``: cov_a^1/2 when the caller has it (one per class, not one per pair of classes)."""
    root_a = _sqrt_psd(cov_a) if root_a is None else root_a
    cross = _sqrt_psd(root_a @ cov_b @ root_a)
    value = float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(cross))
    return max(value, 0.0)


def _class_gaussians(f: np.ndarray, y: np.ndarray) -> dict:
    out = {}
    for c in np.unique(y):
        rows = f[y == c]
        cov = np.cov(rows, rowvar=False, bias=True).reshape(f.shape[1], f.shape[1])
        out[c] = (rows.mean(axis=0), cov)
    return out


def otdd(features_a, labels_a, features_b, labels_b) -> float:
    """The OTDD between task a's samples and task b's, in the callers' (shared) feature space (see above)."""
    import ot  # POT, only where OTDD is computed

    fa, ya = _check_features_labels(features_a, labels_a, "otdd (task a)")
    fb, yb = _check_features_labels(features_b, labels_b, "otdd (task b)")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"otdd: the two tasks' features differ in dimension ({fa.shape[1]} vs {fb.shape[1]})")
    ga, gb = _class_gaussians(fa, ya), _class_gaussians(fb, yb)
    classes_a, classes_b = sorted(ga), sorted(gb)
    roots = {ca: _sqrt_psd(ga[ca][1]) for ca in classes_a}
    w2 = np.array([[bures_wasserstein_sq(*ga[ca], *gb[cb], root_a=roots[ca]) for cb in classes_b] for ca in classes_a])
    label_cost = w2[np.searchsorted(classes_a, ya)][:, np.searchsorted(classes_b, yb)]
    feature_cost = ot.dist(fa, fb, metric="sqeuclidean")
    weights_a, weights_b = np.full(len(fa), 1 / len(fa)), np.full(len(fb), 1 / len(fb))
    # POT stops at numItermax with a warning and a cost above the optimum: a bound passed off as the distance
    cost, log = ot.emd2(weights_a, weights_b, feature_cost + label_cost, numItermax=OT_MAX_ITER, log=True)
    if log.get("warning"):
        raise ValueError(
            f"otdd: the exact transport did not converge ({log['warning']}); fewer samples or more iterations"
        )
    return float(np.sqrt(max(float(cost), 0.0)))
