"""fisher_distance.py end to end on fabricated data (smoke preset)."""

import json

import matplotlib.image
import pandas as pd
import pytest
from test_train_scripts import run_script

import fisher_distance
import train_task_mnist
from common.data.splits import Normalizer, iterate_batches
from common.fisher.distance import task_distance
from common.fisher.estimators import fisher_diag
from common.fisher.store import fisher_data
from common.presets import FISHER_PRESETS, train_config
from common.store import code_identity, paths
from common.tasks import get_task
from common.training.checkpoints import load_network


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    train_task_mnist.main(
        [
            "--preset",
            "smoke",
            "--data-root",
            str(data_root),
            "--results-dir",
            str(results),
            "--tasks",
            "mnist-0",
            "mnist-2",
            "mnist-3",
            "--seeds",
            "0",
            "1",
        ]
    )
    return results


def test_matrix_csvs_pngs_and_cache(data_root, trained, capsys):
    args = [
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(trained),
        "--tasks",
        "mnist-0",
        "mnist-2",
        "mnist-3",
        "--seeds",
        "0",
        "1",
    ]
    fisher_distance.main(args)
    assert "18 Fisher(s) computed, 0 read" in capsys.readouterr().out  # K^2 x seeds
    # seeds 0 1 are not the smoke preset's (0): the file name says so, the preset's matrix is not replaced
    out = paths.distance_outputs(
        trained, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3", "frechet", "empirical", "_seeds0-1"
    )
    long = pd.read_csv(out["long"])
    assert len(long) == 2 * 9 and set(long.columns) >= {"seed", "source", "target", "distance", "estimator", "samples"}
    mean = pd.read_csv(out["mean"], index_col="source")
    assert list(mean.index) == list(mean.columns) == ["mnist-0", "mnist-2", "mnist-3"]
    assert all(mean.loc[t, t] == 0 for t in mean.index)
    assert ((mean.values >= 0) & (mean.values <= 1)).all()
    assert mean.loc["mnist-0", "mnist-3"] != pytest.approx(mean.loc["mnist-3", "mnist-0"])  # asymmetric
    std = pd.read_csv(out["std"], index_col="source")
    assert std.values.max() > 0
    for key in ("mean_png", "std_png"):
        img = matplotlib.image.imread(out[key])
        assert img.shape[0] > 200 and img.shape[1] > 200 and img.std() > 0.05

    # independent recomputation of one entry: d(mnist-0 -> mnist-3), seed 1
    source, target = get_task("mnist-0"), get_task("mnist-3")
    data = fisher_data(target, data_root, trained, train_config("smoke", "mnist"), FISHER_PRESETS["smoke"].samples)
    fishers = []
    for task in (source, target):
        net, _ = load_network(
            task,
            "smallcnn",
            1,
            train_config("smoke", "mnist"),
            preset="smoke",
            data_root=data_root,
            results_dir=trained,
        )
        fishers.append(
            fisher_diag(net, list(iterate_batches(data, 7, Normalizer("mnist", "cpu"))), num_classes=target.num_classes)
        )
    row = long[(long.seed == 1) & (long.source == "mnist-0") & (long.target == "mnist-3")].distance.item()
    assert task_distance(*fishers) == pytest.approx(row, rel=1e-4)
    # the matrix files have rows = source, columns = target (NAS reads a target's column)
    pair = long[(long.source == "mnist-0") & (long.target == "mnist-3")].distance
    assert mean.loc["mnist-0", "mnist-3"] == pytest.approx(pair.mean(), rel=1e-9)
    assert std.loc["mnist-0", "mnist-3"] == pytest.approx(pair.std(ddof=1), rel=1e-9)

    fisher_distance.main(args + ["--distance", "logdet"])  # a new distance reuses every Fisher
    assert "0 Fisher(s) computed, 18 read" in capsys.readouterr().out
    logdet = pd.read_csv(
        paths.distance_outputs(
            trained, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3", "logdet", "empirical", "_seeds0-1"
        )["mean"],
        index_col="source",
    )
    assert logdet.values.max() > 0


def test_missing_checkpoints_name_the_training_command(data_root, trained):
    r = run_script(
        "fisher_distance.py",
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(trained),
        "--tasks",
        "mnist-0",
        "mnist-1",
        "--seeds",
        "0",
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (
        "python train_task_mnist.py --preset smoke --arch smallcnn --tasks mnist-1 --seeds 0 "
        f"--data-root {data_root} --results-dir {trained}"
    ) in r.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--distance", "wasserstein"], "invalid choice: 'wasserstein'"),
        (["--estimator", "exact"], "invalid choice: 'exact'"),
        (["--tasks", "mnist-0"], "at least two tasks"),
        (["--task-set", "mnist", "--tasks", "mnist-0"], "either --task-set or --tasks"),
        (["--arch", "vgg16", "--tasks", "mnist-0", "mnist-2", "--seeds", "0"], "--arch vgg16 --tasks mnist-0 mnist-2"),
    ],
)
def test_bad_input(data_root, trained, extra, message):
    r = run_script(
        "fisher_distance.py", "--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(trained), *extra
    )
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_non_default_settings_never_replace_the_presets_matrix(data_root, trained, capsys):
    args = [
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(trained),
        "--tasks",
        "mnist-0",
        "mnist-3",
        "--seeds",
        "0",
    ]
    fisher_distance.main(args)
    default = paths.distance_outputs(trained, "smoke", "smallcnn", "mnist-0-mnist-3", "logdet", "empirical")
    fisher_distance.main(args + ["--distance", "logdet"])
    before = default["mean"].read_bytes()
    fisher_distance.main(args + ["--distance", "logdet", "--sigma2", "1e-4", "--fisher-samples", "16"])
    other = paths.distance_outputs(
        trained, "smoke", "smallcnn", "mnist-0-mnist-3", "logdet", "empirical", "_n16_sigma0.0001"
    )
    assert other["mean"].is_file() and other["manifest"].is_file()
    assert default["mean"].read_bytes() == before
    assert pd.read_csv(other["mean"]).values.tolist() != pd.read_csv(default["mean"]).values.tolist()


def test_the_shuffled_label_control_computes_fishers_of_its_own_and_moves_the_distances(data_root, trained, capsys):
    """--target-labels shuffled: every Fisher its own (none read from the true-label ones), d(a, a) still 0, the
    entries moved (the control can fail), the matrix keyed by the shuffle's code. Seeded bug: the shuffle
    not applied (the true labels read) leaves every entry equal to the true-label matrix's."""
    args = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(trained)]
    args += ["--tasks", "mnist-0", "mnist-2", "mnist-3", "--seeds", "0", "1"]
    fisher_distance.main(args)  # the true-label matrix (cached Fishers when the first test ran)
    capsys.readouterr()
    fisher_distance.main(args + ["--target-labels", "shuffled"])
    assert "18 Fisher(s) computed, 0 read" in capsys.readouterr().out
    label = "mnist-0-mnist-2-mnist-3"
    out = {
        v: paths.distance_outputs(trained, "smoke", "smallcnn", label, "frechet", "empirical", f"_seeds0-1{v}")
        for v in ("", "_labels-shuffled")
    }
    true, shuffled = (pd.read_csv(out[v]["long"]) for v in ("", "_labels-shuffled"))
    assert (shuffled.target_labels == "shuffled").all() and len(shuffled) == len(true) == 18
    assert (shuffled[shuffled.source == shuffled.target].distance == 0).all()
    off = shuffled.source != shuffled.target
    assert (abs(shuffled.distance[off].values - true.distance[off].values) > 1e-3).any()  # rows in one order
    key = json.loads(out["_labels-shuffled"]["manifest"].read_text())["key"]
    assert key["fisher"]["labels"] == "shuffled" and key["label_control"] == code_identity.identity("label-control")
    fisher_distance.main(args + ["--target-labels", "shuffled"])  # a rerun reads its own Fishers back
    assert "0 Fisher(s) computed, 18 read" in capsys.readouterr().out
