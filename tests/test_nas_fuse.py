"""FUSE, random search, the task-aware space and nas_fuse.py end to end (fabricated data, smoke preset)."""

import inspect
import json
import math
import shutil
from dataclasses import replace

import pandas as pd
import pytest
import torch
from test_train_scripts import run_script

import fisher_distance
import nas_fuse
import train_task_mnist
from common.base.errors import UserError
from common.data.splits import Split
from common.nas import fuse, task_space
from common.nas import runs as nas_runs
from common.nas.space import Genotype, SearchSpace, build_nas_network
from common.nas.spec import NASRun
from common.presets import NAS_PRESETS, train_config
from common.store import paths
from common.tasks import get_task

CFG = NAS_PRESETS["smoke"]
TASK = get_task("mnist-2")  # 5 classes
BASELINES = ["mnist-0", "mnist-2", "mnist-3"]


def fabricated(n: int, seed: int) -> Split:
    """Images whose brightness depends on the label, so the candidates learn a little; 16 x 16 to
    keep the searches fast (the network pools globally, so any size works)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(TASK.num_classes, (n,), generator=g)
    x = (torch.randint(0, 100, (n, 3, 16, 16), generator=g) + 30 * y.view(-1, 1, 1, 1)).to(torch.uint8)
    return Split(x, y)


class TracedSplit(Split):
    """A split that logs each read of its images or labels as (split name, current search phase)."""

    def __init__(self, split: Split, name: str, log: list, phase: list):
        self.__dict__.update(_x=split.x, _y=split.y, name=name, log=log, phase=phase)

    @property
    def x(self):
        self.log.append((self.name, self.phase[-1]))
        return self._x

    @property
    def y(self):
        self.log.append((self.name, self.phase[-1]))
        return self._y

    def __len__(self):  # the size of a split is not a read of its images or labels
        return len(self._y)


def trace_phases(monkeypatch, phase: list) -> None:
    """Name the phase while fuse's weight-training and validation-logit functions run."""
    for name, label in (("_train_weights", "weights"), ("_val_logits", "alpha")):
        real = getattr(fuse, name)

        def wrapped(*args, real=real, label=label, **kwargs):
            phase.append(label)
            try:
                return real(*args, **kwargs)
            finally:
                phase.pop()

        monkeypatch.setattr(fuse, name, wrapped)


@pytest.mark.parametrize("search", [fuse.fuse_search, fuse.random_search])
def test_weights_read_only_train_and_alpha_only_validation(search, monkeypatch):
    assert not {"test", "splits"} & set(inspect.signature(search).parameters)  # no way to pass test data
    log, phase = [], ["setup"]
    trace_phases(monkeypatch, phase)
    alpha_labels = []
    real_alpha = fuse._alpha_steps
    monkeypatch.setattr(
        fuse,
        "_alpha_steps",
        lambda alpha, opt, logits, labels, *a: (
            alpha_labels.append(labels.clone()),
            real_alpha(alpha, opt, logits, labels, *a),
        ),
    )
    train, val = fabricated(48, 0), fabricated(24, 1)
    search(TASK, SearchSpace(), TracedSplit(train, "train", log, phase), TracedSplit(val, "val", log, phase), CFG, 0)
    assert {name for name, p in log if p == "weights"} == {"train"}
    assert {name for name, p in log if p == "alpha"} == {"val"}
    if search is fuse.fuse_search:  # every α step saw exactly the validation labels
        assert len(alpha_labels) == CFG.stages * CFG.rounds
        assert all(torch.equal(labels, val.y) for labels in alpha_labels)
    else:
        assert not alpha_labels


@pytest.mark.parametrize("search", [fuse.fuse_search, fuse.random_search])
def test_same_seed_same_genotype(search):
    train, val = fabricated(48, 0), fabricated(24, 1)
    a = search(TASK, SearchSpace(), train, val, CFG, seed=3)
    b = search(TASK, SearchSpace(), train, val, CFG, seed=3)
    assert a.genotype == b.genotype
    pd.testing.assert_frame_equal(a.history, b.history)
    assert search(TASK, SearchSpace(), train, val, CFG, seed=4).genotype != a.genotype  # (1 in 10^12 to fail)


def test_fuse_keeps_the_argmax_alpha_candidate_and_restricted_space():
    space = SearchSpace(("skip_connect", "max_pool_3x3", "sep_conv_3x3"))
    result = fuse.fuse_search(get_task("mnist-2"), space, fabricated(48, 0), fabricated(24, 1), CFG, 0, stages=3)
    h = result.history
    assert (
        len(h) == 3 * CFG.rounds * CFG.candidates
        and (h.weight.groupby([h.stage, h["round"]]).sum() - 1).abs().max() < 1e-6
    )
    last = h[h["round"] == CFG.rounds]
    for stage, g in last.groupby("stage"):
        chosen = g[g.chosen]
        assert len(chosen) == 1 and chosen.alpha.item() == g.alpha.max()
        if stage > 1:  # the incumbent is candidate 0 of the next stage
            previous = last[(last.stage == stage - 1) & last.chosen].genotype.item()
            assert g[g.candidate == 0].genotype.item() == previous
    assert result.genotype.to_str() == last[last.stage == 3][lambda d: d.chosen].genotype.item()
    assert all(Genotype.from_str(s) in space for s in h.genotype)
    assert h.alpha.abs().max() > 0  # α moved


def test_random_search_keeps_the_best_validation_accuracy():
    result = fuse.random_search(TASK, SearchSpace(), fabricated(48, 0), fabricated(24, 1), CFG, 0, stages=2)
    h = result.history
    assert len(h) == CFG.initial_candidates + CFG.candidates and h.alpha.isna().all()
    assert result.genotype.to_str() == h.loc[h.val_acc.idxmax(), "genotype"]


def test_closest_task_is_the_argmin_of_the_target_column():
    matrix = pd.DataFrame(
        [[0.0, 0.1, 0.5], [0.9, 0.0, 0.3], [0.2, 0.4, 0.0]],
        index=pd.Index(["a", "b", "c"], name="source"),
        columns=["a", "b", "c"],
    )
    assert task_space.closest_task(matrix, "a", ["a", "b", "c"], "cmd") == ("c", 0.2)  # d(c -> a), not d(a -> c)
    assert task_space.closest_task(matrix, "c", ["a", "b", "c"], "cmd") == ("b", 0.3)
    assert task_space.closest_task(matrix, "c", ["a"], "cmd") == ("a", 0.5)
    with pytest.raises(UserError, match="no row/column for d"):
        task_space.closest_task(matrix, "a", ["b", "d"], "cmd")


def test_matrix_label_follows_fisher_distance():
    mnist2 = get_task("mnist-2")
    assert task_space.distance_matrix_source(mnist2, ["mnist"])[::2] == ("mnist", "--task-set mnist")
    assert task_space.distance_matrix_source(mnist2, BASELINES)[0] == "mnist-0-mnist-2-mnist-3"
    assert task_space.distance_matrix_source(mnist2, ["mnist-0", "mnist-3"])[::2] == (
        "mnist-0-mnist-3-mnist-2",
        "--tasks mnist-0 mnist-3 mnist-2",
    )
    assert task_space.default_baselines(get_task("cifar10-2")) == ["cifar10"]


def test_search_pipeline_never_reads_the_test_split(data_root, tmp_path, monkeypatch):
    log, phase = [], ["search"]
    real = nas_runs.task_splits
    monkeypatch.setattr(
        nas_runs,
        "task_splits",
        lambda *a, **k: {name: TracedSplit(split, name, log, phase) for name, split in real(*a, **k).items()},
    )
    run = NASRun(TASK, ("full",), CFG, CFG.stages, train_config("smoke", "mnist"), "smoke", data_root)
    kwargs = dict(results_dir=tmp_path, device="cpu")
    record, searched = nas_runs.run_search(run, "full", 0, space=SearchSpace(), closest=None, **kwargs)
    assert searched and {name for name, _ in log} == {"train", "val"}
    phase[-1] = "retrain"
    nas_runs.run_retrain(record, run, **kwargs)
    assert ("test", "retrain") in log and ("test", "search") not in log


# --------------------------------------------------------------------------- nas_fuse.py end to end
@pytest.fixture(scope="module")
def with_matrix(data_root, tmp_path_factory):
    """Smoke ε-networks and their distance matrix, no genotypes yet."""
    results = tmp_path_factory.mktemp("nas_results")
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results), "--seeds", "0"]
    train_task_mnist.main(common + ["--tasks", *BASELINES])
    fisher_distance.main(common + ["--tasks", *BASELINES, "--fisher-split", "val"])  # what NAS reads
    matrix = pd.read_csv(
        paths.distance_outputs(
            results, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3", "frechet", "empirical", "_fval"
        )["mean"],
        index_col="source",
    )
    return results, matrix["mnist-2"].drop("mnist-2").idxmin()


def test_nas_fuse_writes_the_table_and_resumes(data_root, with_matrix, tmp_path, capsys):
    src, closest = with_matrix
    results = tmp_path / "results"
    shutil.copytree(src, results)
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results)]
    args = common + ["--target", "mnist-2", "--baselines", *BASELINES]
    with pytest.raises(UserError) as info:  # the closest task has no genotype yet
        nas_fuse.main(args)
    command = str(info.value).split("search it first: ")[1]
    assert f"python nas_fuse.py --target {closest} --space full --search-only --preset smoke" in command
    nas_fuse.main(command.split("nas_fuse.py ", 1)[1].split())  # exactly the command the error names
    capsys.readouterr()
    nas_fuse.main(args)
    out = capsys.readouterr().out
    label = "mnist-0-mnist-2-mnist-3"  # the baselines' matrix label names the task-aware files
    assert f"closest baseline task to mnist-2 among {label}: {closest}" in out

    tables = paths.nas_table_outputs(results, "smoke", "mnist-2", label)
    table = pd.read_csv(tables["csv"])
    assert list(table.method) == [
        "FUSE, task-aware space",
        "FUSE, full space",
        "random search, full space",
        "hand-designed smallcnn, retrained like the cells",
    ]
    assert table.architecture.iloc[3] == "smallcnn" and table.closest_task.iloc[0] == closest
    assert table.test_acc_mean.between(0, 1).all() and (table.params_m > 0).all()
    assert (table.search_hours.iloc[:3] > 0).all() and table.device.iloc[0].startswith("cpu")
    assert (table.macs_m > 0).all() and table.macs_m.iloc[3] == pytest.approx(7.52, abs=0.01)  # smallcnn
    runs = pd.read_csv(tables["runs"])
    hand = runs[runs.method == "hand-smallcnn"].iloc[0]
    cells = runs[runs.method == "full"].iloc[0]
    retrain = json.loads(paths.nas_retrain_path(results, "smoke", "mnist-2", "hand-smallcnn", 0).read_text())["value"]
    assert (
        retrain["epochs"]
        == json.loads(paths.nas_retrain_path(results, "smoke", "mnist-2", "full", 0).read_text())["value"]["epochs"]
    )  # the same protocol
    assert hand.test_acc == retrain["test_acc"] and cells.params != hand.params
    md = tables["md"].read_text()
    assert (
        "| method | space size (log10 genotypes) | architecture | test acc (%) | params (M) | "
        "MACs (M) | search cost per seed (device-hours) | device |"
    ) in md
    assert "bootstrap interval" not in md or "→ **FUSE, task-aware space" in md  # one seed: no interval
    assert "Does α rank the candidates" in md and table.space_log10_size.iloc[1] == pytest.approx(
        SearchSpace().log10_size
    )
    assert f"(ops of {closest})" in md and "Comparison at equal budget" in md and "normal:\\|" in md

    record = json.loads(
        paths.nas_record_path(results, "smoke", "mnist-2", "task-aware", 0, f"from-{closest}").read_text()
    )["value"]
    record["retrain"] = json.loads(
        paths.nas_retrain_path(results, "smoke", "mnist-2", "task-aware", 0, f"from-{closest}").read_text()
    )["value"]
    base = json.loads(paths.nas_record_path(results, "smoke", closest, "full", 0).read_text())["value"]
    assert set(Genotype.from_str(record["genotype"]).ops) <= set(Genotype.from_str(base["genotype"]).ops)
    assert record["closest"]["genotype"] == base["genotype"] and record["search_seconds"] > 0
    history = pd.read_csv(paths.nas_history_path(results, "smoke", "mnist-2", "task-aware", 0, f"from-{closest}"))
    assert (
        record["history"]
        == paths.nas_history_path(results, "smoke", "mnist-2", "task-aware", 0, f"from-{closest}").name
    )
    assert {"stage", "round", "alpha", "weight", "val_acc", "chosen"} <= set(history.columns)
    assert 0 <= record["retrain"]["test_acc"] <= 1 and record["retrain"]["params"] == int(
        table.params_m.iloc[0] * 1e6 + 0.5
    )

    mtime = paths.nas_record_path(results, "smoke", "mnist-2", "random", 0).stat().st_mtime_ns
    nas_fuse.main(args)  # rerun: every search and retraining is reused
    out = capsys.readouterr().out
    assert out.count("skip search") == 3 and out.count("skip retraining") == 4  # 3 cells + smallcnn
    assert paths.nas_record_path(results, "smoke", "mnist-2", "random", 0).stat().st_mtime_ns == mtime

    # both task-aware spaces in one table, the cells widened to ~20k parameters: the searches are
    # reused, every cell is retrained at its matched width, smallcnn's retraining is redone (new key)
    nas_fuse.main(args + ["--space", "task-aware", "task-aware-warm", "--params", "20k"])
    out = capsys.readouterr().out
    assert out.count("skip search") == 3 and out.count("searched mnist-2 task-aware-warm") == 1
    table = pd.read_csv(tables["csv"])
    assert list(table.method)[:2] == ["FUSE, task-aware space", "FUSE, task-aware space, warm start"]
    cells = pd.read_csv(tables["runs"]).query("method != 'hand-smallcnn'")
    assert len(cells) == 4 and cells.params.between(10_000, 40_000).all() and (cells.width > 4).all()
    for _, row in cells.iterrows():  # each width is the best match to 20k among its neighbours
        near = [
            abs(
                math.log(
                    sum(p.numel() for p in build_nas_network(row.genotype, get_task("mnist-2"), w, 3).parameters())
                    / 20e3
                )
            )
            for w in (int(row.width) - 1, int(row.width), int(row.width) + 1)
        ]
        assert near[1] == min(near)


def test_missing_matrix_is_one_line_naming_the_command(data_root, with_matrix):
    results, _ = with_matrix  # it holds the matrix of mnist-0, mnist-2, mnist-3, not of the whole mnist set
    r = run_script(
        "nas_fuse.py",
        "--preset",
        "smoke",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(results),
        "--target",
        "mnist-2",
        "--task-set",
        "mnist",
    )
    matrix = paths.distance_outputs(results, "smoke", "smallcnn", "mnist", "frechet", "empirical", "_fval")["mean"]
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"error: no distance matrix at {matrix}; compute it first: " in r.stderr
    assert (
        "python fisher_distance.py --preset smoke "
        f"--task-set mnist --arch smallcnn --distance frechet --estimator empirical --fisher-split val "
        f"--results-dir {results}"
    ) in r.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "mnist-9"], "unknown task 'mnist-9'"),
        (
            ["--baselines", *BASELINES],
            "is mnist-[03] .*whose full-space genotype for seed 0 .* is missing; search it first: .*python nas_fuse.py",
        ),
        (["--baselines", "mnist-2"], "no baseline task other than the target"),
        (["--task-set", "mnist", "--baselines", "mnist-0"], "either --task-set or --baselines"),
        (["--budget", "0"], "--budget must be positive"),
        (["--space", "full", "--epochs", "-1"], "--epochs must be positive"),
    ],
)
def test_bad_input_in_process(data_root, with_matrix, extra, message):
    results, _ = with_matrix
    with pytest.raises(UserError, match=message):
        nas_fuse.main(
            [
                "--preset",
                "smoke",
                "--data-root",
                str(data_root),
                "--results-dir",
                str(results),
                *(["--target", "mnist-2"] if "--target" not in extra else []),
                *extra,
            ]
        )


# --------------------------------------------------------------------------- issue 10: space, warm start, statistics
def test_warm_start_puts_the_genotype_in_the_first_stage():
    warm = SearchSpace().sample(torch.Generator().manual_seed(7))
    result = fuse.fuse_search(
        TASK, SearchSpace(), fabricated(48, 0), fabricated(24, 1), CFG, 0, stages=1, incumbent=warm
    )
    first = result.history[result.history.stage == 1]
    assert warm.to_str() in set(first.genotype) and first.candidate.nunique() == CFG.initial_candidates
    restricted = SearchSpace(("sep_conv_3x3",))
    with pytest.raises(UserError, match="not in the search space"):
        fuse.fuse_search(TASK, restricted, fabricated(48, 0), fabricated(24, 1), CFG, 0, stages=1, incumbent=warm)


def test_fuse_never_keeps_a_cell_of_none_edges():
    """A candidate whose every edge is `none` outputs a constant; α must prefer the ones that learn."""
    dead = Genotype(normal=("none",) * 6, reduce=("none",) * 6)
    space = SearchSpace(("none", "skip_connect", "sep_conv_3x3"))
    cfg = replace(CFG, alpha_epochs=5)
    for seed in range(3):
        result = fuse.fuse_search(
            TASK, space, fabricated(96, seed), fabricated(48, seed + 10), cfg, seed, stages=1, incumbent=dead
        )
        assert result.genotype != dead


def test_candidate_draws_depend_on_seed_task_and_space():
    full, other = SearchSpace(), SearchSpace(("skip_connect", "sep_conv_3x3"))
    assert fuse.draw_seed(0, TASK, full) == fuse.draw_seed(0, TASK, full)  # full FUSE = random search
    assert (
        len(
            {
                fuse.draw_seed(0, TASK, full),
                fuse.draw_seed(1, TASK, full),
                fuse.draw_seed(0, get_task("mnist-3"), full),
                fuse.draw_seed(0, TASK, other),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    "diffs, verdict",
    [
        ([1.0, 1.2, 0.9, 1.1, 1.3, 1.0], "better"),
        ([-0.8, -1.1, -0.9, -1.2, -1.0, -0.7], "worse"),
        ([0.5, -0.4, 0.2, -0.3, 0.1, -0.2], "no evidence (p = "),
        ([1.0, 1.2, 0.9], "no evidence (3 seeds cannot reach p < 0.05"),
        ([2.0], "no evidence (fewer than 2 seeds)"),
    ],
)
def test_verdict_on_constructed_per_seed_differences(diffs, verdict):
    from common.studies.paired_stats import paired_comparison

    v = paired_comparison(pd.Series(diffs))
    assert v["verdict"].startswith(verdict) and v["n"] == len(diffs) and v["wins"] == sum(d > 0 for d in diffs)
    if len(diffs) > 1:
        assert v["lo"] <= v["mean"] <= v["hi"]


def test_alpha_rank_on_a_constructed_history():
    from common.nas.table import alpha_rank

    rows = []
    for stage, (alphas, accs) in enumerate([((0.1, 0.5, 0.9), (0.2, 0.4, 0.6)), ((0.9, 0.5, 0.1), (0.2, 0.4, 0.6))], 1):
        for rnd in (1, 2):
            for c, (a, acc) in enumerate(zip(alphas, accs)):
                # round 1 is noise that must be ignored: only the last round of a stage counts
                rows.append(
                    {"stage": stage, "round": rnd, "candidate": c, "alpha": a if rnd == 2 else -a, "val_acc": acc}
                )
    per_stage, pooled = alpha_rank(pd.DataFrame(rows))
    assert per_stage == pytest.approx(0.0)  # +1 in stage 1, -1 in stage 2
    assert -1 < pooled < 1


def test_a_stale_search_record_is_searched_again(data_root, tmp_path):
    kwargs = dict(space=SearchSpace(), closest=None, results_dir=tmp_path, device="cpu")
    run = NASRun(TASK, ("full",), CFG, 1, train_config("smoke", "mnist"), "smoke", data_root)
    _, searched = nas_runs.run_search(run, "full", 0, **kwargs)
    assert searched
    assert not nas_runs.run_search(run, "full", 0, **kwargs)[1]  # reused
    assert nas_runs.run_search(replace(run, cfg=replace(CFG, lr=1e-3)), "full", 0, **kwargs)[1]  # other config


def test_the_whole_step_reads_test_labels_only_in_final_evaluations(data_root, with_matrix, tmp_path, monkeypatch):
    """Space selection (matrix on the validation split, closest task, its genotype), every search and
    every retraining: the target's test split is evaluated once per retrained network, at its end."""
    import common.fisher.store
    import common.training.train

    src, closest = with_matrix
    results = tmp_path / "results"
    shutil.copytree(src, results)
    flags = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(results)]
    nas_fuse.main(flags + ["--target", closest, "--space", "full", "--search-only"])
    log, phase = [], ["nas"]
    real_splits, real_evaluate = nas_runs.task_splits, common.training.train.evaluate
    monkeypatch.setattr(
        nas_runs,
        "task_splits",
        lambda *a, **k: {name: TracedSplit(split, name, log, phase) for name, split in real_splits(*a, **k).items()},
    )

    def evaluate(net, split, *args, **kwargs):
        phase.append("final test" if getattr(split, "name", "") == "test" else phase[-1])
        try:
            return real_evaluate(net, split, *args, **kwargs)
        finally:
            phase.pop()

    monkeypatch.setattr(common.training.train, "evaluate", evaluate)
    monkeypatch.setattr(common.fisher.store, "task_splits", lambda *a, **k: pytest.fail("NAS computed a Fisher"))
    nas_fuse.main(flags + ["--target", "mnist-2", "--baselines", *BASELINES])
    test_reads = [p for name, p in log if name == "test"]
    assert test_reads and set(test_reads) == {"final test"}
    finals = [p for p in phase if p == "final test"]
    assert not finals  # every evaluation ended
    evaluations = sum(1 for name, p in log if name == "test" and p == "final test")
    assert evaluations >= 4  # 3 searched cells + smallcnn
