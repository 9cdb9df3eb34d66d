"""The experiment list: what the papers' steps compute and what the report shows, in one place.
Plain data, importable without torch. ``common/steps.py`` builds reproduce.py's NAS steps from
``NAS_TARGETS``; the report (``common/report/``) and the claims read the lists below.

The task sets themselves (``TASK_SETS``) are task definitions: they live with the tasks, in
``common/tasks.py``; the dense ones in ``common/dense_tasks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

# (label of the fisher_distance.py run, distance) of the matrices the report shows, in paper order
MATRICES = (("mnist", "frechet"), ("cifar10", "frechet"), ("ldnas8", "frechet"), ("ldnas8", "logdet"))


@dataclass(frozen=True)
class NASTarget:
    """One NAS table: a target task searched with the space of its closest task among ``baselines``."""

    target: str  # the task searched for
    baselines: str  # the task set its closest task is chosen from
    paper: str  # whose table it is: "FTD" (the target among its own set) or "log-det" (ldnas8)


# the NAS tables, in the report's order: the FTD paper's two targets, then the log-det paper's two
NAS_TARGETS: tuple[NASTarget, ...] = (
    NASTarget("mnist-2", "mnist", "FTD"),
    NASTarget("cifar10-2", "cifar10", "FTD"),
    NASTarget("mnist-3", "ldnas8", "log-det"),
    NASTarget("cifar10-2", "ldnas8", "log-det"),
)
# targets whose full-space cells (nas_fuse.py --space full --search-only) the task-aware-warm runs start from
FULL_SPACE_CELLS = ("cifar10-3", "mnist-3")


def nas_targets(paper: str) -> tuple[NASTarget, ...]:
    return tuple(t for t in NAS_TARGETS if t.paper == paper)


# the margin claims (issue 33: claims 1, 2, 6, 7 decided on per-seed margins): the seeds of their matrices, where
# the exact sign-flip test can reach p < 0.05 (2 / 2^6 = 0.031), the task sets, the controls (file-name suffixes
# of fisher_distance.py) made at those seeds too; computed under the results root's ``six-seeds`` folder
# (``store.paths.margin_results``) by ``reproduce.py --sections margins``
MARGIN_SEEDS = tuple(range(6))
MARGIN_MATRICES = MATRICES
MARGIN_CONTROLS = ("_body", "_labels-permuted", "_labels-shuffled", "_cross-seed")

# the transferability benchmark's pool per preset (a task set; transferability.py's default, the report's tables).
# transferability.pool.DEFAULT_TASK_SET names the cpu pool too: that module is keyed code, a test keeps the two equal
BENCHMARK_POOLS = {"smoke": "transfer12", "cpu": "transfer20", "paper": "transfer20"}


def benchmark_pool(preset: str) -> str:
    return BENCHMARK_POOLS[preset]


# the FTD paper's ε-networks, checked beside the suite's default network (claims 2d-2i, 3d-3i), each with a
# section of reproduce.py (``arch-<network>``) on its own budget (common/network_budgets.py)
PAPER_NETWORKS = ("resnet18", "vgg16", "densenet121")
PAPER_NETWORK_SETS = ("mnist", "cifar10")  # the task sets they are trained and compared on

# the task sets of the transfer study (step 4), in the report's order
TRANSFER_SETS = ("mnist", "cifar10", "ldnas8")
# the dense task sets the report shows
DENSE_SETS = ("taskonomy-2d", "taskonomy")
# (a user's folder, the built-in dataset it copies): the example of common/datasets.py, whose runs must
# equal the built-in ones
USER_FOLDER_EXAMPLE = ("cifar10-folder", "cifar10")
