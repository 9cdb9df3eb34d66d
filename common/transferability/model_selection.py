"""Model selection for the ground truth (``ground_truth.py``), on validation only: early stopping within one learning
rate, the self-widening learning-rate grid (``pool.Schedule``) across rates, and what a record keeps of them.

``early_stopped`` trains epoch by epoch until ``patience`` epochs pass without a better validation accuracy (or the
cap); ``widening_grid`` tries the schedule's first rates, then the next rate of the ladder beyond the best while the
best is the lowest or highest tried; ``select_by_validation`` picks the best run (ties: the lowest rate; within a
run the earliest epoch of its best accuracy); ``outcome`` says whether the pick sits at an end of the ladder or was
stopped by the epoch cap.
"""

from __future__ import annotations

import math

from common.base.errors import UserError
from common.transferability.pool import Schedule


def _better(val: float | None, best: dict | None) -> bool:
    return val is not None and math.isfinite(val) and (best is None or val > best["val_acc"])


def select_by_validation(runs: list[dict], ladder: tuple[float, ...]) -> dict:
    """The run of ``runs`` (one per learning rate: lr, best_epoch, val_acc or None when it diverged) with the
    best validation accuracy; ties: the lowest rate (ladder order). Within a run the best epoch is the earliest
    with the run's best accuracy (``early_stopped``)."""
    best = None
    for run in sorted(runs, key=lambda r: ladder.index(r["lr"])):
        if _better(run.get("val_acc"), best):
            best = run
    if best is None:
        raise UserError("every learning rate of the grid diverged (non-finite loss); lower the grid in pool.py")
    return best


def early_stopped(train_epoch, validate, snapshot, schedule: Schedule) -> dict:
    """One learning rate: ``train_epoch()`` (False: the loss became non-finite), then ``validate()`` after every
    epoch, until ``schedule.patience`` epochs pass without a better validation accuracy or ``max_epochs`` is
    reached. Returns the validation curve, the best epoch, its accuracy, ``snapshot()`` taken there, and why it
    stopped ("patience", "cap" or "diverged")."""
    curve: list[float] = []
    best: dict | None = None
    stopped = "cap"
    for epoch in range(1, schedule.max_epochs + 1):
        if not train_epoch():
            stopped = "diverged"
            break
        val = validate()
        curve.append(round(val, 6))
        if _better(val, best):
            best = {"best_epoch": epoch, "val_acc": val, "state": snapshot()}
        elif epoch - best["best_epoch"] >= schedule.patience:
            stopped = "patience"
            break
    out = {"val_curve": curve, "stopped": stopped, "best_epoch": None, "val_acc": None, "state": None}
    return {**out, **(best or {})}


def widening_grid(run_rate, schedule: Schedule) -> tuple[dict, list[dict]]:
    """(the selected run, every run) over the schedule's self-widening learning-rate grid (``pool.Schedule``):
    ``run_rate(lr)`` gives ``early_stopped``'s dict for one rate."""
    runs = {lr: {"lr": lr, **run_rate(lr)} for lr in schedule.first}
    ladder = schedule.lrs
    while True:
        best = select_by_validation(list(runs.values()), ladder)
        tried = sorted(ladder.index(lr) for lr in runs)
        at = ladder.index(best["lr"])
        step = -1 if at == tried[0] and at > 0 else 1 if at == tried[-1] and at < len(ladder) - 1 else 0
        nxt = at + step
        if step == 0 or ladder[nxt] in runs:
            return best, [runs[lr] for lr in ladder if lr in runs]
        runs[ladder[nxt]] = {"lr": ladder[nxt], **run_rate(ladder[nxt])}


def outcome(best: dict, runs: list[dict], test_acc: float, schedule: Schedule) -> dict:
    """What a record keeps of a grid: the selected point, its test accuracy, where it sits (at an end of the
    ladder? stopped by the epoch cap?) and every rate's validation curve."""
    return {
        "lr": best["lr"],
        "epoch": best["best_epoch"],
        "val_acc": best["val_acc"],
        "test_acc": test_acc,
        "at_grid_edge": best["lr"] in (schedule.lrs[0], schedule.lrs[-1]) and len(schedule.lrs) > 1,
        "at_epoch_cap": best["stopped"] == "cap",
        "curve": [{"lr": r["lr"], "val": r["val_curve"], "stopped": r["stopped"]} for r in runs],
    }
