"""Study: which Fisher estimator and distance reproduce the log-det paper's 8-task matrix?

    .venv/bin/python logdet_study.py --preset cpu --data-root ../shared/data

Every combination of --estimators x --distances x --sigma2s on the ldnas8 task set (the log-det
paper's 8 tasks), each mean matrix over seeds ranked against the published one (Spearman over the
56 off-diagonal entries, closest source per target, per-seed spread). Needs the step-1 checkpoints
of the 8 tasks (train_task_mnist.py --tasks mnist mnist-oddeven, train_task_cifar.py); Fishers are
shared with fisher_distance.py through the cache. Writes results/<preset>/studies/<arch>/
logdet_ldnas8.{csv,md} and logdet_ldnas8_long.csv (every distance, per seed).
"""

from common.base.cli import common_parser, run


def main(argv=None):
    from common.base.names import DISTANCE_NAMES, ESTIMATOR_NAMES

    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument(
        "--estimators",
        nargs="+",
        choices=ESTIMATOR_NAMES,
        default=list(ESTIMATOR_NAMES),
        help="Fisher estimators to compare (default: all)",
    )
    p.add_argument(
        "--distances",
        nargs="+",
        choices=DISTANCE_NAMES,
        help="distances to compare (default: common/studies/logdet.py's DISTANCES_STUDIED)",
    )
    p.add_argument(
        "--sigma2s",
        nargs="+",
        type=float,
        help="sigma^2 values of the log-det distances (default: common/studies/logdet.py's SIGMAS_STUDIED)",
    )
    p.add_argument("--fisher-samples", type=int, help="target test images per Fisher (default: the preset's)")
    args = p.parse_args(argv)

    from common.studies.logdet_step import logdet_study

    command = "python logdet_study.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    out = logdet_study(args, command)
    print("outputs:\n  " + "\n  ".join(str(p) for p in out.values()))


if __name__ == "__main__":
    run(main)
