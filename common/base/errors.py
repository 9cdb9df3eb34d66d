"""One exception type for everything a user can fix (unknown task, missing data, missing checkpoint ...),
and the checks that raise it before any work starts.

Scripts catch it and print its message as a single ``error: ...`` line on stderr, exit code 2.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path


class UserError(Exception):
    pass


MAX_SEED = 2**31 - 1


def positive(name: str, value):
    """``value`` unchanged, or a UserError naming the flag when it is given and not positive."""
    if value is not None and value <= 0:
        raise UserError(f"--{name} must be positive, got {value}")
    return value


def finite_positive(name: str, value: float) -> float:
    """A float flag that must be a finite number > 0 (nan, inf, 0 and negatives are refused)."""
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"--{name} must be a finite number > 0, got {value}")
    return value


def check_seeds(seeds) -> tuple[int, ...] | None:
    """--seeds: non-negative and each given once (a repeated seed would be averaged twice)."""
    if seeds is None:
        return None
    negative = [s for s in seeds if s < 0]
    if negative:
        raise UserError(f"--seeds must be non-negative, got {negative[0]}")
    huge = [s for s in seeds if s > MAX_SEED]
    if huge:  # torch.manual_seed overflows past 2**64 - 1; derived seeds (seed * 1000 + i) need room below
        raise UserError(f"--seeds must be at most {MAX_SEED} (2**31 - 1), got {huge[0]}")
    repeated = sorted({s for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise UserError(f"--seeds lists seed {repeated[0]} more than once; give each seed once")
    return tuple(seeds)


def check_results_dir(results_dir) -> Path:
    """--results-dir exists (or can be made) as a folder we can write into; checked by writing."""
    path = Path(results_dir).expanduser()
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(
                    f"--results-dir {results_dir}: {parent} is a file, not a folder; pass another --results-dir"
                )
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(
            f"--results-dir {results_dir} is not writable ({exc.strerror or exc}); pass a folder you can write to"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"--results-dir {results_dir} is not writable; pass a folder you can write to")
    return path


def require(condition, message: str) -> None:
    """A registry rule: a UserError when ``condition`` is false (not an ``assert``, which ``python -O`` skips)."""
    if not condition:
        raise UserError(message)


def _one_line_hook(kind, exc, tb, _default=sys.excepthook):
    """An uncaught UserError (e.g. a registry rule broken at import time, before ``cli.run`` can catch it)
    is one ``error:`` line, like the ones ``cli.run`` prints; everything else is Python's own report."""
    if issubclass(kind, UserError):
        print(f"error: {exc}", file=sys.stderr)
    else:
        _default(kind, exc, tb)


def install_excepthook() -> None:
    sys.excepthook = _one_line_hook
