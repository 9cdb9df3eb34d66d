"""The task registry: every task of the papers as one plain-data entry.

A task is a dataset plus a relabelling of its classes (FTD paper, Sec. 4; log-det paper, Sec. 4):

* ``groups``: tuples of original classes, by id or by name (``common/datasets.py`` lists
  each dataset's classes); group ``i`` becomes label ``i``. Names are turned into ids on creation.
* ``other``: if True, every class not named in ``groups`` is pooled into one extra label
  ``len(groups)`` ("rest" / "other"), subsampled to the *mean size of one group*. For a
  binary detection task (one group) that is exactly "negatives subsampled to the number of
  positives"; for "digits 0, 1, 2, 3 and other" it is "an other class the size of one class".

To add a task, add one ``Task(...)`` line to ``TASKS`` below; to add a task set, one line to
``TASK_SETS``. The registry checks itself at import time.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from common.base.errors import UserError, require
from common.datasets import DATASETS


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str  # key of dataset_registry.DATASETS
    groups: tuple[tuple[int, ...], ...]  # group i (original class ids, or names) -> label i
    other: bool  # pool the remaining classes into label len(groups)
    description: str

    def __post_init__(self):
        # class names -> ids, so that keys, labels and files see ids only
        if self.dataset not in DATASETS:
            raise UserError(
                f"task {self.name}: unknown dataset '{self.dataset}'; registered: "
                f"{', '.join(DATASETS)} (common/datasets.py)"
            )
        classes = DATASETS[self.dataset].classes

        def class_id(c):
            if isinstance(c, str):
                if c not in classes:
                    raise UserError(
                        f"task {self.name}: {self.dataset} has no class '{c}'; its classes: "
                        f"{', '.join(classes)} (fix the task in common/tasks.py)"
                    )
                return classes.index(c)
            if not 0 <= int(c) < len(classes):
                raise UserError(
                    f"task {self.name}: class id {c} is outside {self.dataset}'s classes 0..{len(classes) - 1}; "
                    "fix its groups in common/tasks.py"
                )
            return int(c)

        object.__setattr__(self, "groups", tuple(tuple(class_id(c) for c in g) for g in self.groups))

    @property
    def num_classes(self) -> int:
        return len(self.groups) + int(self.other)

    @property
    def class_names(self) -> tuple[str, ...]:
        names = DATASETS[self.dataset].classes
        out = tuple("+".join(names[c] for c in g) for g in self.groups)
        return out + (("other",) if self.other else ())

    def to_dict(self) -> dict:
        return asdict(self)


def _singletons(classes) -> tuple[tuple[int, ...], ...]:
    return tuple((c,) for c in classes)


# CIFAR-100 fine-label ids of the superclasses the FTD paper's CIFAR-100 tasks use.
_VEHICLES = (8, 13, 48, 58, 90, 41, 69, 81, 85, 89)  # vehicles 1 (18) and vehicles 2 (19)
_DEVICES_FURNITURE = (22, 39, 40, 86, 87, 5, 20, 25, 84, 94)  # electrical devices (5), furniture (6)

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        # MNIST (FTD paper, Sec. 4.1). Images are padded to 32x32 and repeated to 3 channels.
        Task("mnist-0", "mnist", ((0,),), True, "binary: digit 0 vs rest, balanced"),
        Task("mnist-1", "mnist", ((6,),), True, "binary: digit 6 vs rest, balanced"),
        Task("mnist-2", "mnist", _singletons(range(4)), True, "5-class: digits 0, 1, 2, 3 and other"),
        Task("mnist-3", "mnist", _singletons(range(10)), False, "10-class: all digits"),
        Task(
            "mnist-oddeven",
            "mnist",
            ((0, 2, 4, 6, 8), (1, 3, 5, 7, 9)),
            False,
            "binary: even vs odd digits (log-det paper, MNIST task 2)",
        ),
        # CIFAR-10 (FTD paper, Sec. 4.1).
        Task("cifar10-0", "cifar10", ((1, 3, 8),), True, "binary: {automobile, cat, ship} vs rest, balanced"),
        Task("cifar10-1", "cifar10", ((3, 8, 9),), True, "binary: {cat, ship, truck} vs rest, balanced"),
        Task("cifar10-2", "cifar10", _singletons((2, 6, 7)), True, "4-class: bird, frog, horse and other"),
        Task("cifar10-3", "cifar10", _singletons(range(10)), False, "10-class: all classes"),
        # CIFAR-100 fine labels (FTD paper, Sec. 4.1): superclasses 18, 19 (vehicles 1 and 2) and
        # 5, 6 (household electrical devices, household furniture).
        Task("cifar100-0", "cifar100", (_VEHICLES,), True, "binary: vehicles 1 and 2 vs rest, balanced"),
        Task(
            "cifar100-1",
            "cifar100",
            (_DEVICES_FURNITURE,),
            True,
            "binary: household electrical devices and furniture vs rest, balanced",
        ),
        Task("cifar100-2", "cifar100", _singletons(_VEHICLES), True, "11-class: the 10 vehicle classes and other"),
        Task(
            "cifar100-3",
            "cifar100",
            _singletons(_VEHICLES + _DEVICES_FURNITURE),
            True,
            "21-class: the 20 vehicle, device and furniture classes and other",
        ),
        # The CIFAR-10 tasks again, on CIFAR-10 registered as a user's image folder and defined by class
        # names, as a user defines theirs (common/datasets.py): they must reproduce cifar10-0..3.
        Task(
            "cifar10-folder-0",
            "cifar10-folder",
            (("automobile", "cat", "ship"),),
            True,
            "binary: {automobile, cat, ship} vs rest, balanced (CIFAR-10 as a user's folder)",
        ),
        Task(
            "cifar10-folder-1",
            "cifar10-folder",
            (("cat", "ship", "truck"),),
            True,
            "binary: {cat, ship, truck} vs rest, balanced (CIFAR-10 as a user's folder)",
        ),
        Task(
            "cifar10-folder-2",
            "cifar10-folder",
            (("bird",), ("frog",), ("horse",)),
            True,
            "4-class: bird, frog, horse and other (CIFAR-10 as a user's folder)",
        ),
        Task(
            "cifar10-folder-3",
            "cifar10-folder",
            _singletons(DATASETS["cifar10-folder"].classes),
            False,
            "10-class: all classes (CIFAR-10 as a user's folder)",
        ),
        # The transferability benchmark's pool (issue 25, ``transfer16``): with the 9 tasks above, binary,
        # few-class and 10-class tasks of varied difficulty, so that every target has 15 sources.
        Task("mnist-lowhigh", "mnist", ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)), False, "binary: digits 0-4 vs 5-9"),
        Task("mnist-1738", "mnist", ((1, 7), (3, 8)), True, "3-class: {1, 7}, {3, 8} and other"),
        Task("mnist-49", "mnist", ((4,), (9,)), False, "binary: digit 4 vs 9 (a hard pair)"),
        Task(
            "cifar10-animals",
            "cifar10",
            ((2, 3, 4, 5, 6, 7), (0, 1, 8, 9)),
            False,
            "binary: animals vs vehicles",
        ),
        Task("cifar10-catdog", "cifar10", ((3,), (5,)), False, "binary: cat vs dog (a hard pair)"),
        Task(
            "cifar10-vehicles",
            "cifar10",
            _singletons((0, 1, 8, 9)),
            False,
            "4-class: airplane, automobile, ship, truck",
        ),
        Task("cifar10-animals5", "cifar10", _singletons((2, 3, 4, 5, 6)), False, "5-class: bird, cat, deer, dog, frog"),
        # scikit-learn's handwritten digits (common/datasets.py): MNIST's labels, other writers and scanner; the
        # benchmark's third data domain, so that "same dataset" is not the same as "same labels"
        Task("digits-0", "digits", ((0,),), True, "binary: digit 0 vs rest, balanced (other writers than MNIST)"),
        Task("digits-2", "digits", _singletons(range(4)), True, "5-class: digits 0, 1, 2, 3 and other"),
        Task("digits-3", "digits", _singletons(range(10)), False, "10-class: all digits"),
        Task("digits-oddeven", "digits", ((0, 2, 4, 6, 8), (1, 3, 5, 7, 9)), False, "binary: even vs odd digits"),
    ]
}

_TRANSFER16 = (
    "mnist-0",
    "mnist-1",
    "mnist-2",
    "mnist-3",
    "mnist-oddeven",
    "mnist-lowhigh",
    "mnist-1738",
    "mnist-49",
    "cifar10-0",
    "cifar10-1",
    "cifar10-2",
    "cifar10-3",
    "cifar10-animals",
    "cifar10-catdog",
    "cifar10-vehicles",
    "cifar10-animals5",
)

TASK_SETS: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist-0", "mnist-1", "mnist-2", "mnist-3"),
    "cifar10": ("cifar10-0", "cifar10-1", "cifar10-2", "cifar10-3"),
    "cifar100": ("cifar100-0", "cifar100-1", "cifar100-2", "cifar100-3"),
    "cifar10-folder": ("cifar10-folder-0", "cifar10-folder-1", "cifar10-folder-2", "cifar10-folder-3"),
    # The log-det paper's 8 tasks, in its order (0-3 MNIST, 4-7 CIFAR-10).
    "ldnas8": ("mnist-0", "mnist-1", "mnist-oddeven", "mnist-3", "cifar10-0", "cifar10-1", "cifar10-2", "cifar10-3"),
    # The transferability benchmark's pool (transferability.py): 8 MNIST and 8 CIFAR-10 tasks, 15 sources per target.
    "transfer16": _TRANSFER16,
    # transfer16 and 4 tasks of a third data domain (scikit-learn's digits): 19 sources per target
    "transfer20": (*_TRANSFER16, "digits-0", "digits-2", "digits-3", "digits-oddeven"),
    # the smoke preset's pool: the mnist and cifar10 sets (section train's networks) and the 4 digits tasks, three
    # datasets, 11 sources per target (132 pairs, a third of transfer20's 380: the smoke benchmark in ~1 minute)
    "transfer12": ("mnist-0", "mnist-1", "mnist-2", "mnist-3", "cifar10-0", "cifar10-1", "cifar10-2", "cifar10-3")
    + ("digits-0", "digits-2", "digits-3", "digits-oddeven"),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(name, [*TASKS, *TASK_SETS], n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(
            f"unknown task '{name}'; {hint}known tasks: {', '.join(TASKS)}; "
            f"task sets: {', '.join(TASK_SETS)} (add one in common/tasks.py)"
        ) from None


def resolve_tasks(names) -> list[Task]:
    """Expand a list of task and task-set names into tasks (order kept, duplicates dropped)."""
    out: list[Task] = []
    for name in names:
        for tname in TASK_SETS.get(name, (name,)):
            task = get_task(tname)
            if task not in out:
                out.append(task)
    return out


def tasks_label(names) -> str:
    """The name a group of tasks gets in file names (distance matrices): a lone task-set name as
    it is (``mnist``), else the expanded task names joined by '-' (``mnist-0-mnist-3``)."""
    names = list(names)
    if len(names) == 1 and names[0] in TASK_SETS:
        return names[0]
    return "-".join(t.name for t in resolve_tasks(names))


def tasks_of_dataset(dataset: str) -> list[str]:
    return [name for name, t in TASKS.items() if t.dataset == dataset]


def train_script(dataset: str) -> str:
    """The command that trains a dataset's tasks (in "train it first" hints)."""
    return DATASETS[dataset].train_script


def _check_registry(tasks: dict[str, Task] | None = None, task_sets: dict[str, tuple[str, ...]] | None = None) -> None:
    """The registry's rules, as UserErrors (not asserts: ``python -O`` would skip them and train a broken task)."""
    tasks = TASKS if tasks is None else tasks
    task_sets = TASK_SETS if task_sets is None else task_sets
    fix = "fix it in common/tasks.py"
    for key, t in tasks.items():
        require(key == t.name, f"task registered under '{key}' is named '{t.name}'; {fix}")
        n = len(DATASETS[t.dataset].classes)
        flat = [c for g in t.groups for c in g]
        require(flat and all(0 <= c < n for c in flat), f"task {t.name}: class ids must be in [0, {n}); {fix}")
        require(len(flat) == len(set(flat)), f"task {t.name}: a class appears in two groups; {fix}")
        require(all(g for g in t.groups), f"task {t.name}: empty group; {fix}")
        require(
            t.num_classes >= 2,
            f"task {t.name}: needs at least two labels (has {t.num_classes}: add a group or other=True); {fix}",
        )
        require(
            not (t.other and len(flat) == n),
            f"task {t.name}: 'other' is empty (every class is named); set other=False; {fix}",
        )
    for set_name, names in task_sets.items():
        require(set_name not in tasks, f"task set '{set_name}' shadows a task; rename it in common/tasks.py")
        for name in names:
            require(name in tasks, f"task set '{set_name}' names unknown task '{name}'; {fix}")


_check_registry()
