"""The library face (common/library.py): the Fisher and the distance of users' own models and
loaders, checked against an independent per-sample loop, and the README's example run as written."""

import re

import torch
import torch.nn as nn
from conftest import ROOT
from torch.utils.data import DataLoader, TensorDataset

from common.fisher.distance import task_distance as distance_of_fishers
from common.library import fisher_diagonal, task_distance


def small_net(seed: int, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, classes))


def loader(n: int = 12, classes: int = 3) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, classes, (n,), generator=g)
    return DataLoader(TensorDataset(x, y), batch_size=5)


def per_sample_loop(net: nn.Module, data: DataLoader) -> dict[str, torch.Tensor]:
    """Mean over samples of squared per-sample gradients of log p(y|x), one backward pass each."""
    net.eval()
    total, n = {k: torch.zeros_like(p) for k, p in net.named_parameters()}, 0
    for x, y in data:
        for i in range(len(x)):
            net.zero_grad()
            nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1]).backward()
            for k, p in net.named_parameters():
                total[k] += p.grad.pow(2)
            n += 1
    return {k: v / n for k, v in total.items()}


def test_fisher_diagonal_equals_a_per_sample_loop():
    net = small_net(0)
    fast = fisher_diagonal(net, loader())
    slow = per_sample_loop(small_net(0), loader())
    assert fast.keys() == slow.keys()
    for k in fast:
        torch.testing.assert_close(fast[k], slow[k], rtol=1e-4, atol=1e-9)
    assert net.training  # the model's mode is restored


def test_a_model_without_a_per_sample_rule_falls_back_to_the_loop():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.LayerNorm(3 * 8 * 8), nn.Linear(3 * 8 * 8, 3))
    fisher = fisher_diagonal(net, loader())
    reference = per_sample_loop(net, loader())
    for k in fisher:
        torch.testing.assert_close(fisher[k], reference[k], rtol=1e-4, atol=1e-9)


def test_task_distance_is_the_ftd_of_the_two_fishers_on_the_target_data():
    a, b = small_net(0), small_net(1)
    d = task_distance(a, b, loader())
    fa, fb = per_sample_loop(small_net(0), loader()), per_sample_loop(small_net(1), loader())
    va = torch.cat([v.flatten() for v in fa.values()]).double()
    vb = torch.cat([v.flatten() for v in fb.values()]).double()
    by_hand = ((va / va.sum()).sqrt() - (vb / vb.sum()).sqrt()).norm().item() / 2**0.5
    assert abs(d - by_hand) < 1e-6 and 0 < d < 1
    assert task_distance(a, a, loader()) == 0.0
    assert abs(d - distance_of_fishers(fa, fb)) < 1e-6


def test_the_readme_example_runs_as_written(capsys):
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- example:library -->\n```python\n(.*?)```\n<!-- /example:library -->", readme, re.DOTALL)
    assert match, "README.md has no <!-- example:library --> block"
    code = match[1]
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    exec(compile(code, "README.md example", "exec"), {})
    out = capsys.readouterr().out.strip()
    shape, distance = out.split(") ")
    assert shape == "torch.Size([10, 512]" and 0 < float(distance) < 1
