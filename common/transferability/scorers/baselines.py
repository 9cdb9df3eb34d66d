"""Baseline scorers: source-accuracy (the source network's own test accuracy on ITS OWN task, a pass-through),
same-dataset (1 when source and target tasks come from the same dataset, else 0), random (a deterministic uniform
in [0, 1) from a SHA-256 of (seed, source, target))."""

from __future__ import annotations

import hashlib
from typing import Any

from common.transferability.scorers.validation import _scalar


def source_accuracy(accuracy: Any) -> float:
    """The source network's own test accuracy on its own task (a pass-through baseline)."""
    return _scalar(accuracy, "source_accuracy")


def same_dataset(source_dataset: str, target_dataset: str) -> float:
    """1.0 when the source and the target task come from the same dataset, else 0.0."""
    for name, v in (("source_dataset", source_dataset), ("target_dataset", target_dataset)):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}: expected a non-empty dataset name, got {v!r}")
    return 1.0 if source_dataset == target_dataset else 0.0


def random_score(rng_seed: Any, source: str, target: str) -> float:
    """A deterministic uniform in [0, 1) from SHA-256 of (seed, source, target): the same in every process."""
    seed = _scalar(rng_seed, "seed")
    if seed != int(seed):
        raise ValueError(f"seed: expected an integer, got {seed}")
    for name, v in (("source", source), ("target", target)):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}: expected a non-empty name, got {v!r}")
    digest = hashlib.sha256(f"{int(seed)}\x1f{source}\x1f{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64
