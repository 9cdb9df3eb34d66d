"""Distances on hand-computed examples, and their properties."""

import math

import pytest
import torch

from common.base.errors import UserError
from common.fisher.distance import DISTANCES, task_distance

FA = torch.tensor([1.0, 1.0, 2.0])  # unit trace: [0.25, 0.25, 0.5]
FB = torch.tensor([1.0, 0.0, 3.0])  # unit trace: [0.25, 0.0, 0.75]


def test_frechet_hand_computed():
    sq = 0.5 * ((0.5 - 0.5) ** 2 + (0.5 - 0.0) ** 2 + (math.sqrt(0.5) - math.sqrt(0.75)) ** 2)
    assert task_distance(FA, FB, "frechet-sq") == pytest.approx(sq, rel=1e-12)
    assert task_distance(FA, FB, "frechet") == pytest.approx(math.sqrt(sq), rel=1e-12)
    assert task_distance(FA, FB, "frechet") == pytest.approx(0.37098, abs=1e-5)


def test_logdet_hand_computed():
    s = 0.01
    expected = abs(math.log(0.26 / 0.26) + math.log(0.26 / 0.01) + math.log(0.51 / 0.76)) / 3
    assert task_distance(FA, FB, "logdet", sigma2=s) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", list(DISTANCES))
def test_properties(name):
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        a, b = torch.rand(50, generator=g) ** 3, torch.rand(50, generator=g) ** 3
        assert task_distance(a, a, name) == pytest.approx(0.0, abs=1e-12)
        assert task_distance(a, b, name) >= 0
        assert task_distance(a, 7 * a, name) == pytest.approx(0.0, abs=1e-6)  # scale-free (unit trace)
        if name == "frechet":
            assert task_distance(a, b, name) <= 1
    disjoint = task_distance(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), "frechet")
    assert disjoint == pytest.approx(1.0)


def test_head_padding_with_dicts():
    fa = {"w": torch.tensor([[1.0, 1.0], [2.0, 0.0]]), "b": torch.tensor([1.0, 1.0])}  # 2-class head
    fb = {"w": torch.tensor([[1.0, 1.0], [2.0, 0.0], [1.0, 1.0]]), "b": torch.tensor([1.0, 1.0, 2.0])}
    padded_a = torch.tensor([1.0, 1.0, 2.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    flat_b = torch.tensor([1.0, 1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0])
    assert task_distance(fa, fb) == pytest.approx(task_distance(padded_a, flat_b), rel=1e-12)
    assert task_distance(fb, fa) == pytest.approx(task_distance(flat_b, padded_a), rel=1e-12)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(UserError, match="identically zero"):
        task_distance(torch.zeros(3), FB)
    with pytest.raises(UserError, match="NaN"):
        task_distance(torch.tensor([1.0, float("nan"), 1.0]), FB)
    with pytest.raises(UserError, match="unknown distance"):
        task_distance(FA, FB, "wasserstein")
    with pytest.raises(UserError, match="different architectures"):
        task_distance({"conv.weight": FA}, {"fc.weight": FB})


def test_logdet_layer_does_not_let_layers_cancel():
    """Unit-trace F_a = (1/2 | 1/4, 1/4) and F_b = (1/4 | 1/2, 1/4) in two tensors: the product of the
    entries is equal, so the paper's one absolute value gives 0, the released per-tensor form
    (|log 2| + |log 1/2 + 0|) / 3."""
    fa = {"l1": torch.tensor([0.5]), "l2": torch.tensor([0.25, 0.25])}
    fb = {"l1": torch.tensor([0.25]), "l2": torch.tensor([0.5, 0.25])}
    assert task_distance(fa, fb, "logdet", sigma2=1e-12) == pytest.approx(0.0, abs=1e-9)
    assert task_distance(fa, fb, "logdet-layer", sigma2=1e-12) == pytest.approx(2 * math.log(2) / 3, rel=1e-9)
    # one tensor: the two forms agree
    flat = task_distance(torch.tensor([0.5, 0.25, 0.25]), torch.tensor([0.25, 0.5, 0.25]), "logdet-layer", 1e-12)
    assert flat == pytest.approx(0.0, abs=1e-9)
