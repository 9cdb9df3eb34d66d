import pytest
import torch

from common.base.errors import UserError
from common.networks.models import NETWORKS, build_network, count_parameters
from common.tasks import TASKS


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_every_arch_builds_for_every_task(arch):
    x = torch.randn(2, 3, 32, 32)
    one_per_head = {t.num_classes: t for t in TASKS.values()}  # the head is all a task changes
    for task in one_per_head.values():
        net = build_network(arch, task, seed=0).eval()
        with torch.no_grad():
            assert net(x).shape == (2, task.num_classes), (arch, task.name)


def test_parameter_counts_match_the_papers():
    task = TASKS["cifar10-3"]
    assert count_parameters(build_network("vgg16", task, seed=0)) == pytest.approx(14.73e6, rel=0.01)  # paper: 14.72 M
    assert count_parameters(build_network("densenet121", task, seed=0)) == pytest.approx(
        6.96e6, rel=0.01
    )  # paper: 6.95 M
    assert count_parameters(build_network("resnet18", task, seed=0)) == pytest.approx(11.17e6, rel=0.01)
    assert count_parameters(build_network("smallcnn", task, seed=0)) <= 1_000_000


def test_unknown_arch():
    with pytest.raises(UserError, match="unknown arch 'vgg17'"):
        build_network("vgg17", TASKS["mnist-0"], seed=0)
