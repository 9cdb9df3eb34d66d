"""Where a registered dataset's files are (``common/datasets.py``): ``locate`` says which reader applies to
a split under ``--data-root`` (an ImageFolder tree, torchvision's own files, a download, or missing) and
``where`` says where its files are looked for, for messages. Below both the checks
(``common/data/tree_checks.py``) and the decoder (``common/data/decode.py``), which use it."""

from __future__ import annotations

from pathlib import Path

from common.datasets import get_dataset


def locate(dataset: str, split: str, root: Path) -> tuple[str, Path]:
    """Where ``split`` of ``dataset`` is read from: ("imagefolder", tree), ("torchvision", folder),
    ("package", the data file of a dataset shipped in a Python package), ("download", root) or, for a user's folder that is not there, ("missing", tree)."""
    entry = get_dataset(dataset)
    if entry.package is not None:  # shipped inside a Python package: one file, both splits
        from common.data.packaged import packaged_file  # torch and sklearn: only for a packaged dataset

        return "package", packaged_file(entry.package)
    folder = root / entry.folder / split
    if folder.is_dir():
        return "imagefolder", folder
    if entry.torchvision is None:
        return "missing", folder
    tv = root / entry.torchvision[1]
    if tv.is_dir() and any(tv.iterdir()):
        return "torchvision", tv
    return "download", root


def where(dataset: str, split: str, root: Path) -> str:
    """Where the files of ``split`` are looked for, for messages."""
    entry = get_dataset(dataset)
    if entry.package is not None:
        return f"the {entry.package} package's own file"
    tree = f"{root / entry.folder / split}/<class>/"
    return f"{tree} or {root / entry.torchvision[1]}" if entry.torchvision else tree
