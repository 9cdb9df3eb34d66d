"""What a claim is: its verdicts, sections and record (``Claim``), shared by the claims modules
(``claims``, ``nas_claims``) and the list that orders them (``claim_list``)."""

from __future__ import annotations

from dataclasses import dataclass

# commands in the evidence start like the README's (not like this interpreter: the text is compared)
PY = ".venv/bin/python"
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN = "reproduced", "not reproduced", "inconclusive", "not run"
PASSES, FAILS = "passes", "fails"  # the checks of the code: true by construction, not evidence
CODE_PATH_CHECKED = "code path checked"  # every verdict on smoke: tiny subsets are no evidence
PAPERS, BEYOND, CHECKS = "papers", "beyond the papers", "checks of the code"


@dataclass(frozen=True)
class Claim:
    number: str  # the claim's number in PAPERS.md (with a letter per case); B<n>: the suite's own checks
    paper: str  # "FTD" or "log-det" ("suite" for the suite's own checks)
    statement: str
    status: str
    evidence: str
    section: str = PAPERS
    same_runs_as: str = ""  # decided by the same runs as that claim: shown, not counted


def not_run(number, paper, statement, what: str, **kw) -> Claim:
    return Claim(number, paper, statement, NOT_RUN, what, **kw)
