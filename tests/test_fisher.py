"""The vectorised Fisher against a slow per-sample autograd loop, for every network."""

import pytest
import torch
import torch.nn as nn

from common.base.errors import UserError
from common.fisher import estimators as fisher
from common.fisher.estimators import _conv_per_sample_sq_grads, fisher_diag, fisher_diag_reference
from common.networks.models import NETWORKS, build_network
from common.tasks import TASKS


def randomise_bn_stats(net):
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g, dtype=m.running_mean.dtype) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g, dtype=m.running_var.dtype) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g, dtype=m.weight.dtype) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g, dtype=m.bias.dtype) * 0.1)
    return net


def rel_err(a: dict, b: dict) -> float:
    num = sum((a[k] - b[k]).pow(2).sum() for k in a)
    den = sum(b[k].pow(2).sum() for k in b)
    return float((num / den).sqrt())


def batches(n=4, size=2, classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return [(x[i : i + size], y[i : i + size]) for i in range(0, n, size)]


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_empirical_fisher_matches_per_sample_loop(arch):
    torch.manual_seed(0)
    net = randomise_bn_stats(build_network(arch, TASKS["cifar10-3"], seed=0).double())
    data = batches(n=4 if arch == "densenet121" else 6, size=2 if arch == "densenet121" else 3)
    fast = fisher_diag(net, data)
    slow = fisher_diag_reference(net, data)
    assert fast.keys() == slow.keys() == dict(net.named_parameters()).keys()
    assert rel_err(fast, slow) <= 1e-4
    # every parameter gets a (non-trivial) Fisher, and the net is left as it was
    assert all(v.sum() > 0 for v in fast.values())
    assert all(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize("cin", [2, 8])  # Cin*k*k at most / above FEW_COLUMNS
@pytest.mark.parametrize("hw", [4, 6, 20])  # output maps at most / above SMALL_MAP: every schedule
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(1, 3), padding=(0, 2), dilation=2),
        dict(kernel_size=3, padding=1, groups=2),
        dict(kernel_size=1),
    ],
)
@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
def test_conv_rule_matches_per_sample_autograd(cin, hw, kwargs, layout):
    assert_conv_rule_matches_autograd(nn.Conv2d(cin, 6, **kwargs), hw, layout)


@pytest.mark.parametrize("chunk_floats", [1, 400])  # 6 x 27 weights: 1 sample, or 2 of 5, at a time
def test_conv_rule_small_map_chunks(chunk_floats, monkeypatch):
    monkeypatch.setattr(fisher, "CHUNK_FLOATS", chunk_floats)
    assert_conv_rule_matches_autograd(nn.Conv2d(3, 6, 3, padding=1, bias=False), 4, torch.channels_last)


def assert_conv_rule_matches_autograd(conv, hw, layout):
    torch.manual_seed(0)
    cin = conv.in_channels
    conv = conv.double()
    a = torch.randn(5, cin, hw, hw, dtype=torch.float64)
    d = torch.randn_like(conv(a))
    expected = torch.zeros_like(conv.weight)
    for i in range(len(a)):  # d[i] is the output gradient of sample i alone
        (g,) = torch.autograd.grad(conv(a[i : i + 1]), conv.weight, d[i : i + 1])
        expected += g.pow(2)
    fast = _conv_per_sample_sq_grads(conv, a.contiguous(memory_format=layout), d.contiguous(memory_format=layout))
    assert fast.shape == conv.weight.shape
    assert torch.allclose(fast, expected, rtol=1e-10, atol=1e-12)


def test_channels_last_inputs_and_float32():
    torch.manual_seed(0)
    net = randomise_bn_stats(build_network("smallcnn", TASKS["mnist-3"], seed=0)).to(memory_format=torch.channels_last)
    data = [(x.float().contiguous(memory_format=torch.channels_last), y) for x, y in batches(8, 4)]
    assert rel_err(fisher_diag(net, data), fisher_diag_reference(net, data)) <= 1e-4


def test_mc_estimator_matches_loop_with_same_label_draws():
    torch.manual_seed(0)
    net = randomise_bn_stats(build_network("smallcnn", TASKS["mnist-2"], seed=0).double())
    data = batches(6, 3, classes=5)
    fast = fisher_diag(net, data, estimator="mc", generator=torch.Generator().manual_seed(7))
    slow = fisher_diag_reference(net, data, estimator="mc", generator=torch.Generator().manual_seed(7))
    assert rel_err(fast, slow) <= 1e-4
    assert rel_err(fast, fisher_diag(net, data)) > 1e-3  # sampled labels differ from the true ones


def test_small_head_is_zero_padded_for_the_loss():
    torch.manual_seed(0)
    net = build_network("smallcnn", TASKS["mnist-0"], seed=0).double()  # 2 outputs

    class Padded(nn.Module):  # the same network with 8 explicit zero logits appended
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            return torch.cat([out, out.new_zeros(len(out), 8)], 1)

    data = batches(6, 3, classes=10)
    fast = fisher_diag(net, data, num_classes=10)
    slow = fisher_diag_reference(Padded(net), data)
    assert rel_err(fast, {k.removeprefix("inner."): v for k, v in slow.items()}) <= 1e-4
    with pytest.raises(UserError, match="num_classes was not given"):
        fisher_diag(net, data)


def test_legacy_batch_is_the_sum_of_squared_batch_mean_gradients():
    torch.manual_seed(0)
    net = randomise_bn_stats(build_network("smallcnn", TASKS["mnist-3"], seed=0).double()).eval()
    data = batches(6, 3)
    expected = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
    for x, y in data:
        net.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        for n, p in net.named_parameters():
            expected[n] += p.grad**2
    got = fisher_diag(net, data, estimator="legacy-batch")
    assert rel_err(got, expected) <= 1e-10
    assert rel_err(got, fisher_diag(net, data)) > 1e-3  # not the per-sample Fisher


def test_unsupported_layer_and_unknown_estimator():
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    with pytest.raises(UserError, match="LayerNorm"):
        fisher_diag(net, batches(2, 2, classes=2))
    with pytest.raises(UserError, match="unknown estimator"):
        fisher_diag(net, batches(2, 2, classes=2), estimator="exact")


def test_legacy_code_averages_the_squared_batch_gradient_over_the_first_axis():
    """Hand-computed on a Linear(2 -> 3) layer (weight 3 x 2) with zero weights: softmax = 1/3 each,
    for x = (1, 2), y = 0 the batch gradient is e x^T with e = (-2/3, 1/3, 1/3). Its square has rows
    (4/9, 16/9), (1/9, 4/9), (1/9, 4/9); the released code keeps their column means (2/9, 8/9) in every
    row. (With 2 outputs both rows would be equal anyway: binary softmax gradients are +-e.)"""
    net = torch.nn.Linear(2, 3)
    torch.nn.init.zeros_(net.weight)
    torch.nn.init.zeros_(net.bias)
    batch = (torch.tensor([[1.0, 2.0]]), torch.tensor([0]))
    legacy = fisher_diag(net, [batch, batch], estimator="legacy-batch")
    code = fisher_diag(net, [batch, batch], estimator="legacy-code")
    square = torch.tensor([[4 / 9, 16 / 9], [1 / 9, 4 / 9], [1 / 9, 4 / 9]])
    assert torch.allclose(legacy["weight"], 2 * square)  # summed over 2 batches
    assert torch.allclose(code["weight"], 2 * torch.tensor([[2 / 9, 8 / 9]] * 3))
    assert torch.allclose(legacy["bias"], 2 * torch.tensor([4 / 9, 1 / 9, 1 / 9]))
    assert torch.allclose(code["bias"], 2 * torch.full((3,), 2 / 9))


def test_legacy_code_on_a_conv_net_equals_the_released_loop():
    """Against an independent loop in the released code's form: per batch, autograd gradient of
    the mean loss, ``(p.grad ** 2).mean(0)`` broadcast back, summed over batches (batches of 3)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 3)
    ).double()
    x, y = torch.randn(6, 3, 5, 5, dtype=torch.double), torch.tensor([0, 1, 2, 0, 1, 2])
    batches = [(x[:3], y[:3]), (x[3:], y[3:])]
    expected = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
    for xb, yb in batches:
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(xb), yb).backward()
        for n, p in net.named_parameters():
            expected[n] += (p.grad**2).mean(0).expand_as(p)
    got = fisher_diag(net, batches, estimator="legacy-code")
    for n in expected:
        assert torch.allclose(got[n], expected[n], rtol=1e-10, atol=0), n
    assert torch.equal(got["0.weight"][0], got["0.weight"][3])  # one value per output channel
