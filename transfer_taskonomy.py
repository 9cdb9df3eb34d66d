"""Does the distance predict transfer, for dense tasks? transfer.py's study on a dense task set.

    .venv/bin/python transfer_taskonomy.py --preset cpu --data-root ../shared/data   # taskonomy-2d on CIFAR-10

For every ordered pair (a, b) and seed, the ε-network N_a of train_task_taskonomy.py gets a fresh
output layer for b and is fine-tuned on a small budget of b's training images (preset: 1,000 images,
1 epoch, as transfer.py); the same budget from scratch is the baseline; gain = test MSE(scratch) −
test MSE(fine-tuned). Per target, the Spearman correlation over its sources of −d(a→b)
(fisher_distance_taskonomy.py's matrix) with the gain, and of the zero-shot score (−MSE of N_a on
b before fine-tuning) with the gain. Needs steps 1 and 2 of the dense set. Writes
results/<preset>/dense/<arch>/<images>/transfer/<set>_{pairs,correlations}.csv, _correlations.md,
_scatter.png; one keyed JSON per run under transfer/runs/.
"""

from common.base.cli import dense_parser, run


def main(argv=None):
    p = dense_parser(__doc__)
    p.add_argument("--budget-images", type=int, help="target training images of the budget (default: the preset's)")
    args = p.parse_args(argv)
    from common.dense.steps import dense_transfer_study  # torch only after parsing: --help answers at once

    return dense_transfer_study(args)


if __name__ == "__main__":
    run(main)
