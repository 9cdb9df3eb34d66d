"""The α-rank study (issue 33, item 5): does FUSE's α order a stage's candidates like their stand-alone accuracy?"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import alpha_rank_study
from common.presets import NAS_PRESETS
from common.store import paths
from common.studies import alpha_rank as ar


def _record(alpha, acc, genotypes=("g0", "g1", "g2", "g3"), seconds=10.0):
    return {
        "alpha": list(alpha),
        "val_acc": list(acc),
        "genotypes": list(genotypes),
        "seconds": seconds,
        "provenance": {"git_commit": "abc1234"},
    }


def test_spearman_of_alpha_against_the_stand_alone_truth_not_the_mixture(monkeypatch):
    """Per (target, seed, budget): α against the candidates trained *alone* at the largest budget; the accuracies
    inside the mixture give the second, diagnostic Spearman. Constructed so that the two disagree."""
    monkeypatch.setitem(ar.BUDGETS, "smoke", ((10, 1), (20, 1)))
    small, large = ar.budgets("smoke")
    alone = _record([float("nan")] * 4, [0.1, 0.2, 0.3, 0.4])
    records = {
        ("t", 0, small, "fuse"): _record([0.0, 1.0, 2.0, 3.0], [0.4, 0.3, 0.2, 0.1]),  # truth +1, mixture -1
        ("t", 0, large, "fuse"): _record([3.0, 2.0, 1.0, 0.0], [0.4, 0.3, 0.2, 0.1]),  # truth -1, mixture +1
        ("t", 0, large, "alone"): alone,
    }
    rows = ar.rank_rows(records, "smoke").set_index("images")
    assert rows.loc[10, "rho_alone"] == pytest.approx(1.0) and rows.loc[10, "rho_mixture"] == pytest.approx(-1.0)
    assert rows.loc[20, "rho_alone"] == pytest.approx(-1.0) and rows.loc[20, "rho_mixture"] == pytest.approx(1.0)
    # the truth must be the same candidates: another draw is refused, not silently compared
    records["t", 0, large, "alone"] = _record([float("nan")] * 4, [0.1, 0.2, 0.3, 0.4], genotypes=("x",) * 4)
    with pytest.raises(ValueError, match="not the stage's"):
        ar.rank_rows(records, "smoke")


def test_bootstrap_interval_agrees_with_scipy():
    values = [0.9, 0.2, 0.6, 0.75, 0.4, 0.85]
    low, high = ar.bootstrap_interval(values)
    ref = stats.bootstrap((np.array(values),), np.mean, method="percentile", n_resamples=10_000, random_state=1)
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.02)
    assert ar.bootstrap_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert all(np.isnan(ar.bootstrap_interval([0.3, float("nan")])))


@pytest.mark.parametrize(
    "mean, low, expected",
    [
        (0.8, 0.55, "ranks"),
        (0.8, 0.5, "ranks"),
        (0.7, 0.2, "not shown (interval below 0.5)"),
        (0.3, 0.1, "does not rank"),
    ],
)
def test_the_rule_fixed_before_the_results(mean, low, expected):
    assert ar.verdict(mean, low) == expected


def test_curve_scales_the_stage_to_the_presets_whole_search():
    """The cpu search (3 stages of 3 candidates) trains 9 candidate-stages, 1.5x the study's stage of 6."""
    rows = pd.DataFrame(
        {"images": [320] * 3, "epochs": [1] * 3, "rho_alone": [0.6, 0.7, 0.8], "rho_mixture": [0.1] * 3}
        | {"stage_seconds": [60.0, 60.0, 60.0]}
    )
    out = ar.curve(rows, NAS_PRESETS["cpu"]).iloc[0]
    assert out.search_minutes == pytest.approx(1.5) and out.units == 3 and out.rho_alone == pytest.approx(0.7)


def test_study_end_to_end_same_candidates_and_resumes(data_root, tmp_path, monkeypatch, capsys):
    """Tiny budgets on fabricated data: the stand-alone stage trains exactly the FUSE stage's candidates, the long
    CSV's Spearmans are those of the records, the figure and the Markdown are written, and a rerun computes nothing."""
    monkeypatch.setitem(ar.BUDGETS, "smoke", ((16, 1), (32, 1)))
    monkeypatch.setitem(ar.VAL_IMAGES, "smoke", 16)
    argv = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path), "--tasks", "mnist-2"]
    alpha_rank_study.main([*argv, "--seeds", "0", "1"])
    assert "6 stage(s) computed now" in capsys.readouterr().out
    out = paths.alpha_rank_outputs(tmp_path, "smoke")
    long = pd.read_csv(out["long"])
    assert out["png"].stat().st_size > 0 and long.rho_alone.notna().all()
    for seed in (0, 1):
        alone = json.loads(
            paths.alpha_rank_record_path(tmp_path, "smoke", "mnist-2", seed, 32, 1, "alone").read_text()
        )["value"]
        for images in (16, 32):
            record = paths.alpha_rank_record_path(tmp_path, "smoke", "mnist-2", seed, images, 1, "fuse")
            fused = json.loads(record.read_text())["value"]
            assert fused["genotypes"] == alone["genotypes"] and len(set(fused["genotypes"])) > 1
            assert len(fused["genotypes"]) == ar.CANDIDATES and fused["n_train"] == images
            with np.errstate(all="ignore"):
                truth = stats.spearmanr(fused["alpha"], alone["val_acc"]).statistic
                mixture = stats.spearmanr(fused["alpha"], fused["val_acc"]).statistic
            row = long[(long.seed == seed) & (long.images == images)]
            # a stage whose accuracies are all equal has no Spearman: left out of the CSV, never written as NaN
            assert len(row) == (not (np.isnan(truth) or np.isnan(mixture)))
            if len(row):
                assert row.rho_alone.iloc[0] == pytest.approx(truth)
                assert row.rho_mixture.iloc[0] == pytest.approx(mixture)
    assert "α-rank study" in out["md"].read_text()
    alpha_rank_study.main([*argv, "--seeds", "0", "1"])
    assert "0 stage(s) computed now, 6 read from earlier runs" in capsys.readouterr().out


def test_one_unit_is_one_error_line(data_root, tmp_path, capsys):
    from common.base.errors import UserError

    argv = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path)]
    with pytest.raises(UserError, match="at least two"):
        alpha_rank_study.main([*argv, "--tasks", "mnist-2", "--seeds", "0"])
