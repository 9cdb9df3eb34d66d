"""The transfer study (issue 11, part 4): LEEP against a hand computation, the head transplant, the
tables on constructed runs where one source is known to help, and transfer.py end to end (smoke)."""

import json
import math

import pandas as pd
import pytest
import torch
import torch.nn as nn

import fisher_distance
import train_task_mnist
import transfer
from common.base.errors import UserError
from common.data.decode import Split
from common.data.splits import Normalizer
from common.networks.init import head_module
from common.networks.models import build_network
from common.store import paths
from common.tasks import get_task
from common.transfer_learning.runs import leep, transplant
from common.transfer_learning.table import correlations, pair_table


class FixedSoftmax(nn.Module):
    """A 'network' whose softmax over 2 source classes is given per image (image i has value i)."""

    def __init__(self, probs):
        super().__init__()
        self.logits = torch.log(torch.tensor(probs, dtype=torch.float64))

    def forward(self, x):
        return self.logits[x[:, 0, 0, 0].round().long()]


def test_leep_by_hand():
    theta = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
    y = [0, 1, 0]
    split = Split(torch.arange(3, dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 3, 1, 1).contiguous(), torch.tensor(y))
    ident = Normalizer("mnist", "cpu")
    ident.mean, ident.std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
    got = leep(FixedSoftmax(theta), split, ident, 2, 2, "cpu")
    # P(y, z) = (1/3) sum_i theta(z|x_i)[y_i = y]; P(y|z) = P(y, z) / P(z); LEEP = mean_i log sum_z P(y_i|z) theta(z|x_i)
    joint = [[(0.9 + 0.6) / 3, (0.1 + 0.4) / 3], [0.2 / 3, 0.8 / 3]]
    pz = [joint[0][0] + joint[1][0], joint[0][1] + joint[1][1]]
    cond = [[joint[yy][z] / pz[z] for z in range(2)] for yy in range(2)]
    expected = sum(math.log(sum(cond[y[i]][z] * theta[i][z] for z in range(2))) for i in range(3)) / 3
    assert got == pytest.approx(expected, abs=1e-9)
    # labels that are a function of the source's confident prediction give LEEP = log 1 = 0
    sure = leep(FixedSoftmax([[1 - 1e-12, 1e-12], [1e-12, 1 - 1e-12], [1 - 1e-12, 1e-12]]), split, ident, 2, 2, "cpu")
    assert sure == pytest.approx(0.0, abs=1e-6)


def test_transplant_keeps_the_body_and_renews_the_head():
    source = build_network("smallcnn", get_task("mnist-3"), seed=0)  # 10 classes
    torch.manual_seed(1)
    target = build_network("smallcnn", get_task("mnist-0"), seed=0)  # 2 classes
    fresh_head = {k: v.clone() for k, v in target.state_dict().items() if k.startswith(head_module(target)[0])}
    moved = transplant(source.state_dict(), target)
    for k, v in moved.state_dict().items():
        if k.startswith(head_module(target)[0] + "."):
            assert torch.equal(v, fresh_head[k])  # the new head, as initialised
        else:
            assert torch.equal(v, source.state_dict()[k])  # every other tensor from the source
    assert head_module(build_network("resnet18", get_task("mnist-0"), seed=0))[0] == "fc"


def constructed_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Target t, three sources: 'helper' (close, +20 points), 'neutral' (+2), 'harmful' (far, -5)."""
    rows = []
    for seed in (0, 1):
        rows.append({"source": "scratch", "target": "t", "seed": seed, "test_acc": 0.50 + 0.01 * seed})
        for source, gain, score in (("helper", 0.20, -0.1), ("neutral", 0.02, -0.9), ("harmful", -0.05, -0.5)):
            rows.append(
                {"source": source, "target": "t", "seed": seed, "test_acc": 0.50 + 0.01 * seed + gain, "leep": score}
            )
    names = ["t", "helper", "neutral", "harmful"]
    d = pd.DataFrame(0.5, index=names, columns=names)
    d.loc["helper", "t"], d.loc["neutral", "t"], d.loc["harmful", "t"] = 0.1, 0.3, 0.8
    return pd.DataFrame(rows), d


def test_tables_on_a_toy_where_one_source_helps():
    runs, d = constructed_runs()
    pairs = pair_table(runs, d).set_index("source")
    assert pairs.loc["helper", "gain"] == pytest.approx(0.20) and pairs.loc["harmful", "gain"] == pytest.approx(-0.05)
    assert pairs.loc["helper", "distance"] == 0.1 and pairs.loc["helper", "seeds"] == 2
    table = correlations(pair_table(runs, d)).set_index("target")
    assert table.loc["t", "spearman_distance"] == pytest.approx(1.0)  # -d ranks the sources as the gain
    assert table.loc["t", "spearman_leep"] == pytest.approx(0.5)  # LEEP swaps neutral and harmful
    assert table.loc["t", "closest_by_distance"] == table.loc["t", "best_by_gain"] == "helper"
    # a transposed matrix (rows = target) would read d(t -> source): here all 0.5, no ranking at all
    assert math.isnan(correlations(pair_table(runs, d.T)).set_index("target").loc["t", "spearman_distance"])


def test_transfer_script_end_to_end(data_root, tmp_path, capsys):
    flags = ["--preset", "smoke", "--data-root", str(data_root), "--results-dir", str(tmp_path)]
    tasks = ["--tasks", "mnist-0", "mnist-2", "mnist-3"]
    with pytest.raises(UserError) as missing:  # no checkpoints yet: the training command
        transfer.main(flags + tasks)
    assert "train_task_mnist.py" in str(missing.value)
    train_task_mnist.main(flags + tasks)
    with pytest.raises(UserError) as no_matrix:  # no matrix yet: the distance command
        transfer.main(flags + tasks)
    assert "fisher_distance.py" in str(no_matrix.value)
    fisher_distance.main(flags + tasks)
    table = transfer.main(flags + tasks).set_index("target")
    assert list(table.index) == ["mnist-0", "mnist-2", "mnist-3", "mean"]
    assert (table.loc[["mnist-0", "mnist-2", "mnist-3"], "sources"] == 2).all()
    out = paths.transfer_outputs(tmp_path, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3")
    pairs = pd.read_csv(out["pairs"])
    assert len(pairs) == 6 and (pairs.leep <= 0).all()
    # the gain is the fine-tuned run's test accuracy minus the scratch run's, read from the records
    record = json.loads(paths.transfer_record_path(tmp_path, "smoke", "smallcnn", "mnist-3", "mnist-2", 0).read_text())
    scratch = json.loads(paths.transfer_record_path(tmp_path, "smoke", "smallcnn", "scratch", "mnist-2", 0).read_text())
    row = pairs[(pairs.source == "mnist-3") & (pairs.target == "mnist-2")].iloc[0]
    assert row.gain == pytest.approx(record["value"]["test_acc"] - scratch["value"]["test_acc"])
    assert record["value"]["n_train"] <= 64
    mtime = out["pairs"].stat().st_mtime_ns
    capsys.readouterr()
    transfer.main(flags + tasks)  # a rerun trains nothing
    assert "0 run(s) trained now, 9 read from earlier runs" in capsys.readouterr().out
    assert out["png"].stat().st_size > 0 and out["pairs"].stat().st_mtime_ns != mtime
    # another budget gets its own runs and tables; the preset's are left as they are
    before = {k: p.read_bytes() for k, p in out.items()}
    runs_before = sorted(p.name for p in out["pairs"].parent.joinpath("runs").iterdir())
    transfer.main(flags + tasks + ["--images", "32"])
    other = paths.transfer_outputs(tmp_path, "smoke", "smallcnn", "mnist-0-mnist-2-mnist-3_n32")
    assert other["pairs"].is_file() and {k: p.read_bytes() for k, p in out.items()} == before
    runs_after = sorted(p.name for p in out["pairs"].parent.joinpath("runs").iterdir())
    assert set(runs_before) < set(runs_after) and len(runs_after) == 2 * len(runs_before)
    assert (
        json.loads(
            paths.transfer_record_path(tmp_path, "smoke", "smallcnn", "scratch", "mnist-2", 0, "_n32").read_text()
        )["value"]["n_train"]
        <= 32
    )
