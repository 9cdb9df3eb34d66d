"""What one run of ``transfer.py`` fine-tunes, as one frozen value (``TransferStudy``), and the runs of one
(target, seed) of it: scratch at the budget, then every other task's ε-network fine-tuned
(``common/transfer_learning/runs.py``, whose keyed records are reused on rerun). Where the runs happen
(device) and whether to redo them (``force``) are not part of the study: they change no result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from common.presets import TrainConfig, TransferConfig
from common.tasks import Task
from common.training.accel import Accel
from common.training.checkpoints import verify_checkpoints
from common.transfer_learning.runs import transfer_run


@dataclass(frozen=True)
class TransferStudy:
    tasks: tuple[Task, ...]  # every task is a target, the others its sources
    label: str  # the task set's name in file names
    tcfg: TransferConfig  # the fine-tuning budget (images, epochs, batch, learning rate)
    cfgs: Mapping[str, TrainConfig]  # step 1's configuration per dataset (the ε-networks' arch and seeds)
    preset: str
    data_root: str | Path
    budget: str = ""  # the file-name suffix of a budget other than the preset's ("" for the preset's)
    accel: Accel = field(default_factory=Accel)  # how the fine-tuning uses a GPU

    def __post_init__(self):
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "cfgs", MappingProxyType(dict(self.cfgs)))  # read-only, like the rest

    @property
    def arch(self) -> str:
        return next(iter(self.cfgs.values())).arch

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(next(iter(self.cfgs.values())).seeds)


def target_runs(study: TransferStudy, target: Task, seed: int, results_dir, *, device, force: bool = False):
    """One launcher job: [(record, run now)] of scratch and of every source fine-tuned on (target, seed)."""
    checkpoints = verify_checkpoints(
        list(study.tasks),
        [seed],
        study.arch,
        dict(study.cfgs),
        preset=study.preset,
        data_root=study.data_root,
        results_dir=results_dir,
    )
    return [
        transfer_run(
            source,
            checkpoints[(source.name, seed)] if source else None,
            target,
            seed,
            study.tcfg,
            study.cfgs[target.dataset],
            preset=study.preset,
            data_root=study.data_root,
            results_dir=results_dir,
            device=device,
            force=force,
            variant=study.budget,
            accel=study.accel,
        )
        for source in [None] + [t for t in study.tasks if t != target]
    ]
