"""The claims blocks of REPORT.md and the README: the claims table (the papers' claims, each counted once,
the suite's own checks and the checks of the code apart), the noise floors and the head-confound controls, rendered from the
verdicts of ``common/report/claim_list.py``."""

from __future__ import annotations

import pandas as pd

from common.experiments import PAPER_NETWORK_SETS, PAPER_NETWORKS
from common.report.claim_list import CONTROLS, all_claims, control_rows, counted, noise_floor, padded_share
from common.report.claims import CHECKS, CODE_PATH_CHECKED, FAILS, NOT_REPRODUCED, PAPERS
from common.report.markdown import mean_pm, table


def _claim_rows(claims) -> list[str]:
    return table(
        ["#", "paper", "claim", "verdict", "evidence"],
        (
            [
                x.number,
                x.paper,
                x.statement
                + (f" (same runs as {x.same_runs_as}: decided there, not counted)" if x.same_runs_as else ""),
                f"**{x.status.upper()}**" if x.status in (NOT_REPRODUCED, FAILS) else x.status,
                x.evidence.replace("|", "\\|"),
            ]
            for x in claims
        ),
    )


def claims_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    claims = all_claims(results_dir, preset, arch)
    once = counted(claims)
    counts = pd.Series([x.status for x in once], dtype=object).value_counts()
    order = ("reproduced", "not reproduced", "inconclusive", "not run")
    if preset == "smoke":
        order = (CODE_PATH_CHECKED, "not run")
    repeats = [f"{x.number} = {x.same_runs_as}" for x in claims if x.section == PAPERS and x.same_runs_as]
    checks = [x for x in claims if x.section == CHECKS]
    lines = [
        f"Claims of the papers (`../shared/PAPERS.md`), decided by `common/report/claims.py` from `results/{preset}/` "
        f"by the rules of docs/verdicts.md: {len(once)} distinct claims"
        + (f" ({', '.join(repeats)}: the same entries or runs, shown, not counted)" if repeats else "")
        + ": "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in order)
        + "."
        + "".join(
            f" Beside claims 2, 6 and 7, which compare networks that share their initial weights: {x.number}, "
            f"{x.statement}: {x.status}."
            for x in claims
            if x.number == "B1"
        )
        + (" `smoke` runs tiny subsets: it checks code paths, not claims." if preset == "smoke" else ""),
        "",
        *_claim_rows([x for x in claims if x.section == PAPERS]),
        "",
        "Beyond the papers (the suite's own checks, not counted above):",
        "",
        *_claim_rows([x for x in claims if x.section not in (PAPERS, CHECKS)]),
    ]
    if checks:
        lines += [
            "",
            "Checks of the code (true of the distance's formula for any Fishers: they test the code, are no "
            "evidence for the papers, and are not counted above):",
            "",
            *_claim_rows(checks),
        ]
    return "\n".join(lines)


def controls_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """Claims 2, 6 and 7 under the head-confound controls, and the log-det sum's share from padded entries."""
    rows = control_rows(results_dir, preset, arch)
    lines = [
        "Controls: the same rules (per-seed margin tests over the six-seed matrices) on the matrices made with the "
        "classifier head left out of both Fishers (`fisher_distance.py --parameters body`), with the target's "
        "class indices permuted before its Fishers (`--target-labels permuted`, y → (y + 1) mod C: does a verdict "
        "follow the output unit a class lands on?), with the target's labels shuffled across its images "
        "(`--target-labels shuffled`: one seeded permutation per target; does a verdict need the labels at all?), "
        "and with "
        "the target network of the next seed (`--pairing cross-seed`: no entry compares two networks that "
        "share their initial weights).",
        "",
        *table(
            ["#", "claim", "papers' protocol", *(what for _, what in CONTROLS)],
            ([m.number, m.statement, m.status, *(x.status for x in ctl)] for m, ctl in rows),
        ),
    ]
    share = padded_share(results_dir, preset, arch)
    if share is not None:
        lines += [
            "",
            f"ldnas8 log-det matrix: on average {share['unequal'] * 100:.1f} % of the sum of |log ratios| comes from "
            f"zero-padded head entries over the {share['pairs_unequal']} ordered pairs whose heads differ "
            f"({share['all'] * 100:.1f} % over all {share['pairs']} entries of every seed).",
        ]
    return "\n".join(lines)


def noise_floor_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """Per task set and distance: the null (SGD noise alone), two initialisations of one task, the
    between-task entries, the entry noise and the floor a difference must exceed (``noise_floor.py``)."""
    rows = []
    # the default network's task sets, then the FTD paper's networks on theirs (sections arch-<network>)
    sets = [(arch, label) for label in ("mnist", "cifar10", "ldnas8")]
    sets += [(net, label) for net in PAPER_NETWORKS if net != arch for label in PAPER_NETWORK_SETS]
    for network, label in sets:
        for measure in ("frechet", "logdet"):
            f = noise_floor(results_dir, preset, network, label, measure)
            if f is None:
                continue
            cell = lambda k: mean_pm(f[k]["mean"], f[k]["std"], 3) if k in f else "—"  # noqa: E731
            rows.append(
                [
                    network,
                    label,
                    measure,
                    cell("null twin"),
                    cell("cross-seed, same task"),
                    cell("paired, between tasks"),
                    cell("cross-seed, between tasks"),
                    f"{f['entry_noise_std']:.3f}",
                    f"{f['floor']:.3f}",
                ]
            )
    if not rows:
        return (
            "No noise floor yet: `.venv/bin/python noise_floor.py --preset "
            + preset
            + " --task-set mnist --data-root <data>` (and cifar10, ldnas8)."
        )
    return "\n".join(
        [
            "Distances between networks that differ by chance only, beside the between-task entries (mean ± std; "
            "`noise_floor.py`): the null twin has the task and initial weights of seed k and SGD seed 100 + k; "
            "entry noise = the std of an entry's change when its source network is replaced by its twin; floor = "
            "2 · entry noise · √(2 / seeds), what a difference between two mean entries must exceed.",
            "",
            *table(
                [
                    "network",
                    "task set",
                    "distance",
                    "null (SGD noise)",
                    "same task, other init",
                    "between tasks (paired)",
                    "between tasks, other seeds",
                    "entry noise",
                    "floor",
                ],
                rows,
            ),
        ]
    )
