"""Kill anywhere: each script is SIGKILLed again and again, the k-th run of a step in its k-th
atomic write (FTD_KILL_AT_WRITE: after the temp file is complete, before the rename), until a run
writes less than that and finishes. After
every kill each file under results/ is readable; at the end no temp file is left and the final
CSVs equal those of an uninterrupted run (timings and device columns aside)."""

import json
import os
import subprocess
import sys

import matplotlib.image
import pandas as pd
import torch
from conftest import ROOT

import fisher_distance
import nas_fuse
import train_task_mnist
from common.store import paths

STEPS = [
    (train_task_mnist, "train_task_mnist.py", ["--tasks", "mnist-0", "mnist-3"]),
    (fisher_distance, "fisher_distance.py", ["--tasks", "mnist-0", "mnist-3"]),
    (nas_fuse, "nas_fuse.py", ["--target", "mnist-3", "--space", "full"]),
]
TIMING = [
    "train_seconds",
    "device",
    "git_commit",
    "search_seconds",
    "retrain_seconds",
    "search_hours",
    "train_hours",
    "closest_search_hours",
]


def check_readable(root) -> int:
    n = 0
    for p in root.rglob("*"):
        if p.is_dir() or p.name.endswith(".tmp"):
            continue
        if p.suffix == ".pt":
            torch.load(p, weights_only=True)
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".csv":
            pd.read_csv(p)
        elif p.suffix == ".png":
            matplotlib.image.imread(p)
        else:
            p.read_text()
        n += 1
    return n


def final_csvs(results) -> dict:
    files = [paths.train_metrics_csv(results, "smoke")]
    files += [
        p
        for k, p in paths.distance_outputs(
            results, "smoke", "smallcnn", "mnist-0-mnist-3", "frechet", "empirical"
        ).items()
        if k in ("long", "mean", "std")
    ]
    files += [p for k, p in paths.nas_table_outputs(results, "smoke", "mnist-3").items() if k != "md"]
    return {p.relative_to(results): pd.read_csv(p).drop(columns=TIMING, errors="ignore") for p in files}


def test_kill_anywhere_then_resume_equals_an_uninterrupted_run(data_root, tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    common = ["--preset", "smoke", "--data-root", str(data_root), "--seeds", "0"]
    for module, _, extra in STEPS:
        module.main(common + ["--results-dir", str(reference)] + extra)

    kills = 0
    for _, script, extra in STEPS:
        before = kills
        for attempt in range(1, 30):
            env = {**os.environ, "FTD_OFFLINE": "1", "FTD_KILL_AT_WRITE": str(attempt)}
            r = subprocess.run(
                [sys.executable, script, *common, "--results-dir", str(killed), *extra],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if r.returncode == 0:
                break
            assert r.returncode == -9, r.stderr
            kills += 1
            check_readable(killed)
        else:
            raise AssertionError(f"{script} never finished")
        print(f"{script}: killed {kills - before} times, then finished")
    assert kills >= 10  # killed in every step, many times
    assert check_readable(killed) > 20
    assert not [p for p in killed.rglob("*.tmp")]  # the reruns removed the orphaned temp files
    ours, theirs = final_csvs(killed), final_csvs(reference)
    assert ours.keys() == theirs.keys()
    for name in ours:
        pd.testing.assert_frame_equal(ours[name], theirs[name], obj=str(name))
