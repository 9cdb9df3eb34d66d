"""Regenerate what is written from results: results/<preset>/REPORT.md (claims, tables, heatmaps,
run metadata) and the README's measured tables (the blocks between <!-- generated:... --> markers).

    .venv/bin/python collect.py --preset cpu            # rewrite REPORT.md and README.md's blocks
    .venv/bin/python collect.py --preset cpu --check    # exit 1 if README.md differs from the results

Reads only the result files (CSV, JSON): no data, no network, no GPU. reproduce.py calls it last.
"""
import argparse
import sys
from pathlib import Path

from common.run.cli import Parser, run
from common.presets import PRESET_NAMES


def main(argv=None):
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cpu", choices=PRESET_NAMES,
                   help="whose REPORT.md to write (default: %(default)s)")
    p.add_argument("--results-dir", default="./results", help="where the results are (default: %(default)s)")
    p.add_argument("--readme", default="README.md", help="the README whose generated blocks to fill")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the README's blocks are stale")
    p.add_argument("--no-readme", action="store_true", help="write REPORT.md only")
    args = p.parse_args(argv)

    from common.report.blocks import fill
    from common.store.io import atomic_write_text
    from common.report.document import write_report

    readme = Path(args.readme)
    if not args.no_readme:
        text = readme.read_text()
        new = fill(text, args.results_dir)
        if args.check:
            if new != text:
                print(f"{readme}: generated blocks differ from {args.results_dir}; run "
                      f".venv/bin/python collect.py (without --check)", file=sys.stderr)
                sys.exit(1)
            print(f"{readme}: generated blocks match {args.results_dir}")
            return
        if new != text:
            atomic_write_text(new, readme)
        print(f"README blocks: {readme} ({'rewritten' if new != text else 'unchanged'})")
    if not args.check:
        print(f"report: {write_report(args.results_dir, args.preset)}")


if __name__ == "__main__":
    run(main)
