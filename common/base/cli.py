"""Flags shared by every script of the suite, and the one-line error handling."""

from __future__ import annotations

import argparse
import errno
import sys

from common.base.errors import UserError
from common.base.names import DENSE_NETWORK_NAMES, DEVICE_NAMES, LAUNCHERS, NETWORK_NAMES
from common.dense_tasks import DENSE_TASK_SETS, DENSE_TASKS, IMAGE_SOURCES
from common.presets import PRESET_NAMES
from common.tasks import TASK_SETS, TASKS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def tasks_epilog() -> str:
    """--help's list of the task and task-set names (common/tasks.py)."""
    sets = "; ".join(f"{name}: {' '.join(members)}" for name, members in TASK_SETS.items())
    return f"tasks: {' '.join(TASKS)}\ntask sets: {sets}"


def common_parser(doc: str, training: bool = True, launchers: bool = True) -> Parser:
    """The suite's shared flags; ``training=False`` leaves out --epochs, --amp, --compile (scripts that
    train nothing); ``launchers=False`` the launcher flags (scripts that are not split into jobs)."""
    p = Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=tasks_epilog())
    p.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default="cpu",
        help="smoke: seconds, tiny subsets; cpu: real data, small net, 2 cores; "
        "paper: the papers' settings, for a GPU (default: %(default)s)",
    )
    p.add_argument(
        "--data-root", default="./data", help="dataset folder; downloaded there if absent (offline: ../shared/data)"
    )
    p.add_argument("--results-dir", default="./results", help="where outputs go (default: %(default)s)")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="task or task-set names (default: the script's task set)")
    p.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the preset's)")
    p.add_argument("--arch", choices=NETWORK_NAMES, help="network (default: the preset's)")
    if training:
        p.add_argument("--epochs", type=int, help="override the preset's epochs")
        p.add_argument(
            "--amp",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="bf16 autocast for training on CUDA (default: on with CUDA; ignored with one line on "
            "CPU/MPS). Fishers are always computed in fp32",
        )
        p.add_argument(
            "--compile",
            action="store_true",
            help="torch.compile the training networks (40-60 s of compilation each; pays off for long runs on a GPU)",
        )
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--device", choices=DEVICE_NAMES, default="auto", help="auto: cuda > mps > cpu")
    p.add_argument("--force", action="store_true", help="redo finished work")
    if launchers:
        add_launcher_flags(p)
    return p


def at_least(minimum: int):
    """argparse type of an integer flag with a lower bound, so that a launcher flag out of range (``--workers
    0``, ``--array-parallelism 0``, ``--timeout-min 0``) is one line at parse time, before any work or plan."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def add_launcher_flags(p) -> None:
    """The launcher flags of every step script and reproduce.py."""
    g = p.add_argument_group("launchers (how the step's independent jobs run)")
    g.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default="inline",
        help="inline: one process, in order (default); local: subprocesses on this node, one per "
        "GPU or --workers on CPU; submitit: SLURM jobs through submitit (its local executor "
        "where there is no SLURM)",
    )
    g.add_argument(
        "--workers",
        type=at_least(1),
        help="local: concurrent jobs (default: one per visible GPU, else one per CPU core, the cores shared out)",
    )
    g.add_argument(
        "--jobs-per-process",
        type=at_least(1),
        default=1,
        help="local/submitit: jobs run one after another in each process (default: %(default)s); "
        "more saves each job's start-up (≈ 5 s of imports and reads) on steps of short jobs, "
        "such as the Fishers",
    )
    g.add_argument("--partition", help="submitit: the SLURM partition")
    g.add_argument(
        "--gpus-per-job",
        type=at_least(0),
        default=None,
        help="submitit: GPUs per job (default: 1 with --device cuda, else 0)",
    )
    g.add_argument(
        "--timeout-min",
        type=at_least(1),
        default=240,
        help="submitit: time limit per job in minutes (default: %(default)s)",
    )
    g.add_argument(
        "--array-parallelism",
        type=at_least(1),
        default=64,
        help="submitit: jobs running at once (default: %(default)s; on the local executor: min(this, CPU cores))",
    )
    g.add_argument(
        "--plan",
        action="store_true",
        help="print the step's jobs with an estimated cost each "
        "and in total (throughputs of --device: measured once, then read from results/throughputs.csv), "
        "run nothing",
    )
    g.add_argument(
        "--remeasure",
        action="store_true",
        help="with --plan: time every network on --device again instead of reading its stored throughput",
    )
    g.add_argument("--job", action="append", help=argparse.SUPPRESS)  # a launcher's child: run these jobs only


def launcher_argv(args) -> list[str]:
    """The launcher flags of ``args`` as argv, for reproduce.py to pass to each step."""
    out = ["--launcher", args.launcher]
    for flag in ("workers", "jobs_per_process", "partition", "gpus_per_job", "timeout_min", "array_parallelism"):
        value = getattr(args, flag, None)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    return out


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
    except NotImplementedError as exc:
        if "mps" not in str(exc).lower():
            raise
        print(
            f"error: an operation is not implemented on Apple's MPS backend ({str(exc).splitlines()[0][:160]}); "
            "rerun with --device cpu, or set PYTORCH_ENABLE_MPS_FALLBACK=1 to run it on the CPU",
            file=sys.stderr,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved; rerun the same command to resume", file=sys.stderr)
        sys.exit(130)
    except (OSError, RuntimeError) as exc:
        reason = write_failure(exc)
        if reason is None:
            raise
        print(
            f"error: {reason}: free some space there, or pass a --results-dir on another disk, then rerun the same "
            "command (finished results are kept; files are written atomically, so none is half-written)",
            file=sys.stderr,
        )
        sys.exit(2)


def write_failure(exc: BaseException) -> str | None:
    """What a failed write says in one line, when ``exc`` is one: the disk is full (``ENOSPC``, a quota), or
    torch's writer failed (a ``RuntimeError`` from ``inline_container.cc``, which a full disk gives);
    None for other errors, which keep their traceback."""

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device holding {exc.filename or 'the results'}"
    text = str(exc)
    if isinstance(exc, RuntimeError) and ("PytorchStreamWriter" in text or "inline_container" in text):
        first = text.strip().splitlines()[0][:160] if text.strip() else ""
        return f"torch could not write a file ({first}); the disk is probably full"
    return None


def dense_parser(doc: str, training: bool = True) -> Parser:
    """The flags of the dense-task scripts (``train_task_taskonomy.py``, ``fisher_distance_taskonomy.py``):
    the suite's usual ones, with dense task names, dense networks and the image source."""

    sets = "; ".join(f"{name}: {' '.join(members)}" for name, members in DENSE_TASK_SETS.items())
    p = Parser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"dense tasks: {' '.join(DENSE_TASKS)}\ndense task sets: {sets}",
    )
    p.add_argument("--preset", choices=PRESET_NAMES, default="cpu", help="smoke, cpu or paper (default: %(default)s)")
    p.add_argument(
        "--data-root",
        default="./data",
        help="dataset folder (offline: ../shared/data); a Taskonomy tree is read from DATA_ROOT/taskonomy",
    )
    p.add_argument("--results-dir", default="./results", help="where outputs go (default: %(default)s)")
    p.add_argument("--task-set", default="taskonomy-2d", help="dense task set (default: %(default)s)")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="dense task names instead of --task-set")
    p.add_argument(
        "--images",
        choices=IMAGE_SOURCES,
        help="where the input images come from (default: taskonomy for the taskonomy set, cifar10 for taskonomy-2d)",
    )
    p.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the preset's)")
    p.add_argument("--arch", choices=DENSE_NETWORK_NAMES, help="encoder–decoder network (default: the preset's)")
    if training:
        p.add_argument("--epochs", type=int, help="override the preset's epochs")
        p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--device", choices=DEVICE_NAMES, default="auto", help="auto: cuda > mps > cpu")
    p.add_argument("--force", action="store_true", help="redo finished work")
    return p
