"""Atomic writes: a file is either the old one or the complete new one, never half written."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)``, then rename the temp file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_torch_save(obj, path) -> Path:
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_text(text: str, path) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def atomic_write_json(obj, path) -> Path:
    return atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def atomic_write_csv(df, path) -> Path:
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
