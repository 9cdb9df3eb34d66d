"""Presets of the dense (Taskonomy) tasks: the encoder-decoder ε-networks and their Gaussian Fishers, per preset
(``smoke``, ``cpu``, ``paper``, as ``common/presets.py`` for the classification tasks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class DenseConfig:
    """The dense tasks (``train_task_taskonomy.py``, ``fisher_distance_taskonomy.py``): encoder–decoder
    ε-networks trained with Adam on the mean squared error, and their Gaussian Fishers."""

    arch: str  # common/dense/models.py
    image_size: int  # images (and targets) are resized to image_size x image_size
    epochs: int
    batch_size: int
    lr: float
    max_train: int | None  # cap on training images per task (None: all)
    max_eval: int | None  # cap on validation / test images per task (None: all)
    seeds: tuple[int, ...]
    fisher_samples: int | None  # target test images of each Fisher (None: the whole split)
    fisher_batch: int
    val_fraction: float = 0.1
    split_seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


DENSE_PRESETS: dict[str, DenseConfig] = {
    "smoke": DenseConfig(
        arch="convae",
        image_size=16,
        epochs=1,
        batch_size=16,
        lr=1e-3,
        max_train=64,
        max_eval=32,
        seeds=(0,),
        fisher_samples=16,
        fisher_batch=8,
    ),
    # CIFAR-10's 32 x 32 images; a task x seed trains in ≈ 20 s on 2 cores
    "cpu": DenseConfig(
        arch="convae",
        image_size=32,
        epochs=3,
        batch_size=64,
        lr=2e-3,
        max_train=10_000,
        max_eval=1_000,
        seeds=(0, 1, 2),
        fisher_samples=1000,
        fisher_batch=100,
    ),
    # the FTD paper's Taskonomy size (128 x 128); epochs and seeds as its CIFAR runs. For a GPU.
    "paper": DenseConfig(
        arch="convae",
        image_size=128,
        epochs=100,
        batch_size=64,
        lr=1e-3,
        max_train=None,
        max_eval=None,
        seeds=tuple(range(10)),
        fisher_samples=None,
        fisher_batch=50,
    ),
}


def dense_config(preset: str, **overrides) -> DenseConfig:
    """The preset's dense config with the non-None overrides applied."""
    return replace(DENSE_PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
