"""Does FUSE's α rank its candidates? The search-budget study of issue 33 (item 5).

FUSE keeps the candidate of largest α (Eq. 10). That is a search only if α orders the candidates like
their own quality. Per target and seed, one FUSE stage mixes ``CANDIDATES`` genotypes of the full space
(6, so that a Spearman correlation can mean something; the presets' stages have 3, whose Spearman is ±0.5
or ±1), at each search budget of ``BUDGETS`` (train images x weight epochs per round; the preset's rounds,
α epochs and learning rates). The same genotypes, from the same initial weights, are also trained *alone*
(random search's independent training, ``common/nas/fuse.py``) at the largest budget: their validation
accuracies are the truth. Per budget the study reports Spearman(α, stand-alone accuracy) and, as today's
diagnostic does, Spearman(α, each candidate's accuracy inside the mixture).

The rule, fixed before any result was seen (docs/nas.md): a budget *ranks* when the 95 % bootstrap
interval of the mean Spearman(α, stand-alone accuracy) over targets x seeds lies at or above
``RANKS_AT``; a budget whose mean reaches it without the interval is "not shown"; else it does not rank.

Each (target, seed, budget, mode) is one keyed record (``common/store/cache.py``; the key is a NAS search
key, ``common/nas/keys.py``, whose code is concept "alpha-rank": the search's and this module), so a rerun
computes only what is missing and an edit of either redoes the records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from common.data.decode import data_identity
from common.nas.fuse import fuse_search, random_search
from common.nas.keys import search_key
from common.nas.runs import search_splits
from common.nas.space import SearchSpace
from common.presets import NASConfig, TrainConfig
from common.store import paths
from common.store.cache import cached, code_version
from common.store.provenance import device_name, provenance
from common.studies.ranking import spearman
from common.tasks import Task

CANDIDATES = 6  # per stage: enough for a Spearman correlation to mean something
RANKS_AT = 0.5  # the rule's threshold on Spearman(α, stand-alone accuracy)
VAL_IMAGES = {"smoke": 64, "cpu": 1000, "paper": None}  # validation images of α's steps and of the truth
# (train images, weight epochs per round) per preset, cheapest first; the last one is also the truth's budget
BUDGETS: dict[str, tuple[tuple[int, int], ...]] = {
    "smoke": ((64, 1), (128, 1)),
    "cpu": ((320, 1), (1280, 1), (1280, 3), (2560, 3)),
    "paper": ((5000, 1), (20000, 1), (20000, 5), (45000, 5)),
}
MODES = ("fuse", "alone")  # α of the mixed stage; the same candidates trained alone (the truth)


@dataclass(frozen=True)
class Budget:
    images: int
    epochs: int  # weight epochs per round

    @property
    def label(self) -> str:
        return f"{self.images} images x {self.epochs} epoch(s)"


def budgets(preset: str) -> list[Budget]:
    return [Budget(images, epochs) for images, epochs in BUDGETS[preset]]


def stage_config(cfg: NASConfig, budget: Budget, preset: str) -> NASConfig:
    """The preset's search config with one stage of ``CANDIDATES`` candidates at ``budget``."""
    return replace(
        cfg,
        initial_candidates=CANDIDATES,
        stages=1,
        search_max_train=budget.images,
        weight_epochs=budget.epochs,
        search_max_val=VAL_IMAGES[preset],
    )


def stage_record(
    task: Task,
    seed: int,
    budget: Budget,
    mode: str,
    *,
    cfg: NASConfig,
    train_cfg: TrainConfig,
    preset: str,
    data_root,
    results_dir,
    device,
    force: bool = False,
) -> tuple[dict, bool]:
    """(record, computed now) of one stage: each candidate's genotype, α (``fuse``; NaN ``alone``) and
    validation accuracy after the stage's last round, with the stage's seconds."""
    scfg, space = stage_config(cfg, budget, preset), SearchSpace()
    data = data_identity(task.dataset, data_root, paths.data_cache_dir(results_dir))
    # a NAS search's key, with the code of this study besides the search's (how a record is read off the stage)
    key = {**search_key(task, f"alpha-rank-{mode}", space, None, scfg, 1, train_cfg, seed, data)}
    key["code"] = code_version("alpha-rank")
    path = paths.alpha_rank_record_path(results_dir, preset, task.name, seed, budget.images, budget.epochs, mode)

    def compute() -> dict:
        splits = search_splits(task, data_root, results_dir, scfg, train_cfg)
        search = fuse_search if mode == "fuse" else random_search
        desc = f"{task.name} seed {seed} {budget.label} {mode}"
        result = search(task, space, splits["train"], splits["val"], scfg, seed, device, stages=1, desc=desc)
        last = result.history[result.history["round"] == result.history["round"].max()]
        return {
            "key": key,
            "task": task.name,
            "seed": seed,
            "images": budget.images,
            "epochs": budget.epochs,
            "mode": mode,
            "n_train": len(splits["train"]),
            "n_val": len(splits["val"]),
            "genotypes": list(last.genotype),
            "alpha": [float(a) for a in last.alpha],
            "val_acc": [float(a) for a in last.val_acc],
            "seconds": round(result.seconds, 3),
            "device": device_name(torch.device(device)),
            "provenance": provenance(torch.device(device)),
        }

    def check(record: dict) -> None:
        values = record["val_acc"] + (record["alpha"] if mode == "fuse" else [])
        if not all(np.isfinite(values)):
            raise ValueError(f"{task.name} seed {seed} {budget.label}: a NaN in the stage's α or accuracies")

    return (lambda out: (out[0], not out[1]))(
        cached(path, key, compute, fmt="json", force=force, what="α-rank record", validate=check)
    )


def rank_rows(records: dict[tuple[str, int, Budget, str], dict], preset: str) -> pd.DataFrame:
    """One row per (target, seed, budget): Spearman of α with the stand-alone accuracies at the largest
    budget (the truth) and with the candidates' accuracies inside the mixture, and the stage's seconds."""
    truth_budget = budgets(preset)[-1]
    rows = []
    for (task, seed, budget, mode), rec in records.items():
        if mode != "fuse":
            continue
        alone = records.get((task, seed, truth_budget, "alone"))
        if alone is not None and alone["genotypes"] != rec["genotypes"]:
            raise ValueError(f"{task} seed {seed}: the stand-alone candidates are not the stage's")
        alpha = pd.Series(rec["alpha"])
        rows.append(
            {
                "target": task,
                "seed": seed,
                "images": budget.images,
                "epochs": budget.epochs,
                "rho_alone": spearman(alpha, pd.Series(alone["val_acc"])) if alone else float("nan"),
                "rho_mixture": spearman(alpha, pd.Series(rec["val_acc"])),
                "stage_seconds": rec["seconds"],
                "git_commit": rec["provenance"].get("git_commit", "unknown"),
            }
        )
    return pd.DataFrame(rows)


def bootstrap_interval(values, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean (NaNs dropped); (NaN, NaN) below two values."""
    x = np.asarray([v for v in values if v == v], dtype=float)
    if len(x) < 2:
        return float("nan"), float("nan")
    means = x[np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def verdict(mean: float, low: float) -> str:
    """The rule of the module docstring, fixed before the results."""
    if low == low and low >= RANKS_AT:
        return "ranks"
    if mean == mean and mean >= RANKS_AT:
        return "not shown (interval below 0.5)"
    return "does not rank"


def curve(rows: pd.DataFrame, cfg: NASConfig) -> pd.DataFrame:
    """Per budget: mean and interval of both Spearmans over targets x seeds, the verdict, and the time of the
    preset's whole search at that budget (``stages`` stages of ``candidates``: stage seconds scaled by the
    candidates trained)."""
    out = []
    scale = (cfg.initial_candidates + (cfg.stages - 1) * cfg.candidates) / CANDIDATES
    for (images, epochs), g in rows.groupby(["images", "epochs"], sort=False):
        low, high = bootstrap_interval(g.rho_alone)
        mean = float(g.rho_alone.mean())
        out.append(
            {
                "images": images,
                "epochs": epochs,
                "units": len(g),
                "rho_alone": mean,
                "rho_alone_low": low,
                "rho_alone_high": high,
                "rho_mixture": float(g.rho_mixture.mean()),
                "search_minutes": float(g.stage_seconds.mean()) * scale / 60,
                "verdict": verdict(mean, low),
            }
        )
    return pd.DataFrame(out)
