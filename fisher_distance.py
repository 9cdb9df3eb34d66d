"""Step 2 of the papers: the asymmetric distance d(a->b) between every ordered pair of tasks.

    python fisher_distance.py --task-set mnist --preset cpu --data-root ../shared/data
    python fisher_distance.py --task-set ldnas8 --distance logdet --preset cpu
    python fisher_distance.py --tasks mnist-0 mnist-3 cifar10-3 --estimator mc

F_a = Fisher of N_a (trained on task a) on task b's test data, F_b = Fisher of N_b on the same
data, same arch and seed; both normalised to unit trace (see common/fisher/distance.py for the formulas).
Needs the checkpoints of step 1 (train_task_*.py with the same --preset/--arch/--seeds).
Writes results/<preset>/distances/<arch>/<label>_<distance>_<estimator>_{long,mean,std}.csv and
_{mean,std}.png; Fishers are cached under results/<preset>/fisher/ (a rerun computes none).
"""

from common.base.cli import common_parser, run
from common.base.names import DISTANCE_NAMES, ESTIMATOR_NAMES
from common.presets import FISHER_LABELS, FISHER_SPLITS, PAIRINGS, PARAMETER_PARTS
from common.tasks import TASK_SETS


def main(argv=None):
    p = common_parser(__doc__, training=False)
    p.add_argument("--epochs", type=int, help="use networks trained with this --epochs (default: the preset's)")
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="a named task set (or use --tasks)")
    p.add_argument(
        "--distance",
        choices=DISTANCE_NAMES,
        default="frechet",
        help="frechet (FTD), frechet-sq (what the authors' code plotted), logdet (the log-det paper's "
        "Eq. 2), logdet-layer (the released code's per-tensor form) (default: %(default)s)",
    )
    p.add_argument(
        "--estimator",
        choices=ESTIMATOR_NAMES,
        default="empirical",
        help="empirical: true labels (default); mc: labels sampled from the model; legacy-batch: "
        "squared batch gradients; legacy-code: those averaged over each parameter's first axis, "
        "as the authors' released code (the legacy ones are not the papers' definition)",
    )
    p.add_argument("--fisher-samples", type=int, help="target images per Fisher (default: the preset's)")
    p.add_argument(
        "--fisher-split",
        choices=FISHER_SPLITS,
        default="test",
        help="the targets' split the Fishers are computed on: test (as the papers, for the figures) or "
        "val (no test label is read: the matrix that nas_fuse.py requires) (default: %(default)s)",
    )
    p.add_argument(
        "--parameters",
        choices=PARAMETER_PARTS,
        default="all",
        help="all: every parameter (the papers); body: the classifier head left out of both Fishers, a control "
        "for the head-size confound (default: %(default)s)",
    )
    p.add_argument(
        "--target-labels",
        choices=FISHER_LABELS,
        default="true",
        help="true: the target's labels (the papers); permuted: every class index shifted by one before the "
        "Fishers, a control for the head confound; shuffled: the labels permuted across the target's images, "
        "a control of whether a verdict needs the labels at all (default: %(default)s)",
    )
    p.add_argument(
        "--pairing",
        choices=PAIRINGS,
        default="same-seed",
        help="same-seed: F_a and F_b from networks of one seed (the papers); cross-seed: F_b from the target's "
        "network of the next seed, so that no entry compares networks that share their initial weights "
        "(d(a,a) is then two seeds' distance) (default: %(default)s)",
    )
    p.add_argument(
        "--sigma2",
        type=float,
        help="logdet, logdet-layer: sigma^2 > 0 added to each entry "
        "(default: common/fisher/distance.py's DEFAULT_SIGMA2, as in the reference code)",
    )
    args = p.parse_args(argv)

    from common.fisher.step import distance_step  # torch: only after parsing, so that --help answers at once

    return distance_step(args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
