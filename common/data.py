"""Datasets as uint8 tensors, task relabelling/balancing, and a tensor batch pipeline.

Why tensors: these machines have 2 cores, so per-sample PIL transforms in DataLoader workers
starve the network. Each dataset split is decoded once, cached on disk as a uint8 tensor
(N x 3 x 32 x 32), and augmentation (random crop with padding 4, horizontal flip) runs on whole
batches (``bench/train_throughput.py`` measures the difference).

Where the files come from, for ``--data-root ROOT`` (first match wins):
* an ImageFolder tree ``ROOT/<dataset>/{train,test}/<class>/*`` (sorted class names must be the
  official label order), e.g. ``../shared/data/cifar10``;
* torchvision's own layout: ``ROOT/MNIST/raw/*-ubyte``, ``ROOT/cifar-10-batches-py``,
  ``ROOT/cifar-100-python``;
* otherwise torchvision downloads it into ROOT (needs internet; set FTD_OFFLINE=1 to fail at
  once instead of trying).
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from tqdm import tqdm

from .errors import UserError
from .io import atomic_torch_save
from .tasks import DATASET_CLASSES, Task

IMAGE_SIZE = 32
# Per-channel (mean, std) used to normalise inputs; the CIFAR-10 values are the authors' code's.
NORMALIZATION = {
    "mnist": ((0.1307,) * 3, (0.3081,) * 3),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_TV_FOLDER = {"mnist": "MNIST/raw", "cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


@dataclass
class Split:
    """Images as uint8 N x 3 x 32 x 32 and task labels as int64 N."""
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: torch.Tensor) -> "Split":
        return Split(self.x[idx], self.y[idx])


# --------------------------------------------------------------------------- raw datasets
class _CIFARFiles:
    """torchvision's CIFAR reader without its md5 check, so re-packed copies of the pickles work."""

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

    def _load_meta(self) -> None:   # class names are not needed: labels are ids
        self.classes = []


class _CIFAR10Files(_CIFARFiles, torchvision.datasets.CIFAR10):
    pass


class _CIFAR100Files(_CIFARFiles, torchvision.datasets.CIFAR100):
    pass


def _to_32x32x3(x: torch.Tensor) -> torch.Tensor:
    """uint8 N x H x W or N x C x H x W -> N x 3 x 32 x 32 (MNIST: zero-pad 28 -> 32, grey -> 3 channels)."""
    if x.dim() == 3:
        x = x.unsqueeze(1)
    pad = IMAGE_SIZE - x.shape[-1]
    if pad:
        x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def _read_image_folder(folder: Path, dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    ds = torchvision.datasets.ImageFolder(str(folder))
    expected = DATASET_CLASSES[dataset]
    if dataset != "cifar100" and tuple(ds.classes) != expected:
        raise UserError(f"{folder} has class folders {ds.classes}; expected {list(expected)}")
    mode = "L" if dataset == "mnist" else "RGB"
    images = [torch.from_numpy(np.array(ds.loader(path).convert(mode)))
              for path, _ in tqdm(ds.samples, desc=f"decode {folder}", unit="img", leave=False)]
    images = [img.unsqueeze(-1) if img.dim() == 2 else img for img in images]  # H x W x C
    return torch.stack(images).permute(0, 3, 1, 2), torch.tensor(ds.targets, dtype=torch.int64)


def _read_torchvision(dataset: str, split: str, root: Path, download: bool):
    train = split == "train"
    if dataset == "mnist":
        ds = torchvision.datasets.MNIST(str(root), train=train, download=download)
        return ds.data, ds.targets.long()
    cls = {"cifar10": torchvision.datasets.CIFAR10, "cifar100": torchvision.datasets.CIFAR100}[dataset]
    if not download:
        cls = {"cifar10": _CIFAR10Files, "cifar100": _CIFAR100Files}[dataset]
    ds = cls(str(root), train=train, download=download)
    return torch.from_numpy(ds.data).permute(0, 3, 1, 2), torch.tensor(ds.targets, dtype=torch.int64)


def _locate(dataset: str, split: str, root: Path) -> tuple[str, Path]:
    folder = root / dataset / split
    if folder.is_dir():
        return "imagefolder", folder
    tv = root / _TV_FOLDER[dataset]
    if tv.is_dir() and any(tv.iterdir()):
        return "torchvision", tv
    return "download", root


@functools.lru_cache(maxsize=4)
def _read_cache(path: str, mtime_ns: int) -> Split:
    """Decoded split from disk, kept in memory: every task of a dataset reads the same file
    (callers only index it, never write into it). ``mtime_ns`` makes a rewritten file a new key."""
    blob = torch.load(path)
    return Split(blob["x"], blob["y"])


def load_raw(dataset: str, split: str, data_root, cache_dir) -> Split:
    """The whole official ``split`` ("train" or "test") of a dataset, original labels, cached."""
    if dataset not in NORMALIZATION:
        raise UserError(f"unknown dataset '{dataset}'; known: {', '.join(NORMALIZATION)}")
    root = Path(data_root).expanduser().resolve()
    kind, source = _locate(dataset, split, root)
    tag = hashlib.sha1(f"{kind}:{source}".encode()).hexdigest()[:10]
    cache = Path(cache_dir) / f"{dataset}_{split}_{kind}_{tag}.pt"
    if cache.is_file():
        return _read_cache(str(cache), cache.stat().st_mtime_ns)
    try:
        if kind == "download" and os.environ.get("FTD_OFFLINE"):
            raise RuntimeError("downloads disabled by FTD_OFFLINE")
        if kind == "imagefolder":
            x, y = _read_image_folder(source, dataset)
        else:
            x, y = _read_torchvision(dataset, split, root, download=(kind == "download"))
    except UserError:
        raise
    except Exception as exc:  # download failed (no internet) or unreadable files
        where = f"{root / dataset / split}/<class>/ or {root / _TV_FOLDER[dataset]}"
        raise UserError(
            f"{dataset} {split} data not found under {root} and could not be read or downloaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); put the files at "
            f"{where}, or pass --data-root (offline here: --data-root ../shared/data)") from None
    split_data = Split(_to_32x32x3(x), y)
    atomic_torch_save({"x": split_data.x, "y": split_data.y, "source": str(source)}, cache)
    return split_data


# --------------------------------------------------------------------------- tasks
def relabel_and_balance(task: Task, labels: torch.Tensor, generator: torch.Generator):
    """Indices kept for ``task`` and their new labels (see ``common/tasks.py`` for the rule).

    Named groups keep all their samples; the pooled "other" label is subsampled (seeded) to the
    mean size of one group: balanced negatives for a binary task, one class's worth otherwise.
    """
    n_orig = len(DATASET_CLASSES[task.dataset])
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


def task_splits(task: Task, data_root, cache_dir, *, val_fraction: float = 0.1, split_seed: int = 0,
                max_train: int | None = None, max_eval: int | None = None) -> dict[str, Split]:
    """Train / val / test splits of a task. ``val`` is carved (seeded) from the official train split;
    ``test`` is the official test split. Every split is relabelled and balanced the same way."""
    raw = {"train": load_raw(task.dataset, "train", data_root, cache_dir),
           "test": load_raw(task.dataset, "test", data_root, cache_dir)}
    g = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(len(raw["train"]), generator=g)
    n_val = int(round(val_fraction * len(perm)))
    parts = {"train": raw["train"].subset(perm[n_val:].sort().values),
             "val": raw["train"].subset(perm[:n_val].sort().values),
             "test": raw["test"]}
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
    rows = dy[:, None] + torch.arange(h, device=x.device)                       # n x h
    cols = dx[:, None] + torch.arange(w, device=x.device)                       # n x w
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[torch.arange(n, device=x.device)[:, None, None, None],
                  torch.arange(c, device=x.device)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


class Normalizer:
    """uint8 batch -> normalised float batch, on the batch's device."""

    def __init__(self, dataset: str, device):
        mean, std = NORMALIZATION[dataset]
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std


def iterate_batches(split: Split, batch_size: int, normalize: Normalizer, *, shuffle: bool = False,
                    augment: bool = False, generator: torch.Generator | None = None, device="cpu"):
    """Yield (normalised float images, labels) on ``device``; the data is moved there once."""
    x, y = split.x.to(device), split.y.to(device)
    order = (torch.randperm(len(y), generator=generator).to(device) if shuffle
             else torch.arange(len(y), device=device))
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        xb = x[idx]
        if augment:
            xb = random_crop_flip(xb, generator)
        yield normalize(xb), y[idx]


def num_batches(split: Split, batch_size: int) -> int:
    return (len(split) + batch_size - 1) // batch_size
