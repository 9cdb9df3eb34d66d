"""What produced a result: library versions, device, git commit (with a dirty flag), time."""

from __future__ import annotations

import functools
import platform
import subprocess
import time
from pathlib import Path

import torch
import torchvision


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit of the suite's checkout, suffixed ``-dirty`` when tracked files outside ``results/`` are
    modified (a run rewrites its tracked result tables: they do not change the code that made them)."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here, timeout=5
        ).stdout.strip()
        if not head:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":(exclude,top)results"],
            capture_output=True,
            text=True,
            cwd=here,
            timeout=5,
        ).stdout.strip()
        return f"{head}-dirty" if dirty else head
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"
    return device.type


def provenance(device: torch.device) -> dict:
    return {
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "python": platform.python_version(),
        "device": device_name(device),
        "git_commit": git_commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
