"""Launchers: how a step script runs its independent jobs (``--launcher``).

A step (training, Fishers, NAS) is a list of jobs, each computing only its own keyed files
(a checkpoint, the Fishers on one target, one NAS record and its retraining), and a *merge* that
reads them all and writes the step's tables. Every launcher runs the same job code:

* ``inline`` (default): today's loop in this process; the merge computes whatever is missing.
* ``local``: each pending job is this script run again with ``--job NAME``, as a subprocess on this
  node: one worker per visible GPU (``CUDA_VISIBLE_DEVICES``), or ``--workers N`` on CPU with the
  cores shared out (``OMP_NUM_THREADS``). A pool of threads waits on the processes; nothing else.
* ``submitit``: the same commands submitted through submitit (SLURM when ``srun`` is there, else
  submitit's local executor), in waves of ``--array-parallelism`` on the local executor.

Before launching, a job is *finished* when its own code finds all its files with matching keys
(``cache.probe()``: nothing is computed), so a rerun submits only the unfinished jobs (rerun =
resume). After the jobs, the merge runs under ``probe()`` too: a file that is still missing stops it
with the job to redo, and a failed job is reported with its log and the command that redoes it alone.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from common.run.errors import UserError
from common.store import paths
from common.store.cache import WouldCompute, note_computed, probe

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


def prepare_inputs(args, datasets) -> None:
    """Before any job (or the inline loop): each dataset checked and decoded once, in this process, so
    that parallel jobs only read the decoded cache. Nothing for --plan, which reads no data (scripts
    without launcher flags have no --plan)."""
    if getattr(args, "plan", False):
        return
    from common.data.class_names import check_class_names
    from common.data.decode import check_data, prepare_data

    for dataset in sorted(set(datasets)):
        check_data(dataset, args.data_root)
        check_class_names(dataset, args.data_root)
        prepare_data(dataset, args.data_root, paths.data_cache_dir(args.results_dir))


def is_finished(job: Job) -> bool:
    """Whether the job's own code finds every file it would write, with matching keys (quietly)."""
    quiet = io.StringIO()
    with probe(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        try:
            job.run()
        except WouldCompute:
            return False
    return True


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _command(script: str, argv: list[str], names: list[str]) -> list[str]:
    """The child process that runs the jobs ``names`` one after another (``--job`` per name)."""
    return [
        sys.executable,
        str(ROOT / Path(script).name),
        *argv,
        "--launcher",
        "inline",
        *(arg for name in names for arg in ("--job", name)),
    ]


def _slots(args) -> int:
    """How many job processes can run at once: local's workers; submitit's array parallelism (on its local
    executor, which submitit picks where there is no ``srun``, at most one per CPU core, as ``_run_submitit``
    runs them)."""
    if args.launcher == "local":
        return args.workers or len(_visible_gpus(args.device)) or os.cpu_count() or 1
    import shutil

    return args.array_parallelism if shutil.which("srun") else min(args.array_parallelism, os.cpu_count() or 1)


def _processes(pending: list[Job], per_process: int, slots: int) -> dict[str, list[Job]]:
    """The pending jobs cut into groups of at most ``per_process``, one process each, named after their
    first and last job (the name of its log). Never fewer groups than ``slots`` (processes that can run at
    once) while there are jobs for them: 3 long NAS jobs on 2 workers stay 2 + 1, not 3 in one process."""
    size = max(1, min(per_process, -(-len(pending) // max(1, slots))))
    groups = [pending[i : i + size] for i in range(0, len(pending), size)]
    return {g[0].name if len(g) == 1 else f"{g[0].name}..{g[-1].name}": g for g in groups}


def _shell(cmd: list[str]) -> str:
    import shlex

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
    import torch

    if not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [i.strip() for i in listed.split(",") if i.strip()] if listed else []
    return ids or [str(i) for i in range(torch.cuda.device_count())]


def _run_local(jobs: list[Job], commands: dict[str, list[str]], args, log_dir: Path) -> list[Failure]:
    gpus = _visible_gpus(args.device)
    workers = _slots(args)
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
                    Failure(job.name, log, f"exit code {rc}: {_last_line(log)}", _shell(commands[job.name]))
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
    import time

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
        import submitit
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
                        _shell(commands[job.name]),
                    )
                )
    bar.close()
    return failures


LAUNCH = {"local": _run_local, "submitit": _run_submitit}


def run_step(
    args, argv: list[str] | None, *, script: str, step: str, jobs: Callable[[], list[Job]], merge: Callable[[], object]
):
    """Run a step with ``args.launcher``; returns what ``merge`` returns (--plan: the plan's table;
    --job: what the job returns)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.plan:
        import torch

        from common.networks.complexity import count_macs
        from common.run.device import select_device
        from common.run.plan import _time_steps, describe, estimate, timed_batch
        from common.run.throughputs import StoredThroughputs, throughputs_csv
        from common.store.provenance import device_name
        from common.training.accel import resolve

        device = select_device(args.device)
        listed = jobs()
        workers = _slots(args) if args.launcher != "inline" else 1
        # the precision the jobs will train at: --amp (default on with CUDA) for scripts that train
        amp = resolve(getattr(args, "amp", False), False, device, log=lambda line: None).amp
        # throughputs measured on this device before are read from results/throughputs.csv (--remeasure: timed again)
        stored = StoredThroughputs(
            throughputs_csv(args.results_dir), device_name(device), remeasure=getattr(args, "remeasure", False)
        )
        with torch.random.fork_rng():
            table = estimate(
                listed,
                device,
                amp=amp,
                measure=stored.measure_with(_time_steps, timed_batch),
                macs_of=stored.macs_with(count_macs),
            )
        print(
            describe(table, step=step, device_label=device_name(device), workers=workers)
            + (
                f"\n{stored.measured} throughput(s) measured now and stored in {stored.path}"
                if stored.measured
                else f"\nthroughputs read from {stored.path} (--remeasure times them again)"
            ),
            flush=True,
        )
        return table.assign(step=step)
    if args.job is not None:
        by_name = {j.name: j for j in jobs()}
        unknown = [name for name in args.job if name not in by_name]
        if unknown:
            raise UserError(f"no job named {unknown[0]!r} in this step; jobs: {', '.join(list(by_name)[:8])} ...")
        done = [by_name[name].run() for name in args.job]
        return done[0] if len(done) == 1 else done
    if args.launcher == "inline":
        return merge()
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    per_process = getattr(args, "jobs_per_process", 1) or 1
    if per_process < 1:
        raise UserError(f"--jobs-per-process must be at least 1, got {per_process}")
    listed = jobs()
    if len({j.name for j in listed}) != len(listed):
        raise ValueError(f"{step}: job names are not unique")
    pending = listed if args.force else [j for j in listed if not is_finished(j)]
    print(
        f"{step}: {len(listed)} job(s), {len(listed) - len(pending)} finished earlier, {len(pending)} to run "
        f"({args.launcher} launcher)",
        flush=True,
    )
    if pending:
        log_dir = paths.launcher_logs(args.results_dir, args.preset, Path(script).stem)
        log_dir.mkdir(parents=True, exist_ok=True)
        slots = _slots(args)
        processes = _processes(pending, per_process, slots)
        if per_process > 1:
            print(f"{step}: {len(processes)} process(es) of up to {per_process} job(s) each", flush=True)
        commands = {name: _command(script, argv, [j.name for j in group]) for name, group in processes.items()}
        note_computed(len(pending))
        failures = LAUNCH[args.launcher]([Job(name, lambda: None) for name in processes], commands, args, log_dir)
        if per_process > 1:  # a failed process: the jobs of its group that are not finished, each redone alone
            failures = [
                Failure(job.name, f.log, f.reason, _shell(_command(script, argv, [job.name])))
                for f in failures
                for job in processes[f.job]
                if not is_finished(job)
            ]
        if failures:
            for f in failures:
                print(f"failed: {f.job}: {f.reason}\n  log: {f.log}\n  redo it alone: {f.command}", file=sys.stderr)
            raise UserError(
                f"{len(failures)} of {len(pending)} job(s) of {step} failed (listed above, with their "
                "logs); rerun the same command to redo only the unfinished ones"
            )
    args.force = False  # the jobs did what --force asked; the merge only reads their files
    with probe():
        try:
            return merge()
        except WouldCompute as exc:
            raise UserError(
                f"{step}: {exc.what} {exc.path} is missing although its job finished (was it deleted, "
                "or an input changed meanwhile?); rerun the same command"
            ) from None
