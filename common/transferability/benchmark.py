"""The transferability benchmark: does a small distance predict a good transfer?

``run_benchmark`` computes, for every (source, target, seed) of the pool (``pool.py``): every scorer of
``scorers.SCORERS`` from the target's validation images (``inputs.py``), and the two ground truths and the scratch
reference (``ground_truth.py``); each as one keyed record, so a rerun resumes. ``pairs_table`` makes one row per
(source, target, seed); ``metric_tables`` the per-target metrics (weighted tau, Pearson, Spearman, top-1 hit and
regret, ``metrics.per_target_metrics``) for both ground truths and the leaderboard (two-level bootstrap intervals
over targets and seeds, the paired sign-flip test of FTD against every other scorer: ``metrics.leaderboard``).
The outputs are written by ``report.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from common.base.errors import UserError
from common.data.decode import prepare_data
from common.presets import FisherConfig, TrainConfig
from common.store import paths
from common.store.seals import check_seal
from common.tasks import Task
from common.training.checkpoints import verify_checkpoints
from common.transferability import metrics as M
from common.transferability import scopes
from common.transferability import scorers as S
from common.transferability.ground_truth import ground_truth, truth_splits
from common.transferability.inputs import (
    cached_pair_scores,
    pair_scores,
    pool_fishers,
    score_inputs_key,
    scorer_images,
)
from common.transferability.pool import BenchmarkConfig, probe_task, sources_of
from common.transferability.probe import probe_features, task2vec_embedding

TRUTHS = {"finetune": "finetune_test_acc", "head": "head_test_acc"}  # ground truth -> its pairs column
REFERENCE = "ftd"


@dataclass(frozen=True)
class Benchmark:
    """What one benchmark run scores and fine-tunes (made by the step after its checks): the pool, seeds, the
    ε-networks' configurations, the budget of the ground truth and of the scorers' Fishers. Where it runs
    (device, results directory) and ``force`` are not part of it: they change no result."""

    tasks: list[Task]
    seeds: tuple[int, ...]
    arch: str
    preset: str
    cfgs: dict[str, TrainConfig]
    budget: BenchmarkConfig
    fcfg: FisherConfig
    data_root: str


def check_inputs(b: Benchmark, results_dir) -> dict:
    """Before any long work: every ε-network of the pool verified (one error line with the training command for
    the missing or stale ones), the data decoded. Returns the verified checkpoint entries."""
    checkpoints = verify_checkpoints(
        b.tasks, b.seeds, b.arch, b.cfgs, preset=b.preset, data_root=b.data_root, results_dir=results_dir
    )
    for dataset in sorted({t.dataset for t in b.tasks}):
        prepare_data(dataset, b.data_root, paths.data_cache_dir(results_dir))
    return checkpoints


def _memo(fn):
    box: dict = {}

    def get():
        if "v" not in box:
            box["v"] = fn()
        return box["v"]

    return get


def _per_task(fn):
    """``fn(task)`` computed once per task name (the inputs a seed's pairs share)."""
    done: dict[str, object] = {}

    def get(task: Task):
        if task.name not in done:
            done[task.name] = fn(task)
        return done[task.name]

    return get


def run_benchmark(
    b: Benchmark, checkpoints: dict, results_dir, *, device: torch.device, force: bool = False
) -> tuple[list[dict], int]:
    """(records, how many were computed now): per (target, seed) the scratch run, and per source its scores and
    its ``finetune`` and ``head`` runs."""
    probe = probe_task(b.tasks, b.budget)
    records, computed = [], 0
    n_pairs = sum(len(sources_of(t, b.tasks)) for t in b.tasks) * len(b.seeds)
    bar = tqdm(total=n_pairs, desc="benchmark pairs", unit="pair")
    # per task, a callable that reads its scorer images on first use (a record read from disk needs none)
    images = _per_task(
        lambda task: _memo(lambda: scorer_images(task, b.cfgs[task.dataset], b.fcfg, b.data_root, results_dir))
    )

    common = dict(preset=b.preset, data_root=b.data_root, results_dir=results_dir, device=device)

    def probe_memos(seed: int):
        """Per task, its Task2Vec embedding and its OTDD features under this seed's probe: each computed once per
        (task, seed), shared by every target whose pairs need it."""
        probe_net = checkpoints[(probe.name, seed)]
        embeddings = _per_task(
            lambda task: task2vec_embedding(
                task, seed, probe, probe_net, images(task), arch=b.arch, fcfg=b.fcfg, force=force, **common
            )
        )
        probe_space = _per_task(
            lambda task: probe_features(
                task,
                seed,
                probe,
                probe_net,
                images(task),
                b.budget.otdd_images,
                batch_size=b.cfgs[task.dataset].eval_batch_size,
                device=device,
            )
        )
        return embeddings, probe_space

    probe_inputs = {seed: probe_memos(seed) for seed in b.seeds}

    for target in b.tasks:
        splits = _memo(lambda t=target: truth_splits(t, b.budget, b.cfgs[t.dataset], b.data_root, results_dir))
        for seed in b.seeds:
            train_cfg = b.cfgs[target.dataset]
            rec, hit = ground_truth(
                "scratch", None, None, target, seed, b.budget, train_cfg, splits, force=force, **common
            )
            records.append(rec)
            computed += not hit
            fishers = _memo(
                lambda t=target, s=seed: pool_fishers(
                    t, s, b.tasks, checkpoints, images(t), cfgs=b.cfgs, fcfg=b.fcfg, force=force, **common
                )
            )
            embeddings, probe_space = probe_inputs[seed]

            for source in sources_of(target, b.tasks):
                bar.set_postfix_str(f"{source.name} -> {target.name} seed {seed}")
                key = score_inputs_key(
                    source,
                    target,
                    seed,
                    checkpoints,
                    probe,
                    arch=b.arch,
                    fcfg=b.fcfg,
                    otdd_images=b.budget.otdd_images,
                    data_root=b.data_root,
                    results_dir=results_dir,
                )
                path = paths.benchmark_record_path(
                    results_dir, b.preset, b.arch, "scores", source.name, target.name, seed
                )
                rec, hit = cached_pair_scores(
                    key,
                    path,
                    lambda s=source, k=seed: pair_scores(
                        s,
                        target,
                        k,
                        checkpoints,
                        images(target),
                        fishers,
                        embeddings,
                        probe_space,
                        eval_batch=train_cfg.eval_batch_size,
                        device=device,
                    ),
                    force=force,
                )
                records.append({"protocol": "scores", **rec})
                computed += not hit
                for protocol in ("finetune", "head"):
                    rec, hit = ground_truth(
                        protocol,
                        source,
                        checkpoints[(source.name, seed)],
                        target,
                        seed,
                        b.budget,
                        train_cfg,
                        splits,
                        force=force,
                        **common,
                    )
                    records.append(rec)
                    computed += not hit
                bar.update()
    bar.close()
    return records, computed


def _schedule_text(schedule) -> str:
    lrs = "/".join(f"{v:g}" for v in schedule.lrs)
    first = "/".join(f"{v:g}" for v in schedule.first)
    return (
        f"Adam lr from {first}, widened along {lrs} while the best is at an end of the rates tried; "
        f"early stopping (patience {schedule.patience}, cap {schedule.max_epochs} epochs), batch {schedule.batch_size}"
    )


def budget_text(budget: BenchmarkConfig) -> str:
    """The protocol in one line (the pairs CSV's ``protocol`` column and the Markdown)."""
    return (
        f"test accuracy ({budget.test_images} target test images) at the (learning rate, epoch) with the best accuracy "
        f"on {budget.val_images} target validation images; {budget.train_images} target training images; "
        f"finetune: all layers, {_schedule_text(budget.finetune)}; "
        f"head: body frozen, linear head, {_schedule_text(budget.head)}; scratch: as finetune"
    )


def _commits(*records: dict) -> str:
    """The commits (with their dirty flag) that made a pair's records, ";"-joined when they differ."""
    return ";".join(sorted({r.get("provenance", {}).get("git_commit", "unknown") for r in records}))


def pairs_table(records: list[dict], tasks: list[Task], seeds, budget: BenchmarkConfig) -> pd.DataFrame:
    """One row per (source, target, seed): every scorer (higher = predicted better), its seconds, both ground
    truths (test accuracy, selected lr and epoch, validation accuracy), scratch, and the gains over scratch."""
    by = {(r["protocol"], r["source"], r["target"], r["seed"]): r for r in records}
    datasets = {t.name: t.dataset for t in tasks}
    rows = []
    for target in tasks:
        for seed in seeds:
            scratch = by[("scratch", "scratch", target.name, seed)]
            for source in sources_of(target, tasks):
                sc = by[("scores", source.name, target.name, seed)]
                row = {
                    "source": source.name,
                    "target": target.name,
                    "seed": seed,
                    "source_dataset": datasets[source.name],
                    "target_dataset": target.dataset,
                    **{name: sc["scores"][name] for name in S.SCORERS},
                    **{f"seconds_{name}": sc["seconds"][name] for name in S.SCORERS},
                }
                truths = {protocol: by[(protocol, source.name, target.name, seed)] for protocol in ("finetune", "head")}
                for protocol, r in truths.items():
                    row.update(
                        {
                            f"{protocol}_test_acc": r["test_acc"],
                            f"{protocol}_val_acc": r["val_acc"],
                            f"{protocol}_lr": r["lr"],
                            f"{protocol}_epoch": r["epoch"],
                            f"{protocol}_gain": round(r["test_acc"] - scratch["test_acc"], 6),
                            f"{protocol}_at_grid_edge": bool(r["at_grid_edge"]),
                            f"{protocol}_at_epoch_cap": bool(r["at_epoch_cap"]),
                        }
                    )
                row.update(
                    {
                        "scratch_test_acc": scratch["test_acc"],
                        "scratch_lr": scratch["lr"],
                        "scratch_epoch": scratch["epoch"],
                        "n_images_scorers": sc["n_images"],
                        "fisher_from_cache": sc["fisher_from_cache"],
                        "protocol": budget_text(budget),
                        "git_commit": _commits(sc, scratch, *truths.values()),
                    }
                )
                rows.append(row)
    df = pd.DataFrame(rows)
    check_no_nan(df, "the pairs table")
    return df


def check_no_nan(df: pd.DataFrame, what: str) -> None:
    numeric = df.select_dtypes("number")
    bad = [c for c in numeric if not numeric[c].map(lambda v: math.isfinite(float(v))).all()]
    if bad:
        raise UserError(f"{what} has NaN or infinite values in {', '.join(bad[:3])}; nothing was written")


def metric_tables(pairs: pd.DataFrame, n_boot: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-target metrics, leaderboard) for both ground truths (column ``truth``). Per-target rows whose metric
    is undefined (constant score or truth) are left out of the table and counted in the leaderboard's
    ``n_excluded``; a scorer x metric undefined on every target is left out of the leaderboard."""
    scorers = [s for s in S.SCORERS if s in pairs.columns]
    per, boards = [], []
    for truth, col in TRUTHS.items():
        long = M.per_target_metrics(pairs, scorers, col)
        board = M.leaderboard(long, n_boot=n_boot, reference=REFERENCE)
        long.insert(0, "truth", truth)
        board.insert(0, "truth", truth)
        per.append(long)
        boards.append(board)
    per_target = pd.concat(per, ignore_index=True)
    board = pd.concat(boards, ignore_index=True)
    board = board[board["n_targets"] > 0].reset_index(drop=True)
    seconds = {s: float(pairs[f"seconds_{s}"].median()) for s in scorers}
    board["seconds_per_pair"] = board["scorer"].map(seconds)
    return per_target, board


def scope_tables(
    pairs: pd.DataFrame, preset: str = "cpu", n_boot: int = 2000, n_two_way: int | None = None
) -> pd.DataFrame:
    """The weighted τ of every scorer by scope (within the target's dataset, all sources, other datasets), for
    every target and per target dataset, both ground truths (``scopes.scope_table``)."""
    scorers = [s for s in S.SCORERS if s in pairs.columns]
    n_two_way = scopes.TWO_WAY_BOOT[preset] if n_two_way is None else n_two_way
    return scopes.scope_table(pairs, scorers, TRUTHS, REFERENCE, n_boot=n_boot, n_two_way=n_two_way)


def read_pairs(path, preset: str) -> pd.DataFrame:
    """The pairs table a benchmark run wrote, checked against its seal (``--tables-only`` makes every other table
    from it); a missing, unreadable or altered one is refused with the command that remakes it."""
    problem = "is missing" if not Path(path).is_file() else check_seal(path)
    if problem:
        raise UserError(
            f"{path}: {problem}; remake it: .venv/bin/python transferability.py --preset {preset} --data-root <data> "
            "(without --tables-only)"
        )
    return pd.read_csv(path)
