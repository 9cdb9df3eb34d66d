"""Presets: every training/evaluation constant of the suite in one place.

``smoke``: seconds on tiny subsets (used by the tests).
``cpu``:   real data, the small network, data capped so that a whole task set x 3 seeds trains
           on 2 CPU cores in about 15 minutes.
``paper``: the papers' settings (Adam, default learning rate; MNIST 50 epochs batch 64;
           CIFAR 100 epochs batch 128 with crop + flip; 10 seeds; VGG-16). Meant for a GPU.
Command-line flags (``--epochs``, ``--batch-size``, ``--arch``, ``--seeds``) override a preset.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class TrainConfig:
    arch: str
    epochs: int
    batch_size: int
    lr: float                   # Adam learning rate (1e-3 is Adam's default, as in the papers)
    lr_schedule: str            # "constant" (papers) or "onecycle" (faster convergence on a CPU budget)
    augment: bool               # random crop (padding 4) + horizontal flip, on tensors
    max_train: int | None       # cap on training images per task (None: all)
    max_eval: int | None        # cap on validation / test images per task (None: all)
    seeds: tuple[int, ...]
    val_fraction: float = 0.1   # validation split carved from the official train split
    split_seed: int = 0         # seeds the val carve-out and the class balancing (same for every run)
    eval_batch_size: int = 500

    def to_dict(self) -> dict:
        return asdict(self)


PRESET_NAMES = ("smoke", "cpu", "paper")
DATASETS = ("mnist", "cifar10", "cifar100")

_SMOKE = TrainConfig(arch="smallcnn", epochs=1, batch_size=32, lr=1e-3, lr_schedule="constant",
                     augment=False, max_train=128, max_eval=64, seeds=(0,), eval_batch_size=64)
_CPU = TrainConfig(arch="smallcnn", epochs=3, batch_size=128, lr=2e-3, lr_schedule="onecycle",
                   augment=False, max_train=12_000, max_eval=2_000, seeds=(0, 1, 2))
_PAPER_MNIST = TrainConfig(arch="vgg16", epochs=50, batch_size=64, lr=1e-3, lr_schedule="constant",
                           augment=False, max_train=None, max_eval=None, seeds=tuple(range(10)))

PRESETS: dict[str, dict[str, TrainConfig]] = {
    "smoke": {"mnist": _SMOKE, "cifar10": replace(_SMOKE, augment=True),
              "cifar100": replace(_SMOKE, augment=True)},
    "cpu": {"mnist": _CPU,
            "cifar10": replace(_CPU, epochs=5, max_train=20_000, augment=True),
            "cifar100": replace(_CPU, epochs=5, max_train=20_000, augment=True)},
    "paper": {"mnist": _PAPER_MNIST,
              "cifar10": replace(_PAPER_MNIST, epochs=100, batch_size=128, augment=True),
              "cifar100": replace(_PAPER_MNIST, epochs=100, batch_size=128, augment=True)},
}


def train_config(preset: str, dataset: str, **overrides) -> TrainConfig:
    """The preset's config for a dataset, with the non-None overrides applied."""
    if preset not in PRESETS:
        raise KeyError(f"unknown preset '{preset}'; choose from {', '.join(PRESET_NAMES)}")
    cfg = PRESETS[preset][dataset]
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class FisherConfig:
    samples: int | None   # target test images the Fisher is computed on (None: the whole test split)
    batch_size: int       # the authors' code used batches of 50-100


FISHER_PRESETS: dict[str, FisherConfig] = {
    "smoke": FisherConfig(samples=32, batch_size=16),
    "cpu": FisherConfig(samples=1000, batch_size=100),
    "paper": FisherConfig(samples=None, batch_size=100),
}
