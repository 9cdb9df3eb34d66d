"""The transferability scorers and metrics (common/transferability), each against an independent reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from threadpoolctl import threadpool_limits

from common.transferability import metrics as M
from common.transferability import scorers as S


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # tiny matrices: a second BLAS thread only fights the other processes for the cores (100x slower SVDs)
    with threadpool_limits(limits=1):
        yield


# ------------------------------------------------------------------------------------------------ LEEP, NCE

# The 4-sample LEEP example: 2 source classes z, 2 target classes y.
LEEP_PROBS = [[3 / 4, 1 / 4], [1 / 2, 1 / 2], [1 / 4, 3 / 4], [0, 1]]
LEEP_LABELS = [0, 0, 1, 1]


def test_leep_matches_the_hand_computed_example():
    # joint P(y, z) = 1/4 sum_i theta_iz 1[y_i = y]:
    #   y=0: z0 (3/4 + 1/2)/4 = 5/16   z1 (1/4 + 1/2)/4 = 3/16
    #   y=1: z0 (1/4 + 0)/4   = 1/16   z1 (3/4 + 1)/4   = 7/16
    # P(z0) = 6/16, P(z1) = 10/16 -> P(0|z0) = 5/6, P(1|z0) = 1/6, P(0|z1) = 3/10, P(1|z1) = 7/10
    # sum_z P(y_i|z) theta_iz:
    #   i0 (y=0): 5/6 * 3/4 + 3/10 * 1/4 = 75/120 + 9/120 = 7/10
    #   i1 (y=0): 5/6 * 1/2 + 3/10 * 1/2 = 17/30
    #   i2 (y=1): 1/6 * 1/4 + 7/10 * 3/4 = 5/120 + 63/120 = 17/30
    #   i3 (y=1): 1/6 * 0   + 7/10 * 1   = 7/10
    per_sample = [Fraction(7, 10), Fraction(17, 30), Fraction(17, 30), Fraction(7, 10)]
    expected = sum(math.log(v) for v in per_sample) / 4
    assert S.leep(LEEP_PROBS, LEEP_LABELS) == pytest.approx(expected, abs=1e-12)
    # the seeded bug "the joint P(y, z) in place of the conditional P(y|z)" gives another number:
    # i0: 5/16 * 3/4 + 3/16 * 1/4 = 18/64, i1: 8/32, i2: 1/16 * 1/4 + 7/16 * 3/4 = 22/64, i3: 7/16
    with_joint = sum(math.log(v) for v in [Fraction(18, 64), Fraction(8, 32), Fraction(22, 64), Fraction(7, 16)]) / 4
    assert abs(with_joint - expected) > 0.1


def test_nce_matches_the_hand_computed_example():
    probs = [[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8]]  # argmax z = 0, 0, 0, 1
    labels = [0, 1, 0, 1]
    # joint counts / 4: (y0, z0) = 2/4, (y1, z0) = 1/4, (y1, z1) = 1/4; P(z0) = 3/4, P(z1) = 1/4
    # P(y0|z0) = 2/3, P(y1|z0) = 1/3, P(y1|z1) = 1
    # -H(Y|Z) = sum P(y, z) log P(y|z) = 1/2 log(2/3) + 1/4 log(1/3) + 1/4 log 1
    expected = 0.5 * math.log(Fraction(2, 3)) + 0.25 * math.log(Fraction(1, 3))
    assert S.nce(probs, labels) == pytest.approx(expected, abs=1e-12)
    # seeded bug "log of the joint": 1/2 log(1/2) + 1/4 log(1/4) + 1/4 log(1/4) (= -H(Y, Z)) differs
    assert abs((0.5 * math.log(0.5) + 0.5 * math.log(0.25)) - expected) > 0.1


def test_a_source_whose_labels_are_a_bijection_of_the_target_scores_zero():
    y = np.array([0, 1, 2, 2, 1, 0, 2, 0])
    perm = np.array([2, 0, 1])  # source class = perm[target class]
    probs = np.eye(3)[perm[y]]  # one-hot, perfectly informative
    assert S.nce(probs, y) == pytest.approx(0.0, abs=1e-12)
    assert S.leep(probs, y) == pytest.approx(0.0, abs=1e-12)
    # an uninformative source is strictly worse on both
    flat = np.full((8, 3), 1 / 3)
    assert S.leep(flat, y) < -0.5 and S.nce(flat, y) < -0.5


def test_leep_and_nce_do_not_depend_on_the_order_of_the_source_classes():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(40, 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, size=40)
    cols = [3, 0, 4, 1, 2]
    assert S.leep(probs[:, cols], y) == pytest.approx(S.leep(probs, y), abs=1e-12)
    assert S.nce(probs[:, cols], y) == pytest.approx(S.nce(probs, y), abs=1e-12)
    assert S.leep(probs, y) <= 0 and S.nce(probs, y) <= 0


# ------------------------------------------------------------------------------------------------ LogME


def _direct_log_evidence(f, y, alpha, beta):
    """log p(y | F, alpha, beta), the closed form straight from its definition (no SVD)."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    _, logdet = np.linalg.slogdet(a)
    return (
        n / 2 * math.log(beta)
        + d / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * float(np.sum((f @ m - y) ** 2))
        - alpha / 2 * float(m @ m)
        - logdet / 2
    )


def _features(n, d, seed, signal=3.0, offset=0.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    f = rng.normal(size=(n, d))
    f[:, 0] += signal * (y == 0)
    f[:, 1] += signal * (y == 1)
    return f + offset, y


def _profiled_direct(f, y, t):
    """The direct evidence at alpha = t beta with beta maximising it: beta = n / (||F m - y||^2 + t m^T m)."""
    n, d = f.shape
    m = np.linalg.solve(t * np.eye(d) + f.T @ f, f.T @ y)  # m does not depend on beta for a fixed t
    beta = n / (float(np.sum((f @ m - y) ** 2)) + t * float(m @ m))
    return _direct_log_evidence(f, y, t * beta, beta) / n


# each case reaches one of logme_fit's ways to the maximum: MacKay converging, its equation solved by brentq,
# the supremum at alpha -> inf (features explaining nothing), the supremum at beta -> inf (n < D, y interpolated)
@pytest.mark.parametrize(
    "n, d, seed, signal, offset, method",
    [
        (200, 5, 0, 3.0, 0.5, "fixed-point"),
        (40, 60, 2, 3.0, 0.5, "root"),
        (100, 4, 2, 0.0, 0.0, "limit"),
        (30, 60, 7, 3.0, 0.5, "limit-noise-free"),
    ],
)
def test_logme_equals_the_direct_evidence_at_its_maximum(n, d, seed, signal, offset, method):
    f, labels = _features(n, d, seed, signal, offset)
    fit = S.logme_fit(f, labels)
    assert method in fit.method
    assert S.logme(f, labels) == pytest.approx(np.mean(fit.evidences), abs=1e-12)
    sigma_min = float(np.linalg.svd(f, compute_uv=False).min() ** 2)
    for c, alpha, beta, ev, how in zip(fit.classes, fit.alphas, fit.betas, fit.evidences, fit.method):
        y = (labels == c).astype(np.float64)
        if how == "limit":  # no interior maximum: the evidence rises towards alpha -> inf, to the value used
            values = [_direct_log_evidence(f, y, a, n / float(y @ y)) / n for a in (1e2, 1e4, 1e6, 1e8)]
            assert all(np.diff(values) > -1e-9) and values[-1] == pytest.approx(ev, abs=1e-6)
            continue
        if how == "limit-noise-free":  # rises as t = alpha / beta -> 0, to the value used
            values = [_profiled_direct(f, y, k * sigma_min) for k in (1e-1, 1e-3, 1e-5, 1e-7)]
            assert all(np.diff(values) > -1e-9) and values[-1] == pytest.approx(ev, abs=1e-5)
            continue
        direct = _direct_log_evidence(f, y, alpha, beta)
        assert ev == pytest.approx(direct / n, rel=1e-9, abs=1e-9)  # divided by n, as LogME reports
        for fa, fb in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95), (1.05, 1.05), (0.95, 0.95)]:
            assert _direct_log_evidence(f, y, alpha * fa, beta * fb) < direct  # perturbing lowers the evidence
        # MacKay's equations hold there: alpha = gamma / m^T m, beta = (n - gamma) / ||F m - y||^2
        a = alpha * np.eye(d) + beta * f.T @ f
        m = beta * np.linalg.solve(a, f.T @ y)
        eig = np.linalg.eigvalsh(beta * f.T @ f)
        gamma = float(np.sum(eig / (alpha + eig)))
        assert alpha == pytest.approx(gamma / float(m @ m), rel=1e-6)
        assert beta == pytest.approx((n - gamma) / float(np.sum((f @ m - y) ** 2)), rel=1e-6)


def test_logme_prefers_informative_features():
    f, y = _features(150, 6, 4, signal=4.0)
    noise = np.random.default_rng(5).normal(size=f.shape)
    assert S.logme(f, y) > S.logme(noise, y)


# ------------------------------------------------------------------------------------------------ H-score


def test_hscore_matches_a_hand_example_and_a_direct_computation():
    # 1-D: f = 0, 2, 4, 6 with classes 0, 0, 1, 1. mean 3, var(f) = (9 + 1 + 1 + 9)/4 = 5; class means 1, 5 so
    # E[f|y] = 1, 1, 5, 5 with variance 4: H = 4/5.
    assert S.hscore([[0.0], [2.0], [4.0], [6.0]], [0, 0, 1, 1], shrinkage=False) == pytest.approx(0.8, abs=1e-12)
    rng = np.random.default_rng(6)
    f = rng.normal(size=(12, 3)) + 2.0
    y = np.array([0, 1, 2] * 4)
    g = np.zeros_like(f)
    for c in range(3):
        g[y == c] = f[y == c].mean(axis=0)
    expected = np.trace(np.linalg.pinv(np.cov(f, rowvar=False)) @ np.cov(g, rowvar=False))
    assert S.hscore(f, y, shrinkage=False) == pytest.approx(expected, rel=1e-10)


def test_regularised_hscore_uses_ledoit_wolf_and_reduces_to_the_plain_one():
    from sklearn.covariance import LedoitWolf

    rng = np.random.default_rng(7)
    y = rng.integers(0, 4, size=300)
    f = rng.normal(size=(300, 6)) + 0.7 * y[:, None] * np.linspace(0, 1, 6) + 10.0  # far from centred
    plain = S.hscore(f, y, shrinkage=False)
    assert S.hscore(f, y, shrinkage=1e-12) == pytest.approx(plain, rel=1e-9)  # shrinkage -> 0
    # reference: sklearn's Ledoit-Wolf on the raw features, H_a = tr(cov_a^-1 (1 - a) cov(E[f|y])) with 1/n
    lw = LedoitWolf().fit(f)
    fc = f - f.mean(axis=0)
    g = np.zeros_like(fc)
    for c in np.unique(y):
        g[y == c] = fc[y == c].mean(axis=0)
    expected = np.trace(np.linalg.inv(lw.covariance_) @ ((1 - lw.shrinkage_) * g.T @ g / len(f)))
    assert S.hscore(f, y) == pytest.approx(expected, rel=1e-9)
    assert S.hscore(f, y, shrinkage=float(lw.shrinkage_)) == pytest.approx(expected, rel=1e-9)
    # n >> D: Ledoit-Wolf barely shrinks and the regularised score is close to the plain one
    big_y = rng.integers(0, 3, size=5000)
    big_f = rng.normal(size=(5000, 3)) + big_y[:, None] * np.array([1.0, 0.5, 0.0])
    assert S.hscore(big_f, big_y) == pytest.approx(S.hscore(big_f, big_y, shrinkage=False), rel=0.01)


# ------------------------------------------------------------------------------------------------ Task2Vec


def test_task2vec_distance_properties():
    e = np.array([0.5, 2.0, 1e-3, 4.0])
    other = np.array([1.0, 0.1, 3.0, 0.2])
    assert S.task2vec_distance(e, e) == pytest.approx(0.0, abs=1e-12)
    # e_a / (e_a + e_b) with e_b = c e_a is the constant 1/(1 + c): the cosine ignores a global scale between tasks
    assert S.task2vec_distance(e, 3.0 * e) == pytest.approx(0.0, abs=1e-12)
    # a common scale cancels in the normalisation: Fishers of another magnitude give the same distance
    assert S.task2vec_distance(1e-9 * e, 1e-9 * other) == pytest.approx(S.task2vec_distance(e, other), rel=1e-12)
    assert S.task2vec_distance(e, other) == pytest.approx(S.task2vec_distance(other, e), rel=1e-12)
    assert S.task2vec_distance([1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 1.0]) == pytest.approx(1.0, abs=1e-12)
    # hand value: a = (1, 1), b = (1, 3): h_a = (1/2, 1/4), h_b = (1/2, 3/4), cos = (7/16) / sqrt(5/16 * 13/16)
    assert S.task2vec_distance([1.0, 1.0], [1.0, 3.0]) == pytest.approx(1 - 7 / math.sqrt(65), abs=1e-12)
    with pytest.raises(ValueError, match="negative"):
        S.task2vec_distance([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="all zero"):
        S.task2vec_distance([0.0, 0.0], [1.0, 1.0])


# ------------------------------------------------------------------------------------------------ the registry


def _pair_inputs():
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(30, 4))
    labels = rng.integers(0, 3, size=30)
    feats = rng.normal(size=(30, 5)) + labels[:, None]
    return {
        "probs": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
        "labels": labels,
        "features": feats,
        "ftd": 0.25,
        "ftd_body": 0.5,
        "logdet": 3.0,
        "task2vec_a": rng.uniform(size=10),
        "task2vec_b": rng.uniform(size=10),
        "probe_features_a": feats,
        "probe_labels_a": labels,
        "probe_features_b": feats[:20] + 1.0,
        "probe_labels_b": labels[:20],
        "source_accuracy": 0.9,
        "source_dataset": "cifar10",
        "target_dataset": "cifar100",
        "seed": 0,
        "source": "cifar10-task0",
        "target": "cifar100-task3",
    }


def test_every_registry_entry_is_callable_through_score_with_the_sign_convention():
    inputs = _pair_inputs()
    expected_names = {"ftd", "ftd-body", "logdet", "leep", "nce", "logme", "hscore", "task2vec"}
    peers = {"transrate", "gbc", "otdd"}
    assert expected_names | peers | {"source-accuracy", "same-dataset", "random"} == set(S.SCORERS)
    for name, scorer in S.SCORERS.items():
        value = S.score(name, inputs)
        assert isinstance(value, float) and math.isfinite(value), name
        assert scorer.needs in S.NEEDS and scorer.citation
        assert set(scorer.keys) <= set(inputs)
    assert S.score("ftd", inputs) == -0.25 and S.score("ftd-body", inputs) == -0.5 and S.score("logdet", inputs) == -3.0
    t2v = S.task2vec_distance(inputs["task2vec_a"], inputs["task2vec_b"])
    assert S.score("task2vec", inputs) == pytest.approx(-t2v)
    assert S.score("leep", inputs) == S.leep(inputs["probs"], inputs["labels"])
    assert S.score("transrate", inputs) == S.transrate(inputs["features"], inputs["labels"])  # higher = better
    assert S.score("gbc", inputs) == S.gbc(inputs["features"], inputs["labels"])
    d = S.otdd(
        inputs["probe_features_a"], inputs["probe_labels_a"], inputs["probe_features_b"], inputs["probe_labels_b"]
    )
    assert d > 0 and S.score("otdd", inputs) == -d  # a distance: negated
    assert S.score("source-accuracy", inputs) == 0.9 and S.score("same-dataset", inputs) == 0.0
    assert S.score("same-dataset", {**inputs, "target_dataset": "cifar10"}) == 1.0
    r = S.score("random", inputs)
    assert 0 <= r < 1 and r == S.random_score(0, "cifar10-task0", "cifar100-task3")  # deterministic
    assert r != S.random_score(1, "cifar10-task0", "cifar100-task3") != S.random_score(0, "x", "cifar100-task3")


def test_a_missing_input_raises_naming_it():
    inputs = _pair_inputs()
    for name, scorer in S.SCORERS.items():
        for key in scorer.keys:
            with pytest.raises(ValueError, match=f"{name}: missing input '{key}'"):
                S.score(name, {k: v for k, v in inputs.items() if k != key})
    with pytest.raises(ValueError, match="unknown scorer"):
        S.score("nope", inputs)


def test_bad_inputs_raise_one_line_value_errors():
    probs, labels, feats = _pair_inputs()["probs"], _pair_inputs()["labels"], _pair_inputs()["features"]
    cases = [
        (S.leep, (probs, labels[:-1]), "entries"),
        (S.leep, (probs, -labels - 1), ">= 0"),
        (S.leep, (probs, labels + 0.5), "integer"),
        (S.leep, (probs * 2, labels), "sum to 1"),
        (S.nce, (probs[:1], labels[:1]), "at least 2"),
        (S.logme, (np.where(feats > 2, np.nan, feats), labels), "NaN"),
        (S.hscore, (feats[:, 0], labels), "2-D"),
        (S.hscore, (feats, labels, 1.5), "shrinkage"),
        (S.source_accuracy, (float("nan"),), "finite"),
        (S.logme, (np.zeros((5, 3)), np.arange(5) % 2), "all zero"),
    ]
    for fn, args, match in cases:
        with pytest.raises(ValueError, match=match) as info:
            fn(*args)
        assert "\n" not in str(info.value)


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    inputs = _pair_inputs()
    t_probs = torch.tensor(inputs["probs"], dtype=torch.float64, requires_grad=True)
    assert S.leep(t_probs, torch.tensor(inputs["labels"])) == pytest.approx(S.leep(inputs["probs"], inputs["labels"]))
    assert S.logme(torch.tensor(inputs["features"]), inputs["labels"]) == pytest.approx(
        S.logme(inputs["features"], inputs["labels"])
    )


# ------------------------------------------------------------------------------------------------ metrics


def test_rank_metrics_against_scipy():
    scores = np.array([0.1, 0.4, 0.35, 0.8, -0.2, 0.5])
    truth = np.array([0.60, 0.71, 0.65, 0.90, 0.55, 0.66])
    assert M.weighted_tau(scores, truth) == scipy.stats.weightedtau(scores, truth, rank=True).statistic
    assert M.pearson(scores, truth) == pytest.approx(scipy.stats.pearsonr(scores, truth).statistic)
    assert M.spearman(scores, truth) == pytest.approx(scipy.stats.spearmanr(scores, truth).statistic)
    assert M.weighted_tau(truth**3, truth) == pytest.approx(1.0)  # the same ordering
    assert M.weighted_tau(-truth, truth) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="constant"):
        M.weighted_tau(np.ones(6), truth)


def test_top1_hit_and_regret_with_ties():
    truth = np.array([0.9, 0.9, 0.5, 0.7])
    assert M.top1_hit([0.0, 1.0, 0.2, 0.3], truth) == 1.0  # picks source 1, tied best in truth
    assert M.top1_hit([1.0, 0.0, 0.2, 0.3], truth) == 1.0  # or source 0
    assert M.top1_hit([0.0, 0.1, 0.9, 0.3], truth) == 0.0
    assert M.top1_regret([0.0, 0.1, 0.9, 0.3], truth) == pytest.approx(0.4)
    assert M.top1_regret([0.0, 1.0, 0.2, 0.3], truth) == 0.0
    assert M.top1_hit([1.0, 0.0, 1.0, 0.3], truth) == 0.5  # a tie for the best score: the mean over the tied


def test_bootstrap_mean_is_two_level_and_contains_the_mean():
    rng = np.random.default_rng(9)
    values = {f"t{i}": list(rng.normal(0.3 + 0.05 * i, 0.1, size=3)) for i in range(8)}
    mean, low, high = M.bootstrap_mean(values, n_boot=2000, seed=0)
    assert mean == pytest.approx(np.mean([np.mean(v) for v in values.values()]))
    assert low < mean < high
    assert M.bootstrap_mean(values, n_boot=2000, seed=0) == (mean, low, high)  # seeded
    assert M.bootstrap_mean({"a": [0.5, 0.5], "b": [0.5], "c": [0.5, 0.5, 0.5]}) == (0.5, 0.5, 0.5)
    # targets weigh equally whatever their seed counts
    assert M.bootstrap_mean({"a": [0.0, 0.0, 0.0, 0.0], "b": [1.0]}, n_boot=10)[0] == 0.5
    # one target: only its seeds vary, so a one-level (targets only) bootstrap would give zero width
    _, lo1, hi1 = M.bootstrap_mean({"only": [0.1, 0.5, 0.9]}, n_boot=500)
    assert hi1 - lo1 > 0.1
    # one seed each: only the targets vary
    _, lo2, hi2 = M.bootstrap_mean({"a": [0.1], "b": [0.5], "c": [0.9]}, n_boot=500)
    assert hi2 - lo2 > 0.1
    # NaN are dropped, never counted as 0
    assert M.bootstrap_mean({"a": [0.4, float("nan")], "b": [float("nan")], "c": [0.6]})[0] == pytest.approx(0.5)


def test_paired_sign_flip_test_is_exact():
    three = M.paired_scorer_test({"a": [0.3], "b": [0.1, 0.2], "c": [0.5]}, {"a": [0.0], "b": [0.0], "c": [0.1]})
    assert three["p_value"] == 0.25 and three["min_p"] == 0.25 and three["n_targets"] == 3  # 2 of 8 patterns
    assert three["mean_diff"] == pytest.approx((0.3 + 0.15 + 0.4) / 3)
    six = M.paired_scorer_test({i: [0.1 * i + 0.05] for i in range(6)}, {i: [0.0] for i in range(6)})
    assert six["p_value"] == 2 / 64 and six["min_p"] == 2 / 64
    d = np.array([0.3, -0.1, 0.2, 0.5, 0.05, -0.25, 0.15])
    ref = scipy.stats.permutation_test(
        (d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=np.inf
    ).pvalue
    mixed = M.paired_scorer_test({i: [v] for i, v in enumerate(d)}, {i: [0.0] for i in range(7)})
    assert mixed["p_value"] == pytest.approx(ref, abs=1e-12) and "exact" in mixed["test"]
    twenty = M.paired_scorer_test({i: [1.0 + i] for i in range(20)}, {i: [0.0] for i in range(20)})
    assert twenty["p_value"] == 2 / 2**20 and "exact" in twenty["test"]  # 2^16 x 2^4 halves, still exact
    d18 = np.random.default_rng(3).normal(0.6, 1.0, size=18)
    ref18 = scipy.stats.permutation_test(
        (d18,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=np.inf
    ).pvalue
    split = M.paired_scorer_test({i: [v] for i, v in enumerate(d18)}, {i: [0.0] for i in range(18)})
    assert split["p_value"] == pytest.approx(ref18, abs=1e-12) and 1e-4 < ref18 < 0.9
    many = M.paired_scorer_test({i: [1.0 + i] for i in range(24)}, {i: [0.0] for i in range(24)})
    assert many["p_value"] < 1e-4 and "Monte Carlo" in many["test"]
    assert M.paired_scorer_test({"a": [1.0]}, {"b": [1.0]})["n_targets"] == 0


def _benchmark_frame():
    rng = np.random.default_rng(10)
    rows = []
    for t in range(4):
        for seed in range(2):
            truth = rng.uniform(0.5, 0.9, size=5)
            for s in range(5):
                rows.append(
                    {
                        "target": f"t{t}",
                        "seed": seed,
                        "source": f"s{s}",
                        "accuracy": truth[s],
                        "ftd": truth[s] + rng.normal(0, 0.05),
                        "good": truth[s],
                        "const": 1.0,
                        "partly": 0.0 if t == 0 else -truth[s],
                    }
                )
    return pd.DataFrame(rows)


def test_constant_scores_are_recorded_missing_and_excluded_from_the_means():
    long = M.per_target_metrics(_benchmark_frame(), ["ftd", "good", "const", "partly"], "accuracy")
    assert set(long.columns) >= {"target", "seed", "scorer", "metric", "value", "excluded", "n_sources"}
    assert len(long) == 4 * 2 * 4 * len(M.METRICS)
    const = long[long["scorer"] == "const"]
    assert const["value"].isna().all() and (const["excluded"] == "constant score").all()
    good = long[(long["scorer"] == "good") & (long["metric"] == "weighted_tau")]
    assert np.allclose(good["value"], 1.0) and (good["excluded"] == "").all()
    board = M.leaderboard(long, n_boot=200, seed=0)
    row = board.set_index(["scorer", "metric"])
    assert row.loc[("const", "spearman"), "n_excluded"] == 8 and row.loc[("const", "spearman"), "n_targets"] == 0
    assert math.isnan(row.loc[("const", "spearman"), "mean"])  # never 0
    # "partly" is constant on t0 (2 seeds excluded) and perfectly reversed elsewhere: the mean is -1, not -0.75
    assert row.loc[("partly", "spearman"), "n_excluded"] == 2 and row.loc[("partly", "spearman"), "n_targets"] == 3
    assert row.loc[("partly", "spearman"), "mean"] == pytest.approx(-1.0)
    assert row.loc[("good", "top1_hit"), "mean"] == 1.0 and row.loc[("good", "top1_regret"), "mean"] == 0.0
    assert board[board["scorer"] == "ftd"]["p_vs_ftd"].isna().all()
    p_good = row.loc[("good", "spearman"), "p_vs_ftd"]
    assert 2 / 2**4 <= p_good <= 1  # 4 targets: never below 1/8
    # constant truth is excluded too
    frame = _benchmark_frame().assign(accuracy=0.7)
    flat = M.per_target_metrics(frame, ["good"], "accuracy")
    assert flat["value"].isna().all() and (flat["excluded"] == "constant truth").all()
