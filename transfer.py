"""The FTD paper's other application: does a small d(a->b) mean that N_a transfers well to task b?

    .venv/bin/python transfer.py --task-set mnist --preset cpu --data-root ../shared/data
    .venv/bin/python transfer.py --task-set ldnas8 --preset cpu --data-root ../shared/data --launcher local

For every ordered pair (a, b) of the task set and every seed, the ε-network N_a of step 1 gets a new
head for b and is fine-tuned on a small fixed budget of b's training images (preset: 1,000 images,
1 epoch); the same budget from scratch is the baseline; gain = test accuracy fine-tuned - scratch.
Per target, the Spearman correlation over its sources of -d(a->b) (fisher_distance.py's matrix,
same preset and arch) with the gain, and of LEEP (a cheap transferability score from the same
networks, common/transfer_learning/runs.py) with the gain. Needs step 1's checkpoints and step 2's matrix.
Writes results/<preset>/transfer/<arch>/<set>_{pairs,correlations}.csv, _correlations.md and
_scatter.png; one keyed JSON per run under transfer/<arch>/runs/ (a rerun trains nothing).
"""

from common.base.cli import common_parser, run
from common.tasks import TASK_SETS


def main(argv=None):
    p = common_parser(__doc__)
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="a named task set (or use --tasks)")
    p.add_argument("--images", type=int, help="target training images of the budget (default: the preset's)")
    args = p.parse_args(argv)

    from common.transfer_learning.step import transfer_step  # torch: only after parsing, so that --help answers at once

    return transfer_step(args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
