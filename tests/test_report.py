"""The claims (common/report/claims.py), the generated report blocks (common/report/tables.py), the README
collector (collect.py) and reproduce.py's runner."""
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import collect
import reproduce
from common.report import claims
from common.store import paths
from common.report.blocks import block_names, fill
from common.studies.consistency import architecture_agreement
from common.report.document import blocks

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
TASKS = ["mnist-0", "mnist-1", "mnist-2", "mnist-3"]


def long_frame(matrices: list[np.ndarray], tasks=TASKS) -> pd.DataFrame:
    """A fisher_distance.py long CSV from per-seed matrices (rows = source, columns = target)."""
    return pd.DataFrame([{"seed": s, "source": a, "target": b, "distance": float(m[i, j]), "measure": "frechet",
                          "estimator": "empirical", "samples": 10, "arch": "smallcnn"}
                         for s, m in enumerate(matrices) for j, b in enumerate(tasks) for i, a in enumerate(tasks)])


def base_matrix() -> np.ndarray:
    # d(mnist-3 -> mnist-2) = 0.2 is the smallest entry of column mnist-2; asymmetric everywhere
    m = np.array([[0.0, 0.5, 0.6, 0.7],
                  [0.4, 0.0, 0.5, 0.6],
                  [0.6, 0.4, 0.0, 0.5],
                  [0.3, 0.45, 0.2, 0.0]])
    return m


def seeds_of(m: np.ndarray, n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        noise = rng.normal(0, 0.005, m.shape)
        np.fill_diagonal(noise, 0)
        out.append(m + noise)
    return out


def test_closest_claim_reproduced_inconclusive_and_transposed():
    long = long_frame(seeds_of(base_matrix()))
    c = claims.closest_claim("2a", "FTD", long, "mnist-2", "mnist-3", "test", "cmd")
    assert c.status == claims.REPRODUCED and "mnist-3 closest in 3 of 3 seed(s)" in c.evidence
    # one seed names another source: the mean still does, the seeds disagree -> inconclusive
    seeds = seeds_of(base_matrix())
    seeds[1][1, 2] = 0.1
    c = claims.closest_claim("2a", "FTD", long_frame(seeds), "mnist-2", "mnist-3", "test", "cmd")
    assert c.status == claims.INCONCLUSIVE and "2 of 3" in c.evidence
    # the seeded bug of the developers' guide: a transposed matrix (rows = target) is caught
    c = claims.closest_claim("2a", "FTD", long_frame([m.T for m in seeds_of(base_matrix())]), "mnist-2", "mnist-3",
                             "test", "cmd")
    assert c.status == claims.NOT_REPRODUCED
    assert claims.closest_claim("2a", "FTD", None, "mnist-2", "mnist-3", "test", "make it").status == claims.NOT_RUN


def test_bounds_and_consistency_claims():
    long = long_frame(seeds_of(base_matrix()))
    assert claims.bounds_claim("1a", long, "mnist", "cmd").status == claims.REPRODUCED
    symmetric = base_matrix()
    symmetric = (symmetric + symmetric.T) / 2
    assert claims.bounds_claim("1a", long_frame(seeds_of(symmetric)), "mnist", "cmd").status == claims.NOT_REPRODUCED
    too_big = base_matrix()
    too_big[0, 3] = 1.2
    assert claims.bounds_claim("1a", long_frame(seeds_of(too_big)), "mnist", "cmd").status == claims.NOT_REPRODUCED
    assert claims.consistency_claim("3a", long, "mnist", "cmd").status == claims.REPRODUCED
    shuffled = [m if s != 1 else m.T for s, m in enumerate(seeds_of(base_matrix()))]   # one seed's order differs
    assert claims.consistency_claim("3a", long_frame(shuffled), "mnist", "cmd").status == claims.NOT_REPRODUCED


def test_same_dataset_claim():
    tasks = ["mnist-0", "mnist-3", "cifar10-0", "cifar10-3"]
    within = np.array([[0, .2, .6, .6], [.2, 0, .6, .6], [.6, .6, 0, .2], [.6, .6, .2, 0]])
    long = long_frame(seeds_of(within), tasks)
    assert claims.same_dataset_claim("6a", long, "frechet", "cmd").status == claims.REPRODUCED
    across = np.where(within == 0, 0, 0.8 - within)
    assert claims.same_dataset_claim("6a", long_frame(seeds_of(across), tasks), "frechet", "cmd").status \
        == claims.NOT_REPRODUCED


def runs_frame(gain: float, seeds=5) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for s in range(seeds):
        base = 0.6 + rng.normal(0, 0.01)
        rows += [{"method": "task-aware", "seed": s, "test_acc": base + gain, "params": 2e5, "closest_task": "mnist-3"},
                 {"method": "full", "seed": s, "test_acc": base, "params": 2e5, "closest_task": ""},
                 {"method": "random", "seed": s, "test_acc": base + rng.normal(0, 0.002), "params": 2e5,
                  "closest_task": ""},
                 {"method": "hand-smallcnn", "seed": s, "test_acc": base - 0.01, "params": 2.2e5, "closest_task": ""}]
    return pd.DataFrame(rows)


def test_nas_claim_verdicts():
    assert claims.nas_claim("5a", "FTD", runs_frame(0.05), "mnist-2", "mnist", "cpu").status == claims.REPRODUCED
    worse = claims.nas_claim("5a", "FTD", runs_frame(-0.05), "mnist-2", "mnist", "cpu")
    assert worse.status == claims.NOT_REPRODUCED and "higher in 0 of 5" in worse.evidence
    one_seed = claims.nas_claim("5a", "FTD", runs_frame(0.05, seeds=1), "mnist-2", "mnist", "cpu")
    assert one_seed.status == claims.INCONCLUSIVE


def golden_tree(root: Path) -> None:
    """A fixed, tiny results tree: step-1 metrics, the mnist FTD matrix (3 seeds), one NAS run file."""
    run = root / "cpu"
    rows = [{"task": t, "arch": "smallcnn", "seed": s, "preset": "cpu", "epochs": 3, "train_acc": 0.99,
             "val_acc": 0.98, "test_acc": 0.98 + 0.001 * s + 0.002 * i, "params": 215794, "train_seconds": 1.0,
             "device": "cpu", "git_commit": "abc1234", "n_test": 2000, "n_train": 12000, "n_val": 2000,
             "train_loss": 0.1} for (i, t), s in itertools.product(enumerate(TASKS), range(3))]
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
    pd.DataFrame([{"estimator": e, "distance": d, "sigma2": s2, "spearman": rho, "spearman_seed_mean": rho - 0.01,
                   "spearman_seed_std": 0.02, "seeds": 3, "closest_agree": 4, "targets": 8, "principled": e in ("empirical", "mc")}
                  for e, d, s2, rho in [("empirical", "frechet", None, 0.7), ("mc", "frechet", None, 0.6),
                                        ("empirical", "logdet", 1e-10, 0.1), ("empirical", "logdet", 1e-4, 0.4),
                                        ("mc", "logdet", 1e-10, 0.05), ("mc", "logdet", 1e-4, 0.3)]]
                 ).to_csv(study, index=False)
    # reproduce.py --plan's job list: two steps, three jobs, one of them in two parts (one row without a
    # precision, as in plans made before the column: fp32)
    pd.DataFrame({"step": ["step 1", "step 1", "step 3", "step 3"], "job": ["a/seed0", "b/seed0", "full/seed0",
                                                                         "full/seed0"],
                  "part": ["train", "train", "search", "retrain"], "precision": ["bf16", "bf16", None, "bf16"],
                  "macs_m": 1.0, "images": 100,
                  "images_per_s": 10.0, "seconds": [3600.0, 1800.0, 7200.0, 360.0], "device": "cpu (2 threads)",
                  "git_commit": "abc1234", "date": "2026-11-28"}).to_csv(paths.plan_csv(root, "cpu"), index=False)
    # transfer.py's tables for the mnist set (common/transfer_learning/table.py on constructed runs)
    from common.transfer_learning.table import correlations, pair_table
    runs = pd.DataFrame([{"source": "scratch", "target": t, "seed": 0, "test_acc": 0.5} for t in TASKS]
                        + [{"source": a, "target": b, "seed": 0, "test_acc": 0.5 + 0.1 * (1 - m), "leep": -m}
                           for (a, b), m in zip(itertools.permutations(TASKS, 2), itertools.cycle([0.2, 0.4, 0.9]))])
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
    out["manifest"].write_text("{}")
    pd.DataFrame({"task": dense, "x": [0, 1, 0, 1], "y": [0, 0, 1, 1], "stress": 0.125}).to_csv(out["atlas_csv"], index=False)
    pd.DataFrame({"task": np.repeat(dense, 2), "seed": [0, 1] * 4, "test_mse": [0.01, 0.02, 0.03, 0.05, 0.1, 0.1, 0.2, 0.4],
                  "test_mse_mean_target": 0.06}).to_csv(paths.dense_train_metrics(root, "cpu", "convae", "cifar10"), index=False)
    from common.dense.transfer_runs import DENSE_SCORES
    dense_runs = pd.DataFrame([{"source": "scratch", "target": t, "seed": 0, "neg_test_mse": -0.05} for t in dense]
                              + [{"source": a, "target": b, "seed": 0, "neg_test_mse": -0.05 + 0.01 * (1 - m), "zero_shot": -m}
                                 for (a, b), m in zip(itertools.permutations(dense, 2), itertools.cycle([0.2, 0.4, 0.9]))])
    dense_pairs = pair_table(dense_runs, frame(base_matrix()).set_axis(dense).set_axis(dense, axis=1), DENSE_SCORES)
    out = paths.dense_transfer_outputs(root, "cpu", "convae", "cifar10", "taskonomy-2d")
    out["pairs"].parent.mkdir(parents=True)
    correlations(dense_pairs, DENSE_SCORES).to_csv(out["correlations"], index=False)


def write_architectures_study(root: Path, ref: np.ndarray, other: np.ndarray) -> None:
    """consistency_study.py (c)'s CSV for two mean matrices of the mnist set."""
    table = architecture_agreement(frame(ref), frame(other)).assign(
        task_set="mnist", reference="smallcnn", other="resnet18", seeds_reference=3, seeds_other=3)
    path = paths.study_outputs(root, "cpu", "smallcnn", "consistency_architectures")["csv"]
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def frame(m: np.ndarray) -> pd.DataFrame:
    m = np.array(m, dtype=float)
    np.fill_diagonal(m, 0.0)
    return pd.DataFrame(m, index=TASKS, columns=TASKS)


def test_consistency_study_part_c_reads_only_the_matrices(tmp_path, capsys):
    """consistency_study.py --parts c on a results tree with two networks' mnist matrices and no data."""
    import consistency_study
    golden_tree(tmp_path)
    path = paths.study_outputs(tmp_path, "cpu", "smallcnn", "consistency_architectures")["csv"]
    path.unlink()
    consistency_study.main(["--preset", "cpu", "--results-dir", str(tmp_path), "--parts", "c",
                            "--data-root", str(tmp_path / "no-data")])
    table = pd.read_csv(path)
    assert set(table.other) == {"resnet18"} and len(table) == 4 and (table.kendall_tau == 1).all()
    assert table.git_commit.notna().all() and path.with_suffix(".png").is_file()
    assert "cifar10" not in set(table.task_set)                 # no cifar10 matrices: nothing to compare


def test_architecture_agreement_and_claim(tmp_path):
    ref = base_matrix()
    same_order = architecture_agreement(frame(ref), frame(0.1 + 0.8 * ref))
    assert (same_order.kendall_tau == 1).all() and same_order.same_closest.all()
    assert same_order.spearman_all.iloc[0] == pytest.approx(1.0)
    write_architectures_study(tmp_path, ref, 0.1 + 0.8 * ref)
    claim = claims.architecture_claim("3d", tmp_path, "cpu", "smallcnn", "mnist", "resnet18")
    assert claim.status == claims.REPRODUCED and "4 of 4" in claim.evidence
    # one target's sources reordered: its tau drops, its closest source changes -> inconclusive
    swapped = ref.copy()
    swapped[[3, 1], 2] = swapped[[1, 3], 2]          # column mnist-2: mnist-3 and mnist-1 trade places
    table = architecture_agreement(frame(ref), frame(swapped)).set_index("target")
    assert table.loc["mnist-2", "kendall_tau"] == pytest.approx(1 / 3)   # 3 sources: 2 concordant, 1 discordant
    assert not table.loc["mnist-2", "same_closest"] and table.drop("mnist-2").same_closest.all()
    write_architectures_study(tmp_path, ref, swapped)
    assert claims.architecture_claim("3d", tmp_path, "cpu", "smallcnn", "mnist", "resnet18").status == claims.INCONCLUSIVE
    # the seeded bug: the other network's matrix transposed (rows = target) keeps at most half the closest sources
    write_architectures_study(tmp_path, ref, ref.T)
    assert claims.architecture_claim("3d", tmp_path, "cpu", "smallcnn", "mnist", "resnet18").status == claims.NOT_REPRODUCED
    missing = claims.architecture_claim("3d", tmp_path / "none", "cpu", "smallcnn", "mnist", "resnet18")
    assert missing.status == claims.NOT_RUN and "--arch resnet18" in missing.evidence


def test_report_blocks_golden(tmp_path):
    golden_tree(tmp_path)
    made = blocks(tmp_path, "cpu")
    text = "\n\n".join(f"## {name}\n\n{body}" for name, body in made.items()) + "\n"
    expected = GOLDEN / "report_blocks.md"
    if os.environ.get("FTD_REGEN_GOLDEN"):       # regenerate on purpose: inspect the diff, then commit
        expected.write_text(text)
    assert text == expected.read_text()
    # the log-det study block: each estimator x distance at its best σ², plus the paper's default setting
    study = [line.split(" | ")[:3] for line in made["logdet-study"].splitlines()[2:]]
    assert study == [["| empirical", "frechet", "—"], ["| mc", "frechet", "—"], ["| empirical", "logdet", "0.0001"],
                     ["| mc", "logdet", "0.0001"], ["| empirical", "logdet", "1e-10 (default)"]]


def test_readme_tables_are_what_the_committed_results_give():
    """The README's generated blocks equal collect.py's output on the committed results/."""
    readme = (ROOT / "README.md").read_text()
    assert {"claims", "published", "train", "nas", "matrix-mnist-frechet"} <= set(block_names(readme))
    assert fill(readme, ROOT / "results") == readme, "README is stale: run .venv/bin/python collect.py --preset cpu"


def test_collect_check_fails_on_a_hand_edited_table(tmp_path, capsys):
    golden_tree(tmp_path / "results")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- generated:train preset=cpu -->\nhand-typed 99 %\n<!-- /generated:train -->\nend\n")
    with pytest.raises(SystemExit) as exit_info:
        collect.main(["--check", "--readme", str(readme), "--results-dir", str(tmp_path / "results")])
    assert exit_info.value.code == 1 and "differ" in capsys.readouterr().err
    collect.main(["--readme", str(readme), "--results-dir", str(tmp_path / "results")])
    text = readme.read_text()
    assert "hand-typed" not in text and "| mnist-2 | smallcnn | 0.9850 ± 0.0010 | 3 |" in text
    assert text.startswith("intro\n") and text.endswith("end\n")
    assert (tmp_path / "results" / "cpu" / "REPORT.md").read_text().count("**NOT REPRODUCED**") == 0
    collect.main(["--check", "--readme", str(readme), "--results-dir", str(tmp_path / "results")])


def test_reproduce_skips_steps_without_data_and_still_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FTD_OFFLINE", "1")
    results = tmp_path / "results"
    reproduce.main(["--data-root", str(tmp_path / "nodata"), "--results-dir", str(results),
                    "--sections", "train", "nas", "dense", "report"])
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
    from common.store.cache import cached
    from common.run.pipeline import run_steps
    from common.run.steps import Step
    args = Namespace(preset="smoke", results_dir=str(tmp_path), data_root=str(tmp_path), device="cpu", seeds=None,
                     force=False, launcher="inline", plan=False)
    step = Step("train", "1z. a step", "fake", (), ())
    key = {"n": 1}

    def work(argv):
        cached(tmp_path / "x.json", key, lambda: time.sleep(0.2 if key["n"] == 1 else 1.0) or 1.0, fmt="json")

    def seconds():
        return json.loads(paths.reproduce_log(tmp_path, "smoke").read_text())["steps"][0]["seconds"]

    run_steps([step], args, {}, lambda script: work)
    first = seconds()
    assert 0.2 <= first < 1.0
    run_steps([step], args, {}, lambda script: work)                 # everything reused
    assert seconds() == first and "everything reused" in capsys.readouterr().out
    key["n"] = 2                                                      # an input changed: computed again
    run_steps([step], args, {}, lambda script: work)
    assert seconds() >= 1.0


def test_reproduce_log_counts_what_a_step_computed_and_reused(tmp_path, capsys, monkeypatch):
    """Each log entry says how many results the step computed and how many of an earlier run it reused
    (older than this process); both > 0 is a partial entry. Device and threads are per entry."""
    from argparse import Namespace
    from common.store import cache
    from common.store.cache import cached
    from common.run.pipeline import run_steps
    from common.run.steps import Step
    args = Namespace(preset="smoke", results_dir=str(tmp_path), data_root=str(tmp_path), device="cpu", seeds=None,
                     force=False, launcher="inline", plan=False)
    step = Step("train", "1z. a step", "fake", (), ())

    run = paths.run_dir(tmp_path, "smoke")

    def work(argv):
        for name in ("a", "b", "c"):
            cached(run / f"{name}.json", {"n": name}, lambda: 1.0, fmt="json")
        cached(run / "a.json", {"n": "a"}, lambda: 1.0, fmt="json")            # read again: made in this run
        cached(paths.data_cache_dir(tmp_path) / "d.json", {"n": "d"}, lambda: 1.0, fmt="json")   # shared data

    def entry():
        return json.loads(paths.reproduce_log(tmp_path, "smoke").read_text())["steps"][0]

    run_steps([step], args, {}, lambda script: work)
    assert (entry()["computed"], entry()["reused"]) == (4, 0) and entry()["threads"] == torch.get_num_threads()
    monkeypatch.setattr(cache, "_STARTED", time.time() + 1)              # a later process: a, b, c, d are old
    monkeypatch.setattr(cache, "_REUSED", set())
    (run / "c.json").unlink()
    run_steps([step], args, {}, lambda script: work)
    assert (entry()["computed"], entry()["reused"]) == (1, 2)            # the decoded data's d is not counted
    assert "partial: 2 result(s) of an earlier run reused" in capsys.readouterr().out


def test_report_wall_time_per_section_and_the_cpu_budget(tmp_path):
    """REPORT.md's run metadata: seconds summed per section (a step no longer planned goes to "other"),
    and, for preset cpu only, the core's time with how many of its steps the log holds."""
    from common.report.document import _metadata
    from common.run.steps import CORE_SECTIONS, STEPS
    entry = {"launcher": "inline", "peak_rss_gib": 1.0, "finished": "2026-11-29T00:00:00+0000"}
    log = {"steps": [{**entry, "step": "1a. ε-networks, MNIST tasks", "seconds": 100.0},
                     {**entry, "step": "3b. NAS for mnist-2 (baselines mnist)", "seconds": 200.0},
                     {**entry, "step": "4. transfer study, mnist", "seconds": 40.0},
                     {**entry, "step": "9. a step that was renamed", "seconds": 7.0}]}
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
    assert "- reproduce.py runs: ?, ? thread(s); cuda (H200), 16 thread(s)" in text     # per entry


def test_reproduce_passes_the_shared_flags():
    from argparse import Namespace
    from common.run.pipeline import step_argv
    from common.run.steps import STEPS
    args = Namespace(preset="cpu", results_dir="r", data_root="d", device="cpu", seeds=[1, 2], force=True,
                     launcher="local", workers=2, partition=None, gpus_per_job=None, timeout_min=240,
                     array_parallelism=64, plan=False)
    nas = next(s for s in STEPS if s.script == "nas_fuse")
    argv = step_argv(nas, args)
    assert argv[:len(nas.argv)] == list(nas.argv) and argv[-4:] == ["--seeds", "1", "2", "--force"]
    assert argv[argv.index("--launcher"):argv.index("--launcher") + 4] == ["--launcher", "local", "--workers", "2"]
    assert "--data-root" in argv and step_argv(STEPS[-1], args) == ["--no-readme", "--preset", "cpu",
                                                                     "--results-dir", "r"]
    study = next(s for s in STEPS if s.script == "logdet_study")     # not split into jobs: no launcher flags
    assert "--launcher" not in step_argv(study, args)
    assert "--plan" in step_argv(nas, Namespace(**{**vars(args), "plan": True}))


def test_measure_agreement_and_seed_summary():
    from common.studies.consistency import measure_agreement, seed_summary
    ref = long_frame(seeds_of(base_matrix()))
    flipped = long_frame([1 - m for m in seeds_of(base_matrix())])     # the reverse order of every entry
    table = pd.concat([ref.assign(sigma2=None), flipped.assign(estimator="mc", sigma2=None)], ignore_index=True)
    got = measure_agreement(table).set_index("estimator")
    assert got.loc["empirical", "spearman_vs_reference"] == pytest.approx(1.0)
    assert got.loc["mc", "spearman_vs_reference"] == pytest.approx(-1.0)
    assert got.loc["empirical", "same_closest"] == 4 and got.loc["mc", "same_closest"] < 4
    between = pd.DataFrame(base_matrix(), index=TASKS, columns=TASKS)
    pairs = pd.DataFrame({"task": ["mnist-2", "mnist-2"], "seed_i": [0, 0], "seed_j": [1, 2], "distance": [0.1, 0.3]})
    row = seed_summary(pairs, between).iloc[0]
    # smallest distance of mnist-2 to another task, as source (row) or target (column): d(mnist-3 -> mnist-2) = 0.2
    assert row.smallest_between_tasks == pytest.approx(0.2) and row.ratio == pytest.approx(1.0)


SCRIPTS = ["train_task_mnist", "train_task_cifar", "train_task_cifar100", "fisher_distance", "logdet_study",
           "consistency_study", "nas_fuse", "transfer", "reproduce", "collect", "train_task_taskonomy",
           "fisher_distance_taskonomy"]
DENSE_SCRIPTS = ("train_task_taskonomy", "fisher_distance_taskonomy")


def test_help_answers_without_importing_torch():
    """--help parses before anything heavy is imported (torch alone takes seconds), and lists the
    task and task-set names."""
    import subprocess
    import sys
    code = ("import sys, contextlib, io\nfor m in {mods!r}:\n    out = io.StringIO()\n"
            "    with contextlib.redirect_stdout(out):\n        try:\n            __import__(m).main(['--help'])\n"
            "        except SystemExit:\n            pass\n    print(m, 'tasks: mnist-0' in out.getvalue(), "
            "'ldnas8: ' in out.getvalue(), 'taskonomy-2d: 2d-autoencoding' in out.getvalue())\n"
            "print('torch imported:', 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code.format(mods=SCRIPTS)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "torch imported: False", r.stdout
    for line in r.stdout.splitlines()[:-1]:
        name, tasks, sets, dense = line.split()
        if name in DENSE_SCRIPTS:                      # the dense scripts list the dense registry
            assert dense == "True", line
        elif name not in ("reproduce", "collect"):    # the step scripts list the registry
            assert tasks == sets == "True", line


def test_registry_names_agree_with_the_registries():
    from common.run import device
    from common.fisher import distance
    from common.fisher import estimators as fisher
    from common.networks import models
    from common.run import names
    from common.nas import runs as nas_runs
    assert names.NETWORK_NAMES == tuple(models.NETWORKS) and names.DISTANCE_NAMES == tuple(distance.DISTANCES)
    from common.dense import models as dense_models
    assert names.DENSE_NETWORK_NAMES == tuple(dense_models.DENSE_NETWORKS)
    assert names.ESTIMATOR_NAMES == fisher.ESTIMATORS and device.DEVICES == names.DEVICE_NAMES
    assert nas_runs.SPACES == names.NAS_SPACE_NAMES
    from common.run import launch
    assert set(names.LAUNCHERS) == {"inline", *launch.LAUNCH}     # every launcher a flag offers exists


def test_reproduce_smoke_end_to_end_writes_the_report(data_root, tmp_path, capsys, monkeypatch):
    """reproduce.py on fabricated data, steps of the MNIST half (train, both matrices, the closest
    task's cells, the target's NAS, the report): every step runs in order and REPORT.md holds the
    claims decided from what was just made; a rerun reuses everything."""
    from common.run import steps as reproduce_plan
    wanted = ("1a.", "2. FTD matrix, mnist", "2'''. FTD on validation splits (for NAS), mnist",
              "3a. full-space cells of mnist-3", "3b. NAS for mnist-2", "report")
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
    assert "| step | section | launcher | wall time (s) |" in report and "| 3b. NAS for mnist-2 (baselines mnist) | nas |" in report
    assert "- per section: train " in report and "the core" not in report      # the budget line is cpu's
    reproduce.main(args)                                # resume: nothing is recomputed
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not [x for x in lines if x.startswith(("searched ", "retrained ", "done "))], out
    assert out.count("everything reused (computed earlier in") == 5      # the log keeps the first run's times
    assert "report: REPORT.md from the results: done in" in out and "results: done in 0 s, everything" not in out
    assert sum(x.startswith("skip search") for x in lines) == 5   # mnist-3 full + 4 methods and "0 Fisher(s) computed" in out


def test_samples_sweep_finds_where_the_ranking_settles():
    from common.studies.consistency import samples_sweep
    few = seeds_of(base_matrix())
    for m in few:
        m[1, 2] = 0.1                       # with few samples, mnist-1 looks closest to mnist-2
    longs = {100: long_frame(few), 500: long_frame(seeds_of(base_matrix())), 1000: long_frame(seeds_of(base_matrix()))}
    table = samples_sweep(longs).set_index("samples")
    assert table.loc[100, "same_closest"] == 3 and table.loc[500, "same_closest"] == 4
    assert table.loc[1000, "spearman_vs_most"] == pytest.approx(1.0) and table.loc[1000, "mean_abs_change"] == 0
    assert (table.settled_from == 500).all() and table.loc[100, "mean_abs_change"] > table.loc[500, "mean_abs_change"]
