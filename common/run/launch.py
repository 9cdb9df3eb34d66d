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
import sys
from pathlib import Path
from typing import Callable

import torch

from common.base.device import select_device
from common.base.errors import UserError
from common.data.class_names import check_class_names
from common.data.decode import prepare_data
from common.data.tree_checks import check_data
from common.networks.complexity import count_macs
from common.run.launchers import LAUNCH, Failure, Job, job_command, parallel_slots, process_groups, shell_line
from common.run.plan import _time_steps, describe, estimate, timed_batch
from common.run.throughputs import StoredThroughputs, throughputs_csv
from common.store import paths
from common.store.cache import WouldCompute, note_computed, probe
from common.store.provenance import device_name
from common.training.accel import resolve


def prepare_inputs(args, datasets) -> None:
    """Before any job (or the inline loop): each dataset checked and decoded once, in this process, so
    that parallel jobs only read the decoded cache. Nothing for --plan, which reads no data (scripts
    without launcher flags have no --plan)."""
    if getattr(args, "plan", False):
        return

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


def run_step(
    args, argv: list[str] | None, *, script: str, step: str, jobs: Callable[[], list[Job]], merge: Callable[[], object]
):
    """Run a step with ``args.launcher``; returns what ``merge`` returns (--plan: the plan's table;
    --job: what the job returns)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.plan:
        device = select_device(args.device)
        listed = jobs()
        workers = parallel_slots(args) if args.launcher != "inline" else 1
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
        slots = parallel_slots(args)
        processes = process_groups(pending, per_process, slots)
        if per_process > 1:
            print(f"{step}: {len(processes)} process(es) of up to {per_process} job(s) each", flush=True)
        commands = {name: job_command(script, argv, [j.name for j in group]) for name, group in processes.items()}
        note_computed(len(pending))
        failures = LAUNCH[args.launcher]([Job(name, lambda: None) for name in processes], commands, args, log_dir)
        if per_process > 1:  # a failed process: the jobs of its group that are not finished, each redone alone
            failures = [
                Failure(job.name, f.log, f.reason, shell_line(job_command(script, argv, [job.name])))
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
