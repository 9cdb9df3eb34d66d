"""The one Markdown-table helper of the suite: every table of REPORT.md, the README's blocks and the
studies' ``.md`` files is a header and rows of cells, written by ``table``."""

from __future__ import annotations

from typing import Iterable

import pandas as pd


def row(cells: Iterable) -> str:
    """``| a | b |``: one table row (cells are written with ``str``; a cell holding ``|`` must escape it)."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(header: Iterable, rows: Iterable[Iterable]) -> list[str]:
    """The lines of a Markdown table: the header, its ``|---|`` rule and one line per row."""
    header = list(header)
    return [row(header), "|---" * len(header) + "|", *(row(r) for r in rows)]


def mean_pm(mean: float, std: float, digits: int) -> str:
    """``0.500 ± 0.002``: a mean and its spread at ``digits`` decimals (the spread left out when it is NaN: one seed)."""
    return f"{mean:.{digits}f}" + ("" if pd.isna(std) else f" ± {std:.{digits}f}")
