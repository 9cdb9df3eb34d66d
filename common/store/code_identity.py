"""Which code a result's key names, and its identity: a digest of what that code *does*.

``KEYED_CODE`` is the one registry of keyed code. Each entry is a stable *concept* (the kind of result,
"epsilon-network", "fisher", ...) and the code that computes it: whole modules (``"fisher.estimators"``, a
name relative to ``common``) or single top-level definitions (``"data.decode:_decode"``). ``cache.code_version``
puts ``identity(concept)`` into every key of that kind, so a result made by other code is stale.

The digest covers the *definitions*, not the file: every top-level statement of the code named, parsed
(``ast``), without positions, docstrings, import statements and the messages of ``raise`` statements,
paired with the name it defines, sorted by name. So a docstring or comment edit, a formatter run, a
moved definition (between the modules of a concept) and a moved or renamed module (its entry here
updated) keep every key; a changed expression, constant, default, signature or control flow changes it.
Imports are left out because a move rewrites them: what an import brings in is keyed where it is
defined (a module that computes a result is named here itself). Error messages are left out because
they change what a user reads, not what is computed.

The digest is of the source each module was *executed* from in this process (``common/store/sources.py``).

Keys written before 2026-12-01 named their code by a hash of the raw bytes of a module tuple.
``ALIASES`` maps today's digest of a concept to the identity that the results of *that same code*
carry, so that every committed result (and every local cache) made by it stays valid. Each alias was
made by ``tools/alias_legacy_code_keys.py``, which checked definition by definition that today's code
is, to the AST, the code that wrote those keys. Once the code of a concept changes, its digest is new,
no alias applies, and its results are recomputed or refused as usual.
"""

from __future__ import annotations

import ast
import hashlib
import json

from common.store.sources import source_of

# concept -> the code that computes it ("module" or "module:definition", module relative to ``common``)
KEYED_CODE: dict[str, tuple[str, ...]] = {
    # decoded datasets (the readers and the conversion to N x 3 x 32 x 32 uint8)
    "decoded-data": (
        "data.decode:Split",
        "data.decode:_CIFARFiles",
        "data.decode:_CIFAR10Files",
        "data.decode:_CIFAR100Files",
        "data.decode:_to_32x32x3",
        "data.decode:_fit",
        "data.decode:_read_image_folder",
        "data.decode:_READERS",
        "data.decode:_read_torchvision",
        "data.decode:_decode",
    ),
    # datasets shipped inside a Python package (scikit-learn's digits): the reader and the same conversion
    "packaged-data": ("data.packaged", "data.decode:_to_32x32x3", "data.decode:_decode_packaged"),
    "taskonomy-data": ("dense.taskonomy",),
    # step 1: the trained ε-networks
    "epsilon-network": ("data.splits", "networks.init", "networks.models", "training.train"),
    # step 2: Fishers and distance matrices
    "fisher": ("fisher.estimators", "fisher.store"),
    "distance-matrix": ("fisher.distance", "fisher.estimators", "fisher.store"),
    # the shuffled-label control (labels permuted across the target's images): a concept of its own, so that the
    # Fishers and matrices of the other label choices keep their keys
    "label-control": ("fisher.label_controls",),
    # step 3: NAS searches and the retraining of the cells found
    "nas-search": ("data.splits", "nas.ops", "nas.space", "nas.fuse"),
    # the α-rank study of NAS (alpha_rank_study.py): one FUSE stage, or its candidates trained alone, per record
    "alpha-rank": ("data.splits", "nas.ops", "nas.space", "nas.fuse", "studies.alpha_rank"),
    "nas-retrain": ("data.splits", "networks.init", "networks.models", "nas.ops", "nas.space", "training.train"),
    # step 4: fine-tuning transfer runs
    "transfer": ("data.splits", "networks.init", "networks.models", "training.train", "transfer_learning.runs"),
    # dense (Taskonomy) tasks
    "dense-network": (
        "dense.data",
        "networks.init",
        "dense.models",
        "dense.train",
        "dense.derived_targets",
        "dense.taskonomy",
    ),
    "dense-fisher": (
        "dense.data",
        "dense.fisher",
        "networks.init",
        "dense.models",
        "dense.runs",
        "dense.derived_targets",
        "dense.taskonomy",
    ),
    "dense-matrix": ("dense.fisher", "dense.runs", "fisher.distance"),
    "dense-transfer": (
        "dense.data",
        "dense.fisher",
        "networks.init",
        "dense.models",
        "dense.train",
        "dense.derived_targets",
        "dense.taskonomy",
        "dense.transfer_runs",
    ),
    # the transferability benchmark (transferability.py): its ground-truth runs, and its per-pair scores (apart,
    # so that editing a scorer does not redo the ground truth)
    "transferability-truth": (
        "data.splits",
        "networks.init",
        "networks.models",
        "training.train",
        "transfer_learning.runs",
        "transferability.pool",
        "transferability.model_selection",
        "transferability.ground_truth",
    ),
    "transferability-scores": (
        "data.splits",
        "networks.init",
        "networks.models",
        "fisher.distance",
        "fisher.estimators",
        "fisher.store",
        "transferability.pool",
        "transferability.inputs",
        "transferability.probe",
        "transferability.scorers",  # a package: its __init__ (the registry), then one module per family
        "transferability.scorers.validation",
        "transferability.scorers.label_based",
        "transferability.scorers.feature_based",
        "transferability.scorers.distances",
        "transferability.scorers.baselines",
        "transferability.scorers.peers",
    ),
}

# concept -> {digest of today's definitions: the identity its existing results carry} (see above)
# (the concepts whose code changed since, with the initialisation protocol of 2026-12-02, have none)
ALIASES: dict[str, dict[str, str]] = {  # made by tools/alias_legacy_code_keys.py --commit a613659
    "decoded-data": {"9bb9c6a5a74a355b": "40079cba7660e3f9"},
    "taskonomy-data": {"e00bc06104590497": "1a4dd8ffbcdd08fa"},
    "nas-search": {"34350c89a2bae292": "de77d6908a5f09f2"},
}

PACKAGE = "common"  # module names in KEYED_CODE are relative to it


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _without_imports(stmts: list[ast.stmt]) -> list[ast.stmt]:
    return [s for s in stmts if not isinstance(s, (ast.Import, ast.ImportFrom))]


class _Normalise(ast.NodeTransformer):
    """Docstrings and imports out of every body, messages out of every ``raise``."""

    def generic_visit(self, node):
        node = super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if not (isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt)):
                continue
            if (
                field == "body"
                and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and _is_docstring(stmts[0])
            ):
                stmts = stmts[1:]
            kept = _without_imports(stmts)
            setattr(node, field, kept or ([] if field == "orelse" else [ast.Pass()]))
        return node

    def visit_Raise(self, node: ast.Raise):
        # the message of an error is what a user reads, not what is computed: keep only the type
        if isinstance(node.exc, ast.Call):
            node.exc = ast.Call(func=node.exc.func, args=[], keywords=[])
        return node


def _name(stmt: ast.stmt) -> str:
    """The name a top-level statement defines ("" for one that defines none)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return stmt.name
    if isinstance(stmt, ast.Assign):
        return ",".join(ast.unparse(t) for t in stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return ast.unparse(stmt.target)
    return ""


def definitions(source: bytes | str) -> list[tuple[str, str]]:
    """(name, normalised AST) of every top-level statement of a module's source, in source order;
    the module docstring and import statements left out."""
    body = ast.parse(source).body
    if body and _is_docstring(body[0]):
        body = body[1:]
    return [(_name(stmt), json.dumps(_plain(_Normalise().visit(stmt)))) for stmt in _without_imports(body)]


def _plain(node):
    """An AST as plain data, positions left out, and fields that are None or empty left out too: so
    the digest does not depend on the Python version's AST fields (3.12 added empty ``type_params``)."""
    if isinstance(node, ast.AST):
        fields = {f: _plain(v) for f, v in ast.iter_fields(node) if v is not None and v != []}
        return [type(node).__name__, fields]
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, (str, int, float, complex, bytes, bool)) or node is None or node is Ellipsis:
        return [type(node).__name__, repr(node)]
    raise TypeError(f"unexpected AST value {node!r}")


def selected(entries, source) -> list[tuple[str, str]]:
    """The definitions that ``entries`` (of one concept) name, from ``source(module) -> bytes``; an
    entry that names nothing is an error in this registry, raised at once."""
    out: list[tuple[str, str]] = []
    parts: dict[str, set[str]] = {}
    for entry in entries:
        module, _, name = entry.partition(":")
        if name:
            parts.setdefault(module, set()).add(name)
        else:
            out += definitions(source(module))
    for module, names in parts.items():
        found = [(n, d) for n, d in definitions(source(module)) if n in names]
        missing = names - {n for n, _ in found}
        if missing:
            raise LookupError(
                f"code_identity.KEYED_CODE names {sorted(missing)} in {PACKAGE}.{module}, "
                "which defines no such name: update the registry"
            )
        out += found
    return sorted(out)


def digest(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]


def _executed(module: str) -> bytes:
    return source_of(f"{PACKAGE}.{module}")


_IDENTITY: dict[str, str] = {}


def identity(concept: str) -> str:
    """The code identity a key of kind ``concept`` carries: the digest of its code as executed in this
    process, or the legacy identity that results of this very code carry (``ALIASES``)."""
    if concept not in _IDENTITY:
        if concept not in KEYED_CODE:
            raise KeyError(f"{concept!r} is not a concept of code_identity.KEYED_CODE ({', '.join(KEYED_CODE)})")
        d = digest(selected(KEYED_CODE[concept], _executed))
        _IDENTITY[concept] = ALIASES.get(concept, {}).get(d, d)
    return _IDENTITY[concept]


def table() -> list[dict]:
    """The registry as rows (concept, code, identity), for the docs and ``collect.py --verify``."""
    return [{"concept": c, "code": ", ".join(entries), "identity": identity(c)} for c, entries in KEYED_CODE.items()]
