"""Issue 33 (second round of rigor): the rules table is the code's, claims counted once on shared seeds,
the α-rank a diagnostic only, Holm over each family of comparisons, the checks of the code apart, and a
NAS comparison below 6 seeds inconclusive with the command that adds seeds. Each test was seen failing
with its bug seeded back."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from report_helpers import ROOT, base_matrix, long_frame, runs_frame, seeds_of
from statsmodels.stats.multitest import multipletests

from common.report import claim_list, claims, rules
from common.report.verdicts import claims_markdown
from common.store import paths
from common.studies.paired_stats import holm
from common.transferability.report import verdicts

# ------------------------------------------------------------------ rules before results


def test_the_docs_rules_table_is_the_codes():
    page = (ROOT / "docs" / "verdicts.md").read_text()
    assert rules.rules_markdown() in page  # copy rules.rules_markdown() into docs/verdicts.md after a change
    kinds = {r.name for r in rules.RULES}
    assert {"closest", "ordering", "same-dataset", "asymmetry", "nas", "affinity", "benchmark"} <= kinds


def test_the_claims_read_their_thresholds_from_the_rules(monkeypatch):
    runs = runs_frame(0.05, seeds=6)
    assert claims.nas_claim("5a", "FTD", runs, "mnist-2", "mnist", "cpu").status == claims.REPRODUCED
    stricter = dataclasses.replace(rules.rule("nas"), min_seeds=7)
    monkeypatch.setitem(rules._BY_NAME, "nas", stricter)
    assert claims.nas_claim("5a", "FTD", runs, "mnist-2", "mnist", "cpu").status == claims.INCONCLUSIVE


# ------------------------------------------------------------------ the α-rank decides nothing


def test_the_alpha_rank_is_a_diagnostic_not_a_veto():
    runs = runs_frame(0.05, seeds=6, alpha_rank=-0.2)  # α does not rank; FUSE beats both baselines 6 of 6
    c = claims.nas_claim("5a", "FTD", runs, "mnist-2", "mnist", "cpu")
    assert c.status == claims.REPRODUCED
    assert "the search does not rank its candidates at this budget" in c.evidence and "diagnostic" in c.evidence
    runs.loc[runs.method == "hand-smallcnn", "test_acc"] += 0.2  # the hand-designed network better 6 of 6
    assert claims.nas_claim("5a", "FTD", runs, "mnist-2", "mnist", "cpu").status == claims.NOT_REPRODUCED


# ------------------------------------------------------------------ claims counted once on shared seeds


def _with_genotypes(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.assign(genotype=[f"{m}-{s}" for m, s in zip(runs.method, runs.seed)])


def test_8b_on_the_seeds_it_shares_with_5b_is_5b(tmp_path):
    six = _with_genotypes(runs_frame(-0.05, seeds=6))  # FUSE worse than both baselines on every seed
    three = six[six.seed < 3].reset_index(drop=True)
    for baselines, runs in (("cifar10", six), ("ldnas8", three)):
        out = paths.nas_table_outputs(tmp_path, "cpu", "cifar10-2", baselines)["runs"]
        out.parent.mkdir(parents=True, exist_ok=True)
        runs.to_csv(out, index=False)
    found = {c.number: c for c in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert found["8b"].same_runs_as == "5b"
    assert found["8b"].status == found["5b"].status == claims.NOT_REPRODUCED  # decided on all 6 seeds
    assert "of 6 seed(s)" in found["8b"].evidence
    assert "8b" not in {c.number for c in claim_list.counted(list(found.values()))}
    # a run that differs on a shared seed: two comparisons, 8b counted on its own 3 seeds
    other = three.copy()
    other.loc[0, "test_acc"] += 0.01
    assert claim_list.shared_runs(other, six) is None
    assert len(claim_list.shared_runs(three, six)) == len(six)


def test_the_claims_block_states_the_distinct_claims(tmp_path):
    text = claims_markdown(tmp_path, "cpu")
    assert "distinct claims" in text.splitlines()[0]


# ------------------------------------------------------------------ NAS below 6 seeds


def test_a_nas_comparison_at_three_seeds_is_inconclusive_and_says_how_to_add_seeds():
    runs = runs_frame(0.05, seeds=3)
    c = claims.nas_claim("8a", "log-det", runs, "mnist-3", "ldnas8", "cpu")
    assert c.status == claims.INCONCLUSIVE
    assert "3 paired seed(s) (0, 1, 2)" in c.evidence and "2 / 2^3 = 0.25" in c.evidence
    assert "--target mnist-3 --task-set ldnas8" in c.evidence and "--seeds 0 1 2 3 4 5" in c.evidence
    assert "--target mnist-3 --space full --search-only" in c.evidence  # the closest task's cells first


# ------------------------------------------------------------------ Holm over a family


def test_holm_on_a_constructed_family():
    p = [0.01, 0.04, 0.03, 0.005]
    # by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04·1) = 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(3)
    for _ in range(8):  # statsmodels takes ~0.1 s a call here
        family = rng.uniform(0, 0.3, size=rng.integers(1, 12))
        assert holm(family) == pytest.approx(list(multipletests(family, method="holm")[1]))
    assert np.isnan(holm([0.01, float("nan")])[1]) and holm([0.01, float("nan")])[0] == pytest.approx(0.01)


def _board(ps: dict[str, float]) -> pd.DataFrame:
    rows = [{"truth": "finetune", "scorer": "ftd", "metric": "weighted_tau", "mean": 0.3, "diff_vs_ftd": np.nan}]
    rows[0]["p_vs_ftd"] = np.nan
    for scorer, p in ps.items():
        rows.append(
            {"truth": "finetune", "scorer": scorer, "metric": "weighted_tau", "mean": 0.0, "diff_vs_ftd": -0.3}
            | {"p_vs_ftd": p}
        )
    return pd.DataFrame(rows)


def test_the_benchmark_verdicts_use_holm_over_ftds_comparisons():
    family = {  # the committed cpu leaderboard's p vs FTD (fine-tuning, weighted τ), rounded
        "random": 0.00574,
        "leep": 0.183,
        "logme": 0.0222,
        "ftd-body": 0.195,
        "logdet": 0.0161,
        "nce": 0.175,
        "hscore": 0.0529,
        "task2vec": 0.866,
        "source-accuracy": 0.000916,
        "same-dataset": 0.00757,
    }
    v = verdicts(_board(family))
    assert v["random"]["p_value"] == pytest.approx(0.00574) and v["random"]["family"] == 10
    assert v["random"]["p_holm"] == pytest.approx(multipletests(list(family.values()), method="holm")[1][0])
    assert v["random"]["p_holm"] == pytest.approx(9 * 0.00574)  # second smallest of ten
    assert v["random"]["verdict"] == "no evidence"  # raw p 0.0057 < 0.05, Holm 0.052 is not
    alone = verdicts(_board({"random": 0.0057, "leep": 0.18, "logme": 0.022}))
    assert alone["random"]["verdict"] == "better"  # a family of 3: Holm 0.017


# ------------------------------------------------------------------ checks of the code apart


def test_the_construction_checks_are_listed_apart_and_not_counted(tmp_path):
    run = tmp_path / "cpu" / "distances" / "smallcnn"
    run.mkdir(parents=True)
    long_frame(seeds_of(base_matrix())).to_csv(run / "mnist_frechet_empirical_long.csv", index=False)
    six = paths.distance_outputs(
        paths.margin_results(tmp_path),
        "cpu",
        "smallcnn",
        "mnist",
        "frechet",
        "empirical",
        variant=claim_list.margin_variant("cpu", "smallcnn"),
    )["long"]
    six.parent.mkdir(parents=True)
    long_frame(seeds_of(base_matrix(), n=6)).to_csv(six, index=False)  # the asymmetry claim: six seeds
    found = {c.number: c for c in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert found["C1a"].section == claims.CHECKS and found["C1a"].status == claims.PASSES
    assert found["1a"].status == claims.REPRODUCED and "d(a,a)" not in found["1a"].statement
    assert "C1a" not in {c.number for c in claim_list.counted(list(found.values()))}
    assert "Checks of the code" in claims_markdown(tmp_path, "cpu")
    broken = base_matrix()
    broken[1, 1] = 0.1  # d(a, a) != 0: a bug of the code, not a finding
    c = claims.construction_check("C1a", long_frame(seeds_of(broken)), "mnist", "cmd")
    assert c.status == claims.FAILS
