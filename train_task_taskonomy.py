"""Step 1 for dense tasks: train one encoder–decoder ε-network per dense task and seed.

    .venv/bin/python train_task_taskonomy.py --preset cpu --data-root ../shared/data   # taskonomy-2d on CIFAR-10
    .venv/bin/python train_task_taskonomy.py --task-set taskonomy --data-root DATA    # a Taskonomy tree in DATA/taskonomy

Task sets (common/dense_tasks.py): `taskonomy`, the FTD paper's 10 Taskonomy tasks (needs a
Taskonomy tree: rgb + target domains, paired by building, point and view); `taskonomy-2d`, six tasks
derived from any RGB images (autoencoding, denoising, colorization, inpainting, 2-D edges, 2-D
keypoints), on CIFAR-10 by default (--images). Loss: mean squared error (Gaussian likelihood).
Checkpoints: results/<preset>/dense/<arch>/<images>/checkpoints/<task>/seed<k>.pt; metrics (MSE per
pixel on val / test, and the MSE of predicting the mean training target):
results/<preset>/dense/<arch>/<images>/train_metrics.csv. Finished runs are skipped (--force redoes).
"""

from common.base.cli import dense_parser, run


def main(argv=None):
    args = dense_parser(__doc__).parse_args(argv)
    from common.dense.steps import train_dense_tasks  # torch only after parsing: --help answers at once

    return train_dense_tasks(args)


if __name__ == "__main__":
    run(main)
