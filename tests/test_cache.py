"""The keyed cache (common/store/cache.py) and atomic writes (common/store/io.py), and recovery from damaged
derived files in the scripts: an unreadable file is recomputed with one warning line."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch
from conftest import ROOT, make_mnist

import fisher_distance
import train_task_mnist
from common.base.errors import UserError
from common.data import decode as datasets
from common.store import cache, paths


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


@pytest.mark.parametrize("fmt", ["torch", "json"])
def test_cached_hit_miss_stale_unreadable_force(tmp_path, fmt, capsys):
    path = tmp_path / f"x.{fmt}"
    key = {"task": {"name": "a", "groups": [[0]]}, "n": 3}
    compute, calls = counting({"v": [1, 2]})
    assert cache.cached(path, key, compute, fmt=fmt) == ({"v": [1, 2]}, False)
    assert cache.cached(path, key, compute, fmt=fmt) == ({"v": [1, 2]}, True) and len(calls) == 1
    # tuples in a key compare equal to the lists they read back as
    assert cache.cached(path, {"task": {"name": "a", "groups": ((0,),)}, "n": 3}, compute, fmt=fmt)[1]
    other = {**key, "n": 4}
    assert cache.cached(path, other, compute, fmt=fmt)[1] is False and len(calls) == 2
    assert "was made from other inputs (n changed); recomputing" in capsys.readouterr().err
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated
    assert cache.cached(path, other, compute, fmt=fmt)[1] is False and len(calls) == 3
    assert "is unreadable" in capsys.readouterr().err
    assert cache.cached(path, other, compute, fmt=fmt, force=True)[1] is False and len(calls) == 4


def test_validate_keeps_a_bad_value_off_the_disk(tmp_path):
    path = tmp_path / "f.pt"
    cache.cached(path, {"k": 1}, lambda: {"w": torch.ones(2)})
    good = path.read_bytes()

    def reject(value):
        if not torch.isfinite(value["w"]).all():
            raise UserError("NaN")

    with pytest.raises(UserError):
        cache.cached(path, {"k": 2}, lambda: {"w": torch.tensor([float("nan")])}, validate=reject)
    assert path.read_bytes() == good  # the good file stays


def test_verified_refuses_with_the_command(tmp_path):
    path = tmp_path / "c.pt"
    with pytest.raises(UserError, match=r"is missing; redo it with: python train.py"):
        cache.verified(path, {"a": 1}, what="checkpoint", redo="python train.py")
    cache.write_entry(path, {"a": 2}, {"w": torch.zeros(1)})
    with pytest.raises(UserError, match=r"made from other inputs \(a changed\); redo it with: python train.py"):
        cache.verified(path, {"a": 1}, what="checkpoint", redo="python train.py")
    assert cache.verified(path, {"a": 2}, what="checkpoint", redo="x")["value"]["w"].shape == (1,)


def test_code_version_names_a_concept_of_the_registry():
    assert cache.code_version("fisher") == cache.code_version("fisher")
    assert cache.code_version("fisher") != cache.code_version("distance-matrix")
    with pytest.raises(KeyError, match="not a concept"):
        cache.code_version("fishers")


def test_code_version_hashes_the_code_that_runs_not_a_later_edit(tmp_path):
    """A module file edited while a run is going must not re-key that run's results: the digest is of
    the bytes the process executed (common/store/sources.py). A new process sees the edit."""
    import shutil

    shutil.copytree(ROOT / "common", tmp_path / "common", ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import pathlib\n"
        "from common.store import cache, code_identity\nfrom common.fisher import estimators\n"
        "before = cache.code_version('fisher')\n"
        "path = pathlib.Path('common/fisher/estimators.py')\n"
        "path.write_text(path.read_text() + '\\nEDITED_WHILE_RUNNING = 1\\n')\n"
        "code_identity._IDENTITY.clear()\n"
        "print(cache.code_version('fisher') == before)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["True"], out.stderr[-2000:]
    again = subprocess.run(
        [sys.executable, "-c", "from common.store import cache; print(cache.code_version('fisher'))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.stdout.strip() not in ("", cache.code_version("fisher")), again.stderr[-2000:]  # the edited file


def test_a_kill_during_a_write_keeps_the_old_file_and_the_next_write_cleans_up(tmp_path):
    path = tmp_path / "out.json"
    path.write_text('{"old": true}')
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from common.store.io import atomic_write_json; "
        f"atomic_write_json({{'new': True}}, {str(path)!r})"
    )
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "FTD_KILL_AT_WRITE": "1"})
    assert r.returncode == -9
    assert json.loads(path.read_text()) == {"old": True}
    assert len(list(tmp_path.glob(".out.json.*.tmp"))) == 1  # the complete temp, not renamed
    from common.store.io import atomic_write_json

    atomic_write_json({"new": True}, path)
    assert json.loads(path.read_text()) == {"new": True} and not list(tmp_path.glob("*.tmp"))


def test_replaced_data_is_decoded_anew(tmp_path):
    root, results = tmp_path / "data", tmp_path / "results"
    make_mnist(root)
    cache_dir = paths.data_cache_dir(results)
    first = datasets.load_raw("mnist", "test", root, cache_dir)
    raw = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    blob = bytearray(raw.read_bytes())
    blob[16] = (blob[16] + 99) % 256  # the first pixel changes
    raw.write_bytes(bytes(blob))
    datasets._content_digest.cache_clear()
    second = datasets.load_raw("mnist", "test", root, cache_dir)
    assert int(second.x[0, 0, 2, 2]) == blob[16] != int(first.x[0, 0, 2, 2])


def test_damaged_files_are_recomputed_by_the_scripts(data_root, tmp_path, capsys):
    common = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path), "--seeds", "0"]
    pair = ["--tasks", "mnist-0", "mnist-3"]
    train_task_mnist.main(common + pair)
    fisher_distance.main(common + pair)
    out = paths.distance_outputs(tmp_path, "smoke", "smallcnn", "mnist-0-mnist-3", "frechet", "empirical")
    reference = pd.read_csv(out["long"])
    ckpt = paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "mnist-3", 0)
    record = paths.record_path(tmp_path, "smoke", "smallcnn", "mnist-0", 0)
    fisher = paths.fisher_cache_path(tmp_path, "smoke", "smallcnn", "empirical", 32, "mnist-0", "mnist-3", 0)
    decoded = next(paths.data_cache_dir(tmp_path).glob("mnist_test_*.pt"))
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    record.write_text("{ not json")
    fisher.write_bytes(b"")
    decoded.write_bytes(decoded.read_bytes()[:100])
    (paths.checkpoint_path(tmp_path, "smoke", "smallcnn", "mnist-1", 0).with_suffix(".json")).parent.mkdir(parents=True)
    paths.record_path(tmp_path, "smoke", "smallcnn", "mnist-1", 0).write_text("garbage")  # another task's record
    datasets._decoded.cache_clear()
    capsys.readouterr()
    train_task_mnist.main(common + pair)
    io = capsys.readouterr()
    assert "done mnist-3 seed 0" in io.out and "skip mnist-0 seed 0" in io.out  # retrained / reused
    assert "is unreadable" in io.err and "mnist-1" in io.err  # warned, not crashed
    assert json.loads(record.read_text())["value"]["metrics"]["task"] == "mnist-0"  # rewritten
    fisher_distance.main(common + pair)
    io = capsys.readouterr()
    assert "3 Fisher(s) computed, 1 read from the cache" in io.out  # 2 of retrained mnist-3, 1 damaged
    pd.testing.assert_frame_equal(pd.read_csv(out["long"]), reference)  # training is deterministic


def test_the_decoding_code_is_part_of_every_data_identity(tmp_path, monkeypatch):
    """Editing the decoding code (normalisation, padding) makes everything trained on the data stale."""
    from common.presets import train_config
    from common.tasks import get_task
    from common.training.checkpoints import checkpoint_key

    root = tmp_path / "data"
    make_mnist(root)
    args = (get_task("mnist-0"), "smallcnn", train_config("smoke", "mnist"), 0)
    before = checkpoint_key(*args, data_root=root, results_dir=tmp_path)
    real = datasets.code_version
    monkeypatch.setattr(datasets, "code_version", lambda c: "edited" if c == "decoded-data" else real(c))
    after = checkpoint_key(*args, data_root=root, results_dir=tmp_path)
    assert before["data"] != after["data"] and before["code"] == after["code"]


def test_every_keyed_module_lives_in_a_room_and_is_recorded():
    """Each module of ``code_identity.KEYED_CODE`` lives in a room (subpackage) and is executed through
    the recording loader, so ``SOURCES`` holds what it ran and the key digests exactly that."""
    import importlib

    from common.store import code_identity, sources

    for concept, entries in code_identity.KEYED_CODE.items():
        for module in {e.partition(":")[0] for e in entries}:
            importlib.import_module(f"common.{module}")
            assert "." in module and f"common.{module}" in sources.SOURCES, (concept, module)
    assert cache.code_version("nas-search") != cache.code_version("nas-retrain")
