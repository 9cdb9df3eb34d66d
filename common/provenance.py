"""What produced a result: library versions, device, git commit, time."""
from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path

import torch
import torchvision


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"
    return device.type


def provenance(device: torch.device) -> dict:
    return {"torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version(), "device": device_name(device),
            "git_commit": git_commit(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
