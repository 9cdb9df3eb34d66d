"""What one NAS run of ``nas_fuse.py`` searches and retrains, as one frozen value (``NASRun``): the target,
the space(s), the learned tasks the closest is taken from, the budget and the preset's configurations.
The step functions of ``common/nas/runs.py`` take it and the results directory; the keys of their searches
and retrainings (``common/nas/keys.py``) are built from its fields, so two runs with equal specs share every
record. Where it runs (device) and whether to redo (``force``) are not part of it: they change no result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.base.errors import UserError
from common.base.names import NAS_SPACE_NAMES
from common.presets import NASConfig, TrainConfig
from common.tasks import Task
from common.training.accel import Accel

SPACES = NAS_SPACE_NAMES  # task-aware, task-aware-warm, full (common/base/names.py)
TASK_AWARE = ("task-aware", "task-aware-warm")


@dataclass(frozen=True)
class NASRun:
    target: Task
    spaces: tuple[str, ...]  # the main space(s), names of SPACES; the baselines are added by ``methods``
    cfg: NASConfig  # the NAS preset, with the run's seeds, epochs and width
    stages: int  # the search budget: FUSE stages (random search: the same number of candidates)
    train_cfg: TrainConfig  # step 1's configuration of the target (splits, the ε-architecture)
    preset: str
    data_root: str | Path
    baselines: tuple[str, ...] | None = None  # learned tasks (or one task-set name); None: the target's default
    distance: str = "frechet"  # of the matrix the closest task is read from
    estimator: str = "empirical"
    search_only: bool = False  # no baselines, no retraining, no table
    accel: Accel = Accel()  # how the retrainings use a GPU (the searches stay fp32)

    def __post_init__(self):
        unknown = [s for s in self.spaces if s not in SPACES]
        if unknown or not self.spaces:
            raise UserError(f"unknown space '{(unknown or [''])[0]}'; choose from {', '.join(SPACES)}")

    @property
    def arch(self) -> str:
        """The ε-architecture of the learned tasks' networks (the distance matrix) and the hand-designed one."""
        return self.train_cfg.arch

    @property
    def task_aware(self) -> bool:
        return any(s in TASK_AWARE for s in self.spaces)

    @property
    def methods(self) -> list[str]:
        """The searched methods: the main space(s), then (unless ``search_only``) the full-space FUSE and
        random-search baselines at equal budget."""
        return nas_methods(list(self.spaces), self.search_only)


def nas_methods(main_spaces: list[str], search_only: bool) -> list[str]:
    """The searched methods of a NAS run: the main space(s), then (unless ``search_only``) the
    full-space FUSE and random-search baselines at equal budget."""
    return main_spaces if search_only else main_spaces + [m for m in ("full", "random") if m not in main_spaces]
