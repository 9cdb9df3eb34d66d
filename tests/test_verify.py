"""``collect.py --verify`` (common/store/verify.py, common/store/seals.py): every committed result is the one its
run wrote, made by today's code; an edited number, a deleted or swapped manifest is named, and
collect.py publishes nothing while one is."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

import collect
from common.store import verify
from common.store.cache import code_version
from common.store.io import atomic_write_csv
from common.store.seals import check_seal, seal_path

LOCAL_STORES = ("checkpoints", "fisher", "logs")

RESULTS = ROOT / "results"
MATRIX = "distances/smallcnn/mnist_frechet_empirical"


def names(found) -> dict[str, str]:
    return {p.name: why for p, why in found}


@pytest.fixture
def results(tmp_path):
    shutil.copytree(
        RESULTS / "cpu",
        tmp_path / "results" / "cpu",
        ignore=lambda folder, names: [n for n in names if Path(folder) == RESULTS / "cpu" and n in LOCAL_STORES],
    )
    return tmp_path / "results"


@pytest.mark.parametrize("preset", ["cpu", "paper"])
def test_the_committed_results_verify(preset):
    assert verify.problems(RESULTS, preset) == []


def test_a_written_table_carries_its_seal_and_an_edit_breaks_it(tmp_path):
    path = atomic_write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    assert seal_path(path).read_text().endswith("  t.csv\n") and check_seal(path) == ""
    path.write_text(path.read_text().replace("2", "3"))
    assert "changed after" in check_seal(path)


def test_an_edited_distance_is_named_in_the_table_and_in_its_manifest(results):
    long = results / "cpu" / f"{MATRIX}_long.csv"
    df = pd.read_csv(long)
    df.loc[0, "distance"] = 0.0001
    df.to_csv(long, index=False)
    found = names(verify.problems(results, "cpu"))
    assert set(found) == {long.name, "mnist_frechet_empirical.json"}
    assert "changed after" in found[long.name] and "does not match" in found["mnist_frechet_empirical.json"]


def test_an_edited_accuracy_a_deleted_seal_and_a_moved_seal_are_named(results):
    run = results / "cpu"
    metrics = run / "train_metrics.csv"
    metrics.write_text(metrics.read_text().replace(",0.9", ",0.5", 1))
    seal_path(run / "nas/mnist-2_mnist_table.csv").unlink()
    shutil.copy(seal_path(run / "nas/cifar10-2_cifar10_table.md"), seal_path(run / "nas/mnist-2_mnist_table.md"))
    found = names(verify.problems(results, "cpu"))
    assert set(found) == {"train_metrics.csv", "mnist-2_mnist_table.csv", "mnist-2_mnist_table.md"}
    assert "no seal" in found["mnist-2_mnist_table.csv"]
    assert "another file" in found["mnist-2_mnist_table.md"]


def test_swapped_manifests_and_records_are_named(results):
    run = results / "cpu"
    a, b = (
        run / "distances/smallcnn/mnist_frechet_empirical.json",
        run / "distances/smallcnn/cifar10_frechet_empirical.json",
    )
    a_text = a.read_text()
    a.write_text(b.read_text())
    b.write_text(a_text)
    # a matrix of one network in another network's folder (the GPU-made folders need not be committed)
    (run / "distances/resnet18").mkdir(exist_ok=True)
    (run / "distances/resnet18/mnist_frechet_empirical.json").write_text(a_text)
    genotypes = run / "nas/genotypes"
    shutil.copy(genotypes / "mnist-2_full_seed1.json", genotypes / "mnist-2_full_seed0.json")
    transfer = next((run / "transfer/smallcnn/runs").glob("mnist-0_to_mnist-1_seed0.json"))
    shutil.copy(transfer.with_name("mnist-0_to_mnist-1_seed1.json"), transfer)
    found = {p.relative_to(run).as_posix(): why for p, why in verify.problems(results, "cpu")}
    assert set(found) == {
        "distances/smallcnn/mnist_frechet_empirical.json",
        "distances/smallcnn/cifar10_frechet_empirical.json",
        "distances/resnet18/mnist_frechet_empirical.json",
        "nas/genotypes/mnist-2_full_seed0.json",
        "nas/genotypes/mnist-2_full_seed0_retrain.json",
        "transfer/smallcnn/runs/mnist-0_to_mnist-1_seed0.json",
    }
    assert "smallcnn" in found["distances/resnet18/mnist_frechet_empirical.json"]
    assert "does not match" in found["distances/smallcnn/mnist_frechet_empirical.json"]
    found = {p.rsplit("/", 1)[1]: why for p, why in found.items()}
    assert "seed 1" in found["mnist-2_full_seed0.json"]
    assert "another search" in found["mnist-2_full_seed0_retrain.json"]


def test_a_record_of_other_code_is_named(results):
    path = results / "cpu/nas/genotypes/mnist-2_full_seed0.json"
    entry = json.loads(path.read_text())
    entry["key"]["code"] = "0" * 16
    path.write_text(json.dumps(entry))
    assert "other code" in names(verify.problems(results, "cpu"))[path.name]


def test_collect_publishes_nothing_while_a_result_fails(results, tmp_path, capsys):
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    shutil.copytree(RESULTS / "paper", results / "paper")
    report = results / "cpu" / "REPORT.md"
    report_before, readme_before = report.read_text(), readme.read_text()
    metrics = results / "cpu" / "train_metrics.csv"
    metrics.write_text(metrics.read_text().replace(",0.9", ",0.5", 1))
    with pytest.raises(SystemExit) as exit_:
        collect.main(["--preset", "cpu", "--results-dir", str(results), "--readme", str(readme)])
    assert exit_.value.code != 0
    assert "train_metrics.csv" in capsys.readouterr().err
    assert report.read_text() == report_before and readme.read_text() == readme_before
    with pytest.raises(SystemExit) as exit_:
        collect.main(["--preset", "cpu", "--results-dir", str(results), "--readme", str(readme), "--verify"])
    assert exit_.value.code != 0


def test_reformatting_and_commenting_every_module_leaves_verify_at_zero(tmp_path):
    """The issue's scratch-copy check: keys follow what the code does, not how it is written."""
    copy = tmp_path / "repo"

    def local(folder, names):  # the venv, git, caches and git-ignored local stores stay behind
        here = Path(folder)
        return [
            n
            for n in names
            if n in (".venv", ".git", "__pycache__", ".pytest_cache")
            or (here == ROOT and n == "data")
            or (here.parent.name == "results" and n in LOCAL_STORES)
            or (here == ROOT / "results" and n == "cache")
        ]

    shutil.copytree(ROOT, copy, ignore=local)
    for path in sorted(copy.rglob("*.py")):
        text = path.read_text()
        if path.parent.name == "common" or "common" in path.parts:
            text = ast.unparse(ast.parse(text))  # every line laid out anew, comments dropped
        path.write_text(f"# {path.name}: a comment added by the test\n{text}\n")
    ruff = shutil.which("ruff") or str(ROOT / ".venv/bin/ruff")
    if shutil.which(ruff):
        subprocess.run([ruff, "format", "--quiet", "--line-length", "100", str(copy)], check=True)
    out = subprocess.run(
        [sys.executable, "collect.py", "--preset", "cpu", "--verify"], cwd=copy, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "0 problem(s)" in out.stdout


def test_benchmark_records_are_checked_as_the_benchmark_s(tmp_path):
    """The transferability benchmark's records sit under transfer/ too, one folder deeper (fnmatch's * matches
    "/"): each is checked against its own code and its folders, not as a transfer-study run."""
    runs = tmp_path / "cpu" / "transfer" / "benchmark" / "runs" / "smallcnn"

    def record(protocol: str, source, where: Path, concept: str) -> Path:
        # only the tasks' names are read
        key = {"protocol": protocol, "source": source and {"name": source}, "target": {"name": "mnist-2"}, "seed": 1}
        key |= {"arch": "smallcnn", "code": code_version(concept)}
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(json.dumps({"key": key, "value": {}}))
        return where

    record("finetune", "mnist-3", runs / "finetune/mnist-3_to_mnist-2_seed1.json", "transferability-truth")
    record("scratch", None, runs / "scratch/scratch_to_mnist-2_seed1.json", "transferability-truth")
    record("scores", "mnist-3", runs / "scores/mnist-3_to_mnist-2_seed1.json", "transferability-scores")
    assert verify.problems(tmp_path, "cpu") == []
    record("finetune", "mnist-3", runs / "finetune/mnist-0_to_mnist-2_seed1.json", "transferability-truth")
    record("head", "mnist-3", runs / "head/mnist-3_to_mnist-2_seed1.json", "transferability-scores")
    record("head", "mnist-3", runs / "scores/mnist-3_to_mnist-2_seed1.json", "transferability-scores")
    found = {p.relative_to(runs).as_posix(): why for p, why in verify.problems(tmp_path, "cpu")}
    assert set(found) == {
        "finetune/mnist-0_to_mnist-2_seed1.json",
        "head/mnist-3_to_mnist-2_seed1.json",
        "scores/mnist-3_to_mnist-2_seed1.json",
    }
    assert "holds the record mnist-3_to_mnist-2_seed1" in found["finetune/mnist-0_to_mnist-2_seed1.json"]
    assert "other code than today's transferability-truth" in found["head/mnist-3_to_mnist-2_seed1.json"]
    assert "holds a smallcnn head record, in smallcnn/scores" in found["scores/mnist-3_to_mnist-2_seed1.json"]
