"""The README and the docs/*.md pages: their generated blocks are what the committed results give, their
relative links lead somewhere, the README stays a front page, and every command they show still parses
as pasted (script exists, flags and task names known)."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest

from common.report.blocks import block_names, fill, pages

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = pages(README)
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
PYTHON = ".venv/bin/python"


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_there_are_pages_and_every_one_is_filled_from_the_committed_results():
    assert len(PAGES) >= 7, "README.md and at least 6 docs pages"
    rendered: dict = {}
    names = set()
    for page in PAGES:
        text = page.read_text()
        names |= set(block_names(text))
        assert fill(text, ROOT / "results", rendered) == text, (
            f"{page_id(page)} is stale: run .venv/bin/python collect.py --preset cpu"
        )
    # the blocks the README used to hold are still shown somewhere
    assert {
        "claims",
        "claims-summary",
        "published",
        "train",
        "nas",
        "matrix-mnist-frechet",
        "plan",
        "repository-map",
        "module-map",
    } <= names


def test_readme_is_a_front_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    assert "claims-summary" in block_names(text) and "repository-map" in block_names(text)
    # the two set-up commands, on the first screen; CI and the issue read command 2's test command
    first_screen = "\n".join(text.splitlines()[:40])
    assert ".venv/bin/python reproduce.py --data-root ../shared/data\n" in first_screen
    assert ".venv/bin/python -m pytest -q tests\n" in first_screen
    assert text.count("<!-- example:library -->") == 1 and "## Citation" in text and "@article{" in text


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m[1]) for m in re.finditer(r"^#+ (.*)$", text, flags=re.MULTILINE)}


def links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text()))
    return [m["target"] for m in LINK.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_point_to_files_and_headings_that_exist(page):
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page_id(page)} links to {target}: no such file"
        if anchor:
            assert linked.suffix == ".md" and anchor in anchors(linked), (
                f"{page_id(page)} links to {target}: no such heading"
            )


def test_slug_is_githubs():
    assert slug("Claims (generated)") == "claims-generated"
    assert (
        slug("Dense tasks: Taskonomy and the derived `taskonomy-2d` set")
        == "dense-tasks-taskonomy-and-the-derived-taskonomy-2d-set"
    )
    assert slug("The paper, in order") == "the-paper-in-order"


def commands(page: Path) -> list[str]:
    """Every ``.venv/bin/python ...`` command of a page: the lines of its bash blocks (``\\``
    continuations joined, ``&&`` chains split, comments dropped) and its inline code spans."""
    text = page.read_text()
    found = []
    for block in FENCE.finditer(text):
        if block["lang"] in ("bash", "sh", ""):
            found += block["body"].replace("\\\n", " ").splitlines()
    found += INLINE_CODE.findall(FENCE.sub("", text))
    out = []
    for line in found:
        for part in line.split("&&"):
            part = re.sub(r"\s#.*$", "", part).strip()
            if part.startswith(PYTHON + " "):
                out.append(part)
    return out


class _Parsed(Exception):
    """Raised in place of running a script, once its flags have parsed."""

    def __init__(self, namespace):
        super().__init__()
        self.namespace = namespace


def parse_only(command: str, monkeypatch) -> argparse.Namespace | None:
    """Parse ``command``'s argv with its script's own parser, running nothing; None for ``-m`` commands."""
    argv = shlex.split(command)[1:]
    if argv[0] == "-m":
        paths = [a for i, a in enumerate(argv[2:], 2) if not a.startswith("-") and argv[i - 1] not in ("-m", "-k")]
        assert argv[1] == "pytest" and all((ROOT / a).exists() for a in paths), command
        return None
    script = ROOT / argv[0]
    assert script.is_file(), f"{command}: no script {argv[0]}"
    original = argparse.ArgumentParser.parse_args

    def parse(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse)
    monkeypatch.setattr(sys, "argv", [str(script), *argv[1:]])
    spec = importlib.util.spec_from_file_location(f"_docs_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # a script's dataclasses look their module up there
    spec.loader.exec_module(module)
    try:
        module.main(argv[1:]) if "argv" in module.main.__code__.co_varnames else module.main()
    except _Parsed as parsed:
        return parsed.namespace
    except SystemExit as exc:
        pytest.fail(f"{command}: its parser refuses it (exit {exc.code})")
    pytest.fail(f"{command}: {argv[0]} ran without parsing its flags")


def known_task_names() -> set[str]:
    from common.dense_tasks import DENSE_TASK_SETS, DENSE_TASKS
    from common.tasks import TASK_SETS, TASKS

    return {*TASKS, *TASK_SETS, *DENSE_TASKS, *DENSE_TASK_SETS}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_command_parses_as_pasted(page, monkeypatch, capsys):
    known = known_task_names()
    for command in commands(page):
        args = parse_only(command, monkeypatch)
        for flag in ("tasks", "baselines", "target"):
            names = getattr(args, flag, None) or []
            names = [names] if isinstance(names, str) else names
            unknown = [n for n in names if n not in known]
            assert not unknown, f"{page_id(page)}: {command}: unknown task(s) {unknown}"
        capsys.readouterr()


def test_commands_are_found():
    """The extraction itself: the README's table and the docs' bash blocks give commands."""
    found = {page_id(p): commands(p) for p in PAGES}
    assert any("train_task_mnist.py --preset cpu --tasks mnist mnist-oddeven" in c for c in found["README.md"])
    scale = found["docs/scale-out.md"]
    assert any(c.endswith("--array-parallelism 64") and "--partition gpu" in c for c in scale)  # joined at the \
    assert sum(c.startswith(PYTHON + " reproduce.py --preset cpu") for c in found["docs/reproduce.md"]) >= 4


def test_collect_checks_and_fills_every_docs_page(tmp_path, capsys):
    """collect.py --check names a stale docs/*.md page beside the README; without --check it rewrites
    only the blocks, and then --check passes."""
    import collect

    readme, page = tmp_path / "README.md", tmp_path / "docs" / "nas.md"
    page.parent.mkdir()
    readme.write_text("front\n<!-- generated:repository-map -->\nold map\n<!-- /generated:repository-map -->\n")
    page.write_text(
        "intro\n<!-- generated:claims-summary preset=cpu -->\nhand-typed: 33 reproduced\n"
        "<!-- /generated:claims-summary -->\nend\n"
    )
    argv = ["--readme", str(readme), "--results-dir", str(ROOT / "results"), "--no-report"]
    with pytest.raises(SystemExit) as exit_info:
        collect.main([*argv, "--check"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and str(page) in err and str(readme) in err
    collect.main(argv)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "hand-typed" not in text
    assert "reproduced" in text and "| `common/` |" in readme.read_text()
    collect.main([*argv, "--check"])


def test_collect_refuses_a_missing_readme_in_one_line(tmp_path, capsys):
    import collect
    from common.base.cli import run

    with pytest.raises(SystemExit) as exit_info:
        run(collect.main, ["--readme", str(tmp_path / "nowhere.md"), "--check"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and err.startswith("error: --readme ")
