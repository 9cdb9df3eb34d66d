"""Regenerate what is written from results: REPORT.md and the generated tables of the README and docs.

results/<preset>/REPORT.md holds the claims, tables, heatmaps and run metadata; README.md and every
docs/*.md page hold measured tables between <!-- generated:NAME --> markers (common/report/blocks.py says
which pages and blocks).

    .venv/bin/python collect.py --preset cpu            # rewrite REPORT.md and the pages' blocks
    .venv/bin/python collect.py --preset cpu --check    # exit 1 if a page differs from the results
    .venv/bin/python collect.py --preset cpu --verify   # exit 1 naming each result that is not as its run wrote it

Before anything is written, every result of the presets involved is verified (``common/store/verify.py``:
tables against their seals, manifests and keyed records against their files and today's code); a
result that fails is named and nothing is published.

Reads only the result files (CSV, JSON) and the code's docstrings: no data, no network, no GPU.
reproduce.py calls it last.
"""

import argparse
import sys
from pathlib import Path

from common.base.cli import Parser, run
from common.base.errors import UserError
from common.presets import PRESET_NAMES


def main(argv=None):
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--preset", default="cpu", choices=PRESET_NAMES, help="whose REPORT.md to write (default: %(default)s)"
    )
    p.add_argument("--results-dir", default="./results", help="where the results are (default: %(default)s)")
    p.add_argument(
        "--readme",
        default="README.md",
        help="the README whose generated blocks to fill; the docs/*.md pages beside it are filled too",
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page's blocks are stale")
    p.add_argument("--no-readme", action="store_true", help="write REPORT.md only (no README or docs page)")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="rewrite the pages' blocks only, not REPORT.md (e.g. after moving modules: the code maps)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="write nothing; exit 1 naming every result file that is not as its run wrote it",
    )
    args = p.parse_args(argv)

    from common.report.blocks import block_presets, fill, pages
    from common.store.paths import margin_results
    from common.store.verify import report as verify_report

    readme = Path(args.readme)
    presets = [args.preset]
    if not args.no_readme and readme.is_file():
        presets += [pr for page in pages(readme) for pr in block_presets(page.read_text())]
    failed = []
    # each preset's results, and its six-seed matrices (a results root of their own, read by the margin claims)
    for root, preset in [
        (r, p) for p in dict.fromkeys(presets) for r in (args.results_dir, margin_results(args.results_dir))
    ]:
        if root != args.results_dir and not (Path(root) / preset).is_dir():
            continue
        checked, lines = verify_report(root, preset)
        failed += lines
        if args.verify:
            print(f"{root}/{preset}: {checked} files, {len(lines)} problem(s)")
    if failed:
        for line in failed:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(
            f"error: {len(failed)} result file(s) do not verify; nothing was written. Recompute them with "
            "the step that makes them (reproduce.py --help lists the steps), or restore them from git"
        )
    if args.verify:
        return
    from common.report.document import write_report
    from common.store.io import atomic_write_text

    if not args.no_readme:
        if not Path(args.readme).is_file():
            raise UserError(
                f"--readme {args.readme}: no such file; pass the README whose blocks to fill, or --no-readme"
            )
        rendered: dict = {}  # one rendering of the blocks for every page
        stale = []
        for page in pages(args.readme):
            text = page.read_text()
            new = fill(text, args.results_dir, rendered)
            if new == text:
                continue
            stale.append(page)
            if not args.check:
                atomic_write_text(new, page)
        if args.check:
            if stale:
                print(
                    f"{', '.join(map(str, stale))}: generated blocks differ from {args.results_dir}; run "
                    f".venv/bin/python collect.py (without --check)",
                    file=sys.stderr,
                )
                sys.exit(1)
            print(
                f"{len(pages(args.readme))} page(s) ({args.readme} and docs/*.md): generated blocks match "
                f"{args.results_dir}"
            )
            return
        print(
            f"pages: {len(stale)} rewritten ({', '.join(map(str, stale)) or 'none'}), "
            f"{len(pages(args.readme)) - len(stale)} unchanged"
        )
    if not args.check and not args.no_report:
        print(f"report: {write_report(args.results_dir, args.preset)}")


if __name__ == "__main__":
    run(main)
