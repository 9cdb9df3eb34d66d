"""The transferability benchmark (issue 25): does a small distance predict a good transfer?

    .venv/bin/python transferability.py --preset cpu --data-root ../shared/data

For every (source, target, seed) of the pool (default: task set transfer20, 20 tasks of three datasets, every other
task a source; transfer12 at the smoke preset):
the FTD, its body-only and log-det variants, LEEP, NCE, LogME, H-score, a Task2Vec distance and three baselines,
all from the target's validation images; against two ground truths (full fine-tuning and head-only, each over a
learning-rate grid selected on validation, reported as test accuracy) and scratch. Needs the step-1 ε-networks
of every task of the pool (train_task_mnist.py / train_task_cifar.py --tasks ...). Writes
results/<preset>/transfer/benchmark/<set>_{pairs,per_target,leaderboard,scopes}.csv, _leaderboard.{md,png};
the scopes table judges each scorer within the target's dataset too. ``--tables-only`` remakes the tables from the
pairs table alone.
"""

from common.base.cli import common_parser, run
from common.experiments import BENCHMARK_POOLS, benchmark_pool
from common.tasks import TASK_SETS


def main(argv=None):
    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument(
        "--task-set",
        choices=tuple(TASK_SETS),
        help="the pool, a named task set (default: the preset's, "
        + ", ".join(f"{k} {v}" for k, v in BENCHMARK_POOLS.items())
        + "; or --tasks)",
    )
    p.add_argument(
        "--tables-only",
        action="store_true",
        help="remake the per-target, leaderboard and by-scope tables and the figure from the pairs table this "
        "preset's run wrote (checked against its seal), without reading or computing any record",
    )
    args = p.parse_args(argv)
    if args.task_set and args.tasks:
        p.error("give either --task-set or --tasks, not both")
    if not args.task_set and not args.tasks:
        args.task_set = benchmark_pool(args.preset)

    from common.transferability.step import benchmark_step  # torch: only after parsing

    outputs = benchmark_step(args)
    print("outputs:\n  " + "\n  ".join(map(str, outputs.values())))


if __name__ == "__main__":
    run(main)
