"""Flags shared by every script of the suite, and the one-line error handling."""
from __future__ import annotations

import argparse
import sys

from .errors import UserError
from .models import NETWORKS
from .presets import PRESET_NAMES
from .device import DEVICES


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def common_parser(doc: str, training: bool = True) -> Parser:
    """The suite's shared flags; ``training=False`` leaves out --epochs (scripts that train nothing)."""
    p = Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=PRESET_NAMES, default="cpu",
                   help="smoke: seconds, tiny subsets; cpu: real data, small net, 2 cores; "
                        "paper: the papers' settings, for a GPU (default: %(default)s)")
    p.add_argument("--data-root", default="./data",
                   help="dataset folder; downloaded there if absent (offline: ../shared/data)")
    p.add_argument("--results-dir", default="./results", help="where outputs go (default: %(default)s)")
    p.add_argument("--tasks", nargs="+", metavar="TASK",
                   help="task or task-set names (default: the script's task set)")
    p.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the preset's)")
    p.add_argument("--arch", choices=tuple(NETWORKS), help="network (default: the preset's)")
    if training:
        p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto: cuda > mps > cpu")
    p.add_argument("--force", action="store_true", help="redo finished work")
    return p


def run(main, argv=None) -> None:
    """Run ``main(argv)``; a UserError becomes one ``error:`` line on stderr and exit code 2."""
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved; rerun the same command to resume", file=sys.stderr)
        sys.exit(130)
