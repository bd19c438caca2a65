"""Outputs that carry document text stay inert: CSV cells, Markdown, the terminal."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from extractor.cli.terminal import plain, safe
from extractor.pipeline.records import safe_csv_cell, to_csv
from tests.conftest import SAMPLES, run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, schema_valid_fields
from tests.pdf_factory import make_pdf

FLAGGED = "award-univ-aws-a100-cloud"


def test_formula_cells_are_neutralised() -> None:
    for hostile in ('=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "@SUM(A1:A9)", "+1+1", "-2+3",
                    "\t=1", "\r=1"):
        assert safe_csv_cell(hostile) == "'" + hostile
    assert safe_csv_cell("沪东理工大学") == "沪东理工大学"
    rec = {"file": "=evil.pdf", "sha256": "s", "backend": "rules",
           "fields": {"buyer": {"value": '=HYPERLINK("http://evil","x")'}, "budget_cny": {"value": -5.0},
                      "suppliers": {"value": ["@SUM(A1)", "ok"]}}, "flags": [], "errors": []}
    rows = list(csv.reader(io.StringIO(to_csv([rec], ["buyer", "budget_cny", "suppliers"]))))
    assert rows[1][0] == "'=evil.pdf" and rows[1][3] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert rows[1][4] == "-5"  # a number is a number, not a formula
    assert rows[1][5] == "'@SUM(A1);ok"


def test_csv_from_a_hostile_document(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "formula.pdf", [["某采购公告", "项目名称：=HYPERLINK(\"http://evil\",\"点我\")",
                                               "采购人：@SUM(1+1)*cmd", "预算金额：45万元"]])
    res = run_cli("extract", str(pdf), "-b", "rules", "-o", str(tmp_path / "r.jsonl"), "--csv", str(tmp_path / "r.csv"))
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert rows[0]["project_name"].startswith("'=") and rows[0]["buyer"].startswith("'@")
    rec = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert rec["fields"]["buyer"]["value"].startswith("@")  # the record keeps the document's text as printed


def test_terminal_text_loses_escape_sequences_and_markup() -> None:
    assert plain("\x1b]0;pwned\x07a\x1b[2Jb\x9b31mc\u202eevil") == "abcevil"
    assert safe("[bold red]x[/]") == "\\[bold red]x\\[/]"
    assert plain("line1\nline2\tend") == "line1 line2 end"


def test_cli_output_carries_no_escape_sequences(tmp_path: Path) -> None:
    hostile = tmp_path / "in" / "\x1b]0;pwned\x07[red]x[bold]\x1b[2J.pdf"
    hostile.parent.mkdir()
    shutil.copy(SAMPLES / f"{FLAGGED}.pdf", hostile)

    def model(req: Recorded) -> Reply:
        fields = schema_valid_fields()
        fields["buyer"] = {"value": "\x1b[2J\x1b]0;owned\x07沪东理工大学", "page": 2, "quote": "沪东理工大学"}
        fields["chips"] = {"value": ["NVIDIA A100"], "page": 1, "quote": "A100"}
        fields["restricted_us_tech"] = {"value": True, "page": 1, "quote": "A100"}
        return chat_reply({"fields": fields})

    with OpenAIServer() as server:
        server.handler = model
        res = run_cli("extract", str(hostile.parent), "-b", "llm", "-o", str(tmp_path / "r.jsonl"),
                      "--store", str(tmp_path / "store"),
                      env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-x", "TENDERX_MODEL": "m"})
    assert res.returncode == 0, res.stderr
    both = res.stdout + res.stderr
    assert "\x1b" not in both and "\x07" not in both
    assert "沪东理工大学" in res.stdout and "Documents flagged" in res.stdout  # the row is still shown
