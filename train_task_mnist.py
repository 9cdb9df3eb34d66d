"""Step 1 of the papers: train one ε-approximation network per MNIST task and seed.

    python train_task_mnist.py --preset smoke --data-root ../shared/data   # seconds
    python train_task_mnist.py --preset cpu                                 # real data, 2 CPU cores
    python train_task_mnist.py --preset paper --device cuda                 # the papers' settings

Checkpoints go to results/<preset>/checkpoints/<arch>/<task>/seed<k>.pt, one metrics row per
run to results/<preset>/train_metrics.csv. Finished runs are skipped on rerun (--force redoes).
"""

from common.base.cli import common_parser, run


def main(argv=None):
    args = common_parser(__doc__).parse_args(argv)
    from common.training.step import train_tasks  # torch only after parsing: --help answers at once

    return train_tasks("mnist", args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
