"""The class names a dataset's files carry, checked against its registry entry (``common/datasets.py``)
before any work: tasks are defined by class ids, so a tree or a ``meta`` file whose names are in
another order would silently relabel every task.

Where the names come from: the sorted class folders of an ImageFolder tree, or the ``meta`` file
of torchvision's ``cifar-100-python`` layout (``fine_label_names``). MNIST's IDX files and
CIFAR-10's pickles carry none worth checking (the CIFAR-10 ImageFolder folders are checked when
decoded, ``common/data/decode.py``).
"""

from __future__ import annotations

import pickle
import unicodedata
from pathlib import Path

from common.base.errors import UserError
from common.datasets import get_dataset


def names_in_data(dataset: str, data_root) -> dict[str, tuple[str, ...]]:
    """Where -> class names, for every place under ``data_root`` that names the classes."""
    root = Path(data_root).expanduser().resolve()
    entry = get_dataset(dataset)
    found = {}
    for split in ("train", "test"):
        folder = root / entry.folder / split
        if folder.is_dir():
            found[str(folder)] = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir()))
    if entry.meta is not None:
        rel, field = entry.meta
        meta = root / rel
        if meta.is_file():
            try:
                with open(meta, "rb") as f:
                    found[str(meta)] = tuple(pickle.load(f, encoding="latin1")[field])
            except Exception as exc:  # noqa: BLE001 - any damage: one line
                raise UserError(
                    f"cannot read the class names in {meta} ({type(exc).__name__}: {exc}); "
                    f"the file is damaged or not torchvision's {dataset} meta file: replace it"
                ) from None
    return found


def check_class_names(dataset: str, data_root) -> None:
    """One error line when the data names its classes differently from the registry."""
    expected = get_dataset(dataset).classes
    for where, names in names_in_data(dataset, data_root).items():
        if names != expected:
            diff = next((i for i, (a, b) in enumerate(zip(names, expected)) if a != b), min(len(names), len(expected)))
            got = names[diff] if diff < len(names) else "(none)"
            want = expected[diff] if diff < len(expected) else "(none)"
            if unicodedata.normalize("NFC", got) == unicodedata.normalize("NFC", want):
                # the same name to the eye, other code points: say which, or the message reads 'café' vs 'café'
                raise UserError(
                    f"{where}: class {diff} is {_code_points(got)} and the registry (common/"
                    f"dataset_registry.py, {dataset}) has {_code_points(want)}: the same name in two "
                    "Unicode forms (decomposed vs composed); rename the folder or the registry's name "
                    f"to one form (NFC: {unicodedata.normalize('NFC', want)!a})"
                )
            raise UserError(
                f"{where} names {len(names)} classes, class {diff} '{got}'; the registry "
                f"(common/datasets.py, {dataset}) has {len(expected)}, class {diff} "
                f"'{want}': tasks are defined by class ids, so fix the data or the registry"
            )


def _code_points(name: str) -> str:
    """'café' as ``'caf\\xe9' (U+0063 U+0061 U+0066 U+00E9)``: two spellings of one name told apart."""
    return f"{name!a} ({' '.join(f'U+{ord(c):04X}' for c in name)})"
