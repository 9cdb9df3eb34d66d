"""reproduce.py's runner (common/run/pipeline.py, common/steps.py) and the run log in REPORT.md."""

import json
import time

import torch

import reproduce
from common.store import paths


def test_reproduce_skips_steps_without_data_and_still_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FTD_OFFLINE", "1")
    results = tmp_path / "results"
    reproduce.main(
        [
            "--data-root",
            str(tmp_path / "nodata"),
            "--results-dir",
            str(results),
            "--sections",
            "train",
            "nas",
            "dense",
            "report",
        ]
    )
    out = capsys.readouterr().out
    # train: 1a-1c; nas: 3a, 3b of both targets; dense: 1d, 1e, both dense matrices, the dense transfer
    assert out.count("skipped, mnist data missing") == 3 and out.count("skipped, cifar10 data missing") == 6
    assert out.count("skipped, cifar100 data missing") == 1 and out.count("skipped, taskonomy data missing") == 2
    assert "report: REPORT.md from the results: done" in out
    report = paths.report_path(results, "smoke").read_text()
    assert "| 2a | FTD | the closest source of mnist-2 is mnist-3" in report and "not run" in report
    log = paths.reproduce_log(results, "smoke")
    assert "report: REPORT.md from the results" in log.read_text()


def test_reproduce_log_keeps_the_time_of_the_run_that_computed(tmp_path, capsys):
    """A rerun that only reuses files must not replace a step's wall time with the seconds it took to
    find them done (the report's wall-time table); a rerun that computes something replaces it."""
    import time
    from argparse import Namespace

    from common.run.pipeline import run_steps
    from common.steps import Step
    from common.store.cache import cached

    args = Namespace(
        preset="smoke",
        results_dir=str(tmp_path),
        data_root=str(tmp_path),
        device="cpu",
        seeds=None,
        force=False,
        launcher="inline",
        plan=False,
    )
    step = Step("train", "1z. a step", "fake", (), ())
    key = {"n": 1}

    def work(argv):
        cached(tmp_path / "x.json", key, lambda: time.sleep(0.2 if key["n"] == 1 else 1.0) or 1.0, fmt="json")

    def seconds():
        return json.loads(paths.reproduce_log(tmp_path, "smoke").read_text())["steps"][0]["seconds"]

    run_steps([step], args, {}, lambda script: work)
    first = seconds()
    assert 0.2 <= first < 1.0
    run_steps([step], args, {}, lambda script: work)  # everything reused
    assert seconds() == first and "everything reused" in capsys.readouterr().out
    key["n"] = 2  # an input changed: computed again
    run_steps([step], args, {}, lambda script: work)
    assert seconds() >= 1.0


def test_reproduce_log_counts_what_a_step_computed_and_reused(tmp_path, capsys, monkeypatch):
    """Each log entry says how many results the step computed and how many of an earlier run it reused
    (older than this process); both > 0 is a partial entry. Device and threads are per entry."""
    from argparse import Namespace

    from common.run.pipeline import run_steps
    from common.steps import Step
    from common.store import cache
    from common.store.cache import cached

    args = Namespace(
        preset="smoke",
        results_dir=str(tmp_path),
        data_root=str(tmp_path),
        device="cpu",
        seeds=None,
        force=False,
        launcher="inline",
        plan=False,
    )
    step = Step("train", "1z. a step", "fake", (), ())

    run = paths.run_dir(tmp_path, "smoke")

    def work(argv):
        for name in ("a", "b", "c"):
            cached(run / f"{name}.json", {"n": name}, lambda: 1.0, fmt="json")
        cached(run / "a.json", {"n": "a"}, lambda: 1.0, fmt="json")  # read again: made in this run
        cached(paths.data_cache_dir(tmp_path) / "d.json", {"n": "d"}, lambda: 1.0, fmt="json")  # shared data

    def entry():
        return json.loads(paths.reproduce_log(tmp_path, "smoke").read_text())["steps"][0]

    run_steps([step], args, {}, lambda script: work)
    assert (entry()["computed"], entry()["reused"]) == (4, 0) and entry()["threads"] == torch.get_num_threads()
    monkeypatch.setattr(cache, "_STARTED", time.time() + 1)  # a later process: a, b, c, d are old
    monkeypatch.setattr(cache, "_REUSED", set())
    (run / "c.json").unlink()
    run_steps([step], args, {}, lambda script: work)
    assert (entry()["computed"], entry()["reused"]) == (1, 2)  # the decoded data's d is not counted
    assert "partial: 2 result(s) of an earlier run reused" in capsys.readouterr().out


def test_report_wall_time_per_section_and_the_cpu_budget(tmp_path):
    """REPORT.md's run metadata: seconds summed per section (a step no longer planned goes to "other"),
    and, for preset cpu only, the core's time with how many of its steps the log holds."""
    from common.report.document import _metadata
    from common.steps import CORE_SECTIONS, STEPS

    entry = {"launcher": "inline", "peak_rss_gib": 1.0, "finished": "2026-11-29T00:00:00+0000"}
    log = {
        "steps": [
            {**entry, "step": "1a. ε-networks, MNIST tasks", "seconds": 100.0},
            {**entry, "step": "3b. NAS for mnist-2 (baselines mnist)", "seconds": 200.0},
            {**entry, "step": "4. transfer study, mnist", "seconds": 40.0},
            {**entry, "step": "9. a step that was renamed", "seconds": 7.0},
        ]
    }
    core_steps = sum(step.section in CORE_SECTIONS for step in STEPS)
    text = "\n".join(_metadata(tmp_path, "cpu", log))
    assert "- wall time of the steps: 347 s in all" in text
    assert "- per section: train 100 s, nas 200 s, transfer 40 s, other 7 s; the core" in text
    assert f"(train, distances, study, nas): 300 s = 5 min, 2 of its {core_steps} steps logged" in text
    assert "| 9. a step that was renamed | other | inline | 7 | – |" in text
    assert "the core" not in "\n".join(_metadata(tmp_path, "smoke", log))
    # a partial entry (an earlier run's results reused) is flagged and left out of the core's time
    log["steps"][1].update(computed=3, reused=5, device="cuda (H200)", threads=16)
    log["steps"][0].update(computed=9, reused=0)
    text = "\n".join(_metadata(tmp_path, "cpu", log))
    assert f"100 s = 2 min, 1 of its {core_steps} steps logged (and 1 partial, left out)" in text
    assert "| 3b. NAS for mnist-2 (baselines mnist) | nas | inline | 200 | 3 / 5 (partial) |" in text
    assert "| 1a. ε-networks, MNIST tasks | train | inline | 100 | 9 / 0 |" in text and "_partial_:" in text
    assert "- reproduce.py runs: ?, ? thread(s); cuda (H200), 16 thread(s)" in text  # per entry


def test_reproduce_passes_the_shared_flags():
    from argparse import Namespace

    from common.run.pipeline import step_argv
    from common.steps import STEPS

    args = Namespace(
        preset="cpu",
        results_dir="r",
        data_root="d",
        device="cpu",
        seeds=[1, 2],
        force=True,
        launcher="local",
        workers=2,
        partition=None,
        gpus_per_job=None,
        timeout_min=240,
        array_parallelism=64,
        plan=False,
    )
    nas = next(s for s in STEPS if s.script == "nas_fuse")
    argv = step_argv(nas, args)
    assert argv[: len(nas.argv)] == list(nas.argv) and argv[-4:] == ["--seeds", "1", "2", "--force"]
    assert argv[argv.index("--launcher") : argv.index("--launcher") + 4] == ["--launcher", "local", "--workers", "2"]
    assert "--data-root" in argv and step_argv(STEPS[-1], args) == [
        "--no-readme",
        "--preset",
        "cpu",
        "--results-dir",
        "r",
    ]
    study = next(s for s in STEPS if s.script == "logdet_study")  # not split into jobs: no launcher flags
    assert "--launcher" not in step_argv(study, args)
    assert "--plan" in step_argv(nas, Namespace(**{**vars(args), "plan": True}))


def test_reproduce_smoke_end_to_end_writes_the_report(data_root, tmp_path, capsys, monkeypatch):
    """reproduce.py on fabricated data, steps of the MNIST half (train, both matrices, the closest
    task's cells, the target's NAS, the report): every step runs in order and REPORT.md holds the
    claims decided from what was just made; a rerun reuses everything."""
    from common import steps as reproduce_plan

    wanted = (
        "1a.",
        "2. FTD matrix, mnist",
        "2'''. FTD on validation splits (for NAS), mnist",
        "3a. full-space cells of mnist-3",
        "3b. NAS for mnist-2",
        "report",
    )
    monkeypatch.setattr(reproduce_plan, "STEPS", tuple(s for s in reproduce_plan.STEPS if s.name.startswith(wanted)))
    monkeypatch.setattr(reproduce, "STEPS", reproduce_plan.STEPS)
    results = tmp_path / "results"
    args = ["--data-root", str(data_root), "--results-dir", str(results)]
    reproduce.main(args)
    out = capsys.readouterr().out
    assert out.count(": done in") == 6 and "peak RSS" in out
    report = paths.report_path(results, "smoke").read_text()
    assert "| 2a | FTD | the closest source of mnist-2 is mnist-3" in report
    assert "| 5a | FTD |" in report and "no NAS runs" not in report.split("| 5a |")[1].split("\n")[0]
    assert (
        "| step | section | launcher | wall time (s) |" in report
        and "| 3b. NAS for mnist-2 (baselines mnist) | nas |" in report
    )
    assert "- per section: train " in report and "the core" not in report  # the budget line is cpu's
    reproduce.main(args)  # resume: nothing is recomputed
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not [x for x in lines if x.startswith(("searched ", "retrained ", "done "))], out
    assert out.count("everything reused (computed earlier in") == 5  # the log keeps the first run's times
    assert "report: REPORT.md from the results: done in" in out and "results: done in 0 s, everything" not in out
    assert (
        sum(x.startswith("skip search") for x in lines) == 5
    )  # mnist-3 full + 4 methods and "0 Fisher(s) computed" in out


def test_network_timings_block_reads_each_paper_network_step_from_the_log(tmp_path):
    """docs/reproduce.md's table of the arch-<net> sections comes from reproduce_log.json: one row per network and
    task set, a column per kind of step, "—" where the log has no entry, "(partial)" where the step reused results."""
    from common.report.tables import network_timings_markdown

    assert "No step of the sections arch-*" in network_timings_markdown(tmp_path, "cpu")
    entry = {"launcher": "inline", "finished": "2026-12-07T10:00:00+0000", "computed": 12, "reused": 0}
    log = {
        "steps": [
            {**entry, "step": "1n. vgg16 ε-networks, cifar10 tasks", "seconds": 1943.1},
            {**entry, "step": "2n. noise floor, vgg16, cifar10", "seconds": 95.4, "reused": 3},
            {**entry, "step": "2n. label-permuted FTD matrix, resnet18, mnist", "seconds": 145.1},
        ]
    }
    path = paths.reproduce_log(tmp_path, "cpu")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(log))
    text = network_timings_markdown(tmp_path, "cpu")
    header = text.splitlines()[0]
    assert header.startswith("| network | task set | ε-networks | FTD matrix | body-only | cross-seed |")
    assert "label-permuted" in header and "noise floor" in header
    rows = {tuple(line.split(" | ")[:2]): line for line in text.splitlines()[2:] if line.startswith("| ")}
    vgg = rows[("| vgg16", "cifar10")]
    assert "| 1,943 s | — |" in vgg and "| 95 s (partial) | 2026-12-07 |" in vgg
    assert "| 145 s |" in rows[("| resnet18", "mnist")] and rows[("| densenet121", "mnist")].count("—") == 8
