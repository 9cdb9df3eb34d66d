"""The initialisation protocol (common/networks/init.py): under one seed every network of a task set
shares its body, whatever the head; the head has its own generator; training builds what this builds."""

import pytest
import torch

from common.dense.models import DENSE_NETWORKS, build_dense_network
from common.networks.init import head_parameter_names
from common.networks.models import NETWORKS, build_network
from common.tasks import TASKS

# tasks of 2, 4 and 10 classes
TASKS_2_4_10 = [TASKS["cifar10-0"], TASKS["cifar10-2"], TASKS["cifar10-3"]]


def _body(net) -> dict[str, torch.Tensor]:
    head = set(head_parameter_names(net))
    return {k: v for k, v in net.state_dict().items() if k not in head}


def _assert_same_body(nets):
    first = _body(nets[0])
    assert len(first) > 2
    for other in nets[1:]:
        body = _body(other)
        assert body.keys() == first.keys()
        different = [k for k in first if not torch.equal(first[k], body[k])]
        assert not different, different[:3]


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_every_network_of_one_seed_shares_every_non_head_tensor(arch):
    nets = [build_network(arch, task, seed=3) for task in TASKS_2_4_10]
    _assert_same_body(nets)
    # the head is exactly what the class count changes
    shapes = [{k: v.shape for k, v in n.state_dict().items()} for n in nets]
    changed = {k for k in shapes[0] if shapes[0][k] != shapes[2][k]}
    assert changed == set(head_parameter_names(nets[0]))
    # the head comes from its own generator: equal for equal class counts, other seeds differ
    again = build_network(arch, TASKS["mnist-0"], seed=3)
    assert all(torch.equal(a, b) for a, b in zip(nets[0].state_dict().values(), again.state_dict().values()))
    other = _body(build_network(arch, TASKS["cifar10-0"], seed=4))
    assert not all(torch.equal(v, other[k]) for k, v in _body(nets[0]).items() if v.is_floating_point())


@pytest.mark.parametrize("arch", list(DENSE_NETWORKS))
def test_every_dense_network_of_one_seed_shares_its_encoder_and_decoder_body(arch):
    nets = [build_dense_network(arch, c, 8, seed=1) for c in (1, 2, 3)]
    _assert_same_body(nets)


def test_the_global_random_state_is_left_as_it_was():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_network("smallcnn", TASKS["mnist-3"], seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_torchvision_draw_order_alone_would_break_it():
    """The reason for the protocol: seeding then building shares nothing for ResNet-18 (the check above
    would fail on the plain constructor)."""
    import torchvision

    torch.manual_seed(0)
    a = torchvision.models.resnet18(num_classes=2).state_dict()
    torch.manual_seed(0)
    b = torchvision.models.resnet18(num_classes=10).state_dict()
    assert not torch.equal(a["layer1.0.conv1.weight"], b["layer1.0.conv1.weight"])


def test_training_builds_the_network_of_the_protocol(tmp_path, monkeypatch):
    """checkpoints.train_or_load trains the network build_network gives (its initial weights)."""
    import common.training.checkpoints as checkpoints

    seen = {}

    def fake_fit(net, splits, cfg, dataset, seed, device, desc=""):
        seen["state"] = {k: v.clone() for k, v in net.state_dict().items()}
        seen["sgd_seed"] = seed
        raise RuntimeError("stop")

    monkeypatch.setattr(checkpoints, "fit", fake_fit)
    monkeypatch.setattr(checkpoints, "task_splits", lambda *a, **k: {"train": [], "val": [], "test": []})
    monkeypatch.setattr(checkpoints, "data_identity", lambda *a, **k: "x")
    from common.presets import train_config

    task = TASKS["mnist-2"]
    with pytest.raises(RuntimeError, match="stop"):
        checkpoints.train_or_load(
            task,
            "smallcnn",
            2,
            train_config("smoke", "mnist"),
            preset="smoke",
            data_root=tmp_path,
            results_dir=tmp_path,
            device=torch.device("cpu"),
            sgd_seed=7,
        )
    expected = build_network("smallcnn", task, seed=2).state_dict()
    assert all(torch.equal(seen["state"][k], v) for k, v in expected.items())
    assert seen["sgd_seed"] == 7  # the twin's data order, not its initialisation
