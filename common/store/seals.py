"""Seals: every result table carries the hash it was written with, so an edit by hand is found.

``<table>.sha256`` sits beside each table that a step writes (``io.atomic_write_csv``, and Markdown
tables written with ``seal=True``), in ``sha256sum``'s format (``<hex>  <name>``, so
``cd results/cpu && sha256sum -c train_metrics.csv.sha256`` checks it too). Only the code that computes a
table writes its seal; ``collect.py --verify`` (``common/store/verify.py``) checks every seal before any
README or report block is written, so a number changed after its run, a deleted seal or one moved
from another file is named, never published.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SUFFIX = ".sha256"


def seal_path(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seal_text(path) -> str:
    path = Path(path)
    return f"{sha256(path)}  {path.name}\n"


def check_seal(path) -> str:
    """Why the table at ``path`` does not match its seal ("" when it does)."""
    path, seal = Path(path), seal_path(path)
    if not seal.is_file():
        return "has no seal (.sha256): it was not written by a step of the suite, or its seal was deleted"
    try:
        digest, name = seal.read_text().split(maxsplit=1)
    except (ValueError, OSError, UnicodeDecodeError):
        return f"has an unreadable seal {seal.name}"
    if name.strip() != path.name:
        return f"carries the seal of another file ({name.strip()})"
    if digest != sha256(path):
        return "was changed after the step that wrote it (its hash differs from its seal)"
    return ""
