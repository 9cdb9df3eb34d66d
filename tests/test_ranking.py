"""Rank comparison against published matrices, on constructed examples, and the log-det study end to end."""

import numpy as np
import pandas as pd
import pytest

import logdet_study
import train_task_cifar
import train_task_mnist
from common.store import paths
from common.studies.published import PUBLISHED
from common.studies.ranking import as_frame, closest_sources, compare, kendall_tau, off_diagonal, spearman


def matrix(values, names=("a", "b", "c")):
    m = pd.DataFrame(values, index=list(names), columns=list(names))
    m.index.name, m.columns.name = "source", "target"
    return m


def test_spearman_hand_computed():
    # off-diagonal entries in row order: (a,b), (a,c), (b,a), (b,c), (c,a), (c,b)
    ours = matrix([[0, 1, 2], [3, 0, 4], [5, 6, 0]])
    theirs = matrix([[0, 1, 2], [3, 0, 4], [6, 5, 0]])  # one adjacent swap
    # 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / (6 * 35)
    assert spearman(off_diagonal(ours), off_diagonal(theirs)) == pytest.approx(1 - 12 / 210, rel=1e-12)
    assert compare(ours, theirs)["spearman"] == pytest.approx(1 - 12 / 210, rel=1e-12)
    assert compare(ours, ours * 10 + 3)["spearman"] == pytest.approx(1.0)
    assert compare(ours, -ours)["spearman"] == pytest.approx(-1.0)


def test_kendall_tau_hand_computed_and_against_scipy():
    # (1,2,3) vs (1,3,2): pairs (1,2) and (1,3) concordant, (2,3) discordant -> (2 - 1) / 3
    assert kendall_tau(pd.Series([1, 2, 3]), pd.Series([1, 3, 2])) == pytest.approx(1 / 3)
    assert kendall_tau(pd.Series([1, 2, 3]), pd.Series([3, 2, 1])) == pytest.approx(-1.0)
    stats = pytest.importorskip("scipy.stats")  # an external reference, ties included (tau-b)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 4, 9), rng.integers(0, 4, 9)
        assert kendall_tau(pd.Series(a), pd.Series(b)) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_closest_source_reads_columns_and_reorders_to_theirs():
    ours = matrix([[0, 0.1, 0.5], [0.9, 0, 0.3], [0.2, 0.4, 0]])
    assert closest_sources(ours) == {"a": "c", "b": "a", "c": "b"}  # d(c -> a) is a's smallest
    theirs = ours.loc[["c", "a", "b"], ["c", "a", "b"]]  # same matrix, other order
    result = compare(ours, theirs)
    assert result["closest_agree"] == 3 and result["spearman"] == pytest.approx(1.0)
    assert compare(ours.T, theirs)["closest_agree"] < 3  # a transposed matrix is caught


def test_published_matrices_are_square_with_zero_diagonals():
    assert len(PUBLISHED) == 10
    for name, m in PUBLISHED.items():
        frame = as_frame(m)
        assert frame.shape == (len(m.tasks),) * 2 and all(frame.loc[t, t] == 0 for t in m.tasks), name
    ld = as_frame(PUBLISHED["logdet-ldnas8"])
    assert closest_sources(ld)["mnist-3"] == "cifar10-3" and closest_sources(ld)["cifar10-2"] == "cifar10-3"


def test_logdet_study_smoke(data_root, tmp_path, capsys):
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path)]
    train_task_mnist.main(common + ["--tasks", "mnist", "mnist-oddeven"])
    train_task_cifar.main(common)
    logdet_study.main(common + ["--estimators", "empirical", "legacy-code", "--sigma2s", "1e-10", "1e-4"])
    out = paths.study_outputs(tmp_path, "smoke", "smallcnn", "logdet_ldnas8")
    table = pd.read_csv(out["csv"])
    assert len(table) == 2 * (2 + 2 + 1)  # estimators x (logdet, logdet-layer) x sigmas + frechet
    assert table.spearman.between(-1, 1).all() and table.spearman.is_monotonic_decreasing
    assert set(table.principled) == {True, False} and (table.targets == 8).all()
    long = pd.read_csv(out["long"])
    assert len(long) == 2 * 5 * 64 and (long.distance >= 0).all()
    # the table's Spearman is recomputable from the long file
    row = table[(table.estimator == "empirical") & (table.distance == "frechet")].iloc[0]
    g = long[(long.estimator == "empirical") & (long.measure == "frechet")]
    mean = g.groupby(["source", "target"]).distance.mean().unstack()
    assert compare(mean, as_frame(PUBLISHED["logdet-ldnas8"]))["spearman"] == pytest.approx(row.spearman)
    assert (
        "| estimator | distance | σ² |" in out["md"].read_text()
    )  # the report's renderer (common/report/study_tables.py)
