"""The benchmark judged by scope (issue 34): within the target's dataset, where "same dataset" says nothing; a
two-way bootstrap that resamples sources as well as targets; the claims B4d/B4e; ``--tables-only``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import transferability
from common.base.errors import UserError
from common.report import claims as c
from common.report.claim_list import benchmark_claims
from common.store import paths
from common.studies.paired_stats import holm
from common.transferability import scopes
from common.transferability import scorers as S
from common.transferability.benchmark import TRUTHS, metric_tables, scope_tables
from common.transferability.report import scope_verdict, write_outputs
from common.transferability.scopes import ALL_DATASETS, scoped, source_target_bootstrap
from common.transferability.truth_quality import quality_markdown, seed_to_seed_tau, truth_quality

TASKS = [f"mnist-t{i}" for i in range(6)] + [f"cifar10-t{i}" for i in range(6)]


def _pairs(seeds=(0, 1), rng_seed=0) -> pd.DataFrame:
    """12 targets in two datasets, every other task a source. Truth: a same-dataset source transfers better (+1),
    plus a per-source quality; FTD (a distance score, higher = better) follows the truth exactly, LEEP is noise."""
    rng = np.random.default_rng(rng_seed)
    quality = {t: rng.normal() * 0.3 for t in TASKS}
    rows = []
    for target in TASKS:
        for seed in seeds:
            for source in TASKS:
                if source == target:
                    continue
                same = source.split("-")[0] == target.split("-")[0]
                truth = 0.5 + 0.2 * same + 0.05 * quality[source] + 0.001 * seed
                row = {
                    "source": source,
                    "target": target,
                    "seed": seed,
                    "source_dataset": source.split("-")[0],
                    "target_dataset": target.split("-")[0],
                    **{name: float(rng.normal()) for name in S.SCORERS},
                    **{f"seconds_{name}": 0.01 for name in S.SCORERS},
                    "finetune_test_acc": truth,
                    "head_test_acc": truth,
                    "scratch_test_acc": 0.6,
                    "finetune_at_grid_edge": source == TASKS[0],
                    "head_at_grid_edge": False,
                    "finetune_at_epoch_cap": False,
                    "head_at_epoch_cap": seed == 1,
                    "protocol": "fabricated",
                }
                row["ftd"] = truth
                row["same-dataset"] = float(same)
                rows.append(row)
    return pd.DataFrame(rows)


def test_within_dataset_keeps_only_the_targets_own_dataset():
    pairs = _pairs()
    within = scoped(pairs, "within-dataset")
    assert (within.source_dataset == within.target_dataset).all() and len(within) == 12 * 2 * 5
    assert set(scoped(pairs, "other-dataset", "cifar10").target_dataset) == {"cifar10"}
    with pytest.raises(ValueError, match="unknown scope"):
        scoped(pairs, "nowhere")


def test_two_way_interval_of_a_perfect_scorer_is_one():
    low, high = source_target_bootstrap(_pairs(), "ftd", "finetune_test_acc", n_boot=30)
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)


def test_two_way_interval_widens_when_one_source_carries_the_ranking():
    """Every target's best source is the same task, and only that task's score is informative: the targets-only
    interval is narrow, but resampling the sources (the task drawn or not) widens it."""
    pairs = _pairs(seeds=(0,))
    rng = np.random.default_rng(1)
    star = pairs.source == "mnist-t0"
    pairs["finetune_test_acc"] = np.where(star, 1.0, 0.5 + 0.01 * rng.normal(size=len(pairs)))
    pairs["leep"] = np.where(star, 5.0, rng.normal(size=len(pairs)))
    pairs = pairs[pairs.target != "mnist-t0"]
    table = scopes.scope_table(
        pairs, ["ftd", "leep"], {"finetune": "finetune_test_acc"}, "ftd", n_boot=500, n_two_way=200
    )
    r = table[(table.scope == "all") & (table.target_dataset == ALL_DATASETS) & (table.scorer == "leep")]
    r = r[r.metric == "weighted_tau"].iloc[0]
    assert r["low_two_way"] < r["low"] - 0.1, r


def test_a_constant_scorer_has_no_row_within_a_dataset_and_holm_is_not_below_raw():
    table = scope_tables(_pairs(), n_boot=200, n_two_way=5)
    within = table[table.scope == "within-dataset"]
    assert "same-dataset" not in set(within.scorer) and "same-dataset" in set(table[table.scope == "all"].scorer)
    assert set(table.metric) == {"weighted_tau", "pearson", "top1_hit"}
    for (scope, dataset, truth, _), block in table.groupby(["scope", "target_dataset", "truth", "metric"]):
        family = block[block.scorer != "ftd"]  # Holm over FTD's comparisons within this block, and only those
        assert family.p_holm.tolist() == pytest.approx(holm(family.p_vs_ftd.tolist())), (scope, dataset, truth)


def _write(root, pairs, n_boot: int = 200):
    per_target, board = metric_tables(pairs, n_boot=n_boot)
    scope = scope_tables(pairs, n_boot=n_boot, n_two_way=5)
    out = paths.benchmark_outputs(root, "cpu", "transfer20")
    out["pairs"].parent.mkdir(parents=True, exist_ok=True)
    write_outputs(pairs, per_target, board, scope, truth_quality(pairs, TRUTHS), out, "fabricated")
    return out, scope


def test_claims_b4d_and_b4e_are_decided_from_the_scope_table(tmp_path):
    out, scope = _write(tmp_path, _pairs())
    v = scope_verdict(scope, "random")  # FTD follows the truth within each dataset; random does not
    assert v["verdict"] == "better" and v["ftd_mean"] == pytest.approx(1.0)
    by = {x.number: x for x in benchmark_claims(tmp_path, "cpu")}
    assert by["B4e"].status == c.REPRODUCED and "within the target's own dataset" in by["B4e"].statement
    assert by["B4d"].status == c.REPRODUCED  # FTD ranks within datasets too; same-dataset ties inside them
    assert "Within the target's dataset" in out["md"].read_text()
    out["scopes"].write_text(out["scopes"].read_text().replace("within-dataset", "all", 1))  # altered: not read
    assert {x.number: x for x in benchmark_claims(tmp_path, "cpu")}["B4e"].status == c.NOT_RUN
    out["scopes"].unlink()  # no scope table: B4e not run, the others still decided
    by = {x.number: x for x in benchmark_claims(tmp_path, "cpu")}
    assert by["B4e"].status == c.NOT_RUN and "no leaderboard by scope" in by["B4e"].evidence
    assert "transferability.py --preset cpu --tables-only`" in by["B4e"].evidence
    assert by["B4d"].status == c.REPRODUCED


def test_tables_only_remakes_the_tables_and_refuses_an_altered_pairs_table(tmp_path, monkeypatch):
    monkeypatch.setitem(scopes.TWO_WAY_BOOT, "cpu", 5)
    out, _ = _write(tmp_path, _pairs(), n_boot=2000)  # the script's bootstrap sizes
    before = out["scopes"].read_bytes()
    out["scopes"].unlink()
    transferability.main(["--preset", "cpu", "--results-dir", str(tmp_path), "--tables-only"])
    assert out["scopes"].read_bytes() == before  # the same table from the same pairs
    text = out["pairs"].read_text()
    out["pairs"].write_text(text.replace("fabricated", "edited", 1))
    with pytest.raises(UserError, match="transfer20_pairs.csv: was changed after the step that wrote it"):
        transferability.main(["--preset", "cpu", "--results-dir", str(tmp_path), "--tables-only"])
    out["pairs"].unlink()
    with pytest.raises(UserError, match="transfer20_pairs.csv: is missing; remake it: .* --preset cpu"):
        transferability.main(["--preset", "cpu", "--results-dir", str(tmp_path), "--tables-only"])


def test_the_truths_quality_shares_and_seed_to_seed_tau_by_hand():
    pairs = _pairs(seeds=(0, 1))
    q = truth_quality(pairs, TRUTHS).set_index("truth")
    n_targets = pairs.target.nunique()
    # finetune's edge flag is set on every pair whose source is TASKS[0]: (targets - 1) x 2 seeds of all pairs
    assert q.loc["finetune", "share_at_grid_edge"] == pytest.approx((n_targets - 1) * 2 / len(pairs))
    assert q.loc["head", "share_at_epoch_cap"] == pytest.approx(0.5)  # seed 1 of two
    below = (pairs["finetune_test_acc"] < 0.6).mean()
    assert q.loc["finetune", "share_below_scratch"] == pytest.approx(below) and 0 < below < 1
    # the fabricated truth differs between seeds by a constant: each target's ranking repeats exactly
    assert q.loc["finetune", "seed_to_seed_tau"] == pytest.approx(1.0)
    flipped = pairs.copy()
    odd = flipped.seed == 1
    flipped.loc[odd, "finetune_test_acc"] = -flipped.loc[odd, "finetune_test_acc"]  # seed 1 ranks in reverse
    assert seed_to_seed_tau(flipped, "finetune_test_acc").to_numpy() == pytest.approx(-1.0)
    text = "\n".join(quality_markdown(truth_quality(flipped, TRUTHS)))
    assert "Below the aim of τ ≥ 0.8: finetune;" in text and "head" not in text.split("Below the aim")[1]
