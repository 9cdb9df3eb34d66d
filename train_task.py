"""Step 1 of the papers for any registered dataset: train one ε-approximation network per task and seed.

    .venv/bin/python train_task.py --dataset cifar10-folder --preset cpu --data-root ../shared/data
    .venv/bin/python train_task.py --dataset birds --tasks birds-0 --data-root /data   # your own folder

The datasets are the entries of common/datasets.py (register your own ImageFolder tree there
with one line); the tasks those of common/tasks.py whose dataset it is (default: all of them). The
flags, outputs and behaviour are those of train_task_mnist.py / train_task_cifar.py: checkpoints in
results/<preset>/checkpoints/<arch>/<task>/seed<k>.pt, one metrics row per run in
results/<preset>/train_metrics.csv, finished runs skipped on rerun (--force redoes).
"""

from common.base.cli import common_parser, run
from common.datasets import DATASETS


def main(argv=None):
    parser = common_parser(__doc__)
    parser.add_argument(
        "--dataset", required=True, choices=list(DATASETS), help="registered dataset (common/datasets.py)"
    )
    args = parser.parse_args(argv)
    from common.tasks import tasks_of_dataset
    from common.training.step import train_tasks  # torch only after parsing: --help answers at once

    if not args.tasks:
        args.tasks = tasks_of_dataset(args.dataset)
        if not args.tasks:
            parser.error(f"no tasks are defined on {args.dataset}: add them to common/tasks.py")
    return train_tasks(args.dataset, args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
