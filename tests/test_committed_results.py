"""The committed results name the code that made them: every commit they record is a clean one (issue 24:
a result made by uncommitted code cannot be traced to any code, so it is not a committed result)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from common.report.document import result_commits

RESULTS = Path(__file__).resolve().parent.parent / "results"


def test_result_commits_reads_every_kind_of_record(tmp_path):
    run = tmp_path / "cpu"
    (run / "distances" / "smallcnn").mkdir(parents=True)
    pd.DataFrame({"task": ["a"], "git_commit": ["abc1234"]}).to_csv(run / "train_metrics.csv", index=False)
    manifest = {"key": {}, "value": {}, "provenance": {"git_commit": "def5678-dirty"}}
    (run / "distances" / "smallcnn" / "mnist_frechet_empirical.json").write_text(json.dumps(manifest))
    assert result_commits(tmp_path, "cpu") == {"abc1234", "def5678-dirty"}


@pytest.mark.parametrize("preset", ["cpu"])
def test_committed_results_were_made_at_clean_commits(preset):
    if not (RESULTS / preset).is_dir():
        pytest.skip(f"no committed results/{preset}")
    dirty = sorted(c for c in result_commits(RESULTS, preset) if c.endswith("-dirty") or c == "unknown")
    assert not dirty, f"results/{preset} holds results of uncommitted code: {dirty}; rerun them at a clean commit"
