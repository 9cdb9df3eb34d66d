"""Step 1 of the papers: train one ε-approximation network per CIFAR-100 task and seed.

    .venv/bin/python train_task_cifar100.py --preset smoke --data-root DATA   # seconds
    .venv/bin/python train_task_cifar100.py --preset cpu --data-root DATA     # 2 CPU cores
    .venv/bin/python train_task_cifar100.py --preset paper --device cuda      # the papers' settings

Tasks (common/tasks.py, fine labels): cifar100-0 vehicles vs rest, cifar100-1 electrical devices
and furniture vs rest, cifar100-2 the 10 vehicle classes and other, cifar100-3 the 20 vehicle,
device and furniture classes and other. DATA holds torchvision's `cifar-100-python` folder or an
ImageFolder tree `cifar100/{train,test}/<class>/` (no copy on this project's machines; without
one, torchvision downloads it). Checkpoints go to results/<preset>/checkpoints/<arch>/<task>/seed<k>.pt,
one metrics row per run to results/<preset>/train_metrics.csv. Finished runs are skipped on rerun
(--force redoes).
"""

from common.base.cli import common_parser, run


def main(argv=None):
    args = common_parser(__doc__).parse_args(argv)
    from common.training.step import train_tasks  # torch only after parsing: --help answers at once

    return train_tasks("cifar100", args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
