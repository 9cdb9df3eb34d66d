import pytest
import torch

from common.base.errors import UserError
from common.data.splits import relabel_and_balance
from common.datasets import DATASETS
from common.tasks import TASK_SETS, TASKS, get_task, resolve_tasks


def fake_labels(per_class=(50,) * 10, seed=0):
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]


@pytest.mark.parametrize("name", list(TASKS))
def test_label_mapping_follows_groups(name):
    task = TASKS[name]
    labels = fake_labels((50,) * len(DATASETS[task.dataset].classes))
    keep, new = relabel_and_balance(task, labels, torch.Generator().manual_seed(0))
    orig = labels[keep]
    assert new.min() == 0 and new.max() == task.num_classes - 1
    for i, group in enumerate(task.groups):
        assert set(orig[new == i].tolist()) == set(group)
    if task.other:
        named = {c for g in task.groups for c in g}
        assert not (set(orig[new == len(task.groups)].tolist()) & named)


def test_binary_task_negatives_equal_positives():
    task = get_task("cifar10-0")  # {automobile, cat, ship} vs rest
    labels = fake_labels((40, 41, 42, 43, 44, 45, 46, 47, 48, 49))
    _, new = relabel_and_balance(task, labels, torch.Generator().manual_seed(0))
    positives = 41 + 43 + 48
    assert (new == 0).sum() == positives and (new == 1).sum() == positives


def test_other_class_has_size_of_one_class():
    task = get_task("mnist-2")  # digits 0..3 and other
    labels = fake_labels((30, 31, 32, 33, 90, 90, 90, 90, 90, 90))
    _, new = relabel_and_balance(task, labels, torch.Generator().manual_seed(0))
    assert [(new == i).sum().item() for i in range(4)] == [30, 31, 32, 33]
    assert (new == 4).sum().item() == round((30 + 31 + 32 + 33) / 4)


def test_no_other_class_keeps_everything():
    labels = fake_labels()
    keep, new = relabel_and_balance(get_task("mnist-oddeven"), labels, torch.Generator().manual_seed(0))
    assert len(keep) == len(labels)
    assert torch.equal(new, labels[keep] % 2)


def test_balancing_is_seeded():
    task, labels = get_task("mnist-0"), fake_labels()
    a = relabel_and_balance(task, labels, torch.Generator().manual_seed(1))[0]
    b = relabel_and_balance(task, labels, torch.Generator().manual_seed(1))[0]
    c = relabel_and_balance(task, labels, torch.Generator().manual_seed(2))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_task_sets_expand_in_order():
    assert [t.name for t in resolve_tasks(["ldnas8"])] == list(TASK_SETS["ldnas8"])
    assert [t.name for t in resolve_tasks(["mnist-3", "mnist"])] == ["mnist-3", "mnist-0", "mnist-1", "mnist-2"]
    assert get_task("cifar10-2").class_names == ("bird", "frog", "horse", "other")


def test_unknown_task_is_a_user_error():
    with pytest.raises(UserError, match="unknown task 'mnist-9'"):
        resolve_tasks(["mnist-9"])
