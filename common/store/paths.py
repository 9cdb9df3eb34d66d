"""Where every file of the suite lives. All paths are built here and nowhere else.

results/<preset>/
    checkpoints/<arch>/<task>/seed<k>.pt    state_dict + everything to rebuild it (git-ignored)
    checkpoints/<arch>/<task>/seed<k>.json  the run's metrics row and config (human-readable)
    train_metrics.csv                       one row per finished (task, arch, seed)
    REPORT.md, reproduce_log.json           generated report (collect.py / reproduce.py), step times
    fisher/<arch>/<estimator>_n<N>/<source>/on_<target>_seed<k>.pt   Fisher cache (git-ignored)
    distances/<arch>/<label>_<distance>_<estimator>_{long,mean,std}.csv, _{mean,std}.png, .json (manifest)
    nas/<target>_<baselines>_table.{csv,md}, nas/<target>_<baselines>_runs.csv,
    nas/genotypes/<task>_<method>[_from-<closest>]_seed<k>{.json,_history.csv,_retrain.json}
    nas/alpha_rank{.csv,.md,.png,_long.csv}, nas/alpha_rank/<task>_seed<k>_<images>x<epochs>_<mode>.json
    studies/<arch>/<name>.{csv,md}, <name>_long.csv   studies (logdet_study.py)
    dense/<arch>/<images>/                  dense tasks (train_task_taskonomy.py, fisher_distance_taskonomy.py):
        checkpoints/<task>/seed<k>.pt, fisher/n<N>/<source>/on_<target>_seed<k>.pt (git-ignored),
        train_metrics.csv, <label>_frechet_{long,mean,std}.csv, _{mean,std}.png, .json (manifest),
        <label>_frechet_atlas.{csv,png}, <label>_frechet_affinity.{csv,png}
        transfer/runs/<source>_to_<target>_seed<k>.json, transfer/<label>_{pairs,correlations}.csv, ...
results/cache/data/                         decoded datasets as uint8 tensors (git-ignored)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

MARGIN_FOLDER = "six-seeds"  # under the results root: the six-seed matrices of the margin claims (issue 33)


def margin_results(results_dir) -> Path:
    """The results root of the six-seed matrices (``common/experiments.py``, ``MARGIN_SEEDS``): a root of its
    own, so that their networks (trained with the six seeds) never mix with the preset's three-seed ones."""
    return Path(results_dir) / MARGIN_FOLDER


def run_dir(results_dir, preset: str) -> Path:
    return Path(results_dir) / preset


def checkpoint_path(results_dir, preset: str, arch: str, task: str, seed: int, sgd_seed: int | None = None) -> Path:
    """``seed<k>.pt``; a null twin (same initialisation, SGD noise of ``sgd_seed``): ``seed<k>-sgd<j>.pt``."""
    twin = "" if sgd_seed is None or sgd_seed == seed else f"-sgd{sgd_seed}"
    return run_dir(results_dir, preset) / "checkpoints" / arch / task / f"seed{seed}{twin}.pt"


def record_path(results_dir, preset: str, arch: str, task: str, seed: int, sgd_seed: int | None = None) -> Path:
    return checkpoint_path(results_dir, preset, arch, task, seed, sgd_seed).with_suffix(".json")


def checkpoints_root(results_dir, preset: str) -> Path:
    return run_dir(results_dir, preset) / "checkpoints"


def train_metrics_csv(results_dir, preset: str) -> Path:
    return run_dir(results_dir, preset) / "train_metrics.csv"


def data_cache_dir(results_dir) -> Path:
    return Path(results_dir) / "cache" / "data"


def fisher_cache_path(
    results_dir,
    preset: str,
    arch: str,
    estimator: str,
    samples,
    source: str,
    target: str,
    seed: int,
    split: str = "test",
    labels: str = "true",
    sgd_seed: int | None = None,
) -> Path:
    """Fisher of the (source, seed) network on the target's ``split`` (git-ignored cache); ``labels``
    "permuted": the target's class indices permuted (the head-confound control); ``sgd_seed``: of a null twin."""
    n = "all" if samples is None else str(samples)
    folder = f"{estimator}_n{n}" + ("" if split == "test" else f"_{split}") + ("" if labels == "true" else f"_{labels}")
    twin = "" if sgd_seed is None or sgd_seed == seed else f"-sgd{sgd_seed}"
    return run_dir(results_dir, preset) / "fisher" / arch / folder / source / f"on_{target}_seed{seed}{twin}.pt"


def distances_dir(results_dir, preset: str, arch: str) -> Path:
    return run_dir(results_dir, preset) / "distances" / arch


def distance_outputs(
    results_dir, preset: str, arch: str, label: str, distance: str, estimator: str, variant: str = ""
) -> dict:
    """long CSV, mean/std matrices (CSV), heatmaps (PNG) and manifest (JSON) of one distance run;
    ``variant`` names its non-default settings (``_seeds0-1_n500_sigma1e-04``, see ``ftd.variant``)."""
    stem = distances_dir(results_dir, preset, arch) / f"{label}_{distance}_{estimator}{variant}"
    return {
        "long": Path(f"{stem}_long.csv"),
        "mean": Path(f"{stem}_mean.csv"),
        "std": Path(f"{stem}_std.csv"),
        "mean_png": Path(f"{stem}_mean.png"),
        "std_png": Path(f"{stem}_std.png"),
        "manifest": Path(f"{stem}.json"),
    }


# Step 3, task-aware NAS:
# results/<preset>/nas/<target>_<baselines>_table.{csv,md}, ..._runs.csv (one row per method and seed)
# results/<preset>/nas/genotypes/<task>_<method>_seed<k>.json and ..._history.csv (α / candidates)
def nas_dir(results_dir, preset: str) -> Path:
    return run_dir(results_dir, preset) / "nas"


def nas_record_path(results_dir, preset: str, task: str, method: str, seed: int, baselines: str = "") -> Path:
    """The searched genotype of (task, method, seed), its search record and, once done, its retraining.
    ``baselines``: ``from-<closest task>`` for a task-aware space (so a target searched in the spaces
    of two closest tasks keeps both); empty for the full-space methods."""
    tag = f"_{baselines}" if baselines else ""
    return nas_dir(results_dir, preset) / "genotypes" / f"{task}_{method}{tag}_seed{seed}.json"


def nas_history_path(results_dir, preset: str, task: str, method: str, seed: int, baselines: str = "") -> Path:
    """α and validation accuracy of every candidate after every round, next to the record."""
    record = nas_record_path(results_dir, preset, task, method, seed, baselines)
    return record.with_name(f"{record.stem}_history.csv")


def nas_retrain_path(results_dir, preset: str, task: str, method: str, seed: int, baselines: str = "") -> Path:
    """The retraining of a searched genotype from scratch, and its test accuracy, next to the record."""
    record = nas_record_path(results_dir, preset, task, method, seed, baselines)
    return record.with_name(f"{record.stem}_retrain.json")


def alpha_rank_record_path(results_dir, preset: str, task: str, seed: int, images: int, epochs: int, mode: str) -> Path:
    """One stage of the α-rank study (alpha_rank_study.py): ``mode`` "fuse" (α) or "alone" (the truth)."""
    return nas_dir(results_dir, preset) / "alpha_rank" / f"{task}_seed{seed}_{images}x{epochs}_{mode}.json"


def alpha_rank_outputs(results_dir, preset: str) -> dict:
    """The α-rank study's curve (CSV, Markdown, figure) and its per-(target, seed, budget) rows."""
    folder = nas_dir(results_dir, preset)
    return {
        "csv": folder / "alpha_rank.csv",
        "md": folder / "alpha_rank.md",
        "png": folder / "alpha_rank.png",
        "long": folder / "alpha_rank_long.csv",
    }


def nas_table_outputs(results_dir, preset: str, target: str, baselines: str = "") -> dict:
    """The NAS table of a target (CSV, Markdown) and its per-seed rows (CSV); ``baselines``: the task
    set of the task-aware rows (``<target>_<set>_table.md``), empty for a full-space-only table."""
    folder = nas_dir(results_dir, preset)
    stem = f"{target}_{baselines}" if baselines else target
    return {"csv": folder / f"{stem}_table.csv", "md": folder / f"{stem}_table.md", "runs": folder / f"{stem}_runs.csv"}


def report_path(results_dir, preset: str) -> Path:
    """The generated report of a preset (``common/report/document.py``)."""
    return run_dir(results_dir, preset) / "REPORT.md"


def reproduce_log(results_dir, preset: str) -> Path:
    """reproduce.py's record of its steps (wall time, device, data identity), read by the report."""
    return run_dir(results_dir, preset) / "reproduce_log.json"


def transfer_dir(results_dir, preset: str, arch: str) -> Path:
    return run_dir(results_dir, preset) / "transfer" / arch


def transfer_record_path(
    results_dir, preset: str, arch: str, source: str, target: str, seed: int, variant: str = ""
) -> Path:
    """One transfer run (``common/transfer_learning/runs.py``): <source>_to_<target>_seed<k><variant>.json, source
    "scratch" for the from-scratch baseline; ``variant`` names a non-preset budget (``budget_variant``)."""
    return transfer_dir(results_dir, preset, arch) / "runs" / f"{source}_to_{target}_seed{seed}{variant}.json"


def transfer_outputs(results_dir, preset: str, arch: str, label: str) -> dict:
    """The transfer study of a task set: per-pair rows, per-target correlations, the scatter plot."""
    stem = transfer_dir(results_dir, preset, arch) / label
    return {
        "pairs": Path(f"{stem}_pairs.csv"),
        "correlations": Path(f"{stem}_correlations.csv"),
        "md": Path(f"{stem}_correlations.md"),
        "png": Path(f"{stem}_scatter.png"),
    }


def plan_csv(results_dir, preset: str) -> Path:
    """``reproduce.py --plan``'s job list with estimated costs (``common/run/plan.py``)."""
    return run_dir(results_dir, preset) / "plan.csv"


def launcher_logs(results_dir, preset: str, script: str) -> Path:
    """Logs of the jobs a launcher ran for a step script (``common/run/launch.py``): results/<preset>/logs/<script>/"""
    return run_dir(results_dir, preset) / "logs" / script


def dense_dir(results_dir, preset: str, arch: str, images: str) -> Path:
    return run_dir(results_dir, preset) / "dense" / arch / images


def dense_checkpoint_path(results_dir, preset: str, arch: str, images: str, task: str, seed: int) -> Path:
    return dense_dir(results_dir, preset, arch, images) / "checkpoints" / task / f"seed{seed}.pt"


def dense_fisher_path(
    results_dir, preset: str, arch: str, images: str, samples, source: str, target: str, seed: int
) -> Path:
    n = "all" if samples is None else str(samples)
    return dense_dir(results_dir, preset, arch, images) / "fisher" / f"n{n}" / source / f"on_{target}_seed{seed}.pt"


def dense_train_metrics(results_dir, preset: str, arch: str, images: str) -> Path:
    return dense_dir(results_dir, preset, arch, images) / "train_metrics.csv"


def dense_distance_outputs(results_dir, preset: str, arch: str, images: str, label: str, variant: str = "") -> dict:
    """The matrix files of ``distance_outputs`` plus the atlas (MDS map) and the affinity comparison."""
    stem = dense_dir(results_dir, preset, arch, images) / f"{label}_frechet{variant}"
    out = {
        "long": Path(f"{stem}_long.csv"),
        "mean": Path(f"{stem}_mean.csv"),
        "std": Path(f"{stem}_std.csv"),
        "mean_png": Path(f"{stem}_mean.png"),
        "std_png": Path(f"{stem}_std.png"),
        "manifest": Path(f"{stem}.json"),
    }
    for name in ("atlas", "affinity"):
        out[f"{name}_csv"], out[f"{name}_png"] = Path(f"{stem}_{name}.csv"), Path(f"{stem}_{name}.png")
    return out


def dense_transfer_record_path(
    results_dir, preset: str, arch: str, images: str, source: str, target: str, seed: int, variant: str = ""
) -> Path:
    return (
        dense_dir(results_dir, preset, arch, images)
        / "transfer"
        / "runs"
        / f"{source}_to_{target}_seed{seed}{variant}.json"
    )


def dense_transfer_outputs(results_dir, preset: str, arch: str, images: str, label: str) -> dict:
    """As ``transfer_outputs``, for a dense task set."""
    stem = dense_dir(results_dir, preset, arch, images) / "transfer" / label
    return {
        "pairs": Path(f"{stem}_pairs.csv"),
        "correlations": Path(f"{stem}_correlations.csv"),
        "md": Path(f"{stem}_correlations.md"),
        "png": Path(f"{stem}_scatter.png"),
    }


def python_command() -> str:
    """How the commands the suite prints should start: ``python`` when that is the interpreter
    running now (an activated venv), else the path of this interpreter (``.venv/bin/python``),
    so that a printed command works when pasted as it is."""

    on_path = shutil.which("python")
    here = Path(sys.executable)
    if on_path and Path(on_path).resolve() == here.resolve():
        return "python"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def study_outputs(results_dir, preset: str, arch: str, name: str) -> dict:
    """A study's table (CSV, Markdown) and its long per-seed CSV: results/<preset>/studies/<arch>/<name>.*"""
    stem = run_dir(results_dir, preset) / "studies" / arch / name
    return {"csv": Path(f"{stem}.csv"), "md": Path(f"{stem}.md"), "long": Path(f"{stem}_long.csv")}


# The transferability benchmark (transferability.py, common/transferability/):
# results/<preset>/transfer/benchmark/<set>_{pairs,leaderboard,per_target}.csv, _leaderboard.md, .png
# results/<preset>/transfer/benchmark/runs/<protocol>/<source>_to_<target>_seed<k>.json (one keyed record each)
def benchmark_dir(results_dir, preset: str) -> Path:
    return run_dir(results_dir, preset) / "transfer" / "benchmark"


def benchmark_record_path(
    results_dir, preset: str, arch: str, protocol: str, source: str, target: str, seed: int
) -> Path:
    """One keyed record of the benchmark: a ground-truth run (``finetune``, ``head``, ``scratch``: source
    "scratch") or a pair's scores (``scores``), or a task's Task2Vec embedding (``task2vec``: source "probe")."""
    return benchmark_dir(results_dir, preset) / "runs" / arch / protocol / f"{source}_to_{target}_seed{seed}.json"


def benchmark_outputs(results_dir, preset: str, label: str) -> dict:
    """The benchmark's tables and figure: pairs, per-target metrics, leaderboard (CSV + Markdown), figure, and the
    leaderboard by scope (within the target's dataset, all sources, other datasets: ``transferability.scopes``), and
    the ground truths' quality (``transferability.truth_quality``)."""
    stem = benchmark_dir(results_dir, preset) / label
    return {
        "pairs": Path(f"{stem}_pairs.csv"),
        "per_target": Path(f"{stem}_per_target.csv"),
        "leaderboard": Path(f"{stem}_leaderboard.csv"),
        "md": Path(f"{stem}_leaderboard.md"),
        "png": Path(f"{stem}_leaderboard.png"),
        "scopes": Path(f"{stem}_scopes.csv"),
        "truths": Path(f"{stem}_truths.csv"),
    }
