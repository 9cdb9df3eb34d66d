"""The suite's per-sample Fisher against external libraries: BackPACK's SumGradSquared (smallcnn,
BatchNorm in eval mode) and Opacus's per-sample gradients (smallcnn without BatchNorm, which
Opacus does not support)."""

import sys
import warnings

import pytest
import torch
import torch.nn as nn
from conftest import ROOT

from common.fisher.estimators import fisher_diag
from common.networks.models import build_network
from common.tasks import get_task

sys.path.insert(0, str(ROOT / "bench"))
from peers import fisher_backpack, fisher_opacus  # noqa: E402


def smallcnn(batchnorm: bool = True) -> nn.Module:
    torch.manual_seed(0)
    net = build_network("smallcnn", get_task("mnist-3"), seed=0).double()
    if not batchnorm:
        net = nn.Sequential(*[nn.Identity() if isinstance(m, nn.BatchNorm2d) else m for m in net])
    net.train()
    with torch.no_grad():  # non-trivial running statistics for eval mode
        for _ in range(3):
            net(torch.randn(32, 3, 32, 32, dtype=torch.double))
    return net.eval()


def batches():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(24, 3, 32, 32, generator=g, dtype=torch.double)
    y = torch.randint(0, 10, (24,), generator=g)
    return [(x[:10], y[:10]), (x[10:], y[10:])]  # unequal batches: the mean is over samples


@pytest.mark.parametrize(
    "peer, batchnorm", [(fisher_backpack, True), (fisher_opacus, False)], ids=["backpack", "opacus"]
)
def test_fisher_equals_the_external_library(peer, batchnorm):
    net = smallcnn(batchnorm)
    ours = fisher_diag(net, batches())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = peer(net, batches())
    assert ours.keys() == theirs.keys() and len(ours) == (14 if batchnorm else 6)
    for name in ours:
        scale = theirs[name].abs().max()
        assert scale > 0
        assert (ours[name] - theirs[name]).abs().max() <= 1e-8 * scale, name
