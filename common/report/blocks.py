"""The generated blocks of the README and of every ``docs/*.md`` page, filled from the results and the code.

Each measured table sits between two markers,

    <!-- generated:NAME preset=cpu -->
    ...the block, written by collect.py...
    <!-- /generated:NAME -->

and ``fill`` replaces what is between them by ``common/report/document.blocks``' block NAME for that preset. Two
blocks are made here, not from results: ``claims-summary`` (the claims block's one-line count, the
README's headline), the registry of keyed code (``keyed-code``) and the maps of the code,
``repository-map`` and ``module-map`` (first sentence of
each script's and module's docstring; no ``preset=`` in their markers), so that the maps follow the
tree. ``pages`` is the one list of pages that ``collect.py`` fills and checks. A test compares the
committed pages with ``fill`` of the committed results, so a table that differs from what the
results say fails CI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import common
from common.base.errors import UserError
from common.report.document import blocks
from common.store.code_identity import table

MARKER = re.compile(
    r"(?P<open><!-- generated:(?P<name>[\w.-]+)(?: preset=(?P<preset>\w+))? -->\n)(?P<body>.*?)"
    r"(?P<close><!-- /generated:(?P=name) -->)",
    re.DOTALL,
)
TREE_BLOCKS = ("repository-map", "module-map", "keyed-code")  # made from the code, whatever the preset


def pages(readme) -> list[Path]:
    """The pages whose generated blocks collect.py fills: the README and every ``docs/*.md`` beside it."""
    readme = Path(readme)
    return [readme, *sorted((readme.parent / "docs").glob("*.md"))]


def repository_root() -> Path:
    """The checkout: the folder that holds the ``common`` package (wherever this module sits in it)."""

    return Path(common.__file__).resolve().parent.parent


def fill(text: str, results_dir, cache: dict | None = None) -> str:
    """``text`` with every generated block rewritten from ``results_dir`` (and the code maps from the
    checkout); an unknown block name is one error line. ``cache`` (preset -> blocks) lets several pages
    share one rendering."""
    cache = {} if cache is None else cache

    def replace(match: re.Match) -> str:
        preset, name = match["preset"], match["name"]
        if name == "keyed-code":
            body = keyed_code_table()
        elif name in TREE_BLOCKS:
            body = code_map(repository_root(), modules=name == "module-map")
        else:
            if preset is None:
                raise UserError(f"block '{name}' needs a preset in its marker: <!-- generated:{name} preset=cpu -->")
            if preset not in cache:
                made = blocks(results_dir, preset)
                cache[preset] = {**made, "claims-summary": made["claims"].splitlines()[0]}
            if name not in cache[preset]:
                raise UserError(
                    f"block '{name}' is not one the report makes; choose from "
                    f"{', '.join([*cache[preset], *TREE_BLOCKS])}"
                )
            body = cache[preset][name]
        return match["open"] + body.rstrip("\n") + "\n" + match["close"]

    return MARKER.sub(replace, text)


def keyed_code_table() -> str:
    """The registry of keyed code (``common/store/code_identity.py``): each concept, its code, its identity today."""

    rows = [
        f"| `{r['concept']}` | {', '.join(f'`{e}`' for e in r['code'].split(', '))} | `{r['identity']}` |"
        for r in table()
    ]
    return "\n".join(
        [
            "| concept (the kind of result) | the code it is keyed by (in `common/`) | identity today |",
            "|---|---|---|",
            *rows,
        ]
    )


def block_names(text: str) -> list[str]:
    return [m["name"] for m in MARKER.finditer(text)]


def summary(path: Path) -> str:
    """The first sentence of a Python file's docstring (what the file is), one line."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    sentence = re.split(r"(?<=[.?])\s", first, maxsplit=1)[0]
    sentence = sentence.rstrip(":").replace("|", "\\|") or "(no docstring)"
    # outside `code`, < and > would be read as HTML (a lost <preset>, a comment that hides the page)
    parts = re.split(r"(`+[^`]*`+)", sentence)
    return "".join(part if part.startswith("`") else part.replace("<", "&lt;").replace(">", "&gt;") for part in parts)


def code_map(root: Path, modules: bool = False) -> str:
    """A table of the checkout: with ``modules``, one row per module of ``common/`` (subpackages
    included); else one row per script, per subpackage of ``common/``, one row naming the modules
    directly in ``common/``, and the other top folders."""
    common = root / "common"
    rows = []
    if modules:
        for path in sorted(common.rglob("*.py")):
            if "__pycache__" not in path.parts:
                rows.append((path.relative_to(root).as_posix(), summary(path)))
    else:
        rows += [(path.name, summary(path)) for path in sorted(root.glob("*.py"))]
        rows.append(("common/", summary(common / "__init__.py")))
        rows += [
            (f"common/{package.name}/", summary(package / "__init__.py"))
            for package in sorted(p for p in common.iterdir() if (p / "__init__.py").is_file())
        ]
        flat = sorted(p.stem for p in common.glob("*.py") if p.name != "__init__.py")
        if flat:
            rows.append(
                ("common/*.py", "modules: " + ", ".join(flat) + " (one line each: [docs/modules.md](docs/modules.md))")
            )
        rows += [(f"{name}/", what) for name, what in FOLDERS if (root / name).is_dir()]
    return "\n".join(["| path | what it is |", "|---|---|", *(f"| `{path}` | {what} |" for path, what in rows)])


FOLDERS = (
    ("tests", "the test suite (`conftest.py`: fabricated data; `golden/`: expected report blocks)"),
    ("bench", "benchmarks and the device scripts that made the GPU results ([docs/benchmarks.md](docs/benchmarks.md))"),
    (
        "results",
        (
            "committed results per preset: `results/<preset>/REPORT.md` and the files it is made "
            "from ([docs/results-layout.md](docs/results-layout.md))"
        ),
    ),
    ("docs", "the manual: one page per topic"),
)


def block_presets(text: str) -> list[str]:
    """The presets whose results the generated blocks of ``text`` show."""
    return list(dict.fromkeys(m["preset"] for m in MARKER.finditer(text) if m["preset"]))
