"""The benchmark's task pool and budget: which tasks are sources and targets, and every constant of the runs.

Pool: a task set of ``common/tasks.py`` (default ``transfer16``: 8 MNIST and 8 CIFAR-10 tasks); every task is a
target, and every other task of the pool is one of its sources (15 per target for ``transfer16``). The sources
are the step-1 ε-networks (``train_task_mnist.py`` / ``train_task_cifar.py --tasks ...``), one per (task, seed).

Budget: one frozen ``BenchmarkConfig`` per preset (``BENCHMARK_PRESETS``), the only place the benchmark's
constants live (the ε-networks' split seed and validation fraction come from the training preset).

Cost of the ``cpu`` preset (16 targets x 15 sources x 3 seeds = 720 pairs, 2 protocols, a 3-value learning-rate
grid each). NOT measured end to end: while this was written the 2 cores ran a ``cpu`` rerun and other tests (load
7), so one fine-tuning could not be timed fairly (the smoke benchmark's 6 MNIST pairs took ~9 s per pair there,
mostly start-up). Estimated from the suite's measured throughputs on 2 free cores (NOTES.md: smallcnn trains
~1,500 images/s; a Fisher on 1,000 images ~0.6 s), evaluation taken as ~4,500 images/s:
  finetune  720 pairs x 3 rates x 1 epoch x 500 images = 1.08 M trained (720 s) + val 500 + test 1,000 after
            each epoch = 3.24 M evaluated (720 s)                                                  ~24 min
  head      one body pass over 2,000 images per pair (320 s), 3 x 30 epochs of a linear head (~110 s)  ~7 min
  scorers   one pass over 1,000 val images per pair (160 s), LogME + H-score (~40 s), 768 Fishers on 1,000 val
            images (460 s; the 243 of the 9 step-2 tasks are shared with ``fisher_distance.py --fisher-split
            val``), 48 Task2Vec embeddings (~35 s)                                                 ~12 min
  scratch   48 (target, seed) x 3 rates                                                            ~2 min
  total ~45 min (issue budget: 60), plus step 1 for the 7 new tasks x 3 seeds (~8 min, in section train).
Measure it on a free machine first (``transferability.py --preset cpu`` prints its wall time per record kind
through the records' ``seconds``). If it runs over, cut in this order: test images 1,000 -> 500 (-4 min), the
grid to 2 rates, train images per pair; never sources or seeds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from common.base.errors import UserError
from common.tasks import Task, resolve_tasks

DEFAULT_TASK_SET = "transfer16"
PROTOCOLS = ("finetune", "head", "scratch")  # the ground truths: full fine-tuning, head-only, from scratch


@dataclass(frozen=True)
class BenchmarkConfig:
    """The benchmark's budget (``transferability.py``).

    Ground truth, per (source, target, seed): the source ε-network's body with a fresh head for the target,
    trained on ``train_images`` seeded target training images (the same images for every source and for
    scratch), once per learning rate of the grid; after every epoch its accuracy on ``val_images`` target
    validation images and on ``test_images`` test images is recorded, and the (learning rate, epoch) with the
    best VALIDATION accuracy is selected (early stopping and the grid in one choice); its TEST accuracy is the
    ground truth. ``finetune``: every layer trained (Adam, constant rate, ``epochs`` epochs); ``head``: the body
    frozen in eval mode (its features computed once), a linear head trained ``head_epochs`` epochs; ``scratch``:
    the same network randomly initialised, the fine-tuning budget and grid.
    Scorers read the Fisher preset's ``val`` split images (``inputs.scorer_fisher_config``), never test.
    """

    train_images: int
    val_images: int  # model selection (the learning rate and epoch)
    test_images: int  # the reported accuracy
    epochs: int  # full fine-tuning and scratch, per learning rate (validation after each: early stopping)
    batch_size: int
    finetune_lrs: tuple[float, ...]  # Adam, constant; also the scratch grid
    head_lrs: tuple[float, ...]  # Adam on the linear head
    head_epochs: int
    head_batch_size: int
    augment: bool = False  # crop + flip during full fine-tuning (off: 1-2 epochs are too short to gain from it)
    probe_task: str = "cifar10-3"  # the Task2Vec probe's network: this task's ε-network of each seed

    def to_dict(self) -> dict:
        return asdict(self)


BENCHMARK_PRESETS: dict[str, BenchmarkConfig] = {
    "smoke": BenchmarkConfig(
        train_images=64,
        val_images=32,
        test_images=64,
        epochs=1,
        batch_size=16,
        finetune_lrs=(3e-4, 1e-3, 3e-3),
        head_lrs=(1e-3, 1e-2, 1e-1),
        head_epochs=5,
        head_batch_size=32,
    ),
    "cpu": BenchmarkConfig(
        train_images=500,
        val_images=500,
        test_images=1000,
        epochs=1,
        batch_size=32,
        finetune_lrs=(3e-4, 1e-3, 3e-3),
        head_lrs=(1e-3, 1e-2, 1e-1),
        head_epochs=30,
        head_batch_size=64,
    ),
    "paper": BenchmarkConfig(
        train_images=5000,
        val_images=2000,
        test_images=10_000,
        epochs=10,
        batch_size=64,
        finetune_lrs=(1e-4, 3e-4, 1e-3),
        head_lrs=(1e-3, 1e-2, 1e-1),
        head_epochs=50,
        head_batch_size=128,
        augment=True,
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
