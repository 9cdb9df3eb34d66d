"""Constructed results shared by the report tests: long distance tables, NAS runs, a golden results tree."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from common.fisher import matrices
from common.store import paths
from common.studies.consistency import architecture_agreement

ROOT = Path(__file__).resolve().parents[1]


GOLDEN = Path(__file__).parent / "golden"


TASKS = ["mnist-0", "mnist-1", "mnist-2", "mnist-3"]


def long_frame(matrices: list[np.ndarray], tasks=TASKS) -> pd.DataFrame:
    """A fisher_distance.py long CSV from per-seed matrices (rows = source, columns = target)."""
    return pd.DataFrame(
        [
            {
                "seed": s,
                "source": a,
                "target": b,
                "distance": float(m[i, j]),
                "measure": "frechet",
                "estimator": "empirical",
                "samples": 10,
                "arch": "smallcnn",
            }
            for s, m in enumerate(matrices)
            for j, b in enumerate(tasks)
            for i, a in enumerate(tasks)
        ]
    )


def base_matrix() -> np.ndarray:
    # d(mnist-3 -> mnist-2) = 0.2 is the smallest entry of column mnist-2; asymmetric everywhere
    m = np.array([[0.0, 0.5, 0.6, 0.7], [0.4, 0.0, 0.5, 0.6], [0.6, 0.4, 0.0, 0.5], [0.3, 0.45, 0.2, 0.0]])
    return m


def seeds_of(m: np.ndarray, n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        noise = rng.normal(0, 0.005, m.shape)
        np.fill_diagonal(noise, 0)
        out.append(m + noise)
    return out


def runs_frame(gain: float, seeds=6, alpha_rank=0.5) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for s in range(seeds):
        base = 0.6 + rng.normal(0, 0.01)
        rows += [
            {
                "method": "task-aware",
                "seed": s,
                "test_acc": base + gain,
                "params": 2e5,
                "closest_task": "mnist-3",
                "alpha_rank_stage": alpha_rank,
            },
            {"method": "full", "seed": s, "test_acc": base, "params": 2e5, "closest_task": ""},
            {"method": "random", "seed": s, "test_acc": base + rng.normal(0, 0.002), "params": 2e5, "closest_task": ""},
            {"method": "hand-smallcnn", "seed": s, "test_acc": base - 0.01, "params": 2.2e5, "closest_task": ""},
        ]
    return pd.DataFrame(rows)


def golden_tree(root: Path) -> None:
    """A fixed, tiny results tree: step-1 metrics, the mnist FTD matrix (3 seeds), one NAS run file."""
    run = root / "cpu"
    rows = [
        {
            "task": t,
            "arch": "smallcnn",
            "seed": s,
            "preset": "cpu",
            "epochs": 3,
            "train_acc": 0.99,
            "val_acc": 0.98,
            "test_acc": 0.98 + 0.001 * s + 0.002 * i,
            "params": 215794,
            "train_seconds": 1.0,
            "device": "cpu",
            "git_commit": "abc1234",
            "n_test": 2000,
            "n_train": 12000,
            "n_val": 2000,
            "train_loss": 0.1,
        }
        for (i, t), s in itertools.product(enumerate(TASKS), range(3))
    ]
    run.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(run / "train_metrics.csv", index=False)
    out = paths.distance_outputs(root, "cpu", "smallcnn", "mnist", "frechet", "empirical")
    out["long"].parent.mkdir(parents=True)
    long_frame(seeds_of(base_matrix())).to_csv(out["long"], index=False)
    nas = paths.nas_table_outputs(root, "cpu", "mnist-2", "mnist")["runs"]
    nas.parent.mkdir(parents=True)
    runs_frame(0.05).to_csv(nas, index=False)
    # a second network's matrix (same ordering, other scale) and the architectures study made from it
    other = paths.distance_outputs(root, "cpu", "resnet18", "mnist", "frechet", "empirical")
    other["long"].parent.mkdir(parents=True)
    long_frame(seeds_of(0.2 + 0.5 * base_matrix())).to_csv(other["long"], index=False)
    write_architectures_study(root, base_matrix(), 0.2 + 0.5 * base_matrix())
    # the log-det study: two estimators x frechet / logdet at two σ²; the paper's default σ² is not the best
    study = paths.study_outputs(root, "cpu", "smallcnn", "logdet_ldnas8")["csv"]
    pd.DataFrame(
        [
            {
                "estimator": e,
                "distance": d,
                "sigma2": s2,
                "spearman": rho,
                "spearman_seed_mean": rho - 0.01,
                "spearman_seed_std": 0.02,
                "seeds": 3,
                "closest_agree": 4,
                "targets": 8,
                "principled": e in ("empirical", "mc"),
            }
            for e, d, s2, rho in [
                ("empirical", "frechet", None, 0.7),
                ("mc", "frechet", None, 0.6),
                ("empirical", "logdet", 1e-10, 0.1),
                ("empirical", "logdet", 1e-4, 0.4),
                ("mc", "logdet", 1e-10, 0.05),
                ("mc", "logdet", 1e-4, 0.3),
            ]
        ]
    ).to_csv(study, index=False)
    # reproduce.py --plan's job list: two steps, three jobs, one of them in two parts (one row without a
    # precision, as in plans made before the column: fp32)
    pd.DataFrame(
        {
            "step": ["step 1", "step 1", "step 3", "step 3"],
            "job": ["a/seed0", "b/seed0", "full/seed0", "full/seed0"],
            "part": ["train", "train", "search", "retrain"],
            "precision": ["bf16", "bf16", None, "bf16"],
            "macs_m": 1.0,
            "images": 100,
            "images_per_s": 10.0,
            "seconds": [3600.0, 1800.0, 7200.0, 360.0],
            "device": "cpu (2 threads)",
            "git_commit": "abc1234",
            "date": "2026-11-28",
        }
    ).to_csv(paths.plan_csv(root, "cpu"), index=False)
    # transfer.py's tables for the mnist set (common/transfer_learning/table.py on constructed runs)
    from common.transfer_learning.table import correlations, pair_table

    runs = pd.DataFrame(
        [{"source": "scratch", "target": t, "seed": 0, "test_acc": 0.5} for t in TASKS]
        + [
            {"source": a, "target": b, "seed": 0, "test_acc": 0.5 + 0.1 * (1 - m), "leep": -m}
            for (a, b), m in zip(itertools.permutations(TASKS, 2), itertools.cycle([0.2, 0.4, 0.9]))
        ]
    )
    pairs = pair_table(runs, frame(base_matrix()))
    out = paths.transfer_outputs(root, "cpu", "smallcnn", "mnist")
    out["pairs"].parent.mkdir(parents=True)
    pairs.to_csv(out["pairs"], index=False)
    correlations(pairs).to_csv(out["correlations"], index=False)
    # the dense set: metrics, matrix (the mnist values under dense names), atlas and transfer tables
    dense = ["2d-a", "2d-b", "2d-c", "2d-d"]
    out = paths.dense_distance_outputs(root, "cpu", "convae", "cifar10", "taskonomy-2d")
    out["long"].parent.mkdir(parents=True)
    long = long_frame(seeds_of(base_matrix()), tasks=dense)
    long.assign(samples=1000, compared="encoder only").to_csv(out["long"], index=False)
    from common.store.cache import code_version
    from common.store.seals import sha256

    out["manifest"].write_text(
        json.dumps(
            {
                "key": {"code": code_version("dense-matrix")},
                "provenance": {},
                "value": {"sha256": {"long": sha256(out["long"])[:16]}},
            }
        )
    )
    pd.DataFrame({"task": dense, "x": [0, 1, 0, 1], "y": [0, 0, 1, 1], "stress": 0.125}).to_csv(
        out["atlas_csv"], index=False
    )
    pd.DataFrame(
        {
            "task": np.repeat(dense, 2),
            "seed": [0, 1] * 4,
            "test_mse": [0.01, 0.02, 0.03, 0.05, 0.1, 0.1, 0.2, 0.4],
            "test_mse_mean_target": 0.06,
        }
    ).to_csv(paths.dense_train_metrics(root, "cpu", "convae", "cifar10"), index=False)
    from common.dense.transfer_runs import DENSE_SCORES

    dense_runs = pd.DataFrame(
        [{"source": "scratch", "target": t, "seed": 0, "neg_test_mse": -0.05} for t in dense]
        + [
            {"source": a, "target": b, "seed": 0, "neg_test_mse": -0.05 + 0.01 * (1 - m), "zero_shot": -m}
            for (a, b), m in zip(itertools.permutations(dense, 2), itertools.cycle([0.2, 0.4, 0.9]))
        ]
    )
    dense_pairs = pair_table(dense_runs, frame(base_matrix()).set_axis(dense).set_axis(dense, axis=1), DENSE_SCORES)
    out = paths.dense_transfer_outputs(root, "cpu", "convae", "cifar10", "taskonomy-2d")
    out["pairs"].parent.mkdir(parents=True)
    correlations(dense_pairs, DENSE_SCORES).to_csv(out["correlations"], index=False)
    write_benchmark(root)
    seal_tables(root)


def write_benchmark(root: Path) -> None:
    """transferability.py's pairs and leaderboard for the mnist set (the suite's metrics on constructed scores):
    FTD ranks every target's sources as the fine-tuning truth does, LEEP half as well, the others not at all."""
    from common.transferability import scorers
    from common.transferability.benchmark import metric_tables

    rows, m_of = [], frame(base_matrix())
    for seed, (a, b) in itertools.product(range(3), itertools.permutations(TASKS, 2)):
        m = m_of.loc[a, b]
        row = {"source": a, "target": b, "seed": seed, "protocol": "constructed (golden tree)"}
        row |= {name: 0.0 for name in scorers.SCORERS} | {f"seconds_{name}": 0.01 for name in scorers.SCORERS}
        row |= {"ftd": -m, "leep": -m if seed else m, "random": (7 * TASKS.index(a) + seed) % 5}
        row |= {"finetune_test_acc": 0.9 - 0.1 * m, "head_test_acc": 0.8 - 0.05 * m + 0.01 * seed}
        rows.append(row)
    pairs = pd.DataFrame(rows)
    _, board = metric_tables(pairs, n_boot=200)
    out = paths.benchmark_outputs(root, "cpu", "transfer20")
    out["pairs"].parent.mkdir(parents=True)
    pairs.to_csv(out["pairs"], index=False)
    board.assign(protocol="constructed (golden tree)").to_csv(out["leaderboard"], index=False)


def seal_tables(root: Path) -> None:
    """Seal every table of a constructed tree, as the steps that write real ones do (collect.py verifies)."""
    from common.store.io import write_seal

    for path in sorted(Path(root).rglob("*")):
        if path.suffix in (".csv", ".md") and path.name != "REPORT.md":
            write_seal(path)


def write_architectures_study(root: Path, ref: np.ndarray, other: np.ndarray) -> None:
    """consistency_study.py (c)'s CSV for two mean matrices of the mnist set."""
    table = architecture_agreement(frame(ref), frame(other)).assign(
        task_set="mnist", reference="smallcnn", other="resnet18", seeds_reference=3, seeds_other=3
    )
    path = paths.study_outputs(root, "cpu", "smallcnn", "consistency_architectures")["csv"]
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def frame(m: np.ndarray) -> pd.DataFrame:
    m = np.array(m, dtype=float)
    np.fill_diagonal(m, 0.0)
    return pd.DataFrame(m, index=TASKS, columns=TASKS)


def fake_fisher_store(monkeypatch, fisher_of) -> None:
    """``common.fisher.matrices.distance_table`` without checkpoints, data or Fisher runs: the Fisher of
    (source task, seed) on a target is ``fisher_of(source, seed, target)`` (Task objects, an int seed)."""
    monkeypatch.setattr(matrices, "verify_checkpoints", lambda tasks, seeds, *a, **k: {})
    monkeypatch.setattr(matrices, "prepare_data", lambda *a, **k: None)
    monkeypatch.setattr(matrices, "target_data", lambda *a, **k: None)
    monkeypatch.setattr(
        matrices,
        "target_fishers",
        lambda target, seed, tasks, *a, **k: ({t.name: fisher_of(t, seed, target) for t in tasks}, len(tasks)),
    )
