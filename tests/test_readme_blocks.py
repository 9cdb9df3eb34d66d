"""The generated blocks (common/report/tables.py, common/report/document.py) and the README collector
(collect.py, common/report/blocks.fill): golden blocks, the README against the committed results."""

import os

import pytest
from report_helpers import GOLDEN, golden_tree

import collect
from common.report.document import blocks


def test_report_blocks_golden(tmp_path):
    golden_tree(tmp_path)
    made = blocks(tmp_path, "cpu")
    text = "\n\n".join(f"## {name}\n\n{body}" for name, body in made.items()) + "\n"
    expected = GOLDEN / "report_blocks.md"
    if os.environ.get("FTD_REGEN_GOLDEN"):  # regenerate on purpose: inspect the diff, then commit
        expected.write_text(text)
    assert text == expected.read_text()
    # the log-det study block: the paper's σ² first (the headline), then each variant at its best-agreement σ²
    # (selected on the published matrix, labelled so): two tables, in this order
    headline, selected = made["logdet-study"].split("\n\nAt each variant's best-agreement σ²")
    rows = lambda text: [ln.split(" | ")[:3] for ln in text.splitlines() if ln.startswith("| ") and "---" not in ln][1:]  # noqa: E731
    assert "the paper's σ² = 1e-10" in headline and "selected on the evaluation target" in selected
    assert rows(headline) == [
        ["| empirical", "frechet", "—"],
        ["| mc", "frechet", "—"],
        ["| empirical", "logdet", "1e-10 (default)"],
        ["| mc", "logdet", "1e-10"],
    ]
    assert rows(selected) == [
        ["| empirical", "frechet", "—"],
        ["| mc", "frechet", "—"],
        ["| empirical", "logdet", "0.0001"],
        ["| mc", "logdet", "0.0001"],
    ]


def test_collect_check_fails_on_a_hand_edited_table(tmp_path, capsys):
    golden_tree(tmp_path / "results")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- generated:train preset=cpu -->\nhand-typed 99 %\n<!-- /generated:train -->\nend\n")
    with pytest.raises(SystemExit) as exit_info:
        collect.main(["--check", "--readme", str(readme), "--results-dir", str(tmp_path / "results")])
    assert exit_info.value.code == 1 and "differ" in capsys.readouterr().err
    collect.main(["--readme", str(readme), "--results-dir", str(tmp_path / "results")])
    text = readme.read_text()
    assert "hand-typed" not in text and "| mnist-2 | smallcnn | 0.9850 ± 0.0010 | 3 |" in text
    assert text.startswith("intro\n") and text.endswith("end\n")
    assert (tmp_path / "results" / "cpu" / "REPORT.md").read_text().count("**NOT REPRODUCED**") == 0
    collect.main(["--check", "--readme", str(readme), "--results-dir", str(tmp_path / "results")])
