"""The noise floor of a distance matrix (issue 24): how far apart two networks are when only chance
differs, beside the between-task entries.

    .venv/bin/python noise_floor.py --preset cpu --task-set mnist --data-root ../shared/data

Trains the null twin of every network of the task set (same task, same initial weights, SGD seed
100 + k), then from the Fisher store: the null distance d(twin of a^k -> a^k), the cross-seed matrix
d(a^i -> b^j) (i != j), and how much an entry moves when its source is replaced by its twin (the
floor a difference between two entries must exceed: common/studies/noise_floor.py). Needs the
step-1 checkpoints. Writes results/<preset>/studies/<arch>/noise_floor_<task set>.{csv,md,png,json}
and _long.csv.
"""

from common.base.cli import common_parser, run
from common.tasks import TASK_SETS


def main(argv=None):
    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="a named task set (or use --tasks)")
    args = p.parse_args(argv)
    if args.task_set and args.tasks:
        p.error("give either --task-set or --tasks, not both")

    from common.studies.noise_floor_step import noise_floor_step  # torch: only after parsing

    outputs = noise_floor_step(args)
    print("outputs:\n  " + "\n  ".join(map(str, outputs)))


if __name__ == "__main__":
    run(main)
