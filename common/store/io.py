"""Atomic writes: a file is either the old one or the complete new one, never half written.

The temp file sits next to the target as ``.<name>.<pid>.<random>.tmp`` and is renamed onto it;
temp files left by a killed process (its pid gone) are removed by the next write of that name.

Fault injection for the kill-resume tests: with ``FTD_KILL_AT_WRITE=N`` in the environment the
process SIGKILLs itself during its N-th atomic write, after the temp file is complete and before
the rename, i.e. at the worst moment.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path

import torch

from .seals import seal_path, seal_text

_writes = 0
_UMASK = os.umask(0)
os.umask(_UMASK)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphan_temps(path: Path) -> None:
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        parts = tmp.name[len(path.name) + 2 :].split(".")
        if parts and parts[0].isdigit() and not _pid_alive(int(parts[0])):
            tmp.unlink(missing_ok=True)


def _maybe_kill() -> None:
    global _writes
    _writes += 1
    if os.environ.get("FTD_KILL_AT_WRITE") == str(_writes):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)``, then rename the temp file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphan_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        _maybe_kill()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_torch_save(obj, path) -> Path:
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_text(text: str, path, *, seal: bool = False) -> Path:
    """``seal``: also write the table's seal (``common/store/seals.py``), for result tables in Markdown."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return write_seal(path) if seal else Path(path)


def atomic_write_json(obj, path) -> Path:
    return atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def atomic_write_csv(df, path) -> Path:
    """A result table, and its seal beside it (``common/store/seals.py``), written last: a run killed in
    between leaves a table whose seal does not match, which ``collect.py --verify`` names."""
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
    return write_seal(path)


def write_seal(path) -> Path:
    """Write the seal of the table at ``path`` (``common/store/seals.py``); only the code that computes a
    table calls this, never a publisher."""

    text = seal_text(path)
    atomic_write(seal_path(path), lambda tmp: Path(tmp).write_text(text))
    return Path(path)
