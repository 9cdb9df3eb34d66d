"""The launchers of ``--launcher local`` and ``--launcher submitit``: a step's pending jobs run as processes of
this same script with ``--job NAME``, their logs, their failures, and Ctrl-C (``common/run/launch.py`` decides
which jobs are pending and merges their files).

``local`` runs one worker per visible GPU (``CUDA_VISIBLE_DEVICES``), or ``--workers N`` on CPU with the cores
shared out (``OMP_NUM_THREADS``): a pool of threads waits on the processes. ``submitit`` submits the same
commands (SLURM when ``srun`` is there, else submitit's local executor, in waves of ``--array-parallelism``)."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from common.base.errors import UserError
from common.store import paths

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Job:
    name: str  # unique in its step, e.g. "mnist-2/seed1"
    run: Callable[[], object]  # computes the job's keyed files in this process
    # plan.Cost parts, for --plan only: made when a plan asks (an estimate may need what a run does not,
    # e.g. the split sizes of a registry entry)
    costs: Callable[[], tuple] = field(default=lambda: ())


@dataclass(frozen=True)
class Failure:
    job: str
    log: Path
    reason: str
    command: str


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def job_command(script: str, argv: list[str], names: list[str]) -> list[str]:
    """The child process that runs the jobs ``names`` one after another (``--job`` per name)."""
    return [
        sys.executable,
        str(ROOT / Path(script).name),
        *argv,
        "--launcher",
        "inline",
        *(arg for name in names for arg in ("--job", name)),
    ]


def parallel_slots(args) -> int:
    """How many job processes can run at once: local's workers; submitit's array parallelism (on its local
    executor, which submitit picks where there is no ``srun``, at most one per CPU core, as ``_run_submitit``
    runs them)."""
    if args.launcher == "local":
        return args.workers or len(_visible_gpus(args.device)) or os.cpu_count() or 1

    return args.array_parallelism if shutil.which("srun") else min(args.array_parallelism, os.cpu_count() or 1)


def process_groups(pending: list[Job], per_process: int, slots: int) -> dict[str, list[Job]]:
    """The pending jobs cut into groups of at most ``per_process``, one process each, named after their
    first and last job (the name of its log). Never fewer groups than ``slots`` (processes that can run at
    once) while there are jobs for them: 3 long NAS jobs on 2 workers stay 2 + 1, not 3 in one process."""
    size = max(1, min(per_process, -(-len(pending) // max(1, slots))))
    groups = [pending[i : i + size] for i in range(0, len(pending), size)]
    return {g[0].name if len(g) == 1 else f"{g[0].name}..{g[-1].name}": g for g in groups}


def shell_line(cmd: list[str]) -> str:

    return " ".join(shlex.quote(c) for c in [paths.python_command(), *cmd[1:]])


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    errors = [ln for ln in lines if ln.startswith("error:") or "Error" in ln]
    return (errors or lines or ["empty log"])[-1][:300]


def _visible_gpus(device: str) -> list[str]:
    if device == "cpu":
        return []

    if not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [i.strip() for i in listed.split(",") if i.strip()] if listed else []
    return ids or [str(i) for i in range(torch.cuda.device_count())]


def _run_local(jobs: list[Job], commands: dict[str, list[str]], args, log_dir: Path) -> list[Failure]:
    gpus = _visible_gpus(args.device)
    workers = parallel_slots(args)
    threads = max(1, (os.cpu_count() or 1) // workers)
    slots, local = itertools.count(), threading.local()
    print(
        f"local launcher: {len(jobs)} job(s), {workers} worker(s), "
        + (f"GPUs {', '.join(gpus)}" if gpus else f"{threads} CPU thread(s) each")
        + f"; logs in {log_dir}"
    )

    running: dict[str, subprocess.Popen] = {}
    stop = threading.Event()  # Ctrl-C: no queued job starts, the running ones are ended
    lock = threading.Lock()

    def run_one(job: Job) -> int | None:
        if not hasattr(local, "slot"):
            local.slot = next(slots)
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[local.slot % len(gpus)]
        else:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
        if stop.is_set():
            return None
        with open(log_dir / f"{_slug(job.name)}.log", "w") as log:
            with lock:
                if stop.is_set():
                    return None
                proc = running[job.name] = subprocess.Popen(
                    commands[job.name], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT
                )
            rc = proc.wait()
            with lock:
                running.pop(job.name, None)
                if rc in (130, -signal.SIGINT):  # Ctrl-C reached the job first: start nothing more
                    stop.set()
            return None if stop.is_set() else rc

    failures, finished = [], []
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {pool.submit(run_one, job): job for job in jobs}
    try:
        for future in tqdm(as_completed(futures), total=len(futures), desc="jobs", unit="job"):
            job = futures[future]
            rc = future.result()
            if rc == 0:
                finished.append(job.name)
            elif rc is not None:
                log = log_dir / f"{_slug(job.name)}.log"
                failures.append(
                    Failure(job.name, log, f"exit code {rc}: {_last_line(log)}", shell_line(commands[job.name]))
                )
    except KeyboardInterrupt:
        _stop_jobs(stop, lock, running, pool)
        print(
            f"interrupted: {len(finished)} of {len(jobs)} job(s) finished"
            + (f" ({', '.join(finished[:6])}{' ...' if len(finished) > 6 else ''})" if finished else "")
            + f"; the queued ones were not started and the running ones were ended (logs in {log_dir}). "
            "Rerun the same command to run only the unfinished jobs",
            file=sys.stderr,
            flush=True,
        )
        raise
    pool.shutdown(wait=True)
    return failures


def _stop_jobs(
    stop: threading.Event, lock: threading.Lock, running: dict[str, subprocess.Popen], pool, grace_s: float = 3.0
) -> None:
    """Ctrl-C on the local launcher: start nothing more, end the running jobs (SIGTERM, then SIGKILL after
    ``grace_s``), and return at once. A job killed mid-write leaves no file: every write is atomic."""

    with lock:
        stop.set()
        procs = list(running.values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_submitit(jobs: list[Job], commands: dict[str, list[str]], args, log_dir: Path) -> list[Failure]:
    try:
        import submitit  # only the submitit launcher needs it: the others run without submitit installed
    except ImportError:
        raise UserError("--launcher submitit needs the submitit package: .venv/bin/pip install submitit") from None
    executor = submitit.AutoExecutor(folder=log_dir / "%j")
    gpus = args.gpus_per_job if args.gpus_per_job is not None else int(args.device == "cuda")
    params = {"timeout_min": args.timeout_min, "name": "ftd-nas"}
    if gpus:
        params["gpus_per_node"] = gpus
    if args.partition:
        params["slurm_partition"] = args.partition
    params["slurm_array_parallelism"] = args.array_parallelism
    executor.update_parameters(**params)
    local = executor.cluster != "slurm"
    wave = min(args.array_parallelism, os.cpu_count() or 1) if local else len(jobs)
    env = dict(os.environ)
    if local and not gpus:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, wave)))
    print(
        f"submitit launcher ({executor.cluster} executor): {len(jobs)} job(s)"
        + (f", {wave} at a time" if local else f", array parallelism {args.array_parallelism}")
        + f"; logs in {log_dir}"
    )
    failures = []
    bar = tqdm(total=len(jobs), desc="jobs", unit="job")
    for start in range(0, max(len(jobs), 1), max(wave, 1)):
        chunk = jobs[start : start + wave]
        with executor.batch():
            submitted = [
                (
                    job,
                    executor.submit(
                        submitit.helpers.CommandFunction(commands[job.name], cwd=str(ROOT), env=env, verbose=False)
                    ),
                )
                for job in chunk
            ]
        by_id = {s.job_id: job for job, s in submitted}
        for done in submitit.helpers.as_completed([s for _, s in submitted]):
            bar.update()
            exc = done.exception()
            if exc is not None:
                job = by_id[done.job_id]
                reason = str(exc).strip().splitlines()
                failures.append(
                    Failure(
                        job.name,
                        Path(done.paths.stderr),
                        (reason[-1] if reason else type(exc).__name__)[:300],
                        shell_line(commands[job.name]),
                    )
                )
    bar.close()
    return failures


LAUNCH = {"local": _run_local, "submitit": _run_submitit}
