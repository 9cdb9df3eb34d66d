"""Claims 2d-2i and 3d-3i: the FTD paper's own networks (ResNet-18, VGG-16, DenseNet-121), trained and compared
on the preset's budget for them (``common/network_budgets.py``; ``reproduce.py --sections arch-<network>``).
The same rules as the default network's claims decide them (the closest-source margin test, the ordering
test against smallcnn's matrix), each labelled with its budget, under one precondition (rule "learned"): every
ε-network of the matrix learned its task."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from common.experiments import PAPER_NETWORKS
from common.presets import fisher_config, train_config
from common.report import claims as c
from common.report import margin_claims as m
from common.report.results import margin_variant, read_long
from common.report.tables import step1_metrics, unlearned_networks
from common.store import paths
from common.tasks import TASK_SETS


def _network_command(preset: str, arch: str) -> str:
    # closed by the caller's backtick: the network's section (on a GPU: bench/device_matrices.sh, its header says how)
    return f"{c.PY} reproduce.py --preset {preset} --sections arch-{arch} --data-root <data>"


def learned_precondition(claim: c.Claim, metrics, long: pd.DataFrame | None, arch: str, label: str) -> c.Claim:
    """Rule "learned": a claim on a paper network's matrix is inconclusive, whatever its own test says, when one
    of the matrix's ε-networks is below its step-1 floor (its Fisher is not an ε-approximation's) or cannot be
    checked (no step-1 metrics for it)."""
    if claim.status == c.NOT_RUN or long is None:
        return claim
    networks = {(task, int(seed)) for task in TASK_SETS[label] for seed in long.seed.unique()}
    below, unchecked = unlearned_networks(metrics, arch, networks)
    if not below and not unchecked:
        return replace(claim, evidence=claim.evidence + f"; all {len(networks)} {arch} networks learned their tasks")
    why = (f"below the learned floor: {', '.join(below)}" if below else "") + (
        f"{'; ' if below else ''}no step-1 metrics to check: {', '.join(unchecked)}" if unchecked else ""
    )
    return replace(claim, status=c.INCONCLUSIVE, evidence=claim.evidence + f"; rule 'learned': {why}")


def budget_text(preset: str, arch: str, label: str, long: pd.DataFrame | None, metrics) -> str:
    """What a paper network's claim was decided at, read from its results ("cpu budget: N images × E epochs,
    Fisher on S images"); before they exist, the budget the section would run."""
    cfg = train_config(preset, "mnist" if label == "mnist" else "cifar10", arch=arch)
    images, epochs = ("all" if cfg.max_train is None else cfg.max_train), cfg.epochs
    samples = fisher_config(preset, arch=arch).samples or "all"
    rows = None if metrics is None else metrics[(metrics.arch == arch) & metrics.task.isin(TASK_SETS[label])]
    if rows is not None and len(rows):
        images = "≤ " * (rows.n_train.nunique() > 1) + str(int(rows.n_train.max()))
        epochs = "/".join(map(str, sorted(rows.epochs.unique())))
    if long is not None and "samples" in long:
        samples = "/".join(map(str, sorted(long.samples.unique())))
    return f"{preset} budget: {images} images × {epochs} epochs, Fisher on {samples} images"


def beside_paper(claim: c.Claim, paper_claim: c.Claim) -> c.Claim:
    """A ``paper`` preset's result (a GPU run, ``bench/device_matrices.sh``), when one exists, is shown beside the
    preset's own verdict and never decides it."""
    if paper_claim.status == c.NOT_RUN:
        return claim
    note = (
        f"beside it, the `paper` preset's result (not deciding this row): {paper_claim.status}: {paper_claim.evidence}"
    )
    return replace(claim, evidence=f"{claim.evidence}; {note}")


def _network_pair(
    results_dir, preset: str, arch: str, other: str, label: str, name: str, letters: str, variant: str, ours
) -> tuple[c.Claim, c.Claim]:
    """The closest-source claim (2x) and the ordering claim (3x) of network ``other`` on task set ``label`` at
    ``preset``; ``ours``: the default network's matrix it is ordered against."""
    i = ("mnist", "cifar10").index(label)
    metrics = step1_metrics(results_dir, preset)
    six_root = paths.margin_results(results_dir)
    theirs = read_long(results_dir, preset, other, label, "frechet", variant=variant)
    six = read_long(six_root, preset, other, label, "frechet", variant=margin_variant(preset, other) + variant)
    closest, closest_metrics = (theirs, metrics) if six is None else (six, step1_metrics(six_root, preset))
    closest_claim = m.closest_margin_claim(
        f"2{letters[i]}",
        "FTD",
        closest,
        f"{label}-2",
        f"{label}-3",
        f"{name}, {other}, FTD; {budget_text(preset, other, label, closest, closest_metrics)}",
        _network_command(preset, other),
    )
    order_claim = c.architecture_claim(
        f"3{letters[i]}",
        ours,
        theirs,
        arch,
        f"{label}; {budget_text(preset, other, label, theirs, metrics)}",
        other,
        _network_command(preset, other),
    )
    return (
        learned_precondition(closest_claim, closest_metrics, closest, other, label),
        learned_precondition(order_claim, metrics, theirs, other, label),
    )


def network_claims(
    results_dir, preset: str, arch: str, variant: str, longs: dict[str, pd.DataFrame | None]
) -> list[c.Claim]:
    """2d/2e and 3d/3e ResNet-18, 2f/2g and 3f/3g VGG-16, 2h/2i and 3h/3i DenseNet-121; ``longs``: the default
    network's (``arch``'s) matrices of mnist and cifar10, ``variant``: a control's file-name part. The margin
    test decides at six seeds: a network's six-seed matrix, made under ``results/six-seeds/`` like the default
    network's (``reproduce.py --sections arch-<network> --seeds 0 1 2 3 4 5 --results-dir results/six-seeds``),
    is read when it exists. Below another preset, the ``paper`` preset's result is shown beside each claim
    (``beside_paper``), ordered against the ``paper`` preset's own matrix of ``arch``."""
    out: list[c.Claim] = []
    for k, other in enumerate(PAPER_NETWORKS):
        letters = "defghi"[2 * k : 2 * k + 2]
        for label, name in (("mnist", "MNIST"), ("cifar10", "CIFAR-10")):
            claims = _network_pair(results_dir, preset, arch, other, label, name, letters, variant, longs[label])
            if preset != "paper":
                ours = read_long(results_dir, "paper", arch, label, "frechet", variant=variant)
                paper = _network_pair(results_dir, "paper", arch, other, label, name, letters, variant, ours)
                claims = tuple(beside_paper(own, theirs) for own, theirs in zip(claims, paper))
            out += claims
    return out
