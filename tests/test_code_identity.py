"""Keys by meaning (common/store/code_identity.py): what a result's key says about its code survives a
docstring, a comment, a formatter, a moved definition and a moved module, and follows every change
of what the code computes."""

import ast
import re
import shutil
import subprocess

import pytest
from conftest import ROOT

from common.store import code_identity
from common.store.code_identity import KEYED_CODE, digest, selected


def module_file(root, module: str):
    """The file of ``module`` (relative to common): a module's ``.py``, or a package's ``__init__.py``."""
    path = root / "common" / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def digests(root, registry=KEYED_CODE) -> dict[str, str]:
    """Each concept's digest computed from the files under ``root`` (read, not executed)."""
    return {
        c: digest(selected(entries, lambda m: module_file(root, m).read_bytes())) for c, entries in registry.items()
    }


def keyed_modules(registry=KEYED_CODE) -> list[str]:
    return sorted({e.partition(":")[0] for entries in registry.values() for e in entries})


@pytest.fixture
def copy(tmp_path):
    shutil.copytree(ROOT / "common", tmp_path / "common", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_every_concept_resolves_to_its_own_identity():
    identities = {c: code_identity.identity(c) for c in KEYED_CODE}
    assert len(set(identities.values())) == len(identities)
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in identities.values())
    # the identity is of the code as executed, which is the code on disk here
    today = digests(ROOT)
    for concept, identity in identities.items():
        assert identity == code_identity.ALIASES.get(concept, {}).get(today[concept], today[concept])


def test_comments_docstrings_and_reformatting_keep_every_key(copy):
    before = digests(ROOT)
    for module in keyed_modules():
        path = module_file(copy, module)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # rewrite every docstring
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                node.body[0].value.value = "A docstring rewritten by the test."
        # ast.unparse: another layout of every line (quotes, parentheses, wrapping), comments dropped
        path.write_text("# a comment added at the top\n" + ast.unparse(tree) + "\n# and one at the end\n")
    assert digests(copy) == before


def test_a_formatter_run_keeps_every_key(copy):
    ruff = shutil.which("ruff") or str(ROOT / ".venv/bin/ruff")
    if not shutil.which(ruff):
        pytest.skip("ruff is not installed (requirements-dev.txt)")
    before = digests(ROOT)
    subprocess.run([ruff, "format", "--quiet", "--line-length", "79", str(copy / "common")], check=True)
    assert digests(copy) == before


def test_moving_a_definition_or_a_module_keeps_every_key(copy):
    before = digests(ROOT)
    # a definition moved between two modules of the same concepts (estimators -> store)
    fisher, fishers = module_file(copy, "fisher.estimators"), module_file(copy, "fisher.store")
    source = fisher.read_text()
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    lines = source.splitlines(keepends=True)
    moved = "".join(lines[node.lineno - 1 - len(node.decorator_list) : node.end_lineno])
    fisher.write_text("".join(lines[: node.lineno - 1 - len(node.decorator_list)] + lines[node.end_lineno :]))
    fishers.write_text(fishers.read_text() + "\n\n" + moved)
    # a module moved into a package (the registry updated, as a re-layout does)
    (copy / "common" / "measures").mkdir()
    shutil.move(module_file(copy, "fisher.distance"), copy / "common" / "measures" / "distance.py")
    registry = {
        c: tuple("measures.distance" if e == "fisher.distance" else e for e in entries)
        for c, entries in KEYED_CODE.items()
    }
    assert digests(copy, registry) == before


def test_a_changed_expression_or_default_changes_exactly_the_keys_that_use_it(copy):
    before = digests(ROOT)
    path = module_file(copy, "fisher.distance")
    source = path.read_text()
    assert "0.5 * " in source
    path.write_text(source.replace("0.5 * ", "0.25 * ", 1))
    after = digests(copy)
    changed = {c for c in KEYED_CODE if after[c] != before[c]}
    assert changed == {c for c, entries in KEYED_CODE.items() if "fisher.distance" in entries}
    assert changed >= {"distance-matrix", "dense-matrix"}

    path.write_text(source.replace("sigma2: float = 1e-10", "sigma2: float = 1e-9", 1))
    assert digests(copy)["distance-matrix"] != before["distance-matrix"]


def test_an_error_message_is_not_computation_but_a_raise_is(copy):
    before = digests(ROOT)
    path = module_file(copy, "data.decode")
    source = path.read_text()
    assert 'raise UserError(f"{source} holds no {dataset} {split} images")' in source
    path.write_text(
        source.replace(
            'raise UserError(f"{source} holds no {dataset} {split} images")',
            'raise UserError(f"no images at all in {source}: add some")',
        )
    )
    assert digests(copy)["decoded-data"] == before["decoded-data"]
    path.write_text(
        source.replace(
            'raise UserError(f"{source} holds no {dataset} {split} images")',
            'raise ValueError(f"{source} holds no {dataset} {split} images")',
        )
    )
    assert digests(copy)["decoded-data"] != before["decoded-data"]


def test_only_the_named_definitions_of_a_partly_keyed_module_count(copy):
    """decoded-data keys the decoders of common/data/decode.py, not its file listing or its messages."""
    before = digests(ROOT)
    path = module_file(copy, "data.decode")
    path.write_text(path.read_text() + "\n\ndef a_new_check(dataset):\n    return dataset\n")
    assert digests(copy)["decoded-data"] == before["decoded-data"]
    path.write_text(path.read_text().replace("def _fit(img, size: int):", "def _fit(img, size: int = 32):"))
    assert digests(copy)["decoded-data"] != before["decoded-data"]


def test_a_registry_entry_that_names_nothing_is_an_error():
    with pytest.raises(LookupError, match="defines no such name"):
        selected(("data.decode:_no_such_reader",), lambda m: module_file(ROOT, m).read_bytes())
