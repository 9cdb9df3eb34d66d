"""Flags shared by every script of the suite, and the one-line error handling."""
from __future__ import annotations

import argparse
import sys

from .errors import UserError
from .names import DEVICE_NAMES, NETWORK_NAMES
from .presets import PRESET_NAMES
from .tasks import TASK_SETS, TASKS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def tasks_epilog() -> str:
    """--help's list of the task and task-set names (common/tasks.py)."""
    sets = "; ".join(f"{name}: {' '.join(members)}" for name, members in TASK_SETS.items())
    return f"tasks: {' '.join(TASKS)}\ntask sets: {sets}"


def common_parser(doc: str, training: bool = True) -> Parser:
    """The suite's shared flags; ``training=False`` leaves out --epochs (scripts that train nothing)."""
    p = Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=tasks_epilog())
    p.add_argument("--preset", choices=PRESET_NAMES, default="cpu",
                   help="smoke: seconds, tiny subsets; cpu: real data, small net, 2 cores; "
                        "paper: the papers' settings, for a GPU (default: %(default)s)")
    p.add_argument("--data-root", default="./data",
                   help="dataset folder; downloaded there if absent (offline: ../shared/data)")
    p.add_argument("--results-dir", default="./results", help="where outputs go (default: %(default)s)")
    p.add_argument("--tasks", nargs="+", metavar="TASK",
                   help="task or task-set names (default: the script's task set)")
    p.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the preset's)")
    p.add_argument("--arch", choices=NETWORK_NAMES, help="network (default: the preset's)")
    if training:
        p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--device", choices=DEVICE_NAMES, default="auto", help="auto: cuda > mps > cpu")
    p.add_argument("--force", action="store_true", help="redo finished work")
    return p


_SUFFIXES = {"": 1, "k": 1e3, "m": 1e6}


def parameter_count(text: str) -> float:
    """argparse type of a parameter count: ``0.2M``, ``150k``, ``200000`` (0 allowed: "none")."""
    body, suffix = (text[:-1], text[-1].lower()) if text and text[-1].lower() in "km" else (text, "")
    try:
        value = float(body) * _SUFFIXES[suffix]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a parameter count: {text!r} (e.g. 0.2M, 150k, 200000)") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"a parameter count must be finite and >= 0, got {text!r}")
    return value


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
