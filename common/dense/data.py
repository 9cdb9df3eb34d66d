"""The data of a dense task: (input image, target map) pairs in train / val / test splits.

Images come from a dataset of ``common/data/decode.py`` (``val`` carved from the official train split,
``test`` the official test split, as for the classification tasks) or from a Taskonomy tree
(``common/dense/taskonomy.py``): there ``test`` is whole held-out *buildings* (the last fifth of the sorted
building names, at least one; with a single building, the last fifth of its views), so test views
are never seen in training. Inputs and targets are float16 in [0, 1]; the network sees the input
scaled to [-1, 1] (``to_network``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from common.data.decode import data_identity, load_raw
from common.data.tree_checks import check_data
from common.dense import taskonomy
from common.dense.derived_targets import GENERATORS
from common.dense_tasks import DenseTask

CHUNK = 1024  # images per generator call: the seeded noise of ``denoising`` is drawn per chunk


@dataclass
class DenseSplit:
    x: torch.Tensor  # float16 N x 3 x S x S, the network's input in [0, 1]
    y: torch.Tensor  # float16 N x C x S x S, the target in [0, 1]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> "DenseSplit":
        return DenseSplit(self.x[idx], self.y[idx])


def to_network(x: torch.Tensor) -> torch.Tensor:
    return x.float() * 2 - 1


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _cap(n: int, cap: int | None, generator: torch.Generator) -> torch.Tensor:
    if cap is None or n <= cap:
        return torch.arange(n)
    return torch.randperm(n, generator=generator)[:cap].sort().values


def _domains(task: DenseTask) -> dict[str, int]:
    return {"rgb": 3} if task.derived else {"rgb": 3, task.target: task.channels}


def image_identity(task: DenseTask, images: str, data_root, cache_dir, size: int) -> dict:
    """What a network trained on the task's data depends on (the raw files and their decoding)."""
    if images == "taskonomy":
        return taskonomy.identity(data_root, _domains(task), size)
    return data_identity(images, data_root, cache_dir)


def check_images_present(tasks, images: str, data_root) -> None:
    """Before any work: the image source (and every Taskonomy domain the tasks need) is readable."""
    if images == "taskonomy":
        root = taskonomy.tree_root(data_root)
        domains = {}
        for t in tasks:
            domains.update(_domains(t))
        taskonomy.paired_files(root, domains)
    else:
        check_data(images, data_root)


def _index_splits(n_train: int, n_test: int, *, val_fraction: float, split_seed: int):
    g = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(n_train, generator=g)
    n_val = int(round(val_fraction * n_train))
    return {"train": perm[n_val:].sort().values, "val": perm[:n_val].sort().values, "test": torch.arange(n_test)}


def _taskonomy_parts(task: DenseTask, data_root, cache_dir, cfg) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
    tree = taskonomy.load_tree(data_root, _domains(task), cfg.image_size, cache_dir)
    buildings = sorted({k[0] for k in tree["keys"]})
    if len(buildings) > 1:
        test_buildings = set(buildings[-max(1, round(len(buildings) / 5)) :])
        is_test = torch.tensor([k[0] in test_buildings for k in tree["keys"]])
    else:
        n = len(tree["keys"])
        is_test = torch.arange(n) >= n - max(1, round(n / 5))
    train_idx, test_idx = torch.nonzero(~is_test).flatten(), torch.nonzero(is_test).flatten()
    target = None if task.derived else (tree["rgb"] if task.target == "rgb" else tree[task.target])
    parts = _index_splits(len(train_idx), len(test_idx), val_fraction=cfg.val_fraction, split_seed=cfg.split_seed)
    out = {}
    for name, idx in parts.items():
        rows = (test_idx if name == "test" else train_idx)[idx]
        out[name] = (tree["rgb"][rows], None if target is None else target[rows])
    return out


def dense_splits(task: DenseTask, images: str, data_root, cache_dir, cfg) -> dict[str, DenseSplit]:
    """Train / val / test splits of ``task`` on ``images`` at ``cfg.image_size``, capped (seeded) at
    ``cfg.max_train`` / ``cfg.max_eval`` images."""
    if images == "taskonomy":
        parts = _taskonomy_parts(task, data_root, cache_dir, cfg)
    else:
        raw = {s: load_raw(images, s, data_root, cache_dir) for s in ("train", "test")}
        idx = _index_splits(
            len(raw["train"]), len(raw["test"]), val_fraction=cfg.val_fraction, split_seed=cfg.split_seed
        )
        parts = {name: (raw["test" if name == "test" else "train"].x[i], None) for name, i in idx.items()}
    out = {}
    for i, (name, (rgb, target)) in enumerate(parts.items()):
        seed = cfg.split_seed * 1000 + i
        keep = _cap(len(rgb), cfg.max_train if name == "train" else cfg.max_eval, torch.Generator().manual_seed(seed))
        xs, ys = [], []
        for c, start in enumerate(range(0, len(keep), CHUNK)):
            rows = keep[start : start + CHUNK]
            x = _resize(rgb[rows], cfg.image_size).float() / 255
            if task.derived:
                inp, tgt = GENERATORS[task.target](x, seed * 100_003 + c)
            else:
                t = target[rows].float()
                inp, tgt = x, (_resize(t, cfg.image_size) / 255 if task.target == "rgb" else t)
            xs.append(inp.half())
            ys.append(tgt.clamp(0, 1).half())
        empty = torch.zeros(0, 3, cfg.image_size, cfg.image_size, dtype=torch.half)
        out[name] = DenseSplit(torch.cat(xs) if xs else empty, torch.cat(ys) if ys else empty[:, : task.channels])
    return out


def iterate(split: DenseSplit, batch_size: int, *, shuffle: bool = False, generator=None, device="cpu"):
    """(network input, target) float batches on ``device``."""
    order = torch.randperm(len(split), generator=generator) if shuffle else torch.arange(len(split))
    for start in range(0, len(split), batch_size):
        idx = order[start : start + batch_size]
        yield to_network(split.x[idx]).to(device), split.y[idx].float().to(device)
