"""The papers' claims, decided from constructed results (common/report/claims.py)."""

import numpy as np
import pytest
from report_helpers import base_matrix, long_frame, runs_frame, seeds_of

from common.report import claims
from common.report import margin_claims as margins


def test_closest_margin_claim_reproduced_inconclusive_and_transposed():
    long = long_frame(seeds_of(base_matrix(), n=6))
    c = margins.closest_margin_claim("2a", "FTD", long, "mnist-2", "mnist-3", "test", "cmd")
    assert c.status == claims.REPRODUCED and "positive in 6 of 6" in c.evidence
    # three seeds: the exact test cannot reach 0.05 (its floor is 0.25), whatever the margins
    c = margins.closest_margin_claim("2a", "FTD", long_frame(seeds_of(base_matrix())), "mnist-2", "mnist-3", "t", "c")
    assert c.status == claims.INCONCLUSIVE and "smallest: 0.25" in c.evidence
    # one of six seeds names another source: p = 4/64 > 0.05 -> inconclusive
    seeds = seeds_of(base_matrix(), n=6)
    seeds[1][1, 2] = 0.1
    c = margins.closest_margin_claim("2a", "FTD", long_frame(seeds), "mnist-2", "mnist-3", "test", "cmd")
    assert c.status == claims.INCONCLUSIVE and "positive in 5 of 6" in c.evidence
    # the seeded bug of the developers' guide: a transposed matrix (rows = target) is caught
    transposed = long_frame([m.T for m in seeds_of(base_matrix(), n=6)])
    c = margins.closest_margin_claim("2a", "FTD", transposed, "mnist-2", "mnist-3", "test", "cmd")
    assert c.status == claims.NOT_REPRODUCED
    c = margins.closest_margin_claim("2a", "FTD", None, "mnist-2", "mnist-3", "test", "make it")
    assert c.status == claims.NOT_RUN


def test_closest_margins_by_hand():
    # seed 0: column mnist-2 = (0.6, 0.5, 0, 0.2): mnist-3 at 0.2, the next (mnist-1) at 0.5 -> +0.3
    m = base_matrix()
    flipped = m.copy()
    flipped[3, 2] = 0.55  # mnist-3 now behind mnist-1 (0.5) by 0.05
    assert margins.closest_margins(long_frame([m, flipped]), "mnist-2", "mnist-3") == pytest.approx([0.3, -0.05])


def test_asymmetry_claim_construction_check_and_consistency_claims():
    long = long_frame(seeds_of(base_matrix(), n=6))
    assert margins.asymmetry_margin_claim("1a", long, "mnist", "cmd").status == claims.REPRODUCED
    assert claims.construction_check("C1a", long, "mnist", "cmd").status == claims.PASSES
    symmetric = base_matrix()
    symmetric = (symmetric + symmetric.T) / 2
    sym = long_frame(seeds_of(symmetric, n=6))
    assert margins.asymmetry_margin_claim("1a", sym, "mnist", "cmd").status == claims.INCONCLUSIVE
    three = long_frame(seeds_of(base_matrix()))
    assert margins.asymmetry_margin_claim("1a", three, "mnist", "c").status == claims.INCONCLUSIVE
    too_big = base_matrix()
    too_big[0, 3] = 1.2
    assert claims.construction_check("C1a", long_frame(seeds_of(too_big)), "mnist", "cmd").status == claims.FAILS
    assert claims.consistency_claim("3a", three, "mnist", "cmd").status == claims.REPRODUCED
    shuffled = [m if s != 1 else m.T for s, m in enumerate(seeds_of(base_matrix()))]  # one seed's order differs
    # two seeds agree, the third disagrees: not every target's ordering holds -> not reproduced as "keeps"
    assert claims.consistency_claim("3a", long_frame(shuffled), "mnist", "cmd").status == claims.INCONCLUSIVE


def test_same_dataset_margin_claim():
    tasks = ["mnist-0", "mnist-3", "cifar10-0", "cifar10-3"]
    within = np.array([[0, 0.2, 0.6, 0.6], [0.2, 0, 0.6, 0.6], [0.6, 0.6, 0, 0.2], [0.6, 0.6, 0.2, 0]])
    long = long_frame(seeds_of(within, n=6), tasks)
    assert margins.within_across_margins(long_frame([within], tasks)) == pytest.approx([0.4])  # 0.6 - 0.2
    assert margins.same_dataset_margin_claim("6a", long, "frechet", "cmd").status == claims.REPRODUCED
    three = long_frame(seeds_of(within), tasks)
    assert margins.same_dataset_margin_claim("6a", three, "frechet", "cmd").status == claims.INCONCLUSIVE
    across = np.where(within == 0, 0, 0.8 - within)
    six = long_frame(seeds_of(across, n=6), tasks)
    assert margins.same_dataset_margin_claim("6a", six, "frechet", "cmd").status == claims.NOT_REPRODUCED


def test_nas_claim_verdicts():
    assert claims.nas_claim("5a", "FTD", runs_frame(0.05), "mnist-2", "mnist", "cpu").status == claims.REPRODUCED
    worse = claims.nas_claim("5a", "FTD", runs_frame(-0.05), "mnist-2", "mnist", "cpu")
    assert worse.status == claims.NOT_REPRODUCED and "higher in 0 of 6" in worse.evidence
    five = claims.nas_claim("5a", "FTD", runs_frame(0.05, seeds=5), "mnist-2", "mnist", "cpu")
    assert five.status == claims.INCONCLUSIVE and "p = 0.0625" in five.evidence  # 5 seeds cannot reach 0.05
    one_seed = claims.nas_claim("5a", "FTD", runs_frame(0.05, seeds=1), "mnist-2", "mnist", "cpu")
    assert one_seed.status == claims.INCONCLUSIVE
