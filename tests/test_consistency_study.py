"""The consistency study (common/studies/consistency.py, consistency_study.py) and the architecture claim, on
constructed matrices."""

import pandas as pd
import pytest
from report_helpers import (
    TASKS,
    base_matrix,
    frame,
    golden_tree,
    long_frame,
    seeds_of,
)

from common.report import claims
from common.store import paths
from common.studies.consistency import architecture_agreement


def test_consistency_study_part_c_reads_only_the_matrices(tmp_path, capsys):
    """consistency_study.py --parts c on a results tree with two networks' mnist matrices and no data."""
    import consistency_study

    golden_tree(tmp_path)
    path = paths.study_outputs(tmp_path, "cpu", "smallcnn", "consistency_architectures")["csv"]
    path.unlink()
    consistency_study.main(
        ["--preset", "cpu", "--results-dir", str(tmp_path), "--parts", "c", "--data-root", str(tmp_path / "no-data")]
    )
    table = pd.read_csv(path)
    assert set(table.other) == {"resnet18"} and len(table) == 4 and (table.kendall_tau == 1).all()
    assert table.git_commit.notna().all() and path.with_suffix(".png").is_file()
    assert "cifar10" not in set(table.task_set)  # no cifar10 matrices: nothing to compare


def test_architecture_agreement_and_claim(tmp_path):
    ref = base_matrix()
    same_order = architecture_agreement(frame(ref), frame(0.1 + 0.8 * ref))
    assert (same_order.kendall_tau == 1).all() and same_order.same_closest.all()
    assert same_order.spearman_all.iloc[0] == pytest.approx(1.0)

    # the claim: the ordering test between the two networks' mean matrices (per-seed long tables)
    def claim(other):
        ours, theirs = long_frame(seeds_of(ref)), long_frame(seeds_of(other))
        return claims.architecture_claim("3d", ours, theirs, "smallcnn", "mnist", "resnet18", "cmd")

    c = claim(0.1 + 0.8 * ref)
    assert c.status == claims.REPRODUCED and "4 of 4" in c.evidence
    # one target's top two sources swapped: its tau drops to 1/3, still > 0 -> the whole-ordering rule holds
    swapped = ref.copy()
    swapped[[3, 1], 2] = swapped[[1, 3], 2]  # column mnist-2: mnist-3 and mnist-1 trade places
    table = architecture_agreement(frame(ref), frame(swapped)).set_index("target")
    assert table.loc["mnist-2", "kendall_tau"] == pytest.approx(1 / 3)  # 3 sources: 2 concordant, 1 discordant
    assert not table.loc["mnist-2", "same_closest"] and table.drop("mnist-2").same_closest.all()
    assert claim(swapped).status == claims.REPRODUCED
    # one target's ordering reversed (tau -1): not every target agrees -> inconclusive
    one_reversed = ref.copy()
    one_reversed[[0, 1, 3], 2] = one_reversed[[3, 1, 0], 2]
    assert claim(one_reversed).status == claims.INCONCLUSIVE
    # the seeded bug: the other network's matrix reversed in every column is caught
    reversed_ = ref.copy()
    for j in range(4):
        rows = [i for i in range(4) if i != j]
        reversed_[rows, j] = reversed_[rows, j][::-1]
    assert claim(reversed_).status == claims.NOT_REPRODUCED
    missing = claims.architecture_claim("3d", long_frame(seeds_of(ref)), None, "smallcnn", "mnist", "resnet18", "mk")
    assert missing.status == claims.NOT_RUN and "no resnet18 matrix" in missing.evidence


def test_measure_agreement_and_seed_summary():
    from common.studies.consistency import measure_agreement, seed_summary

    ref = long_frame(seeds_of(base_matrix()))
    flipped = long_frame([1 - m for m in seeds_of(base_matrix())])  # the reverse order of every entry
    table = pd.concat([ref.assign(sigma2=None), flipped.assign(estimator="mc", sigma2=None)], ignore_index=True)
    got = measure_agreement(table).set_index("estimator")
    assert got.loc["empirical", "spearman_vs_reference"] == pytest.approx(1.0)
    assert got.loc["mc", "spearman_vs_reference"] == pytest.approx(-1.0)
    assert got.loc["empirical", "same_closest"] == 4 and got.loc["mc", "same_closest"] < 4
    between = pd.DataFrame(base_matrix(), index=TASKS, columns=TASKS)
    pairs = pd.DataFrame({"task": ["mnist-2", "mnist-2"], "seed_i": [0, 0], "seed_j": [1, 2], "distance": [0.1, 0.3]})
    row = seed_summary(pairs, between).iloc[0]
    # smallest distance of mnist-2 to another task, as source (row) or target (column): d(mnist-3 -> mnist-2) = 0.2
    assert row.smallest_between_tasks == pytest.approx(0.2) and row.ratio == pytest.approx(1.0)


def test_samples_sweep_finds_where_the_ranking_settles():
    from common.studies.consistency import samples_sweep

    few = seeds_of(base_matrix())
    for m in few:
        m[1, 2] = 0.1  # with few samples, mnist-1 looks closest to mnist-2
    longs = {100: long_frame(few), 500: long_frame(seeds_of(base_matrix())), 1000: long_frame(seeds_of(base_matrix()))}
    table = samples_sweep(longs).set_index("samples")
    assert table.loc[100, "same_closest"] == 3 and table.loc[500, "same_closest"] == 4
    assert table.loc[1000, "spearman_vs_most"] == pytest.approx(1.0) and table.loc[1000, "mean_abs_change"] == 0
    assert (table.settled_from == 500).all() and table.loc[100, "mean_abs_change"] > table.loc[500, "mean_abs_change"]
