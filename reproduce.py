"""The whole paper in one command: step 1 (ε-networks), step 2 (distance matrices, the log-det study),
step 3 (task-aware NAS), then results/<preset>/REPORT.md with the papers' claims checked.

    .venv/bin/python reproduce.py --data-root ../shared/data                 # preset smoke: minutes
    .venv/bin/python reproduce.py --preset cpu --data-root ../shared/data    # real data, 2 cores: ~1.5 h
    .venv/bin/python reproduce.py --preset paper --data-root DATA --device cuda   # the papers' settings
    .venv/bin/python reproduce.py --sections distances report                # some sections only
    .venv/bin/python reproduce.py --preset cpu --data-root ../shared/data --sections train distances study nas   # the core
    (NAS is ~1.4x faster on 2 cores with --launcher local --workers 2: README, the core in 38 min)
    .venv/bin/python reproduce.py --preset cpu --data-root ../shared/data --launcher local --workers 2
    .venv/bin/python reproduce.py --preset paper --device cuda --plan         # jobs and GPU-hours, runs nothing
    .venv/bin/python reproduce.py --preset paper --data-root DATA --device cuda --launcher submitit --partition gpu

The steps (common/steps.py) are the step scripts, called in paper order with the shared
flags; each prints its own progress and this prints one line per step with its wall time. Finished
work is reused (every file is keyed), so a rerun resumes; a step whose data is missing is skipped
with one line. Step times, the device and the data identities go to results/<preset>/reproduce_log.json.
--launcher local/submitit runs the jobs of the training, distance and NAS steps in parallel (the
studies and the report run in this process); --plan prints every step's jobs and estimated cost.
"""

import argparse
import importlib

from common.base.cli import Parser, add_launcher_flags, run
from common.base.names import DEVICE_NAMES
from common.presets import PRESET_NAMES
from common.steps import OPT_IN_SECTIONS, SECTIONS, STEPS


def main(argv=None):
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default="smoke",
        help="smoke: minutes, tiny subsets (default); cpu: real data, small net, 2 cores; "
        "paper: the papers' settings, for a GPU",
    )
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=[s for s in SECTIONS if s not in OPT_IN_SECTIONS],
        metavar="SECTION",
        help=f"which sections to run, in paper order (default: all but {', '.join(OPT_IN_SECTIONS)}): "
        + "; ".join(f"{name}: {what}" for name, what in SECTIONS.items()),
    )
    p.add_argument("--data-root", default="./data", help="dataset folder (offline here: ../shared/data)")
    p.add_argument("--results-dir", default="./results", help="where outputs go (default: %(default)s)")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds of every step (default: each preset's)")
    p.add_argument("--device", choices=DEVICE_NAMES, default="auto", help="auto: cuda > mps > cpu")
    p.add_argument("--force", action="store_true", help="redo finished work")
    add_launcher_flags(p)
    args = p.parse_args(argv)

    from common.run.pipeline import check_inputs, run_steps

    available = check_inputs(args)
    steps = [s for s in STEPS if s.section in args.sections]
    run_steps(steps, args, available, lambda script: importlib.import_module(script).main)


if __name__ == "__main__":
    run(main)
