"""Issue 34's peer scorers against their papers' formulas on hand-computed examples (TransRate, GBC, OTDD)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from common.transferability.scorers.peers import bures_wasserstein_sq, gbc, otdd, transrate


def test_transrate_by_hand():
    """1-D, eps = 1: features [0, 0, 0, 4] centred to [-1, -1, -1, 3]; R(Z) = 1/2 log(1 + 12/4); class 0 (3 rows
    of -1): 1/2 log(1 + 3/3); class 1 (one row, 3): 1/2 log(1 + 9/1); TrR = R(Z) - mean of the class rates."""
    value = transrate([[0.0], [0.0], [0.0], [4.0]], [0, 0, 0, 1], eps=1.0)
    expected = 0.5 * math.log(4) - 0.5 * (0.5 * math.log(2) + 0.5 * math.log(10))
    assert value == pytest.approx(expected, abs=1e-12)


def test_transrate_and_gbc_rank_separated_classes_above_mixed_ones():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    separated = rng.normal(size=(120, 5)) + 4 * np.eye(5)[y]
    mixed = rng.normal(size=(120, 5))
    assert transrate(separated, y) > transrate(mixed, y)
    assert gbc(separated, y) > gbc(mixed, y)
    assert -6 <= gbc(mixed, y) < gbc(separated, y) <= 0  # 3 classes: 6 ordered pairs, each coefficient in [0, 1]


def test_gbc_by_hand():
    """Class 0 at [0, 2] (mean 1, variance 1), class 1 at [4, 6] (mean 5, variance 1): D_B = (1 - 5)^2 / 1 / 8 +
    1/2 log(1 / 1) = 2 in both directions, so GBC = -2 exp(-2)."""
    assert gbc([[0.0], [2.0], [4.0], [6.0]], [0, 0, 1, 1]) == pytest.approx(-2 * math.exp(-2), abs=1e-12)


def test_gbc_keeps_the_first_principal_components():
    """Beyond ``pca_dim`` features, only the top components count: classes that differ along a low-variance
    direction left out by the projection look inseparable."""
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 50)
    f = np.column_stack([rng.normal(scale=10, size=100), rng.normal(scale=0.1, size=100) + 3 * y])
    assert gbc(f, y, pca_dim=1) < -1.5 < gbc(f, y, pca_dim=2)


def test_bures_wasserstein_against_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    cov_a, cov_b = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    mean_a, mean_b = rng.normal(size=4), rng.normal(size=4)
    root = scipy.linalg.sqrtm(cov_a)
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(root @ cov_b @ root))
    assert bures_wasserstein_sq(mean_a, cov_a, mean_b, cov_b) == pytest.approx(float(np.real(expected)), rel=1e-8)


def test_otdd_by_hand():
    """One sample per class, 1-D: task a = {(0, y0), (1, y1)}, task b the same shifted by 2. Label distances are
    the means' distances (covariances 0): W(a0, b0) = 2, W(a0, b1) = 3, W(a1, b0) = 1, W(a1, b1) = 2. Costs
    x-distance^2 + W^2: c00 = 4 + 4, c01 = 9 + 9, c10 = 1 + 1, c11 = 4 + 4; the identity coupling costs
    (8 + 8) / 2 = 8, the swap (18 + 2) / 2 = 10, so OTDD = sqrt(8)."""
    a, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    assert otdd(a, y, a + 2, y) == pytest.approx(math.sqrt(8), abs=1e-9)
    assert otdd(a, y, a, y) == pytest.approx(0.0, abs=1e-9)


def test_otdd_sees_the_labels_not_only_the_images():
    """Label names do not matter (the classes are compared as distributions: renaming b's classes changes
    nothing), but labels shuffled across b's images mix its classes and move it away from a."""
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 30)
    f = rng.normal(size=(60, 3)) + 3 * np.eye(3)[y]
    g = rng.normal(size=(60, 3)) + 3 * np.eye(3)[y]
    assert otdd(f, y, g, 1 - y) == pytest.approx(otdd(f, y, g, y), rel=1e-9)
    assert otdd(f, y, g, y) + 0.5 < otdd(f, y, g, rng.permutation(y))


def test_peers_reject_bad_input_with_one_line():
    with pytest.raises(ValueError, match="features"):
        transrate([[np.nan], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="differ in dimension"):
        otdd(np.zeros((2, 2)), [0, 1], np.zeros((2, 3)), [0, 1])
