"""``--plan``'s measured throughputs, stored: ``results/throughputs.csv``, one row per (device, network
and step kind, precision, batch) with the images per second measured there and the network's MACs.

Timing every network of the paper preset takes minutes on a CPU (692 s on 2 busy cores), and a plan is
asked for again and again; so ``--plan`` measures only what the file lacks for this device, and
``--remeasure`` times everything again (once per process). Each row says where and when it was
measured (device, torch, date); a throughput is only ever used on the device it was measured on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from common.networks.complexity import count_macs
from common.store.io import atomic_write_csv

COLUMNS = ["device", "measure_key", "precision", "batch_size", "images_per_s", "macs", "torch", "date"]
_MEASURED_NOW: set[tuple] = set()  # keys re-measured by this process under --remeasure


def throughputs_csv(results_dir) -> Path:
    """``<results>/throughputs.csv``, or ``$FTD_THROUGHPUTS`` when set (the tests point it to a temp file,
    so that their plans never add rows to the committed file)."""
    return Path(os.environ.get("FTD_THROUGHPUTS") or Path(results_dir) / "throughputs.csv")


def _read(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return pd.DataFrame(columns=COLUMNS)
    if not set(COLUMNS) <= set(table.columns):
        return pd.DataFrame(columns=COLUMNS)
    return table[COLUMNS]


class StoredThroughputs:
    """``measure`` and ``macs`` callables for ``plan.estimate`` that read ``path`` first and add what they
    had to measure (written at once, atomically: a plan killed midway keeps what it measured)."""

    def __init__(self, path, device_label: str, *, remeasure: bool = False):
        self.path, self.device_label, self.remeasure = Path(path), device_label, remeasure
        self.table = _read(self.path)
        self.measured = 0

    def _row(self, measure_key: str, precision: str, batch: int):
        t = self.table
        hit = t[
            (t.device == self.device_label)
            & (t.measure_key == measure_key)
            & (t.precision == precision)
            & (t.batch_size == batch)
        ]
        return None if hit.empty else hit.iloc[-1]

    def measure_with(self, timer: Callable[..., float], batch_of: Callable) -> Callable[..., float]:
        def measure(cost, device, amp: bool = False) -> float:
            precision, batch = ("bf16" if amp else "fp32"), int(batch_of(cost, device))
            key = (self.device_label, cost.measure_key, precision, batch)
            row = self._row(cost.measure_key, precision, batch)
            if row is not None and not (self.remeasure and key not in _MEASURED_NOW):
                return float(row.images_per_s)
            ips = timer(cost, device, amp=amp)
            _MEASURED_NOW.add(key)
            self._store(cost, precision, batch, ips)
            return ips

        return measure

    def macs_with(self, counter: Callable) -> Callable:
        def macs(cost) -> int:
            known = self.table[self.table.measure_key == cost.measure_key].macs.dropna()
            return int(known.iloc[-1]) if len(known) else int(counter(cost.network()))

        return macs

    def _store(self, cost, precision: str, batch: int, ips: float) -> None:

        t = self.table
        keep = t[
            ~(
                (t.device == self.device_label)
                & (t.measure_key == cost.measure_key)
                & (t.precision == precision)
                & (t.batch_size == batch)
            )
        ]
        known = t[t.measure_key == cost.measure_key].macs.dropna()
        macs = int(known.iloc[-1]) if len(known) else int(count_macs(cost.network()))
        row = pd.DataFrame(
            [
                {
                    "device": self.device_label,
                    "measure_key": cost.measure_key,
                    "precision": precision,
                    "batch_size": batch,
                    "images_per_s": round(ips, 2),
                    "macs": macs,
                    "torch": str(torch.__version__),
                    "date": time.strftime("%Y-%m-%d"),
                }
            ]
        )
        self.table = pd.concat([keep, row], ignore_index=True) if len(keep) else row
        self.table = self.table.sort_values(["device", "measure_key", "precision", "batch_size"]).reset_index(drop=True)
        self.measured += 1
        try:
            atomic_write_csv(self.table, self.path)
        except OSError:  # a read-only results folder: the plan still answers, measured again next time
            pass
