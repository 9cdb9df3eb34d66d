"""Make ``common/store/code_identity.py``'s ALIASES: the identity that results of today's code already carry.

Keys written before 2026-12-01 named their code by a hash of the raw bytes of a tuple of modules
(the old ``cache.code_version(*modules)``). For each concept of ``KEYED_CODE`` this tool reads those
modules as they were at ``--commit`` (git), computes that legacy hash, and checks definition by
definition (``code_identity.definitions``: AST without docstrings, imports, error messages) that
today's code of the concept is the code of that commit. Only then does it print the alias
``digest of today -> legacy hash``; a concept whose code differs is reported and gets no alias (its
results are then stale, as they should be). The only code allowed to differ is what named the keyed
code, now ``KEYED_CODE``: the legacy ``*CODE`` tuples and the arguments of ``code_version(...)`` calls
(module tuples then, a concept name now).

    .venv/bin/python tools/alias_legacy_code_keys.py --commit a613659
"""

import argparse
import ast
import hashlib
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.store import code_identity  # noqa: E402

# The module tuples the legacy keys hashed (the ``CODE`` tuples of commit a613659), per concept.
LEGACY_MODULES = {
    "decoded-data": ("datasets",),
    "taskonomy-data": ("taskonomy",),
    "epsilon-network": ("data", "models", "train"),
    "fisher": ("fisher", "fishers"),
    "distance-matrix": ("distance", "fisher", "fishers"),
    "nas-search": ("data", "nas", "fuse"),
    "nas-retrain": ("data", "models", "nas", "train"),
    "transfer": ("data", "models", "train", "transfer"),
    "dense-network": ("dense_data", "dense_models", "dense_train", "derived_targets", "taskonomy"),
    "dense-fisher": ("dense_data", "dense_fisher", "dense_models", "dense_runs", "derived_targets", "taskonomy"),
    "dense-matrix": ("dense_fisher", "dense_runs", "distance"),
    "dense-transfer": (
        "dense_data",
        "dense_fisher",
        "dense_models",
        "dense_train",
        "derived_targets",
        "taskonomy",
        "dense_transfer",
    ),
}
LEGACY_DECLARATIONS = {"CODE", "FISHER_CODE", "MATRIX_CODE", "SEARCH_CODE", "RETRAIN_CODE"}


class _BlankCodeVersion(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "code_version":
            node.args, node.keywords = [], []
        return node


def blanked(source: bytes) -> str:
    """``source`` with every ``code_version(...)`` call's arguments removed (for the comparison only)."""
    return ast.unparse(_BlankCodeVersion().visit(ast.parse(source)))


def legacy_hash(sources: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name] + b"\0")
    return h.hexdigest()[:16]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--commit", required=True, help="the commit whose code wrote the legacy keys")
    args = p.parse_args()
    aliases, failed = {}, []
    for concept, modules in LEGACY_MODULES.items():
        old = {
            m: subprocess.run(["git", "show", f"{args.commit}:common/{m}.py"], check=True, capture_output=True).stdout
            for m in modules
        }
        then = [
            d for m in modules for d in code_identity.definitions(blanked(old[m])) if d[0] not in LEGACY_DECLARATIONS
        ]
        entries = code_identity.KEYED_CODE[concept]
        now = code_identity.selected(entries, lambda m: blanked(code_identity._executed(m)))
        if any(":" in e for e in entries):  # a selection of definitions
            then = [d for d in then if d[0] in {n for n, _ in now}]
        if sorted(then) != now:
            differ = sorted({n for n, _ in set(then) ^ set(now)})
            failed.append(f"{concept}: differs in {', '.join(differ) or '(order)'}")
            continue
        today = code_identity.digest(code_identity.selected(entries, code_identity._executed))
        aliases[concept] = {today: legacy_hash(old)}
    print("ALIASES = {")
    for concept, alias in aliases.items():
        print(f"    {concept!r}: {alias!r},")
    print("}")
    for line in failed:
        print(f"no alias: {line}", file=sys.stderr)


if __name__ == "__main__":
    main()
