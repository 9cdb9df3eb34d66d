"""The papers' claims, decided from constructed results (common/report/claims.py)."""

import numpy as np
from report_helpers import base_matrix, long_frame, runs_frame, seeds_of

from common.report import claims


def test_closest_claim_reproduced_inconclusive_and_transposed():
    long = long_frame(seeds_of(base_matrix()))
    c = claims.closest_claim("2a", "FTD", long, "mnist-2", "mnist-3", "test", "cmd", floor=0.05)
    assert c.status == claims.REPRODUCED and "mnist-3 closest in 3 of 3 seed(s)" in c.evidence
    # one seed names another source: the mean still does, the seeds disagree -> inconclusive
    seeds = seeds_of(base_matrix())
    seeds[1][1, 2] = 0.1
    c = claims.closest_claim("2a", "FTD", long_frame(seeds), "mnist-2", "mnist-3", "test", "cmd", floor=0.05)
    assert c.status == claims.INCONCLUSIVE and "2 of 3" in c.evidence
    # the seeded bug of the developers' guide: a transposed matrix (rows = target) is caught
    c = claims.closest_claim(
        "2a", "FTD", long_frame([m.T for m in seeds_of(base_matrix())]), "mnist-2", "mnist-3", "test", "cmd", 0.05
    )
    assert c.status == claims.NOT_REPRODUCED
    assert claims.closest_claim("2a", "FTD", None, "mnist-2", "mnist-3", "test", "make it").status == claims.NOT_RUN


def test_asymmetry_claim_construction_check_and_consistency_claims():
    long = long_frame(seeds_of(base_matrix()))
    assert claims.asymmetry_claim("1a", long, "mnist", "cmd").status == claims.REPRODUCED
    assert claims.construction_check("C1a", long, "mnist", "cmd").status == claims.PASSES
    symmetric = base_matrix()
    symmetric = (symmetric + symmetric.T) / 2
    assert claims.asymmetry_claim("1a", long_frame(seeds_of(symmetric)), "mnist", "cmd").status == claims.NOT_REPRODUCED
    assert claims.asymmetry_claim("1a", long_frame(seeds_of(base_matrix(), n=1)), "mnist", "c").status == (
        claims.INCONCLUSIVE
    )
    too_big = base_matrix()
    too_big[0, 3] = 1.2
    assert claims.construction_check("C1a", long_frame(seeds_of(too_big)), "mnist", "cmd").status == claims.FAILS
    assert claims.consistency_claim("3a", long, "mnist", "cmd").status == claims.REPRODUCED
    shuffled = [m if s != 1 else m.T for s, m in enumerate(seeds_of(base_matrix()))]  # one seed's order differs
    # two seeds agree, the third disagrees: not every target's ordering holds -> not reproduced as "keeps"
    assert claims.consistency_claim("3a", long_frame(shuffled), "mnist", "cmd").status == claims.INCONCLUSIVE


def test_same_dataset_claim():
    tasks = ["mnist-0", "mnist-3", "cifar10-0", "cifar10-3"]
    within = np.array([[0, 0.2, 0.6, 0.6], [0.2, 0, 0.6, 0.6], [0.6, 0.6, 0, 0.2], [0.6, 0.6, 0.2, 0]])
    long = long_frame(seeds_of(within), tasks)
    assert claims.same_dataset_claim("6a", long, "frechet", "cmd", floor=0.1).status == claims.REPRODUCED
    assert claims.same_dataset_claim("6a", long, "frechet", "cmd", floor=0.5).status == claims.INCONCLUSIVE
    across = np.where(within == 0, 0, 0.8 - within)
    assert (
        claims.same_dataset_claim("6a", long_frame(seeds_of(across), tasks), "frechet", "cmd", floor=0.1).status
        == claims.NOT_REPRODUCED
    )


def test_nas_claim_verdicts():
    assert claims.nas_claim("5a", "FTD", runs_frame(0.05), "mnist-2", "mnist", "cpu").status == claims.REPRODUCED
    worse = claims.nas_claim("5a", "FTD", runs_frame(-0.05), "mnist-2", "mnist", "cpu")
    assert worse.status == claims.NOT_REPRODUCED and "higher in 0 of 6" in worse.evidence
    five = claims.nas_claim("5a", "FTD", runs_frame(0.05, seeds=5), "mnist-2", "mnist", "cpu")
    assert five.status == claims.INCONCLUSIVE and "p = 0.0625" in five.evidence  # 5 seeds cannot reach 0.05
    one_seed = claims.nas_claim("5a", "FTD", runs_frame(0.05, seeds=1), "mnist-2", "mnist", "cpu")
    assert one_seed.status == claims.INCONCLUSIVE
