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
from common.report.tables import unlearned_networks
from common.tasks import TASK_SETS


def _network_command(preset: str, arch: str) -> str:
    # closed by the caller's backtick: the network's section (on a GPU: bench/device_matrices.sh, its header says how)
    return f"{c.PY} reproduce.py --preset {preset} --sections arch-{arch} --data-root <data>"


def learned_precondition(claim: c.Claim, results_dir, preset: str, arch: str, label: str) -> c.Claim:
    """Rule "learned": a claim on a paper network's matrix whose ε-networks include one below the step-1 floor
    is inconclusive, whatever its own test says (that network's Fisher is not an ε-approximation's)."""
    if claim.status == c.NOT_RUN:
        return claim
    below = unlearned_networks(results_dir, preset, arch, TASK_SETS[label])
    if not below:
        return replace(claim, evidence=claim.evidence + f"; every {arch} network of {label} learned its task")
    return replace(
        claim,
        status=c.INCONCLUSIVE,
        evidence=claim.evidence + f"; below the learned floor (rule 'learned'): {', '.join(below)}",
    )


def network_budget_text(preset: str, arch: str, label: str) -> str:
    """What a paper network's claim was decided at: "cpu budget: N images × E epochs, Fisher on S images"."""
    cfg = train_config(preset, "mnist" if label == "mnist" else "cifar10", arch=arch)
    samples = fisher_config(preset, arch=arch).samples
    images = "all" if cfg.max_train is None else cfg.max_train
    return f"{preset} budget: {images} images × {cfg.epochs} epochs, Fisher on {samples or 'all'} images"


def network_claims(
    results_dir, preset: str, arch: str, variant: str, longs: dict[str, pd.DataFrame | None]
) -> list[c.Claim]:
    """2d/2e and 3d/3e ResNet-18, 2f/2g and 3f/3g VGG-16, 2h/2i and 3h/3i DenseNet-121; ``longs``: the default
    network's (``arch``'s) matrices of mnist and cifar10, ``variant``: a control's file-name part."""
    out: list[c.Claim] = []

    def long(label, network):
        return read_long(results_dir, preset, network, label, "frechet", variant=variant)

    for k, other in enumerate(PAPER_NETWORKS):
        letters = "defghi"[2 * k : 2 * k + 2]
        for i, (label, name) in enumerate((("mnist", "MNIST"), ("cifar10", "CIFAR-10"))):
            theirs = long(label, other)
            # the margin test can decide at six seeds (`--seeds 0 1 2 3 4 5` on the section): read them if made
            six_seeds = read_long(
                results_dir, preset, other, label, "frechet", variant=margin_variant(preset, other) + variant
            )
            out.append(
                learned_precondition(
                    m.closest_margin_claim(
                        f"2{letters[i]}",
                        "FTD",
                        theirs if six_seeds is None else six_seeds,
                        f"{label}-2",
                        f"{label}-3",
                        f"{name}, {other}, FTD; {network_budget_text(preset, other, label)}",
                        _network_command(preset, other),
                    ),
                    results_dir,
                    preset,
                    other,
                    label,
                )
            )
            out.append(
                learned_precondition(
                    c.architecture_claim(
                        f"3{letters[i]}",
                        longs[label],
                        theirs,
                        arch,
                        f"{label}; {network_budget_text(preset, other, label)}",
                        other,
                        _network_command(preset, other),
                    ),
                    results_dir,
                    preset,
                    other,
                    label,
                )
            )
    return out
