"""Raw datasets: the files of a registered dataset (``common/datasets.py``) decoded once
into uint8 tensors (N x 3 x 32 x 32, original labels), cached under ``results/cache/data/`` and
keyed by the files' content and the registry entry.

Why tensors: these machines have 2 cores, so per-sample PIL transforms in DataLoader workers
starve the network; decoded once, batches are plain tensor indexing (``common/data/splits.py``).

Where the files come from, for ``--data-root ROOT`` (first match wins):
* an ImageFolder tree ``ROOT/<folder>/{train,test}/<class>/*`` (the entry's ``folder``; sorted class
  names must be the entry's classes), e.g. ``../shared/data/cifar10``. Images must have the entry's
  ``native_size``, or, for users' folders (``native_size=None``), any size: resized (shorter side,
  bicubic) and centre-cropped to 32 x 32;
* torchvision's own layout, for the entries that name one: ``ROOT/MNIST/raw/*-ubyte``,
  ``ROOT/cifar-10-batches-py``, ``ROOT/cifar-100-python``;
* a dataset shipped inside a Python package (the entry's ``package``: scikit-learn's digits), read from the
  package's own file (``common/data/packaged.py``), whatever ROOT is;
* otherwise torchvision downloads it into ROOT (needs internet; set FTD_OFFLINE=1 to fail at
  once instead of trying); a user's folder is never downloaded.

Identity: a hash of the raw files' names and bytes (``data_identity``), independent of where they
lie and of their mtimes, with the registry entry's classes, normalisation, size and colour. It keys
the decoded cache and everything trained or measured on the data, so fixed or replaced files (or an
edited registry entry) are decoded anew and make the results computed from the old ones stale.
Damaged files (an undecodable image, a wrong-size image, labels out of range, a truncated pickle)
stop the run with one line naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset
from torchvision.transforms.v2 import functional as TF
from tqdm import tqdm

from common.base.errors import UserError
from common.data.files import locate, where
from common.data.packaged import read_packaged
from common.data.tree_checks import check_data, warn_about_files
from common.datasets import IMAGE_SIZE, Dataset, get_dataset
from common.store.cache import cached, code_version, fingerprint, read_entry, write_entry


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

    def _load_meta(self) -> None:  # class names are not needed: labels are ids
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


def _fit(img, size: int):
    """A PIL image of any size -> size x size: shorter side resized (bicubic), then centre-cropped, as
    torchvision's Resize + CenterCrop; an image of the right size is kept as it is."""
    if img.size == (size, size):
        return img
    return TF.center_crop(TF.resize(img, size, interpolation=TF.InterpolationMode.BICUBIC), [size, size])


def _read_image_folder(folder: Path, entry: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    ds = torchvision.datasets.ImageFolder(str(folder))
    if tuple(ds.classes) != entry.classes:
        raise UserError(
            f"{folder} has class folders {ds.classes}; the registry entry of {entry.name} "
            f"(common/datasets.py) has {list(entry.classes)}"
        )
    mode = "L" if entry.grey else "RGB"
    size = entry.native_size
    images = []
    for path, _ in tqdm(ds.samples, desc=f"decode {folder}", unit="img", leave=False):
        try:
            img = ds.loader(path).convert(mode)
            img = np.array(img if size else _fit(img, IMAGE_SIZE))
        except Exception as exc:  # noqa: BLE001 - PIL raises several types for a damaged file
            raise UserError(
                f"cannot decode image {path} ({type(exc).__name__}: {exc}); replace or delete the file"
            ) from None
        if size and img.shape[:2] != (size, size):
            raise UserError(
                f"image {path} is {img.shape[1]}x{img.shape[0]} pixels; every {entry.name} image "
                f"must be {size}x{size}: resize or remove it"
            )
        images.append(torch.from_numpy(img))
    images = [img.unsqueeze(-1) if img.dim() == 2 else img for img in images]  # H x W x C
    return torch.stack(images).permute(0, 3, 1, 2), torch.tensor(ds.targets, dtype=torch.int64)


_READERS = {
    "MNIST": (torchvision.datasets.MNIST, None),
    "CIFAR10": (torchvision.datasets.CIFAR10, _CIFAR10Files),
    "CIFAR100": (torchvision.datasets.CIFAR100, _CIFAR100Files),
}


def _read_torchvision(entry: Dataset, split: str, root: Path, download: bool):
    train = split == "train"
    reader, local = _READERS[entry.torchvision[0]]
    if reader is torchvision.datasets.MNIST:
        ds = reader(str(root), train=train, download=download)
        return ds.data, ds.targets.long()
    ds = (reader if download else local)(str(root), train=train, download=download)
    return torch.from_numpy(ds.data).permute(0, 3, 1, 2), torch.tensor(ds.targets, dtype=torch.int64)


def _image_folder_files(source: Path) -> list[Path]:
    """The files torchvision's ImageFolder reads from the tree ``source``: those with an image extension
    (``IMG_EXTENSIONS``, any case) in its class folders, links followed (torchvision's own listing)."""
    classes = sorted(e.name for e in os.scandir(source) if e.is_dir())
    samples = make_dataset(
        str(source), {c: i for i, c in enumerate(classes)}, extensions=IMG_EXTENSIONS, allow_empty=True
    )
    return [Path(path) for path, _ in samples]


def _source_files(kind: str, source: Path) -> list[Path]:
    """The files a split is read from, for its identity: for a tree, exactly those the reader reads (a
    linked class folder's images count, a ``.gif`` it skips does not); an ordinary tree of images lists
    the same files as before links were followed, so its identity is unchanged."""
    if kind == "imagefolder":
        return sorted(_image_folder_files(source))
    if kind == "package":  # one data file, both splits
        return [source]
    return sorted(p for p in source.iterdir() if p.is_file())


@functools.lru_cache(maxsize=16)
def _content_digest(kind: str, source: str, memo_dir: str) -> str:
    """Hash of the names and bytes of the raw files: the data's identity, independent of where the
    files lie and of their mtimes (copies made anew each session keep their identity). Hashing all
    of CIFAR-10 takes seconds, so the hash is memoised under the files' (name, size, mtime, inode,
    ctime) list; ctime cannot be set back, so a file restored with its old mtime is hashed anew.
    Within one process the files are assumed not to change (the digest is computed once)."""
    src = Path(source)
    files = _source_files(kind, src)
    stats = []
    for p in files:
        st = p.stat()
        stats.append((str(p.relative_to(src)), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
    memo = Path(memo_dir) / f"content_{hashlib.sha1(source.encode()).hexdigest()[:10]}.json"
    stamp = fingerprint(stats)
    entry = read_entry(memo, "json", "data hash memo")
    if entry is not None and entry["key"] == stamp:
        return entry["value"]
    h = hashlib.sha256()
    for p, (rel, *_) in zip(files, stats):
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    digest = h.hexdigest()[:16]
    _PENDING_MEMOS[str(memo)] = (stamp, digest)  # written once the files decode (load_raw)
    return digest


_PENDING_MEMOS: dict[str, tuple[str, str]] = {}


def raw_key(dataset: str, split: str, data_root, cache_dir) -> dict:
    """What a decoded split depends on: the raw files' content, the registry entry and the decoding code."""
    root = Path(data_root).expanduser().resolve()
    kind, source = locate(dataset, split, root)
    content = None if kind in ("download", "missing") else _content_digest(kind, str(source), str(cache_dir))
    return {
        "dataset": dataset,
        "split": split,
        "layout": kind,
        "content": content,
        "entry": get_dataset(dataset).identity(),
        "code": code_version("packaged-data" if kind == "package" else "decoded-data"),
    }


def data_identity(dataset: str, data_root, cache_dir) -> dict:
    """The identity of a dataset as the networks see it (both splits): the raw files' content, the
    registry entry (classes, normalisation, size) and the code that decodes them, for the keys of
    everything trained or measured on it."""
    return {split: fingerprint(raw_key(dataset, split, data_root, cache_dir)) for split in ("train", "test")}


def _decode(dataset: str, split: str, root: Path) -> dict:
    entry = get_dataset(dataset)
    kind, source = locate(dataset, split, root)
    try:
        if kind == "missing":
            raise UserError(f"{dataset} {split} images not found at {where(dataset, split, root)}")
        if kind == "download" and os.environ.get("FTD_OFFLINE"):
            raise RuntimeError("downloads disabled by FTD_OFFLINE")
        if kind == "imagefolder":
            x, y = _read_image_folder(source, entry)
        else:
            x, y = _read_torchvision(entry, split, root, download=(kind == "download"))
    except UserError:
        raise
    except Exception as exc:  # download failed (no internet) or unreadable files
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if kind == "download":
            raise UserError(
                f"{dataset} {split} data not found under {root} and could not be downloaded "
                f"({detail}); put the files at {where(dataset, split, root)}, or pass "
                "--data-root (offline here: --data-root ../shared/data)"
            ) from None
        raise UserError(
            f"cannot read {dataset} {split} data in {source} ({detail}); the files are damaged "
            "or not in torchvision's format: replace them"
        ) from None
    n = len(entry.classes)
    if len(y) == 0:
        raise UserError(f"{source} holds no {dataset} {split} images")
    if int(y.min()) < 0 or int(y.max()) >= n:
        raise UserError(
            f"{dataset} {split} labels in {source} run from {int(y.min())} to {int(y.max())}; "
            f"{dataset} has classes 0..{n - 1}: the files are damaged or of another dataset"
        )
    return {"x": _to_32x32x3(x), "y": y}


def _decode_packaged(dataset: str, split: str, root: Path) -> dict:
    """A dataset shipped in a Python package (``common/data/packaged.py``); ``root`` is not read."""
    x, y = read_packaged(get_dataset(dataset).package, split)
    return {"x": _to_32x32x3(x), "y": y}


@functools.lru_cache(maxsize=4)
def _decoded(path: str, key_digest: str, data_root: str) -> Split:
    """Decoded split, kept in memory: every task of a dataset reads the same file (callers only
    index it, never write into it)."""
    key = json.loads(key_digest)
    decode = _decode_packaged if key["layout"] == "package" else _decode
    value, _ = cached(path, key, lambda: decode(key["dataset"], key["split"], Path(data_root)), what="decoded data")
    return Split(value["x"], value["y"])


def load_raw(dataset: str, split: str, data_root, cache_dir) -> Split:
    """The whole official ``split`` ("train" or "test") of a dataset, original labels, cached and
    keyed by the raw files' content: replaced or fixed files are decoded anew."""
    check_data(dataset, data_root)
    root = Path(data_root).expanduser().resolve()
    key = raw_key(dataset, split, root, cache_dir)
    _, source = locate(dataset, split, root)
    tag = hashlib.sha1(f"{key['layout']}:{source}".encode()).hexdigest()[:10]
    path = Path(cache_dir) / f"{dataset}_{split}_{key['layout']}_{tag}.pt"
    split_data = _decoded(str(path), json.dumps(key, sort_keys=True), str(root))
    for memo, (stamp, digest) in list(_PENDING_MEMOS.items()):
        write_entry(memo, stamp, digest, "json")
        del _PENDING_MEMOS[memo]
    return split_data


def prepare_data(dataset: str, data_root, cache_dir) -> None:
    """Decode (or check the cache of) both splits now, so that damaged files stop a run before its
    long work starts; then warn about what the files hold (skipped files, test copies of train images)."""
    splits = {split: load_raw(dataset, split, data_root, cache_dir) for split in ("train", "test")}
    warn_about_files(dataset, data_root, splits)
