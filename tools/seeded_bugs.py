"""Seeded-bug check: reapply bugs that once got past the suite, one at a time, and run the tests that
should catch each (docs/reliability.md, "Seeded bugs"). Prints one line per bug, caught or SURVIVED, and
the score; exits 1 when a bug survives.

    .venv/bin/python tools/seeded_bugs.py            # every bug (about 2 minutes on 2 cores)
    .venv/bin/python tools/seeded_bugs.py --list     # the bugs, no tests run
    .venv/bin/python tools/seeded_bugs.py --only pooled-bootstrap

Each bug is a text edit (a snippet of today's code and its buggy replacement) found by its snippet
wherever the code now lives, so a module moved or split keeps its bugs. The edits are made in a copy of
the working tree (tracked and untracked files; not .venv, results/cache or data), never in the tree
itself. A snippet that is no longer found is reported as STALE: the list must follow the code.

Why not mutmut or cosmic-ray: they generate operator-level mutants (``<`` -> ``<=``, a constant + 1) over
whole modules, and their runs re-import torch for every mutant of a 16,000-line package; these bugs are
semantic (a seed paired with itself, a bootstrap over the wrong unit, a module left out of a registry)
and each is one edit that an operator catalogue cannot express.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SeededBug:
    name: str
    what: str
    snippet: str  # today's code, found in exactly one file under common/
    buggy: str  # what the bug puts in its place (every occurrence in that file)
    tests: tuple[str, ...]  # pytest node ids or files (relative to the repository)


BUGS: tuple[SeededBug, ...] = (
    SeededBug(
        "nas-any-baseline",
        "a NAS claim reproduced when FUSE beats any baseline instead of every one",
        'elif all(v["p"] < nas.alpha and v["mean"] > 0 for _, v in compared):',
        'elif any(v["p"] < nas.alpha and v["mean"] > 0 for _, v in compared):',
        ("tests/test_seeded_bugs.py::test_nas_claim_needs_every_baseline_beaten_not_any",),
    ),
    SeededBug(
        "seed-paired-with-itself",
        "the seed-to-seed study compares a seed's Fisher with itself",
        '"distance": task_distance(fishers[i], fishers[j], distance)',
        '"distance": task_distance(fishers[i], fishers[i], distance)',
        ("tests/test_seeded_bugs.py::test_seed_distances_compare_two_different_seeds",),
    ),
    SeededBug(
        "body-keeps-head",
        "--parameters body still compares the head",
        "fa, fb = without(fishers[source.name], head), without(own[target.name], head)",
        "fa, fb = fishers[source.name], own[target.name]",
        ("tests/test_seeded_bugs.py::test_body_only_matrix_entries_are_distances_of_head_free_fishers",),
    ),
    SeededBug(
        "launcher-stop-flag",
        "the local launcher's stop flag removed",
        "stop.set()",
        "pass",
        ("tests/test_seeded_bugs.py::test_a_job_ended_by_ctrl_c_stops_the_queue", "tests/test_reliability.py"),
    ),
    SeededBug(
        "launcher-leaves-jobs",
        "the local launcher, interrupted, leaves its running jobs running",
        "    for proc in procs:\n        if proc.poll() is None:\n            proc.terminate()\n",
        "    procs = []  # seeded: the running jobs are neither terminated nor killed\n",
        ("tests/test_seeded_bugs.py::test_sigint_to_the_launcher_alone_ends_its_jobs_and_starts_no_queued_one",),
    ),
    SeededBug(
        "nas-unpaired",
        "NAS differences taken in row order, not paired by seed",
        "out[other] = paired_comparison((a[common] - b[common]) * 100)",
        "out[other] = paired_comparison((a.to_numpy()[: len(common)] - b.to_numpy()[: len(common)]) * 100)",
        ("tests/test_seeded_bugs.py::test_nas_paired_rows_pair_by_seed_not_by_row_order",),
    ),
    SeededBug(
        "pearson-for-spearman",
        "the rank comparison computed on the values (Pearson)",
        "ra, rb = a.rank(), b.rank()",
        "ra, rb = a.astype(float), pd.Series(b, index=a.index).astype(float)",
        ("tests/test_seeded_bugs.py::test_rank_correlations_are_spearman_not_pearson",),
    ),
    SeededBug(
        "pooled-bootstrap",
        "the benchmark's bootstrap pools the (target, seed) values instead of resampling targets",
        "    data = list(_clean(values_by_target).values())\n",
        "    data = [np.array([x]) for v in _clean(values_by_target).values() for x in v]\n",
        ("tests/test_seeded_bugs.py::test_bootstrap_resamples_targets_not_pooled_seed_values",),
    ),
    SeededBug(
        "cross-seed-same-seed",
        "the cross-seed matrix pairs the source with the target network of its own seed",
        'own = per_seed[list(seeds)[(i + 1) % len(seeds)]] if pairing == "cross-seed" else fishers',
        "own = fishers",
        ("tests/test_margins.py::test_a_cross_seed_entry_compares_the_source_with_the_next_seeds_target_network",),
    ),
    SeededBug(
        "init-not-keyed",
        "networks.init left out of the ε-network's keyed code",
        '"epsilon-network": ("data.splits", "networks.init", "networks.models", "training.train")',
        '"epsilon-network": ("data.splits", "networks.models", "training.train")',
        ("tests/test_seeded_bugs.py::test_every_module_a_keyed_step_computes_with_is_keyed",),
    ),
)

# Left out of the copy, by path from the repository root (a name such as "data" also names common/data/).
IGNORED = {".venv", ".git", ".ruff_cache", ".pytest_cache", "results/cache"}


def _ignored(folder: str, names: list[str]) -> set[str]:
    rel = Path(folder).resolve().relative_to(ROOT)
    derived = rel.parts[:1] == ("results",) and {"cache", "checkpoints", "fisher", "logs"}  # no test reads them
    return {n for n in names if n == "__pycache__" or (rel / n).as_posix() in IGNORED or (derived and n in derived)}


def locate(root: Path, bug: SeededBug) -> Path | None:
    """The one file under common/ that holds the bug's snippet (None: stale)."""
    hits = [p for p in sorted((root / "common").rglob("*.py")) if bug.snippet in p.read_text()]
    if len(hits) > 1:
        raise SystemExit(f"seeded bug {bug.name}: its snippet is in {len(hits)} files: make it unique")
    return hits[0] if hits else None


def run_bug(copy: Path, bug: SeededBug, python: str) -> str:
    target = locate(copy, bug)
    if target is None:
        return "STALE"
    original = target.read_text()
    target.write_text(original.replace(bug.snippet, bug.buggy))
    try:
        tests = [t for t in bug.tests if (copy / t.split("::")[0]).exists()]
        proc = subprocess.run(
            [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=copy,
            capture_output=True,
            text=True,
        )
    finally:
        target.write_text(original)
    return "caught" if proc.returncode == 1 else ("SURVIVED" if proc.returncode == 0 else f"error {proc.returncode}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the bugs and where each applies; run nothing")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these bugs")
    args = parser.parse_args(argv)
    bugs = [b for b in BUGS if not args.only or b.name in args.only]
    if args.only and len(bugs) != len(args.only):
        unknown = sorted(set(args.only) - {b.name for b in BUGS})
        print(f"error: unknown bug(s) {', '.join(unknown)}; --list names them", file=sys.stderr)
        return 2
    if args.list:
        for b in bugs:
            where = locate(ROOT, b)
            print(f"{b.name:24s} {where.relative_to(ROOT) if where else 'STALE'}: {b.what}")
        return 0
    results = {}
    with tempfile.TemporaryDirectory(prefix="ftd-seeded-") as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(ROOT, copy, ignore=_ignored)
        for b in bugs:
            results[b.name] = run_bug(copy, b, sys.executable)
            print(f"{results[b.name]:9s} {b.name:24s} {b.what}", flush=True)
    caught = sum(r == "caught" for r in results.values())
    print(f"{caught} of {len(results)} seeded bugs caught by a behaviour test")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
