"""Step 2 for dense tasks: the FTD matrix of a dense task set, its heatmaps and its atlas.

    .venv/bin/python fisher_distance_taskonomy.py --preset cpu --data-root ../shared/data   # taskonomy-2d on CIFAR-10
    .venv/bin/python fisher_distance_taskonomy.py --task-set taskonomy --data-root DATA --affinity affinities.csv

Needs the ε-networks of train_task_taskonomy.py (same flags; --epochs / --batch-size name networks
trained with them, and their matrix gets its own file names). Fishers are Gaussian (per-sample
squared gradients of ½‖ŷ − y‖², common/dense/fisher.py) on the target's test images; when the
tasks' decoders differ in output channels only the shared encoder's parameters are compared (the
manifest and the CSVs name them). Outputs in results/<preset>/dense/<arch>/<images>/:
<set>_frechet_{long,mean,std}.csv and heatmaps, <set>_frechet_atlas.{csv,png} (metric MDS of the
symmetrised distances), and with --affinity CSV (columns source,target,affinity; higher = better
transfer, e.g. Taskonomy's published affinities) <set>_frechet_affinity.{csv,png}: per target, the
Spearman correlation between −d(source → target) and the affinity.
"""

from common.base.cli import dense_parser, run


def main(argv=None):
    p = dense_parser(__doc__)  # --epochs / --batch-size: of the networks to use (trained with them)
    p.add_argument("--affinity", help="CSV of transfer affinities (source,target,affinity) to compare with")
    args = p.parse_args(argv)
    from common.dense.steps import dense_distances  # torch only after parsing: --help answers at once

    return dense_distances(args)


if __name__ == "__main__":
    run(main)
