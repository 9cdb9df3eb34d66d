"""Claims 1, 2, 6, 7 on per-seed margins over the six-seed matrices, and the cross-seed matrix (issue 33)."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from report_helpers import base_matrix, fake_fisher_store, long_frame, seeds_of

from common.experiments import MARGIN_SEEDS
from common.fisher import matrices
from common.fisher.distance import task_distance
from common.fisher.matrix_files import matrix_key, variant
from common.presets import fisher_config, train_config
from common.report import claim_list, claims
from common.run.pipeline import step_argv
from common.steps import STEPS
from common.store import paths
from common.tasks import get_task

TASKS = [get_task("mnist-0"), get_task("mnist-1"), get_task("mnist-2")]


def _fisher(task: str, seed: int, on: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(hash((task, seed, on)) % 2**31)
    return {"w": torch.rand(50, generator=g, dtype=torch.float64)}


def _table(monkeypatch, tmp_path, pairing: str, seeds=(0, 1, 2)):
    fake_fisher_store(monkeypatch, lambda source, seed, target: _fisher(source.name, seed, target.name))
    long, _ = matrices.distance_table(
        TASKS,
        list(seeds),
        arch="smallcnn",
        preset="cpu",
        cfgs={"mnist": None},
        fcfg=types.SimpleNamespace(samples=8, labels="true"),
        data_root=None,
        results_dir=tmp_path,
        estimator="empirical",
        measures=[("frechet", None)],
        device="cpu",
        pairing=pairing,
    )
    return long


def test_a_cross_seed_entry_compares_the_source_with_the_next_seeds_target_network(monkeypatch, tmp_path):
    seeds = (0, 1, 2)
    long = _table(monkeypatch, tmp_path, "cross-seed", seeds)
    assert set(long.pairing) == {"cross-seed"} and len(long) == len(seeds) * len(TASKS) ** 2
    for r in long.itertuples():
        nxt = seeds[(seeds.index(r.seed) + 1) % len(seeds)]
        expected = task_distance(_fisher(r.source, r.seed, r.target), _fisher(r.target, nxt, r.target))
        assert r.distance == pytest.approx(expected, abs=1e-12)
    assert (long[long.source == long.target].distance > 0.01).all()  # two seeds of one task: not 0
    same = _table(monkeypatch, tmp_path, "same-seed", seeds)
    assert "pairing" not in same and (same[same.source == same.target].distance.abs() < 1e-12).all()
    with pytest.raises(Exception, match="unknown pairing"):
        _table(monkeypatch, tmp_path, "shuffled", seeds)


def test_the_pairing_enters_the_key_and_the_file_name_only_when_it_is_not_the_papers():
    cfg, fcfg = train_config("cpu", "mnist"), fisher_config("cpu")
    kwargs = dict(arch="smallcnn", distance="frechet", estimator="empirical", sigma2=1e-8, fcfg=fcfg, networks={})
    assert "pairing" not in matrix_key(TASKS, (0, 1, 2), **kwargs)  # every committed matrix keeps its key
    assert matrix_key(TASKS, (0, 1, 2), pairing="cross-seed", **kwargs)["pairing"] == "cross-seed"
    same = variant(cfg, fcfg, "frechet", 1e-8, preset_cfg=cfg, preset_fcfg=fcfg)
    cross = variant(cfg, fcfg, "frechet", 1e-8, preset_cfg=cfg, preset_fcfg=fcfg, pairing="cross-seed")
    assert same == "" and cross == "_cross-seed"


def test_the_margins_section_writes_under_its_own_results_root(tmp_path):
    args = types.SimpleNamespace(
        preset="cpu",
        results_dir=tmp_path,
        data_root="d",
        device="cpu",
        seeds=None,
        force=False,
        plan=False,
        launcher="inline",
    )
    margin = [s for s in STEPS if s.section == "margins"]
    assert margin and all(s.root == paths.MARGIN_FOLDER for s in margin)
    argv = step_argv(margin[-1], args)
    assert argv[argv.index("--results-dir") + 1] == str(tmp_path / paths.MARGIN_FOLDER)
    assert argv[argv.index("--seeds") + 1 : argv.index("--seeds") + 7] == [str(s) for s in MARGIN_SEEDS]
    other = next(s for s in STEPS if s.section == "distances")
    argv = step_argv(other, args)
    assert argv[argv.index("--results-dir") + 1] == str(tmp_path)


def _write_long(results_dir, label: str, long, variant_: str):
    path = paths.distance_outputs(results_dir, "cpu", "smallcnn", label, "frechet", "empirical", variant=variant_)[
        "long"
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    long.to_csv(path, index=False)


def test_claims_2a_and_1a_read_the_six_seed_matrices(tmp_path):
    """Claim 2a is decided on the six-seed matrix under results/six-seeds/, never on the preset's three seeds."""
    three = long_frame(seeds_of(base_matrix()))
    _write_long(tmp_path, "mnist", three, "")
    by_number = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert by_number["2a"].status == claims.NOT_RUN and "--sections margins" in by_number["2a"].evidence
    six = long_frame(seeds_of(base_matrix(), n=6))
    _write_long(paths.margin_results(tmp_path), "mnist", six, claim_list.margin_variant("cpu", "smallcnn"))
    by_number = {x.number: x for x in claim_list.paper_claims(tmp_path, "cpu", "smallcnn")}
    assert by_number["2a"].status == claims.REPRODUCED and "6 of 6" in by_number["2a"].evidence
    assert by_number["1a"].status == claims.REPRODUCED
    assert by_number["C1a"].status == claims.PASSES  # the construction check reads the preset's matrix
    # the cross-seed control: its own file, the same rule
    flipped = long_frame([m.T for m in seeds_of(base_matrix(), n=6)])
    _write_long(
        paths.margin_results(tmp_path), "mnist", flipped, claim_list.margin_variant("cpu", "smallcnn") + "_cross-seed"
    )
    rows = {m.number: ctl for m, ctl in claim_list.control_rows(tmp_path, "cpu")}
    cross = rows["2a"][[v for v, _ in claim_list.CONTROLS].index("_cross-seed")]
    assert cross.status == claims.NOT_REPRODUCED
    assert np.isfinite(six.distance).all()
