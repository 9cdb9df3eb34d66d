"""How a training run uses its accelerator (the `paper` preset on GPUs): bf16 autocast on CUDA
(``--amp``, on by default there), ``torch.compile`` (``--compile``), the data moved to the device once.
cudnn.benchmark is switched on by ``device.select_device``; channels-last is ``train.prepare``'s.

None of these changes what a run computes, only how fast and at which float precision, like the
device itself: they are recorded in the run's record (``precision``, ``compiled`` columns of
train_metrics.csv, present when used), not in its key. Fishers never run under autocast: they are
always fp32 (the per-sample squares of bf16 gradients would lose most of their digits).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn as nn

from common.data.decode import Split
from common.store.cache import RETIRED


@dataclass(frozen=True)
class Accel:
    amp: bool = False  # bf16 autocast of the training forward passes (CUDA only)
    compile: bool = False  # torch.compile the network being trained

    def autocast(self, device_type: str = "cuda"):
        # cache_enabled=False: the context spans a whole run (``fit``), and autocast's cache of bf16 weight
        # copies is only emptied on leaving it, so every forward pass after the first used the stale bf16
        # copies of the initial weights (measured on an H200, 2026-11-29: test accuracy 0.27-0.66 vs
        # 0.74-0.83 fp32; a compiled network casts in its graph and was not affected)
        return (
            torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=False)
            if self.amp
            else contextlib.nullcontext()
        )

    def wrap(self, net: nn.Module) -> nn.Module:
        """The module to train: ``net`` itself, or its compiled form (same parameters, so
        ``net.state_dict()`` stays the one to save)."""
        return torch.compile(net) if self.compile else net

    def record(self) -> dict:
        """The columns a run record gets when something non-default was used."""
        return {**({"precision": PRECISION} if self.amp else {}), **({"compiled": True} if self.compile else {})}


PRECISION = "bf16"  # what runs trained under --amp record
BROKEN_PRECISION = "bf16-autocast"  # what they recorded before the autocast fix of 2026-11-29 (above)


def retired(value) -> str | None:
    """Why a stored training result (checkpoint, NAS retraining, transfer run) must be redone although
    its key matches: it was trained under the broken autocast (``Accel.autocast``), which the key,
    holding no precision, cannot tell. Registered in ``cache.RETIRED``: every read of a keyed file asks."""

    def precisions(v, depth=0):
        if isinstance(v, dict) and depth < 3:
            for k, x in v.items():
                if k == "precision":
                    yield x
                elif isinstance(x, dict):
                    yield from precisions(x, depth + 1)

    if BROKEN_PRECISION in precisions(value):
        return (
            "trained under the bf16 autocast of before 2026-11-29, which kept using the initial weights' "
            "bf16 copies (wrong accuracies)"
        )
    return None


def resolve(amp: bool | None, compile: bool, device: torch.device, log=print) -> Accel:
    """``--amp`` / ``--compile`` for ``device``: amp defaults to on with CUDA; asked for elsewhere it is
    ignored with one line (bf16 autocast on CPU is slower than fp32 there, MPS lacks it for training)."""
    if amp and device.type != "cuda":
        log(f"note: --amp is for CUDA GPUs; ignored on {device.type} (training stays fp32)")
    return Accel(
        amp=device.type == "cuda" if amp is None else bool(amp and device.type == "cuda"), compile=bool(compile)
    )


def from_args(args, device: torch.device) -> Accel:
    """``resolve`` for a script's parsed flags; the CPU note is printed by the launching process only."""
    quiet = args.plan or args.job is not None
    return resolve(args.amp, args.compile, device, log=(lambda line: None) if quiet else print)


def on_device(splits: dict[str, Split], device: torch.device) -> dict[str, Split]:
    """Every split as uint8 tensors on ``device``, moved once before training (augmentation and
    normalisation then run there, batch by batch: ``data.iterate_batches``)."""
    if device.type == "cpu":  # splits are made on the CPU (data.task_splits): nothing to move
        return splits
    return {name: Split(s.x.to(device), s.y.to(device)) for name, s in splits.items()}


RETIRED.append(retired)
