"""Step 3 of the papers: task-aware NAS. Search a cell for --target with FUSE in the space of the
closest baseline task, compare with FUSE and random search in the full space at the same budget,
and with the hand-designed ε-networks of step 1.

    # the closest task's own full-space search (once per baseline task), then the target
    python nas_fuse.py --target cifar10-3 --space full --search-only --preset cpu --data-root ../shared/data
    python nas_fuse.py --target cifar10-2 --preset cpu --data-root ../shared/data
    python nas_fuse.py --target mnist-2 --task-set ldnas8 --budget 5        # another matrix, 5 stages
    python nas_fuse.py --target cifar10-2 --space task-aware task-aware-warm --params 0.1M

--space task-aware (default) reads the distance matrix of fisher_distance.py (same --preset, --arch,
--distance, --estimator; baselines: --baselines or --task-set, default the target's task set),
takes the baseline task closest to the target and restricts the space to the ops of that task's
full-space genotype. The searches never read the test split; each chosen cell is retrained from
scratch and tested once, widened to the preset's parameter count (--params). Writes
results/<preset>/nas/<target>_<baselines>_table.{csv,md}, <target>_<baselines>_runs.csv and
genotypes/<task>_<method>[_from-<closest>]_seed<k>.json (+ _history.csv with α per round, _retrain.json). Finished searches
and retrainings are skipped on rerun (--force redoes them). The common flags mean: --arch, the
ε-networks whose distance matrix is read; --seeds, one search + retraining per seed and method;
--epochs, the retraining's epochs; --batch-size, the search's and the retraining's batch size.
"""

from common.base.cli import common_parser, parameter_count, run
from common.base.names import DISTANCE_NAMES, ESTIMATOR_NAMES, NAS_SPACE_NAMES
from common.tasks import TASK_SETS


def main(argv=None):
    p = common_parser(__doc__)
    p.add_argument("--target", required=True, help="the task to search a cell for, e.g. cifar10-2")
    p.add_argument(
        "--baselines",
        dest="tasks",
        nargs="+",
        metavar="TASK",
        help="baseline tasks or task sets whose distance to the target decides the space "
        "(same as --tasks; default: the task set holding the target)",
    )
    p.add_argument("--task-set", choices=tuple(TASK_SETS), help="the baselines as a named task set")
    p.add_argument(
        "--space",
        choices=NAS_SPACE_NAMES,
        nargs="+",
        default=["task-aware"],
        help="space(s) of the main FUSE search: task-aware (normal/reduction edges draw from the ops "
        "of the closest task's normal/reduction cell), task-aware-warm (the same, the first stage "
        "warm-started from the closest task's genotype) or full; several give one table "
        "(default: task-aware)",
    )
    p.add_argument(
        "--params",
        type=parameter_count,
        metavar="N",
        help="retrain every searched cell at the width whose network has about N parameters "
        "(e.g. 0.2M, 150k, 200000), to compare with the hand-designed network at a matched "
        "size (default: the NAS preset's; 0: the search width)",
    )
    p.add_argument("--budget", type=int, help="search stages of every method (default: the NAS preset's)")
    p.add_argument(
        "--search-only",
        action="store_true",
        help="only the main search: no baselines, retraining or table (e.g. for a baseline task)",
    )
    p.add_argument(
        "--distance",
        choices=DISTANCE_NAMES,
        default="frechet",
        help="the distance matrix to read, as in fisher_distance.py (default: %(default)s)",
    )
    p.add_argument(
        "--estimator",
        choices=ESTIMATOR_NAMES,
        default="empirical",
        help="the Fisher estimator of that matrix, as in fisher_distance.py (default: %(default)s)",
    )
    args = p.parse_args(argv)

    from common.nas.step import nas_step  # torch: only after parsing, so that --help answers at once

    return nas_step(args, argv, script=__file__)


if __name__ == "__main__":
    run(main)
