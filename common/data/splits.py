"""Task data: the splits of a task (relabelled and balanced, ``common/tasks.py``) from the decoded
datasets (``common/data/decode.py``), and a tensor batch pipeline: augmentation (random crop with
padding 4, horizontal flip) runs on whole batches (``bench/train_throughput.py`` measures the
difference to per-sample PIL transforms).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from common.data.decode import Split, load_raw
from common.datasets import DATASETS
from common.tasks import Task


# --------------------------------------------------------------------------- tasks
def relabel_and_balance(task: Task, labels: torch.Tensor, generator: torch.Generator):
    """Indices kept for ``task`` and their new labels (see ``common/tasks.py`` for the rule).

    Named groups keep all their samples; the pooled "other" label is subsampled (seeded) to the
    mean size of one group: balanced negatives for a binary task, one class's worth otherwise.
    """
    n_orig = len(DATASETS[task.dataset].classes)
    lut = torch.full((n_orig,), -1, dtype=torch.int64)
    for new, group in enumerate(task.groups):
        lut[list(group)] = new
    if task.other:
        lut[lut == -1] = len(task.groups)
    new_labels = lut[labels]
    named = torch.nonzero((new_labels >= 0) & (new_labels < len(task.groups))).flatten()
    keep = named
    if task.other:
        pool = torch.nonzero(new_labels == len(task.groups)).flatten()
        size = min(len(pool), round(len(named) / len(task.groups)))
        chosen = pool[torch.randperm(len(pool), generator=generator)[:size]]
        keep = torch.cat([named, chosen]).sort().values
    return keep, new_labels[keep]


def _cap(split: Split, cap: int | None, generator: torch.Generator) -> Split:
    if cap is None or len(split) <= cap:
        return split
    return split.subset(torch.randperm(len(split), generator=generator)[:cap].sort().values)


def task_splits(
    task: Task,
    data_root,
    cache_dir,
    *,
    val_fraction: float = 0.1,
    split_seed: int = 0,
    max_train: int | None = None,
    max_eval: int | None = None,
) -> dict[str, Split]:
    """Train / val / test splits of a task. ``val`` is carved (seeded) from the official train split;
    ``test`` is the official test split. Every split is relabelled and balanced the same way."""
    raw = {
        "train": load_raw(task.dataset, "train", data_root, cache_dir),
        "test": load_raw(task.dataset, "test", data_root, cache_dir),
    }
    g = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(len(raw["train"]), generator=g)
    n_val = int(round(val_fraction * len(perm)))
    parts = {
        "train": raw["train"].subset(perm[n_val:].sort().values),
        "val": raw["train"].subset(perm[:n_val].sort().values),
        "test": raw["test"],
    }
    out = {}
    for i, (name, part) in enumerate(parts.items()):
        gi = torch.Generator().manual_seed(split_seed * 1000 + i)
        keep, labels = relabel_and_balance(task, part.y, gi)
        split = Split(part.x[keep], labels)
        out[name] = _cap(split, max_train if name == "train" else max_eval, gi)
    return out


# --------------------------------------------------------------------------- batches
def random_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Per-sample random crop (zero padding ``pad``) and horizontal flip of a batch N x C x H x W.

    torchvision.transforms.v2 applies one random crop to a whole batch; per-sample crops are
    done here with one gather, so augmentation stays a handful of tensor ops per batch."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # n x h
    cols = dx[:, None] + torch.arange(w, device=x.device)  # n x w
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[
        torch.arange(n, device=x.device)[:, None, None, None],
        torch.arange(c, device=x.device)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


class Normalizer:
    """uint8 batch -> normalised float batch, on the batch's device."""

    def __init__(self, dataset: str, device):
        mean, std = DATASETS[dataset].normalization  # common/datasets.py
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std


def iterate_batches(
    split: Split,
    batch_size: int,
    normalize: Normalizer,
    *,
    shuffle: bool = False,
    augment: bool = False,
    generator: torch.Generator | None = None,
    device="cpu",
):
    """Yield (normalised float images, labels) on ``device``; the data is moved there once."""
    x, y = split.x.to(device), split.y.to(device)
    order = torch.randperm(len(y), generator=generator).to(device) if shuffle else torch.arange(len(y), device=device)
    for start in range(0, len(y), batch_size):
        idx = order[start : start + batch_size]
        xb = x[idx]
        if augment:
            xb = random_crop_flip(xb, generator)
        yield normalize(xb), y[idx]


def num_batches(split: Split, batch_size: int) -> int:
    return (len(split) + batch_size - 1) // batch_size
