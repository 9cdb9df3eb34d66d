"""Issue 32: the FTD paper's networks on a preset's budget (common/network_budgets.py) and their sections of
reproduce.py (``arch-<network>``): the budget replaces images and epochs, never the architecture; a section
runs end to end on fabricated data and a second run computes nothing; the claims carry their budget; the
step-1 table holds every network to its "learned its task" floor."""

from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import base_matrix, long_frame, seeds_of

import reproduce
from common import steps as reproduce_plan
from common.experiments import PAPER_NETWORKS
from common.network_budgets import LEARNED_SHARE, NETWORK_BUDGETS
from common.networks import models
from common.presets import fisher_config, train_config
from common.report import claim_list, claims
from common.report.tables import learned_floors, train_markdown
from common.store import paths


def test_a_network_budget_cuts_images_and_epochs_not_the_architecture():
    small = train_config("cpu", "cifar10")
    for net in PAPER_NETWORKS:
        cfg = train_config("cpu", "cifar10", arch=net)
        budget = NETWORK_BUDGETS["cpu"][net]["cifar"]
        assert cfg.arch == net and cfg.max_train == budget["max_train"] and cfg.epochs == budget["epochs"]
        assert cfg.lr_schedule == small.lr_schedule and not cfg.augment  # pilots: crop + flip slow 3 epochs
        assert fisher_config("cpu", arch=net).samples < fisher_config("cpu").samples
    # flags still win over the budget, and the default network keeps the preset's config
    assert train_config("cpu", "mnist", arch="vgg16", epochs=7).epochs == 7
    assert train_config("cpu", "mnist", arch="smallcnn") == train_config("cpu", "mnist")
    assert fisher_config("cpu", samples=50, arch="vgg16").samples == 50
    # the paper preset trains every network on the whole data
    assert train_config("paper", "mnist", arch="resnet18").max_train is None


def test_every_paper_network_has_a_section_outside_the_core():
    for net in PAPER_NETWORKS:
        section = f"arch-{net}"
        assert section in reproduce_plan.SECTIONS and section in reproduce_plan.OPT_IN_SECTIONS
        steps = [s for s in reproduce_plan.STEPS if s.section == section]
        scripts = [s.script for s in steps]
        assert scripts.count("train_task_mnist") == scripts.count("train_task_cifar") == 1
        assert scripts.count("noise_floor") == 2 and scripts[-1] == "noise_floor"  # the twins last
        assert scripts.index("consistency_study") == len(scripts) - 3  # the orderings before the twins
        matrices = [s.argv for s in steps if s.script == "fisher_distance"]
        assert len(matrices) == 10 and all(a[a.index("--arch") + 1] == net for a in matrices)
        for flag in ("body", "permuted", "shuffled", "cross-seed"):
            assert sum(flag in a for a in matrices) == 2, flag


@pytest.mark.parametrize("net", PAPER_NETWORKS)
def test_each_network_section_runs_end_to_end_and_resumes(net, data_root, tmp_path, capsys, monkeypatch):
    """Section arch-<net> on the smoke budget (32 images, 1 epoch, Fishers of 8): both task sets' training, the
    10 matrices and both noise floors, then a rerun that computes nothing (the other two networks: their MNIST
    training, plain, body-only and cross-seed matrices, without the rerun). The network's builder is the small
    CNN here (the real VGG-16's Fishers take minutes even at 8 samples: 59 MB each); the real builders and
    their heads are tested in tests/test_init_protocol.py."""
    monkeypatch.setitem(models.NETWORKS, net, models.small_cnn)
    steps = [s for s in reproduce_plan.STEPS if s.section == f"arch-{net}"]
    assert len(steps) == 15
    labels = ("mnist", "cifar10")
    if net != PAPER_NETWORKS[0]:  # the others: the MNIST half without its label controls' Fishers and twins (the
        labels = ("mnist",)  # suite's 10 minutes; the same code as the first network's, another --arch)
        steps = [
            s
            for s in steps
            if (s.datasets == ("mnist",) and s.script != "noise_floor" and "label-" not in s.name)
            or s.script == "consistency_study"
        ]
        monkeypatch.setattr(reproduce_plan, "STEPS", tuple(steps))
        monkeypatch.setattr(reproduce, "STEPS", reproduce_plan.STEPS)
    results = tmp_path / "results"
    args = ["--data-root", str(data_root), "--results-dir", str(results), "--sections", f"arch-{net}"]
    reproduce.main(args)
    out = capsys.readouterr().out
    assert out.count(": done in") == len(steps), out
    distances = paths.run_dir(results, "smoke") / "distances" / net
    for label in labels:
        full = net == PAPER_NETWORKS[0]
        for suffix in ("", "_body", "_cross-seed", *(("_labels-permuted", "_labels-shuffled") if full else ())):
            long = pd.read_csv(distances / f"{label}_frechet_empirical{suffix}_long.csv")
            assert long.distance.notna().all() and long.seed.nunique() == 1 and (long.samples == 8).all()
        if full:
            floor = paths.study_outputs(results, "smoke", net, f"noise_floor_{label}")["csv"]
            assert pd.read_csv(floor).notna().any().any()
    metrics = pd.read_csv(paths.train_metrics_csv(results, "smoke"))
    ours = metrics[metrics.arch == net]
    assert len(ours[ours.sgd_seed == ours.seed]) == 4 * len(labels) and (ours.n_train <= 32).all()
    if net != PAPER_NETWORKS[0]:
        return
    reproduce.main(args)  # resume: nothing computed
    out = capsys.readouterr().out
    assert out.count("everything reused") == len(steps) - 1, out  # the orderings table is rewritten


def _write_matrix(root, arch: str, long: pd.DataFrame, variant: str = "", preset: str = "cpu") -> None:
    path = paths.distance_outputs(root, preset, arch, "mnist", "frechet", "empirical", variant=variant)["long"]
    path.parent.mkdir(parents=True, exist_ok=True)
    long.to_csv(path, index=False)


def _write_metrics(root, seeds: int, vgg16_accuracy: float = 0.95, preset: str = "cpu") -> list[dict]:
    rows = [
        {"task": t, "arch": arch, "seed": s, "sgd_seed": s, "test_acc": acc, "epochs": 3, "n_train": n}
        for t in ("mnist-0", "mnist-1", "mnist-2", "mnist-3")
        for arch, acc, n in (("smallcnn", 0.99, 12000), ("vgg16", vgg16_accuracy, 600))
        for s in range(seeds)
    ]
    path = paths.train_metrics_csv(root, preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return rows


def test_claims_of_a_paper_network_carry_its_budget(tmp_path):
    ours = long_frame(seeds_of(base_matrix()))  # 10 Fisher samples per entry
    for arch in ("smallcnn", "vgg16"):
        _write_matrix(tmp_path, arch, ours)
    unchecked = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert unchecked["3f"].status == claims.INCONCLUSIVE and "no step-1 metrics to check" in unchecked["3f"].evidence
    _write_metrics(tmp_path, seeds=3)
    by_number = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    budget = "cpu budget: 600 images × 3 epochs, Fisher on 10 images"  # read from the results
    assert budget in by_number["2f"].statement and budget in by_number["3f"].statement
    assert by_number["3f"].status == claims.REPRODUCED  # the same ordering as smallcnn's
    # three seeds: the exact sign-flip test cannot reach p < 0.05, so the closest-source claim cannot be decided
    assert by_number["2f"].status == claims.INCONCLUSIVE and "3 of 3" in by_number["2f"].evidence
    # six seeds under results/six-seeds/ (`--sections arch-vgg16 --seeds 0 ... 5 --results-dir results/six-seeds`)
    six_root = paths.margin_results(tmp_path)
    for arch in ("smallcnn", "vgg16"):
        _write_matrix(six_root, arch, long_frame(seeds_of(base_matrix(), n=6)), variant="_seeds0-1-2-3-4-5")
    _write_metrics(six_root, seeds=6)
    decided = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}["2f"]
    assert decided.status == claims.REPRODUCED and "6 of 6" in decided.evidence
    missing = by_number["2d"]  # no resnet18 matrix: the section's command, and the budget it would run
    assert missing.status == claims.NOT_RUN and "--sections arch-resnet18" in missing.evidence
    assert "cpu budget: 600 images × 3 epochs, Fisher on 100 images" in missing.statement


def test_a_paper_preset_result_is_shown_beside_the_cpu_verdict_never_instead(tmp_path):
    """A GPU run's matrix (`paper` preset) is reported beside the cpu claim; the cpu results decide the row."""
    for arch in ("smallcnn", "vgg16"):
        _write_matrix(tmp_path, arch, long_frame(seeds_of(base_matrix())))
    _write_metrics(tmp_path, seeds=3)
    alone = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}["2f"]
    assert alone.status == claims.INCONCLUSIVE and "paper` preset" not in alone.evidence
    for arch in ("smallcnn", "vgg16"):  # six seeds at the paper preset: there the margin test can decide
        _write_matrix(tmp_path, arch, long_frame(seeds_of(base_matrix(), n=6)), preset="paper")
    _write_metrics(tmp_path, seeds=6, preset="paper")
    beside = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert beside["2f"].status == claims.INCONCLUSIVE  # still the cpu verdict (3 seeds)
    assert "the `paper` preset's result (not deciding this row): reproduced" in beside["2f"].evidence
    assert "6 of 6" in beside["2f"].evidence and "3 of 3" in beside["2f"].evidence
    assert "the `paper` preset's result (not deciding this row): reproduced" in beside["3f"].evidence
    paper_own = {x.number: x for x in claim_list.paper_claims(tmp_path, "paper", "smallcnn")}["2f"]
    assert paper_own.status == claims.REPRODUCED and "paper` preset's result" not in paper_own.evidence


def test_a_network_below_its_learned_floor_makes_its_claims_inconclusive(tmp_path):
    """Rule "learned": 3f's ordering test passes, but one VGG-16 network of mnist did not learn its task."""
    ours = long_frame(seeds_of(base_matrix()))
    for arch in ("smallcnn", "vgg16"):
        _write_matrix(tmp_path, arch, ours)
    rows = _write_metrics(tmp_path, seeds=3)
    learned = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}["3f"]
    assert learned.status == claims.REPRODUCED and "all 12 vgg16 networks learned their tasks" in learned.evidence
    rows[-1]["test_acc"] = 0.2  # vgg16 mnist-3 seed 2: 10 classes, floor 0.1 + (0.99 - 0.1) / 3 = 0.397
    pd.DataFrame(rows).to_csv(paths.train_metrics_csv(tmp_path, "cpu"), index=False)
    below = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}["3f"]
    assert below.status == claims.INCONCLUSIVE and "mnist-3/seed2 (0.200 < 0.397)" in below.evidence


@pytest.mark.parametrize("accuracy, learned", [(0.80, "yes"), (0.40, "**no**")])
def test_step1_table_holds_each_network_to_its_learned_floor(tmp_path, accuracy, learned):
    rows = [
        {"task": "cifar10-2", "arch": arch, "seed": s, "test_acc": acc, "epochs": 3, "n_train": 100}
        for arch, acc in (("smallcnn", 0.85), ("vgg16", accuracy))
        for s in range(3)
    ]
    path = paths.train_metrics_csv(tmp_path, "cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    floor = 0.25 + LEARNED_SHARE * (0.85 - 0.25)  # 4 classes: chance 0.25
    assert learned_floors(pd.DataFrame(rows)) == {("vgg16", "cifar10-2"): pytest.approx(floor)}
    text = train_markdown(tmp_path, "cpu")
    line = next(x for x in text.splitlines() if "| vgg16 |" in x)
    assert line.endswith(f"{learned} (lowest {accuracy:.3f} vs {floor:.3f}) |")


def test_the_plan_counts_the_fishers_a_control_shares_once(tmp_path, monkeypatch, capsys):
    """`reproduce.py --plan` of a section: the body-only and cross-seed matrices read the plain matrix's Fishers, so
    their jobs cost nothing; the label-permuted and label-shuffled matrices have Fishers of their own."""
    monkeypatch.setitem(models.NETWORKS, "vgg16", models.small_cnn)  # the plan times real steps: a small network
    results = tmp_path / "results"
    reproduce.main(["--sections", "arch-vgg16", "--plan", "--results-dir", str(results), "--data-root", "d"])
    plan = pd.read_csv(paths.plan_csv(results, "smoke"))
    seconds = plan.groupby("step").seconds.sum()
    for label in ("mnist", "cifar10"):
        plain = seconds[f"2n. FTD matrix, vgg16, {label}"]
        assert plain > 0 and seconds[f"2n. label-permuted FTD matrix, vgg16, {label}"] == pytest.approx(plain, rel=0.01)
        assert seconds[f"2n. label-shuffled FTD matrix, vgg16, {label}"] == pytest.approx(plain, rel=0.01)
        assert seconds[f"2n. body-only FTD matrix, vgg16, {label}"] == 0
        assert seconds[f"2n. cross-seed FTD matrix, vgg16, {label}"] == 0
    assert "(planned earlier)" in capsys.readouterr().out
