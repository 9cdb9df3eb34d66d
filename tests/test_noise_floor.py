"""noise_floor.py end to end on fabricated MNIST (smoke): null twins, the table against an independent
recomputation from the Fisher files, the manifest, and a rerun that trains and computes nothing."""

import json

import pandas as pd
import pytest
import torch

import noise_floor
import train_task_mnist
from common.fisher.distance import task_distance
from common.store import paths


@pytest.fixture(scope="module")
def floor_run(data_root, tmp_path_factory):
    results = tmp_path_factory.mktemp("floor")
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results), "--seeds", "0"]
    train_task_mnist.main(common + ["--tasks", "mnist-0", "mnist-3"])
    noise_floor.main(common + ["--tasks", "mnist-0", "mnist-3"])
    return results


def test_twins_share_task_and_seed_and_differ_by_sgd_seed(floor_run):
    twin = json.loads(paths.record_path(floor_run, "smoke", "smallcnn", "mnist-3", 0, 100).read_text())
    main = json.loads(paths.record_path(floor_run, "smoke", "smallcnn", "mnist-3", 0).read_text())
    assert twin["key"]["seed"] == main["key"]["seed"] == 0
    assert twin["key"]["sgd_seed"] == 100 and main["key"]["sgd_seed"] == 0
    a = torch.load(paths.checkpoint_path(floor_run, "smoke", "smallcnn", "mnist-3", 0, 100), weights_only=False)
    b = torch.load(paths.checkpoint_path(floor_run, "smoke", "smallcnn", "mnist-3", 0), weights_only=False)
    weight = next(k for k in b["value"]["state_dict"] if k.endswith("weight"))
    assert not torch.equal(a["value"]["state_dict"][weight], b["value"]["state_dict"][weight])


def test_null_distance_equals_the_distance_of_the_two_fisher_files(floor_run):
    out = paths.study_outputs(floor_run, "smoke", "smallcnn", "noise_floor_mnist-0-mnist-3")
    long = pd.read_csv(out["long"])
    null = long[(long.kind == "null twin") & (long.measure == "frechet") & (long.target == "mnist-3")].distance.item()

    def fisher(sgd):
        path = paths.fisher_cache_path(
            floor_run, "smoke", "smallcnn", "empirical", 32, "mnist-3", "mnist-3", 0, "test", "true", sgd
        )
        return torch.load(path, weights_only=False)["value"]

    assert null == pytest.approx(task_distance(fisher(100), fisher(None)))
    assert set(long.kind) == {"null twin", "paired", "twin-swap"}  # one seed: no cross-seed pairs
    manifest = json.loads(out["csv"].with_suffix(".json").read_text())
    assert manifest["value"]["frechet"]["floor"] > 0 and "mnist-3/seed0-sgd100" in manifest["key"]["networks"]


def test_a_rerun_trains_and_computes_nothing(floor_run, data_root, monkeypatch):
    import common.fisher.store as store
    import common.training.checkpoints as checkpoints

    def refuse(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(checkpoints, "fit", refuse)
    monkeypatch.setattr(store, "fisher_diag", refuse)
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(floor_run), "--seeds", "0"]
    noise_floor.main(common + ["--tasks", "mnist-0", "mnist-3"])
