"""Dense tasks: a fabricated Taskonomy tree end to end, the derived targets on known images, the
Gaussian Fisher against a per-sample loop, the atlas and the affinity comparison, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import fisher_distance_taskonomy
import train_task_taskonomy
from common.base import cli
from common.base.errors import UserError
from common.dense.data import dense_splits, iterate
from common.dense.derived_targets import GENERATORS, inpainting_mask
from common.dense.fisher import gaussian_fisher_diag, match_channels
from common.dense.models import build_dense_network
from common.dense.presets import dense_config
from common.dense.runs import load_checkpoint, network
from common.dense.taskonomy import load_tree
from common.dense_tasks import DENSE_TASK_SETS, DENSE_TASKS
from common.fisher.distance import task_distance
from common.store import paths
from common.studies.atlas import compare_affinity, mds_map, read_affinity

DOMAINS = {d.target: d.channels for d in DENSE_TASKS.values() if not d.derived}  # rgb included (autoencoding)
VIEWS = [
    ("allens_ville", 0, 0),
    ("allens_ville", 0, 1),
    ("allens_ville", 3, 2),
    ("allens_ville", 7, 0),
    ("allens_ville", 12, 1),
    ("allens_ville", 5, 5),
    ("beech_wood", 1, 0),
    ("beech_wood", 2, 4),
    ("beech_wood", 9, 9),
    ("beech_wood", 4, 1),
]


def view_value(view) -> int:
    """A number that identifies a view, painted into every domain's image of it (so pairing is checkable)."""
    return 10 + 20 * VIEWS.index(view) % 230


def make_tree(root, flat: bool = False, size: int = 24):
    """A Taskonomy tree: every domain's PNG of a view is filled with the view's value (16-bit domains
    scaled to 16 bits), plus a little texture. Written in a scrambled order."""
    tree = root / "taskonomy"
    rng = np.random.default_rng(0)
    for domain, channels in {"rgb": 3, **DOMAINS}.items():
        for view in reversed(VIEWS) if domain == "normal" else VIEWS:
            building, point, v = view
            name = f"point_{point}_view_{v}_domain_{domain}.png"
            folder = tree / domain if flat else tree / domain / building
            folder.mkdir(parents=True, exist_ok=True)
            if flat:
                name = f"{building}_{name}"
            base = np.full((size, size), view_value(view), dtype=np.int64) + rng.integers(0, 3, (size, size))
            if channels == 1 and domain != "reshading":  # 16-bit PNG like Taskonomy's depth/edges/keypoints
                Image.fromarray((base * 257).astype(np.uint16)).save(folder / name)
            elif channels == 1:
                Image.fromarray(base.astype(np.uint8), "L").save(folder / name)
            else:
                Image.fromarray(np.stack([base] * 3, -1).astype(np.uint8), "RGB").save(folder / name)
    return root


@pytest.mark.parametrize("flat", [False, True])
def test_tree_is_paired_by_building_point_and_view(tmp_path, flat):
    root = make_tree(tmp_path, flat=flat)
    tree = load_tree(root, {"rgb": 3, "depth_euclidean": 1, "normal": 3, "reshading": 1}, 16, tmp_path / "cache")
    assert [tuple(k) for k in tree["keys"]] == sorted(VIEWS)
    for i, key in enumerate(tree["keys"]):
        want = view_value(tuple(key)) / 255
        assert tree["rgb"][i].float().mean().item() / 255 == pytest.approx(want, abs=0.01)
        for domain in ("depth_euclidean", "normal", "reshading"):  # normal was written in reverse order
            assert tree[domain][i].float().mean().item() == pytest.approx(want, abs=0.01), (domain, key)
    assert tree["rgb"].shape == (len(VIEWS), 3, 16, 16) and tree["depth_euclidean"].shape == (len(VIEWS), 1, 16, 16)


def test_taskonomy_splits_hold_out_a_building(tmp_path):
    root = make_tree(tmp_path)
    cfg = dense_config("smoke", max_train=None, max_eval=None)
    splits = dense_splits(DENSE_TASKS["depth_zbuffer"], "taskonomy", root, tmp_path / "cache", cfg)
    beechwood = {round(view_value(v) / 255, 2) for v in VIEWS if v[0] == "beech_wood"}
    test_values = {round(x.float().mean().item(), 2) for x in splits["test"].x}
    assert test_values <= {round(b, 2) for b in beechwood} and len(splits["test"]) == 4
    assert len(splits["train"]) + len(splits["val"]) == 6
    # input and target of a view are the same view
    for split in splits.values():
        assert torch.allclose(split.x.float().mean((1, 2, 3)), split.y.float().mean((1, 2, 3)), atol=0.01)


def test_taskonomy_end_to_end_with_affinity(tmp_path, capsys):
    root = make_tree(tmp_path / "data")
    flags = [
        "--preset",
        "smoke",
        "--task-set",
        "taskonomy",
        "--data-root",
        str(root),
        "--results-dir",
        str(tmp_path / "r"),
    ]
    table = train_task_taskonomy.main(flags)
    assert sorted(table.task) == sorted(DENSE_TASK_SETS["taskonomy"])
    names = list(DENSE_TASK_SETS["taskonomy"])
    rng = np.random.default_rng(1)
    rows = [{"source": a, "target": b, "affinity": rng.random()} for a in names for b in names if a != b]
    pd.DataFrame(rows).to_csv(tmp_path / "aff.csv", index=False)
    mean = fisher_distance_taskonomy.main(flags + ["--affinity", str(tmp_path / "aff.csv")])
    assert list(mean.index) == list(mean.columns) == names
    assert (np.diag(mean.values) == 0).all() and (mean.values[~np.eye(10, dtype=bool)] > 0).all()
    out = paths.dense_distance_outputs(tmp_path / "r", "smoke", "convae", "taskonomy", "taskonomy")
    assert "encoder only" in pd.read_csv(out["long"]).compared.iloc[0]  # 1- and 3-channel decoders
    atlas = pd.read_csv(out["atlas_csv"])
    assert list(atlas.task) == names and atlas[["x", "y"]].abs().sum().sum() > 0
    aff = pd.read_csv(out["affinity_csv"])
    assert len(aff) == 10 and aff.spearman_neg_d_affinity.between(-1, 1).all()
    assert "mean Spearman(−d, affinity)" in capsys.readouterr().out


def test_derived_matrix_orientation_and_one_entry_recomputed(data_root, tmp_path):
    """rows = source, columns = target: d(a -> b) uses F of N_a and N_b on b's test images."""
    flags = [
        "--preset",
        "smoke",
        "--tasks",
        "2d-autoencoding",
        "2d-denoising",
        "2d-edges",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
    ]
    train_task_taskonomy.main(flags)
    mean = fisher_distance_taskonomy.main(flags)
    cfg = dense_config("smoke")
    a, b = DENSE_TASKS["2d-edges"], DENSE_TASKS["2d-denoising"]
    data = dense_splits(b, "cifar10", data_root, paths.data_cache_dir(tmp_path), cfg)["test"]
    data = data.subset(torch.arange(cfg.fisher_samples))
    fishers = []
    for task in (a, b):
        entry = load_checkpoint(task, "cifar10", 0, cfg, preset="smoke", data_root=data_root, results_dir=tmp_path)
        f = gaussian_fisher_diag(network(entry, task, cfg), iterate(data, 5))
        fishers.append({k: v for k, v in f.items() if k.startswith("encoder.")})  # 1 vs 3 channels
    want = task_distance(*fishers)
    assert mean.loc["2d-edges", "2d-denoising"] == pytest.approx(want, rel=1e-4)
    assert mean.loc["2d-denoising", "2d-edges"] != pytest.approx(want, rel=1e-2)


def test_same_output_channels_compare_every_parameter(data_root, tmp_path):
    flags = [
        "--preset",
        "smoke",
        "--tasks",
        "2d-autoencoding",
        "2d-colorization",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
    ]
    train_task_taskonomy.main(flags)
    fisher_distance_taskonomy.main(flags)
    out = paths.dense_distance_outputs(tmp_path, "smoke", "convae", "cifar10", "2d-autoencoding-2d-colorization")
    assert pd.read_csv(out["long"]).compared.iloc[0] == "all parameters"


# --------------------------------------------------------------------------- derived targets
def square(size=32, lo=10, hi=22):
    x = torch.zeros(1, 3, size, size)
    x[..., lo:hi, lo:hi] = 1.0
    return x


def test_edges_of_a_square_lie_on_its_boundary():
    _, e = GENERATORS["edges"](square(), 0)
    e = e[0, 0].bool()
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    # distance (in pixels) of each pixel centre to the square's boundary lines at 9.5 and 21.5
    inside_band = ((yy >= 9) & (yy <= 22) & (xx >= 9) & (xx <= 22)) & ~(
        (yy >= 11) & (yy <= 20) & (xx >= 11) & (xx <= 20)
    )
    assert e[inside_band].float().mean() > 0.9  # the 2-pixel band around the boundary is edge
    assert not e[~inside_band].any()  # nothing else: not the inside, not the background
    _, flat = GENERATORS["edges"](torch.full((1, 3, 32, 32), 0.7), 0)
    assert flat.sum() == 0


def test_keypoints_of_a_square_are_its_corners():
    _, k = GENERATORS["keypoints"](square(), 0)
    r = k[0, 0]
    assert r.max() == pytest.approx(1.0)
    peaks = [(int(i) // 32, int(i) % 32) for i in r.flatten().topk(4).indices]
    for corner in ((10, 10), (10, 21), (21, 10), (21, 21)):
        assert min(abs(p[0] - corner[0]) + abs(p[1] - corner[1]) for p in peaks) <= 2, (corner, peaks)
    assert r[16, 10] < 0.05 and r[16, 16] < 0.05  # an edge midpoint, the flat inside


def test_inpainting_mask_denoising_and_colorization():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    inp, tgt = GENERATORS["inpainting"](x, 0)
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[4:12, 4:12] = True  # central square of half the side
    assert torch.equal(inpainting_mask(16, 16), mask)
    assert (inp[..., mask] == 0).all() and torch.equal(inp[..., ~mask], x[..., ~mask]) and torch.equal(tgt, x)
    n1, _ = GENERATORS["denoising"](x, 7)
    n2, _ = GENERATORS["denoising"](x, 7)
    n3, _ = GENERATORS["denoising"](x, 8)
    assert torch.equal(n1, n2) and not torch.equal(n1, n3)
    assert 0.1 < (n1 - x).std() < 0.25 and n1.min() >= 0 and n1.max() <= 1
    grey, tgt = GENERATORS["colorization"](x, 0)
    want = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(grey[:, 1], want) and torch.equal(grey[:, 0], grey[:, 2]) and torch.equal(tgt, x)


# --------------------------------------------------------------------------- Fisher, atlas, affinity
@pytest.mark.parametrize("arch,out_channels,target_channels", [("convae", 3, 3), ("convae", 1, 3), ("mlpae", 3, 1)])
def test_gaussian_fisher_equals_a_per_sample_loop(arch, out_channels, target_channels):
    torch.manual_seed(0)
    net = build_dense_network(arch, out_channels, 8, seed=0)
    x, y = torch.randn(7, 3, 8, 8), torch.rand(7, target_channels, 8, 8)
    got = gaussian_fisher_diag(net, [(x[:4], y[:4]), (x[4:], y[4:])])
    want = {k: torch.zeros_like(p) for k, p in net.named_parameters()}
    for i in range(7):
        net.zero_grad()
        out = net(x[i : i + 1])
        out = (
            out[:, :target_channels]
            if out.shape[1] >= target_channels
            else torch.cat([out, torch.zeros(1, target_channels - out.shape[1], 8, 8)], 1)
        )
        (0.5 * (out - y[i : i + 1]).pow(2).sum()).backward()
        for k, p in net.named_parameters():
            want[k] += p.grad**2 / 7
    for k in want:
        assert torch.allclose(got[k], want[k], rtol=1e-4, atol=1e-10), k
    assert match_channels(torch.ones(1, 1, 2, 2), 3)[:, 1:].abs().sum() == 0


def test_mds_recovers_a_planar_configuration():
    pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 2.0]])
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    names = list("abcde")
    coords, stress = mds_map(pd.DataFrame(d, index=names, columns=names))
    xy = coords[["x", "y"]].to_numpy()
    got = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    assert stress < 1e-3 and np.allclose(got, d, atol=1e-2)
    # an asymmetric matrix is symmetrised first
    asym = pd.DataFrame(
        d + np.triu(np.full_like(d, 0.2), 1) - np.tril(np.full_like(d, 0.2), -1), index=names, columns=names
    )
    coords2, _ = mds_map(asym)
    xy2 = coords2[["x", "y"]].to_numpy()
    assert np.allclose(np.sqrt(((xy2[:, None] - xy2[None]) ** 2).sum(-1)), d, atol=1e-2)


def test_affinity_comparison_on_a_constructed_csv(tmp_path):
    names = ["t0", "t1", "t2", "t3", "t4"]
    rng = np.random.default_rng(0)
    values = rng.random((5, 5))
    np.fill_diagonal(values, 0)
    d = pd.DataFrame(values, index=names, columns=names)
    rows = [{"source": a, "target": b, "affinity": 1 - d.loc[a, b]} for a in names for b in names if a != b]
    pd.DataFrame(rows).to_csv(tmp_path / "good.csv", index=False)
    table = compare_affinity(d, read_affinity(tmp_path / "good.csv", names))
    assert table.spearman_neg_d_affinity.tolist() == pytest.approx([1.0] * 5)
    assert (table.closest_by_d == table.highest_affinity).all()
    flipped = pd.DataFrame([{**r, "affinity": -r["affinity"]} for r in rows])
    flipped.to_csv(tmp_path / "flipped.csv", index=False)
    assert compare_affinity(
        d, read_affinity(tmp_path / "flipped.csv", names)
    ).spearman_neg_d_affinity.tolist() == pytest.approx([-1.0] * 5)
    pd.DataFrame(rows).drop(columns="affinity").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match="no column"):
        read_affinity(tmp_path / "bad.csv", names)
    pd.DataFrame([{"source": "zz", "target": "t0", "affinity": 1}]).to_csv(tmp_path / "unknown.csv", index=False)
    with pytest.raises(UserError, match="not in this matrix: zz"):
        read_affinity(tmp_path / "unknown.csv", names)


# --------------------------------------------------------------------------- bad input
def one_error_line(capsys, main, argv) -> str:
    with pytest.raises(SystemExit) as info:
        cli.run(main, argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert info.value.code not in (0, None) and "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_bad_taskonomy_input_is_one_error_line(tmp_path, capsys):
    root = make_tree(tmp_path / "data")
    base = [
        "--preset",
        "smoke",
        "--task-set",
        "taskonomy",
        "--data-root",
        str(root),
        "--results-dir",
        str(tmp_path / "r"),
    ]
    import shutil

    shutil.rmtree(root / "taskonomy" / "keypoints3d")
    assert "Taskonomy domain folder" in one_error_line(capsys, train_task_taskonomy.main, base)
    root2 = make_tree(tmp_path / "data2")
    odd = root2 / "taskonomy" / "normal" / "beech_wood" / "point_9_view_9_domain_normal.png"
    odd.rename(odd.with_name("point_9_view_8_domain_normal.png"))
    line = one_error_line(capsys, train_task_taskonomy.main, base[:5] + [str(root2)] + base[6:])
    assert "unpaired Taskonomy files" in line and "point_9_view_9_domain_rgb.png" in line
    (root2 / "taskonomy" / "normal" / "beech_wood" / "notes.png").write_bytes(b"x")
    assert "is not named point_" in one_error_line(
        capsys, train_task_taskonomy.main, base[:5] + [str(root2)] + base[6:]
    )
    no_tree = [
        "--preset",
        "smoke",
        "--task-set",
        "taskonomy",
        "--data-root",
        str(tmp_path),
        "--results-dir",
        str(tmp_path / "r"),
    ]
    assert "no Taskonomy tree" in one_error_line(capsys, train_task_taskonomy.main, no_tree)
    assert "needs --images taskonomy" in one_error_line(
        capsys, train_task_taskonomy.main, base + ["--images", "cifar10"]
    )
    assert "invalid choice: 'imagenet'" in one_error_line(
        capsys, train_task_taskonomy.main, base + ["--images", "imagenet"]
    )
    assert "unknown dense task set" in one_error_line(capsys, train_task_taskonomy.main, base + ["--task-set", "nope"])
    assert not [p for p in (tmp_path / "r").rglob("*") if p.is_file()]  # nothing written
    # the distance script refuses before any Fisher when the networks are missing, naming the command
    root3 = make_tree(tmp_path / "data3")
    line = one_error_line(capsys, fisher_distance_taskonomy.main, base[:5] + [str(root3)] + base[6:])
    assert "not trained or out of date" in line and "train_task_taskonomy.py --preset smoke --images taskonomy" in line


# --------------------------------------------------------------------------- transfer
def test_dense_gain_is_the_mse_drop_on_a_toy_where_one_source_helps():
    from common.dense.transfer_runs import DENSE_SCORES
    from common.transfer_learning.table import correlations, correlations_markdown, pair_table

    rows = []
    for seed in (0, 1):
        rows.append({"source": "scratch", "target": "t", "seed": seed, "neg_test_mse": -0.050})
        for source, mse, zero in (("helper", 0.010, -0.02), ("neutral", 0.049, -0.09), ("harmful", 0.060, -0.05)):
            rows.append({"source": source, "target": "t", "seed": seed, "neg_test_mse": -mse, "zero_shot": zero})
    names = ["t", "helper", "neutral", "harmful"]
    d = pd.DataFrame(0.5, index=names, columns=names)
    d.loc["helper", "t"], d.loc["neutral", "t"], d.loc["harmful", "t"] = 0.1, 0.3, 0.8
    pairs = pair_table(pd.DataFrame(rows), d, DENSE_SCORES).set_index("source")
    assert pairs.loc["helper", "gain"] == pytest.approx(0.040)  # MSE 0.050 -> 0.010: a positive gain
    assert pairs.loc["harmful", "gain"] == pytest.approx(-0.010)
    table = correlations(pairs.reset_index(), DENSE_SCORES).set_index("target")
    assert table.loc["t", "spearman_distance"] == pytest.approx(1.0)
    assert table.loc["t", "spearman_zero_shot"] == pytest.approx(0.5)  # zero-shot swaps neutral and harmful
    assert table.loc["t", "best_by_gain"] == table.loc["t", "closest_by_distance"] == "helper"
    assert "helper (+40.0)" in correlations_markdown(table.reset_index(), "toy", DENSE_SCORES)  # 10⁻³ MSE


def test_dense_transfer_replaces_the_output_layer_and_runs_end_to_end(data_root, tmp_path):
    import transfer_taskonomy
    from common.dense.transfer_runs import head_prefix, transplant

    net = build_dense_network("convae", 3, 16, seed=0)
    assert head_prefix(net) == "decoder.4." and head_prefix(build_dense_network("mlpae", 1, 16, seed=0)) == "decoder.2."
    torch.manual_seed(1)
    source = build_dense_network("convae", 1, 16, seed=0)  # 1 output channel -> a 3-channel target
    torch.manual_seed(2)
    fresh = build_dense_network("convae", 3, 16, seed=0)
    head = {k: v.clone() for k, v in fresh.state_dict().items() if k.startswith("decoder.4.")}
    moved = transplant(source.state_dict(), fresh)
    for k, v in moved.state_dict().items():
        assert torch.equal(v, head[k] if k.startswith("decoder.4.") else source.state_dict()[k]), k
    flags = [
        "--preset",
        "smoke",
        "--tasks",
        "2d-autoencoding",
        "2d-edges",
        "2d-denoising",
        "--data-root",
        str(data_root),
        "--results-dir",
        str(tmp_path),
    ]
    with pytest.raises(UserError, match="train_task_taskonomy.py"):  # step 1 first
        transfer_taskonomy.main(flags)
    train_task_taskonomy.main(flags)
    with pytest.raises(UserError, match="fisher_distance_taskonomy.py"):  # then step 2
        transfer_taskonomy.main(flags)
    fisher_distance_taskonomy.main(flags)
    table = transfer_taskonomy.main(flags).set_index("target")
    assert table.loc["mean", "sources"] == 6 and table.loc["2d-edges", "sources"] == 2
    out = paths.dense_transfer_outputs(tmp_path, "smoke", "convae", "cifar10", "2d-autoencoding-2d-edges-2d-denoising")
    pairs = pd.read_csv(out["pairs"])
    assert len(pairs) == 6 and pairs.zero_shot.lt(0).all() and pairs.distance.gt(0).all()
    run = paths.dense_transfer_record_path(tmp_path, "smoke", "convae", "cifar10", "2d-edges", "2d-denoising", 0)
    import json

    record = json.loads(run.read_text())["value"]
    assert record["n_train"] == 64 and record["zero_shot"] < 0 and record["source"] == "2d-edges"


@pytest.mark.parametrize(
    "rhos,status",
    [
        ([0.9, 0.8, 0.6, -0.1], "reproduced"),
        ([-0.5, 0.2, -0.3, 0.1], "not reproduced"),
        ([0.6, -0.2, 0.4, 0.1], "inconclusive"),
    ],
)
def test_taskonomy_affinity_claim(tmp_path, rhos, status):
    from common.report.claims import affinity_claim

    assert affinity_claim("4", tmp_path, "cpu").status == "not run"
    path = tmp_path / "cpu" / "dense" / "mlpae" / "taskonomy" / "taskonomy_frechet_affinity.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(
        {
            "target": list("abcd"),
            "sources": 9,
            "spearman_neg_d_affinity": rhos,
            "closest_by_d": list("xyzx"),
            "highest_affinity": list("xyyy"),
        }
    ).to_csv(path, index=False)
    claim = affinity_claim("4", tmp_path, "cpu")
    assert claim.status == status and f"{np.mean(rhos):+.2f}" in claim.evidence and "2 of 4" in claim.evidence
