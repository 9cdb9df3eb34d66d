"""The NAS search space: op shapes, genotype strings/JSON, seeded sampling, the network skeleton."""

import itertools
import json
import math

import pytest
import torch
import torch.nn as nn

from common.base.errors import UserError
from common.nas.space import (
    EDGES,
    OP_NAMES,
    OPS,
    Cell,
    Genotype,
    NASNetwork,
    SearchSpace,
    build_nas_network,
    cell_is_alive,
)
from common.tasks import TASKS, get_task

# Uses every op of the table at least once (12 edges, 10 ops), with different ops on the edges.
ALL_OPS = Genotype(
    normal=("sep_conv_3x3", "skip_connect", "dil_conv_5x5", "max_pool_3x3", "none", "conv_7x1_1x7"),
    reduce=("avg_pool_3x3", "sep_conv_5x5", "skip_connect", "sep_conv_7x7", "dil_conv_3x3", "sep_conv_3x3"),
)
# The log-det paper's example of a related space (task 7): identity, sep_conv_3x3, conv_7x1_1x7, max_pool_3x3.
RELATED = Genotype(
    normal=("sep_conv_3x3", "skip_connect", "conv_7x1_1x7", "max_pool_3x3", "skip_connect", "sep_conv_3x3"),
    reduce=("max_pool_3x3", "sep_conv_3x3", "conv_7x1_1x7", "skip_connect", "sep_conv_3x3", "sep_conv_3x3"),
)


def test_op_table_is_the_papers_list():
    assert set(OPS) == {
        "none",
        "skip_connect",
        "avg_pool_3x3",
        "max_pool_3x3",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "dil_conv_3x3",
        "dil_conv_5x5",
        "conv_7x1_1x7",
    }
    assert OP_NAMES == tuple(OPS)
    assert set(ALL_OPS.ops) == set(OPS)


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("stride", [1, 2])
def test_op_keeps_channels_and_divides_resolution_by_stride(name, stride):
    op = OPS[name](6, stride)
    for h, w in ((8, 8), (7, 5)):  # odd sizes: every op gives ceil(H / stride)
        out = op(torch.randn(2, 6, h, w))
        assert out.shape == (2, 6, -(-h // stride), -(-w // stride)), (name, stride, h, w)


@pytest.mark.parametrize("name", list(OPS))
def test_ops_use_only_layers_the_per_sample_fisher_supports(name):
    for stride in (1, 2):
        for m in OPS[name](4, stride).modules():
            if not list(m.parameters(recurse=False)):
                continue
            assert isinstance(m, (nn.Conv2d, nn.BatchNorm2d)), (name, type(m))
            if isinstance(m, nn.Conv2d):
                assert not isinstance(m.padding, str) and m.padding_mode == "zeros"
            else:
                assert m.affine and m.track_running_stats
            assert not getattr(m, "inplace", False)


def test_genotype_string_format_is_nas_bench_201_style():
    g = Genotype(
        normal=("sep_conv_3x3", "skip_connect", "max_pool_3x3", "none", "none", "conv_7x1_1x7"),
        reduce=("avg_pool_3x3",) * 6,
    )
    assert g.to_str() == (
        "normal:|sep_conv_3x3~0|+|skip_connect~0|none~1|+|max_pool_3x3~0|none~1|conv_7x1_1x7~2|;"
        "reduce:|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+"
        "|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|"
    )
    assert str(g) == g.to_str()
    assert "," not in g.to_str() and '"' not in g.to_str()  # fits a CSV cell unquoted


@pytest.mark.parametrize("g", [ALL_OPS, RELATED])
def test_genotype_round_trips(g):
    assert Genotype.from_str(g.to_str()) == g
    assert Genotype.from_str("  " + g.to_str() + "\n") == g
    assert Genotype.from_json(g.to_json()) == g
    assert Genotype.from_dict(json.loads(json.dumps(g.to_dict()))) == g
    assert hash(Genotype.from_json(g.to_json())) == hash(g)
    reordered = g.to_str().split(";")
    assert Genotype.from_str(";".join(reversed(reordered))) == g


@pytest.mark.parametrize(
    "text, message",
    [
        (ALL_OPS.to_str().replace("sep_conv_3x3", "sep_conv_9x9"), "unknown op 'sep_conv_9x9'"),
        (ALL_OPS.to_str().replace("~1", "~0", 1), "must be written '<op>~1'"),
        (ALL_OPS.to_str().split(";")[0], "expected 2 cells"),
        (ALL_OPS.to_str().replace("reduce:", "normal:"), "given twice"),
        (ALL_OPS.to_str().replace("reduce:", "reduction:"), "must start with 'normal:' or 'reduce:'"),
        (ALL_OPS.to_str().replace("|+|", "|", 1), "needs 3 node groups"),
        ("", "expected 2 cells"),
        ("__import__('os').system('true')", "expected 2 cells"),
    ],
)
def test_genotype_from_bad_string_raises_user_error(text, message):
    with pytest.raises(UserError, match="bad genotype string") as info:
        Genotype.from_str(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_genotype_validates_its_fields():
    with pytest.raises(UserError, match="unknown op 'conv_3x3'"):
        Genotype(normal=("conv_3x3",) * 6, reduce=ALL_OPS.reduce)
    with pytest.raises(UserError, match="expected 6 op names"):
        Genotype(normal=ALL_OPS.normal[:5], reduce=ALL_OPS.reduce)
    with pytest.raises(UserError, match="bad genotype JSON"):
        Genotype.from_json("{not json")
    with pytest.raises(UserError, match="exactly the keys"):
        Genotype.from_json(json.dumps({"normal": list(ALL_OPS.normal)}))


def test_task_aware_space_is_restricted_per_cell_type():
    closest = Genotype(
        normal=("sep_conv_3x3", "skip_connect", "sep_conv_3x3", "skip_connect", "skip_connect", "sep_conv_3x3"),
        reduce=("max_pool_3x3", "dil_conv_3x3", "max_pool_3x3", "max_pool_3x3", "dil_conv_3x3", "max_pool_3x3"),
    )
    space = SearchSpace.from_genotype(closest)
    assert space.cell_ops("normal") == ("skip_connect", "sep_conv_3x3")
    assert space.cell_ops("reduce") == ("max_pool_3x3", "dil_conv_3x3")
    assert space.log10_size == pytest.approx(12 * math.log10(2))  # 2 ops on each of 12 edges, no none
    g = torch.Generator().manual_seed(0)
    normal, reduce = set(), set()
    for _ in range(100):
        sample = space.sample(g)
        assert sample in space
        normal |= set(sample.normal)
        reduce |= set(sample.reduce)
    assert normal == {"skip_connect", "sep_conv_3x3"} and reduce == {"max_pool_3x3", "dil_conv_3x3"}
    swapped = Genotype(normal=closest.reduce, reduce=closest.normal)  # same ops, wrong cells
    assert closest in space and swapped not in space
    assert space.to_dict() == {"normal": ["skip_connect", "sep_conv_3x3"], "reduce": ["max_pool_3x3", "dil_conv_3x3"]}


def test_dead_cells_are_never_drawn_nor_counted():
    # EDGES: 0->1, 0->2, 0->3, 1->2, 1->3, 2->3
    assert not cell_is_alive(
        ("sep_conv_3x3", "skip_connect", "none", "sep_conv_3x3", "none", "none")
    )  # node 3 fed by none
    assert not cell_is_alive(("none", "none", "none", "sep_conv_3x3", "skip_connect", "skip_connect"))  # input cut off
    assert cell_is_alive(("none", "none", "skip_connect", "none", "none", "none"))  # 0->3 alone
    assert cell_is_alive(("sep_conv_3x3", "none", "none", "none", "none", "none")) is False
    assert cell_is_alive(("sep_conv_3x3", "none", "none", "skip_connect", "none", "max_pool_3x3"))  # 0->1->2->3
    # the space's size against brute-force enumeration (an independent count)
    for ops in (("none", "skip_connect"), ("none", "skip_connect", "max_pool_3x3"), ("skip_connect", "sep_conv_3x3")):
        live = sum(cell_is_alive(c) for c in itertools.product(ops, repeat=len(EDGES)))
        assert SearchSpace(ops).log10_size == pytest.approx(2 * math.log10(live))
    assert 11.9 < SearchSpace().log10_size < 12.0  # 10 ops per edge, a few dead cells out
    # the sampler draws only live cells, and all of them: {none, skip}: 2^6 cells, of which `live` are alive
    space = SearchSpace(("none", "skip_connect"))
    g = torch.Generator().manual_seed(0)
    drawn = [space.sample(g) for _ in range(3000)]
    assert all(cell_is_alive(d.normal) and cell_is_alive(d.reduce) for d in drawn)
    live = sum(cell_is_alive(c) for c in itertools.product(("none", "skip_connect"), repeat=len(EDGES)))
    assert len({d.normal for d in drawn}) == live
    with pytest.raises(UserError, match="only use 'none'"):
        SearchSpace(("none",))
    with pytest.raises(UserError, match="reduction cell may only use 'none'"):
        SearchSpace(("skip_connect",), ("none",))


def test_restricted_space_only_yields_the_genotypes_ops():
    space = SearchSpace.from_genotype(RELATED)
    assert space.ops == ("skip_connect", "max_pool_3x3", "sep_conv_3x3", "conv_7x1_1x7")
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(200):
        sample = space.sample(g)
        assert set(sample.ops) <= set(space.ops)
        assert sample in space
        seen |= set(sample.ops)
    assert seen == set(space.ops)  # uniform draws reach every allowed op
    assert ALL_OPS not in space


def test_sampling_is_seeded():
    space = SearchSpace()
    assert space.ops == OP_NAMES
    first = space.sample(torch.Generator().manual_seed(3))
    assert space.sample(torch.Generator().manual_seed(3)) == first
    assert len({space.sample(torch.Generator().manual_seed(s)) for s in range(10)}) > 1
    # the order the ops are given in does not change the space or its draws
    shuffled = SearchSpace(tuple(reversed(OP_NAMES)))
    assert shuffled == space
    assert shuffled.sample(torch.Generator().manual_seed(3)) == first


def test_search_space_validates_its_ops():
    with pytest.raises(UserError, match="unknown op.*'conv_9x9'"):
        SearchSpace(("sep_conv_3x3", "conv_9x9"))
    with pytest.raises(UserError, match="no ops"):
        SearchSpace(())
    with pytest.raises(UserError, match="list of op names"):
        SearchSpace("sep_conv_3x3")


def test_reduction_cell_halves_resolution_and_sets_width():
    x = torch.randn(2, 4, 8, 8)
    assert Cell(ALL_OPS.reduce, 4, 8, reduction=True)(x).shape == (2, 8, 4, 4)
    assert Cell(ALL_OPS.normal, 4, 4, reduction=False)(x).shape == (2, 4, 8, 8)


@pytest.mark.parametrize("task_name", ["cifar10-2", "cifar10-3"])  # 4 and 10 classes
def test_network_output_shape_and_backward(task_name):
    task = TASKS[task_name]
    torch.manual_seed(0)
    net = build_nas_network(ALL_OPS, task, width=8, depth=5)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, task.num_classes)
    nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.classifier.weight.grad.abs().sum() > 0
    assert build_nas_network(ALL_OPS.to_str(), task, width=8, depth=5).genotype == ALL_OPS


def test_network_skeleton_has_reductions_at_one_and_two_thirds():
    net = NASNetwork(RELATED, num_classes=10)  # defaults: 16 channels, 5 cells
    assert [c.reduction for c in net.cells] == [False, True, False, True, False]
    assert net.classifier.in_features == 64
    assert sum(p.numel() for p in net.parameters()) < 1_000_000  # CPU-sized, like smallcnn


def test_every_layer_runs_once_per_forward():
    """Per-sample Fisher hooks cannot separate two calls of one module (shared weights)."""
    net = NASNetwork(ALL_OPS, num_classes=4, channels=4, layers=3)
    calls = {}
    for name, m in net.named_modules():
        if list(m.parameters(recurse=False)):
            m.register_forward_hook(lambda m, i, o, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
    net(torch.randn(1, 3, 16, 16))
    assert calls and set(calls.values()) == {1}
    assert len(calls) == sum(1 for m in net.modules() if list(m.parameters(recurse=False)))


def test_per_sample_fisher_matches_the_reference_loop():
    from common.fisher.estimators import fisher_diag, fisher_diag_reference

    torch.manual_seed(0)
    net = NASNetwork(ALL_OPS, num_classes=4, channels=4, layers=3).double()
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64), torch.tensor([0, 3]))]
    fast, slow = fisher_diag(net, data), fisher_diag_reference(net, data)
    assert fast.keys() == slow.keys()
    for k in fast:
        torch.testing.assert_close(fast[k], slow[k], rtol=1e-6, atol=1e-12)


def test_network_rejects_bad_sizes():
    with pytest.raises(UserError, match="layers must be a positive integer"):
        NASNetwork(ALL_OPS, num_classes=10, layers=0)
    with pytest.raises(UserError, match="needs a Genotype"):
        NASNetwork(ALL_OPS.to_str(), num_classes=10)


def test_parameter_count_flag_and_width_matching():
    import argparse

    from common.base.cli import parameter_count
    from common.nas.space import width_for_params

    assert parameter_count("0.2M") == 2e5 and parameter_count("150k") == 1.5e5 and parameter_count("2000") == 2000
    for bad in ("abc", "-1", "nan", "inf", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parameter_count(bad)
    task = get_task("cifar10-2")
    g = SearchSpace().sample(torch.Generator().manual_seed(3))
    count = lambda w: sum(p.numel() for p in build_nas_network(g, task, w, 5).parameters())  # noqa: E731
    w = width_for_params(g, task, 5, 2e5)
    assert abs(math.log(count(w) / 2e5)) <= min(abs(math.log(count(w + d) / 2e5)) for d in (-1, 1))
    assert width_for_params(g, task, 5, 2e5) < width_for_params(g, task, 5, 8e5)
    with pytest.raises(UserError):
        width_for_params(g, task, 5, 0)
