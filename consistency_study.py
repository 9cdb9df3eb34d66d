"""Study: is the distance consistent? (a) between independently seeded networks of the same task,
(b) over the number of Fisher samples, (c) across ε-network architectures, and (d) across Fisher
estimators and distances.

    .venv/bin/python consistency_study.py --preset cpu --data-root ../shared/data

(a) For every task of --tasks (default: the mnist and cifar10 task sets) and every pair of seeds,
d(N_a^i, N_a^j) on X_a, from the Fishers of fisher_distance.py's runs (computed if missing), beside
the smallest distance between that task and another one of its set: a seed-to-seed distance well
below it means the FTD separates tasks rather than training runs. (d) From the log-det study's
long table (logdet_study.py): every estimator x distance x sigma^2 against the empirical FTD, Spearman
over the off-diagonal entries and the targets that keep their closest source. (c) reads only the
step-2 matrices: for each task set, the --arch matrix against those of every other network that has
one (e.g. fisher_distance.py --arch resnet18), Kendall's tau per target and the closest sources.
Needs the step-1 checkpoints and the step-2 matrices. Writes results/<preset>/studies/<arch>/
consistency_{seeds,samples,architectures,measures}.*
"""

from common.base.cli import common_parser, run
from common.base.names import NETWORK_NAMES


def main(argv=None):
    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument("--estimator", default="empirical", help="Fisher estimator of (a) and (b) (default: %(default)s)")
    p.add_argument(
        "--samples",
        nargs="+",
        type=int,
        default=[100, 250, 500],
        help="(b) Fisher sample counts compared with the preset's (default: %(default)s)",
    )
    p.add_argument(
        "--parts",
        nargs="+",
        choices=("a", "b", "c", "d"),
        default=["a", "b", "c", "d"],
        help="which studies to run (default: all); c and d read only result files",
    )
    p.add_argument(
        "--other-archs",
        nargs="+",
        choices=NETWORK_NAMES,
        help="(c) networks compared with --arch (default: every other one with a matrix of the set)",
    )
    args = p.parse_args(argv)

    from common.studies.consistency_step import consistency_study  # torch and matplotlib: only after parsing

    outputs = consistency_study(args)
    print("outputs:\n  " + "\n  ".join(map(str, outputs)))


if __name__ == "__main__":
    run(main)
