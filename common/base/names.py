"""The names of the suite's registries, importable without torch so that every script's ``--help``
answers at once (the parser is built before anything heavy is imported).

Defined here once for the modules that are not part of any cache key (``device.py``, ``nas_runs.py``
import them). ``models.NETWORKS``, ``distance.DISTANCES`` and ``fisher.ESTIMATORS`` still hold their
own tuples, because their source is in the keys of checkpoints, Fishers and matrices: editing them
invalidates results, so they are folded onto this module at the next rerun of steps 1-2
(NOTES.md). Until then ``tests/test_report.py`` checks that the names agree.
"""

NETWORK_NAMES = ("smallcnn", "vgg16", "resnet18", "densenet121")
DENSE_NETWORK_NAMES = ("convae", "mlpae")  # common/dense/models.py (keyed: the same rule)
DISTANCE_NAMES = ("frechet", "frechet-sq", "logdet", "logdet-layer")
ESTIMATOR_NAMES = ("empirical", "mc", "legacy-batch", "legacy-code")
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
# task-aware: the closest task's ops per cell type; task-aware-warm: the same space, first stage
# warm-started from the closest task's genotype; full: every op.
NAS_SPACE_NAMES = ("task-aware", "task-aware-warm", "full")
# how a step's independent jobs run (common/run/launch.py)
LAUNCHERS = ("inline", "local", "submitit")
