"""The README's measured tables are generated: each sits between two markers,

    <!-- generated:NAME preset=cpu -->
    ...the block, written by collect.py...
    <!-- /generated:NAME -->

and ``fill`` replaces what is between them by ``common/report/document.blocks``' block NAME for that preset.
A test compares the committed README with ``fill`` of the committed results, so a README table that
differs from what the results say fails CI."""
from __future__ import annotations

import re

from common.run.errors import UserError
from common.report.document import blocks

MARKER = re.compile(r"(?P<open><!-- generated:(?P<name>[\w.-]+) preset=(?P<preset>\w+) -->\n)(?P<body>.*?)"
                    r"(?P<close><!-- /generated:(?P=name) -->)", re.DOTALL)


def fill(text: str, results_dir) -> str:
    """``text`` with every generated block rewritten from ``results_dir``; an unknown block name is
    one error line."""
    cache: dict[str, dict[str, str]] = {}

    def replace(match: re.Match) -> str:
        preset, name = match["preset"], match["name"]
        if preset not in cache:
            cache[preset] = blocks(results_dir, preset)
        if name not in cache[preset]:
            raise UserError(f"README block '{name}' is not one the report makes; choose from "
                            f"{', '.join(cache[preset])}")
        return match["open"] + cache[preset][name].rstrip("\n") + "\n" + match["close"]

    return MARKER.sub(replace, text)


def block_names(text: str) -> list[str]:
    return [m["name"] for m in MARKER.finditer(text)]
