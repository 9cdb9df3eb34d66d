"""Kill anywhere: each script is SIGKILLed again and again, the k-th run of a step in its k-th
atomic write (FTD_KILL_AT_WRITE: after the temp file is complete, before the rename), until a run
writes less than that and finishes. After
every kill each file under results/ is readable; at the end no temp file is left and the final
CSVs equal those of an uninterrupted run (timings and device columns aside).

Each run is ``python <script> <flags>`` as a child forked from one server process that has only
imported the modules (torch, pandas, the steps' code) and run nothing: a run starts from what is on
disk alone, as a fresh process does, without paying the imports (~8 s of CPU) again in each of the
~17 runs (subprocess runs made this test take 3 minutes on 2 cores). Every run, the reference too,
computes with one thread: the smoke networks are tiny, so a second thread only adds overhead (on 2
busy cores the NAS step took 10x the CPU time with 2 threads)."""

import contextlib
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


# The fork server: reads one JSON line [script, argv, FTD_KILL_AT_WRITE, log] at a time, runs the script in
# a forked child as ``python script argv`` would (stdout and stderr to the log, uncaught exception: exit
# code 1) and answers the child's exit code (-9: SIGKILLed).
SERVER = """
import json, os, runpy, sys
import common.fisher.step, common.nas.step, common.training.step  # the steps' code; torch, pandas
for line in sys.stdin:
    script, argv, kill_at, log = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ["FTD_KILL_AT_WRITE"] = str(kill_at)
        sys.argv = [script, *argv]
        runpy.run_path(script, run_name="__main__")
        sys.exit(0)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


@contextlib.contextmanager
def fork_server():
    """``run(script, argv, kill_at, log) -> exit code``, each run a fresh child of the server."""
    env = {**os.environ, "FTD_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("FTD_KILL_AT_WRITE", None)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def run(script, argv, kill_at, log) -> int:
        server.stdin.write(json.dumps([script, [str(a) for a in argv], kill_at, str(log)]) + "\n")
        server.stdin.flush()
        answer = server.stdout.readline()
        assert answer, f"the fork server died (exit code {server.poll()})"
        return int(answer)

    try:
        yield run
    finally:
        server.stdin.close()
        server.wait(timeout=60)


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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the killed runs (OMP_NUM_THREADS=1)
    try:
        for module, _, extra in STEPS:
            module.main(common + ["--results-dir", str(reference)] + extra)
    finally:
        torch.set_num_threads(threads)

    kills = 0
    with fork_server() as run:
        for _, script, extra in STEPS:
            before = kills
            for attempt in range(1, 30):
                log = tmp_path / f"{script}.{attempt}.log"
                code = run(script, [*common, "--results-dir", killed, *extra], attempt, log)
                if code == 0:
                    break
                assert code == -9, log.read_text()
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
