"""One way to reuse work: every derived file carries the key of everything it depends on.

``cached(path, key, compute)`` is the suite's only resume mechanism. It serves decoded datasets,
checkpoints, Fishers and NAS records alike:

* the file stores ``{"key": key, "value": value, "provenance": ...}`` (torch or JSON format);
* a read compares the stored key with the key of the result asked for, on *every* read;
* a missing file, or one that cannot be read (truncated, foreign, not JSON), is computed anew,
  with one warning line for the unreadable one;
* a key mismatch is computed anew, or, where recomputing is not the caller's job (a Fisher
  script does not retrain checkpoints), refused with the command that redoes it (``refuse``);
* ``validate`` runs before a write, so a NaN result never reaches the disk; writes are atomic.

A key is plain JSON data: task definitions, data identity (``common/data/decode.py``), config, and the
code that computed the result (``code_version(concept)``: a digest of what the code registered for
that concept in ``common/store/code_identity.py`` does, so editing the Fisher code invalidates Fishers, while
a docstring, a comment, a formatter run or a moved module invalidates nothing).
The git commit with its dirty flag is stored as provenance next to the key, not in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from common.base.errors import UserError
from common.store import code_identity
from common.store.io import atomic_torch_save, atomic_write_json

FORMATS = ("torch", "json")
# Checks of stored values that their keys cannot make: each takes a stored value and returns why it must
# not be used (made by code since found wrong, in a way the key does not record), or None. A value one
# rejects is recomputed by ``cached`` and refused by ``check_entry``. Registered where the fault was:
# ``accel.retired`` (training under the autocast of before 2026-11-29).
RETIRED: list[Callable[[object], str | None]] = []


def canonical(obj):
    """``obj`` as plain JSON data (tuples -> lists, keys sorted when dumped), for comparison."""
    return json.loads(json.dumps(obj, sort_keys=True))


def fingerprint(obj) -> str:
    """A short, stable hash of plain data."""
    return hashlib.sha256(json.dumps(canonical(obj), sort_keys=True).encode()).hexdigest()[:16]


def code_version(concept: str) -> str:
    """The identity of the code that computes results of kind ``concept`` (``common/store/code_identity.py``:
    the registry of keyed code, and a digest of what that code does, as executed by this process)."""
    return code_identity.identity(concept)


def key_diff(stored, wanted) -> str:
    """The top-level key fields that differ, for messages ("task, code")."""
    if not isinstance(stored, dict) or not isinstance(wanted, dict):
        return "format"
    fields = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    return ", ".join(fields) or "nothing"


def warn(message: str) -> None:
    """One warning line on stderr (through tqdm, so that progress bars stay intact)."""
    tqdm.write(f"warning: {message}", file=sys.stderr)


def read_entry(path, fmt: str = "torch", what: str = "file") -> dict | None:
    """The stored ``{"key", "value", ...}`` of ``path``; None when it is missing or unreadable
    (unreadable: one warning line; the caller recomputes it)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if fmt == "torch":
            entry = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        else:
            entry = json.loads(path.read_text())
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or damaged: treat as missing
        warn(f"{what} {path} is unreadable ({type(exc).__name__}); treating it as missing")
        return None
    if not isinstance(entry, dict) or "key" not in entry or "value" not in entry:
        warn(f"{what} {path} has no key (an older format or a foreign file); treating it as missing")
        return None
    return entry


def write_entry(path, key, value, fmt: str = "torch", provenance: dict | None = None) -> Path:
    entry = {"key": canonical(key), "value": value, "provenance": provenance or {}}
    if fmt == "torch":
        return atomic_torch_save(entry, path)
    return atomic_write_json(entry, path)


class WouldCompute(Exception):
    """Raised by ``cached`` inside ``probe()`` instead of computing: ``path`` is not done yet."""

    def __init__(self, what: str, path):
        super().__init__(f"{what} {path} is not computed yet")
        self.what, self.path = what, Path(path)


_PROBING = [False]
# How many results were computed in this process by ``cached`` (and, through ``note_computed``, by the
# launcher jobs it ran): reproduce.py tells a step that did work from a rerun that only reused files.
_COMPUTED = [0]


# The stored results that ``cached`` found done (probes included) and that are older than this process:
# made by an earlier run. reproduce.py tells a step computed in full from one that finished an earlier
# run's work (its seconds are then only a share of what the step costs); it counts only the preset's own
# results (``reused_under``), not the decoded data that every preset shares.
_STARTED = time.time()
_REUSED: set[str] = set()


def computed_count() -> int:
    return _COMPUTED[0]


def reused_under(folder) -> set[str]:
    """The reused results (see above) inside ``folder``, so far."""
    root = Path(folder).resolve()
    return {p for p in _REUSED if Path(p).is_relative_to(root)}


def _note_hit(path) -> None:
    try:
        if Path(path).stat().st_mtime < _STARTED:
            _REUSED.add(str(Path(path).resolve()))
    except OSError:
        pass


def note_computed(n: int = 1) -> None:
    _COMPUTED[0] += n


@contextlib.contextmanager
def probe():
    """Within this block ``cached`` only reads: a result that would be computed raises
    ``WouldCompute``. The launchers (``common/run/launch.py``) use it to ask whether a job is finished
    with the job's own code and keys, and to merge jobs' results without computing any."""
    before, _PROBING[0] = _PROBING[0], True
    try:
        yield
    finally:
        _PROBING[0] = before


def cached(
    path,
    key,
    compute: Callable[[], object],
    *,
    fmt: str = "torch",
    force: bool = False,
    what: str = "result",
    validate: Callable[[object], None] | None = None,
    provenance: Callable[[], dict] | None = None,
    log: Callable[[str], None] | None = None,
):
    """``(value, hit)``: the value stored at ``path`` if its key equals ``key``, else ``compute()``
    written there. ``validate(value)`` raises before a bad value is written. ``force`` recomputes
    whatever is stored. ``log`` receives the line saying why a stored file is recomputed. A stored
    value that a check of ``RETIRED`` rejects is recomputed like a stale one."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown cache format {fmt!r}")
    key = canonical(key)
    if not force:
        entry = read_entry(path, fmt, what)
        if entry is not None:
            why = (
                f"was made from other inputs ({key_diff(entry['key'], key)} changed)"
                if entry["key"] != key
                else _retired(entry)
            )
            if not why:
                _note_hit(path)
                return entry["value"], True
            if not _PROBING[0]:
                (log or warn)(f"{what} {path} {why}; recomputing")
    if _PROBING[0]:
        raise WouldCompute(what, path)
    note_computed()
    value = compute()
    if validate is not None:
        validate(value)
    write_entry(path, key, value, fmt, provenance() if provenance else None)
    return value, False


def _parses(path) -> bool:
    try:
        json.loads(Path(path).read_text())
        return True
    except (ValueError, OSError):
        return False


def retired_reason(value) -> str | None:
    """Why a stored value must not be used although its key matches (a ``RETIRED`` check), or None."""
    return next((r for check in RETIRED if (r := check(value))), None)


def _retired(entry: dict) -> str:
    reason = retired_reason(entry["value"])
    return f"is retired: {reason}" if reason else ""


def check_entry(path, key, *, fmt: str = "torch", what: str = "file") -> tuple[dict | None, str]:
    """(entry, "") when ``path`` holds ``key`` and no ``RETIRED`` check rejects its value; else
    (None, why not: missing, unreadable, stale, retired)."""
    entry = read_entry(path, fmt, what)
    if entry is None:
        if not Path(path).is_file():
            return None, "missing"
        return None, "in an older format (no key)" if fmt == "json" and _parses(path) else "unreadable"
    if entry["key"] != canonical(key):
        return None, f"made from other inputs ({key_diff(entry['key'], canonical(key))} changed)"
    why = _retired(entry)
    return (None, why) if why else (entry, "")


def verified(path, key, *, fmt: str = "torch", what: str = "file", redo: str) -> dict:
    """The stored entry of ``path`` when its key equals ``key``; otherwise (missing, unreadable,
    stale or retired) a UserError naming the command ``redo`` that makes it. For inputs that the calling
    script must not recompute itself (a distance script does not retrain networks)."""
    entry, why = check_entry(path, key, fmt=fmt, what=what)
    if entry is None:
        raise UserError(f"{what} {path} is {why.removeprefix('is ')}; redo it with: {redo}")
    return entry
