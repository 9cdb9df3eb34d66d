"""Checks of a data tree before anything is decoded or trained: a missing ``--data-root``, empty class
folders, files the reader skips, test images that are copies of train images (issue 27). Not keyed:
what they find stops a run or warns, it never changes a decoded value (``common/data/decode.py``).

``check_data`` (the files are there) is what a step calls before any work; ``decode.prepare_data`` decodes
both splits and then warns with ``warn_about_files``. Below the decoder: nothing here imports it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS

from common.base.errors import UserError
from common.data.files import locate, where
from common.datasets import get_dataset
from common.store.cache import warn

_WARNED: set[tuple[str, str]] = set()  # (dataset, data root) warned about in this process

DEFAULT_DATA_ROOT = "./data"  # the flag's default: where torchvision may download


def check_data_root(data_root, dataset: str | None = None) -> None:
    """A --data-root named explicitly must exist: a mistyped one would otherwise have torchvision create
    empty folders in it while trying (and, offline, failing) to download."""
    root = Path(data_root).expanduser()
    if root.is_dir() or Path(data_root) == Path(DEFAULT_DATA_ROOT):
        return
    missing = f"--data-root {data_root} {'is not a folder' if root.exists() else 'does not exist'}"
    if dataset is not None and get_dataset(dataset).torchvision is None:  # a user's folder
        raise UserError(
            f"{dataset} train images not found: put them at {where(dataset, 'train', root.resolve())} "
            f"(one folder per class); {missing}"
        )
    raise UserError(
        f"{dataset or 'the'} train data not found under {root.resolve()}: {missing}; pass the folder "
        "that holds the datasets (offline here: --data-root ../shared/data)"
    )


def skipped_files(dataset: str, data_root) -> list[Path]:
    """Files of a dataset's ImageFolder trees that the reader skips (another extension, or outside the
    class folders): they are not part of the data, which a user may not expect. One walk, no stat per file."""
    root = Path(data_root).expanduser().resolve()
    out = []
    for split in ("train", "test"):
        kind, source = locate(dataset, split, root)
        if kind != "imagefolder":
            continue
        for top, _, names in os.walk(source, followlinks=True):  # as ImageFolder: through linked folders
            in_class = Path(top) != source
            out += [Path(top) / n for n in names if not (in_class and n.lower().endswith(IMG_EXTENSIONS))]
    return sorted(out)


def empty_class_folders(dataset: str, data_root) -> list[Path]:
    """Class folders of a dataset's ImageFolder trees holding no file the reader accepts."""
    root = Path(data_root).expanduser().resolve()
    out = []
    for split in ("train", "test"):
        kind, source = locate(dataset, split, root)
        if kind != "imagefolder":
            continue
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            if entry.is_dir() and not any(
                name.lower().endswith(IMG_EXTENSIONS)
                for _, _, names in os.walk(entry.path, followlinks=True)
                for name in names
            ):
                out.append(Path(entry.path))
    return out


def warn_about_files(dataset: str, data_root, splits: dict) -> None:
    """One warning line each (once per process and dataset) for what decodes fine but may not be what the
    user meant: files the reader skips (a ``.gif``), and test images identical to train images."""
    where_ = str(Path(data_root).expanduser().resolve())
    if (dataset, where_) in _WARNED:
        return
    _WARNED.add((dataset, where_))
    skipped = skipped_files(dataset, data_root)
    if skipped:
        warn(
            f"{len(skipped)} file(s) of {dataset} are skipped by the reader (not an image type it reads: "
            f"{' '.join(IMG_EXTENSIONS)}, or outside the class folders), e.g. {skipped[0]}; convert or remove them"
        )
    dup = duplicated_test_images(splits["train"], splits["test"])
    if dup:
        warn(
            f"{len(dup)} {dataset} test image(s) are pixel-identical to train images (e.g. test image {dup[0]}); "
            "their test accuracy measures memory, not generalisation: remove them from one split"
        )


def duplicated_test_images(train, test) -> list[int]:
    """Indices of the test images whose pixels equal some train image's."""

    def digests(x: torch.Tensor) -> list[bytes]:
        flat = x.reshape(len(x), -1).numpy()
        return [hashlib.blake2b(row.tobytes(), digest_size=12).digest() for row in flat]

    seen = set(digests(train.x))
    return [i for i, d in enumerate(digests(test.x)) if d in seen]


def check_data(dataset: str, data_root) -> None:
    """Before any work: the dataset is registered and its files are there, or may be downloaded
    (not FTD_OFFLINE; a user's folder never is)."""
    get_dataset(dataset)
    check_data_root(data_root, dataset)
    root = Path(data_root).expanduser().resolve()
    empty = empty_class_folders(dataset, root)
    if empty:
        raise UserError(
            f"class folder {empty[0]} holds no image the reader accepts ({' '.join(IMG_EXTENSIONS)})"
            + (f", and {len(empty) - 1} more" if len(empty) > 1 else "")
            + f": add its images, or remove the class from {dataset}'s entry in common/datasets.py"
        )
    for split in ("train", "test"):
        kind, _ = locate(dataset, split, root)
        if kind == "missing":
            raise UserError(
                f"{dataset} {split} images not found: put them at {where(dataset, split, root)} "
                "(one folder per class), or pass the --data-root that holds them"
            )
        if kind == "download" and os.environ.get("FTD_OFFLINE"):
            raise UserError(
                f"{dataset} {split} data not found under {root} (downloads disabled by "
                f"FTD_OFFLINE); put the files at {where(dataset, split, root)}, or pass "
                "--data-root (offline here: --data-root ../shared/data)"
            )
