"""The benchmark's task pool and budget: which tasks are sources and targets, and every constant of the runs.

Pool: a task set of ``common/tasks.py`` (default ``transfer20``: 8 MNIST, 8 CIFAR-10 and 4 tasks of scikit-learn's
digits, a third data domain); every task is a target, and every other task of the pool is one of its sources (19 per
target for ``transfer20``). The sources
are the step-1 ε-networks (``train_task_mnist.py`` / ``train_task_cifar.py --tasks ...``), one per (task, seed).

Budget: one frozen ``BenchmarkConfig`` per preset (``BENCHMARK_PRESETS``), the only place the benchmark's
constants live (the ε-networks' split seed and validation fraction come from the training preset).

Cost of the ``cpu`` preset, measured (2 free cores, ``smallcnn``; 3 pairs: mnist-1 -> mnist-2, cifar10-0 ->
cifar10-1, digits-3 -> mnist-3, seed 0; a probe of ``full_truth`` / ``head_truth``, 2026-12-07):
  500 images per pair, patience 3: fine-tuning 8.2, 4.5, 9.8 s (19-42 epochs over 3-4 rates), head 0.6 s, scratch
            6.4-10.8 s: 1,140 pairs x ~8 s = ~2.5 h for the ground truth alone, over the issue's 120 minutes;
  200 images per pair, patience 2: fine-tuning 2.6, 1.4, 2.8 s, head 0.3 s, scratch 2.1-3.1 s: ~50 min for 1,140
            pairs, plus the scorers (1,200 Fishers on 1,000 validation images ~0.45 s each, the forward passes, OTDD
            0.07-0.28 s per pair) ~25 min.
So ``cpu`` trains on 200 target images per pair (the issue's order of cuts: images per pair before sources, seeds
or convergence); the truths' seed-to-seed τ says what that costs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from common.base.errors import UserError
from common.tasks import Task, resolve_tasks

DEFAULT_TASK_SET = "transfer20"
PROTOCOLS = ("finetune", "head", "scratch")  # the ground truths: full fine-tuning, head-only, from scratch


@dataclass(frozen=True)
class Schedule:
    """How one protocol trains, per learning rate: Adam at a constant rate, the target's validation accuracy after
    every epoch, stopped ``patience`` epochs after its best (early stopping) or at ``max_epochs`` (the cap).

    The learning-rate grid widens itself: ``first`` is tried, then, while the best rate (on validation) is the
    lowest or the highest tried so far, the next rate of ``lrs`` (a ladder, ascending) beyond it, until the best is
    inside the rates tried or at an end of the ladder ("at the grid's edge": the benchmark reports how often)."""

    lrs: tuple[float, ...]
    first: tuple[float, ...]
    max_epochs: int
    patience: int
    batch_size: int

    def __post_init__(self):
        if list(self.lrs) != sorted(set(self.lrs)) or not set(self.first) <= set(self.lrs) or not self.first:
            raise ValueError(f"a schedule's lrs must ascend and hold its first rates: {self.lrs}, {self.first}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """The benchmark's budget (``transferability.py``).

    Ground truth, per (source, target, seed): the source ε-network's body with a fresh head for the target,
    trained on ``train_images`` seeded target training images (the same images for every source and for
    scratch), with the protocol's ``Schedule``: early stopping on ``val_images`` target validation images, the
    learning rate chosen on them too; the selected (rate, epoch)'s accuracy on ``test_images`` test images (read
    once, after the selection) is the ground truth. ``finetune``: every layer trained; ``head``: the body frozen in
    eval mode (its features computed once), a linear head trained; ``scratch``: the same network randomly
    initialised, the fine-tuning schedule. Scorers read the Fisher preset's ``val`` split images
    (``inputs.scorer_fisher_config``), never test.
    """

    train_images: int
    val_images: int  # model selection (the learning rate and the early-stopping epoch)
    test_images: int  # the reported accuracy
    finetune: Schedule  # full fine-tuning, and scratch
    head: Schedule  # the linear probe on the frozen body
    augment: bool = False  # crop + flip during full fine-tuning and scratch
    probe_task: str = "cifar10-3"  # the Task2Vec probe's network: this task's ε-network of each seed
    otdd_images: int = 500  # per task, for OTDD's exact transport (its cost grows as n^3)

    def to_dict(self) -> dict:
        return asdict(self)


# The ladders span 3.5 (fine-tuning) and 4 (head) decades so that fewer than 10 % of the selected rates sit at an
# end (issue 34; the cpu run's share is in its leaderboard); the first rates are where most pilot picks fell.
_FINETUNE_LADDER = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
_HEAD_LADDER = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)

BENCHMARK_PRESETS: dict[str, BenchmarkConfig] = {
    "smoke": BenchmarkConfig(
        train_images=64,
        val_images=32,
        test_images=64,
        finetune=Schedule(lrs=(1e-3,), first=(1e-3,), max_epochs=1, patience=1, batch_size=16),
        head=Schedule(lrs=(1e-2, 3e-2, 1e-1), first=(3e-2,), max_epochs=5, patience=2, batch_size=32),
        otdd_images=64,
    ),
    "cpu": BenchmarkConfig(  # 200 images per pair: the cut that fits 2 cores (the module's docstring measures it)
        train_images=200,
        val_images=200,
        test_images=1000,
        finetune=Schedule(lrs=_FINETUNE_LADDER, first=(3e-4, 1e-3, 3e-3), max_epochs=30, patience=2, batch_size=32),
        head=Schedule(lrs=_HEAD_LADDER, first=(1e-2, 3e-2, 1e-1), max_epochs=300, patience=10, batch_size=64),
    ),
    "paper": BenchmarkConfig(
        train_images=5000,
        val_images=2000,
        test_images=10_000,
        finetune=Schedule(lrs=_FINETUNE_LADDER, first=(1e-4, 3e-4, 1e-3), max_epochs=100, patience=5, batch_size=64),
        head=Schedule(lrs=_HEAD_LADDER, first=(1e-2, 3e-2, 1e-1), max_epochs=500, patience=20, batch_size=128),
        augment=True,
        otdd_images=2000,
    ),
}


def benchmark_config(preset: str) -> BenchmarkConfig:
    if preset not in BENCHMARK_PRESETS:
        raise UserError(f"unknown preset '{preset}'; choose from {', '.join(BENCHMARK_PRESETS)}")
    return BENCHMARK_PRESETS[preset]


def pool(names) -> list[Task]:
    """The pool's tasks (task or task-set names); every task a target, the others its sources."""
    tasks = resolve_tasks(names)
    if len(tasks) < 3:
        raise UserError(
            f"a transferability benchmark needs at least 3 tasks (2 sources per target to rank), got {len(tasks)}"
        )
    return tasks


def sources_of(target: Task, tasks: list[Task]) -> list[Task]:
    """Every other task of the pool, in pool order."""
    return [t for t in tasks if t.name != target.name]


def probe_task(tasks: list[Task], budget: BenchmarkConfig) -> Task:
    """The Task2Vec probe's task: ``budget.probe_task`` when it is in the pool, else the pool's task with the
    most labels (the first such in pool order). One probe for every task of the pool."""
    for t in tasks:
        if t.name == budget.probe_task:
            return t
    return max(tasks, key=lambda t: t.num_classes)
