"""The label controls of a Fisher (common/fisher/label_controls.py): labels shuffled across the target's images,
beside the cyclic relabelling, and how the shuffle is keyed."""

from collections import Counter

import torch

from common.fisher import label_controls
from common.fisher.label_controls import control_fisher_data, keyed_labels, matrix_key_part, shuffled_labels
from common.fisher.matrix_files import matrix_key
from common.fisher.store import fisher_data, permuted_labels
from common.presets import FISHER_LABELS, FISHER_PRESETS, fisher_config, train_config
from common.store import code_identity
from common.tasks import TASKS


def test_shuffled_labels_keep_the_counts_cut_the_link_and_repeat():
    y = torch.tensor([0] * 60 + [1] * 40)
    s = shuffled_labels(y, seed=3)
    assert Counter(s.tolist()) == Counter(y.tolist())  # the class frequencies are kept
    kept = (s == y).float().mean().item()
    # independent of the image: a sample keeps its label with probability 0.6^2 + 0.4^2 = 0.52, far from 1
    assert 0.3 < kept < 0.75
    assert torch.equal(s, shuffled_labels(y, seed=3)) and not torch.equal(s, shuffled_labels(y, seed=4))
    # unlike the cyclic relabelling, which moves every class and keeps which images share a class
    p = permuted_labels(y, 2)
    assert (p != y).all() and not (s != y).all()


def test_control_fisher_data_shuffles_the_same_images_and_leaves_the_others_alone(data_root, tmp_path):
    task, cfg = TASKS["mnist-3"], train_config("smoke", "mnist")
    true = fisher_data(task, data_root, tmp_path, cfg, 40, "test", "true")
    shuffled = control_fisher_data(task, data_root, tmp_path, cfg, 40, "test", "shuffled")
    assert torch.equal(shuffled.x, true.x)  # the same images, in the same order
    assert sorted(shuffled.y.tolist()) == sorted(true.y.tolist()) and not torch.equal(shuffled.y, true.y)
    for labels in ("true", "permuted"):
        mine = control_fisher_data(task, data_root, tmp_path, cfg, 40, "test", labels)
        theirs = fisher_data(task, data_root, tmp_path, cfg, 40, "test", labels)
        assert torch.equal(mine.x, theirs.x) and torch.equal(mine.y, theirs.y)


def _matrix_key(fcfg):
    tasks = [TASKS["mnist-0"], TASKS["mnist-2"]]
    return matrix_key(
        tasks, (0,), arch="smallcnn", distance="frechet", estimator="empirical", sigma2=1e-8, fcfg=fcfg, networks={}
    )


def test_the_shuffle_is_keyed_and_no_other_label_choice_changes_its_key(monkeypatch):
    """Seeded bug: the shuffle's code left out of the Fisher's key (``keyed_labels`` returning the config as it
    is), so an edited shuffle would have read the old shuffled Fishers from the cache."""
    plain, permuted, shuffled = (fisher_config("smoke", labels=x) for x in ("true", "permuted", "shuffled"))
    assert keyed_labels(plain) is plain and keyed_labels(permuted) is permuted
    assert matrix_key_part(plain) == matrix_key_part(permuted) == {}
    assert "label_control" not in _matrix_key(plain)  # every committed matrix keeps its key
    identity = code_identity.identity("label-control")
    assert keyed_labels(shuffled).labels == f"shuffled@{identity}"
    assert _matrix_key(shuffled)["label_control"] == identity
    before_fisher, before_matrix = keyed_labels(shuffled), _matrix_key(shuffled)
    monkeypatch.setitem(code_identity._IDENTITY, "label-control", "an-edited-shuffle")
    assert keyed_labels(shuffled) != before_fisher and _matrix_key(shuffled) != before_matrix
    assert FISHER_PRESETS["smoke"].labels == "true"  # the papers' protocol stays the default


def test_the_shuffle_is_its_own_concept_of_keyed_code():
    assert code_identity.KEYED_CODE["label-control"] == ("fisher.label_controls",)
    assert "fisher.label_controls" not in code_identity.KEYED_CODE["fisher"]  # the plain Fishers keep their keys
    assert label_controls.SHUFFLED in FISHER_LABELS
