"""Reports: the HTML is safe and self-contained, Markdown/terminal carry the numbers, compare flags regressions."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console

from extractor.evaluate import Scores, load_gold, score
from extractor.evaluate.report import (
    compare,
    comparison_report,
    render_html,
    render_markdown,
    terminal_report,
)
from tests.pdf_factory import make_pdf

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'




def hostile_scores(tmp_path: Path) -> Scores:
    """A gold set whose document text, gold values and predictions all carry HTML/JS payloads."""
    make_pdf(tmp_path / "evil.pdf", [[
        f"采购人：深圳大学{SCRIPT}",
        f"代理机构：{IMG}",
        "详见 http://evil.example/x.js 与 https://evil.example/y.css",
        "公告类型：中标公告",
    ]])
    (tmp_path / "evil.gold.json").write_text(json.dumps({
        "schema": "tender", "schema_version": 1,
        "labels": {"notice_type": "award", "buyer": f"深圳大学{SCRIPT}", "agency": "真实代理",
                   "chips": ["NVIDIA A100"], "restricted_us_tech": True},
    }, ensure_ascii=False), "utf-8")
    gold = load_gold(tmp_path)
    rec = {"file": "evil.pdf", "sha256": gold[0].sha256, "backend": "llm", "model": f"m{SCRIPT}", "fields": {
        "notice_type": {"value": "tender", "page": 1, "quote": "公告类型：中标公告"},
        "buyer": {"value": "深圳大学", "page": 1, "quote": f"采购人：深圳大学{SCRIPT}"},
        "agency": {"value": IMG, "page": 1, "quote": f"代理机构：{IMG}"},
        "chips": {"value": ["NVIDIA A100"], "page": 1, "quote": "http://evil.example/x.js"},
        "restricted_us_tech": {"value": True, "page": 1, "quote": None},
    }}
    return score(gold, [rec])


def test_html_escapes_document_text_gold_and_predicted_values(tmp_path):
    page = render_html(hostile_scores(tmp_path))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "onerror=alert(1)&gt;" in page  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img" in page


def test_html_is_self_contained(tmp_path):
    page = render_html(hostile_scores(tmp_path))
    assert "http://" not in page and "https://" not in page  # not even from the document's own text
    assert not re.search(r"<[^>]*\b(src|href)\s*=", page, re.I)  # no tag loads anything
    assert "@import" not in page and "url(" not in page
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page


def test_html_has_svg_chart_confusion_matrix_and_errors_in_context(tmp_path):
    scores = hostile_scores(tmp_path)
    page = render_html(scores)
    svg = page[page.index("<svg"):page.index("</svg>")]
    defined = [n for n, f in scores.fields.items() if f.f1 is not None]
    assert svg.count("<rect") == len(defined) == 5
    assert "notice_type confusion matrix" in page
    matrix = page[page.index("notice_type confusion matrix"):]
    assert re.search(r"<th>award</th><td class=\"n\">1</td>", matrix)  # gold award, predicted tender
    # the wrong notice_type quote appears marked inside its page context
    assert "<mark>公告类型：中标公告</mark>" in page
    assert "采购人：深圳大学&lt;script&gt;" in page  # context before the mark
    assert "1 of 5 fields wrong" not in page and "3 of 5 fields wrong" in page


def test_markdown_report_has_headline_fields_and_worst_documents(tmp_path):
    scores = hostile_scores(tmp_path)
    md = render_markdown(scores)
    assert f"| micro-F1 | {scores.micro_f1:.3f} |" in md
    assert "| buyer | 0.000 | 0.000 | 0.000 | 0.000 | 1 |" in md
    assert "| evil.pdf | 3/5 | notice_type | \"award\" | \"tender\" |" in md
    assert "<img" not in md and "<script" not in md  # document text never becomes live HTML
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "&lt;script&gt;" in md


def test_terminal_report_lists_headline_fields_and_worst_documents(tmp_path):
    console = Console(record=True, width=200, color_system=None)
    console.print(terminal_report(hostile_scores(tmp_path)))
    out = console.export_text()
    assert "micro-F1" in out and "grounding rate" in out
    assert "restricted_us_tech recall" in out
    assert "Worst documents" in out and "evil.pdf" in out and "3/5" in out
    assert 'notice_type: "award" → "tender"' in out


def _run(micro: float, fields: dict[str, float | None], gbw: int = 0) -> dict:
    return {"documents": 10, "micro_f1": micro, "all_fields_correct": 0.5, "grounding_rate": 0.9,
            "grounded_but_wrong": gbw, "restricted_us_tech": {"precision": 1.0, "recall": 0.5},
            "fields": {n: {"precision": f, "recall": f, "f1": f, "accuracy": f, "support": 10}
                       for n, f in fields.items()},
            "backend": "rules", "model": None, "schema_version": 1}


def test_compare_flags_regressions_and_improvements():
    a = _run(0.80, {"buyer": 0.90, "agency": 0.50, "chips": None}, gbw=2)
    b = _run(0.82, {"buyer": 0.70, "agency": 0.60, "chips": 0.4}, gbw=5)
    comp = compare(a, b)
    assert comp.regressions == ["grounded but wrong", "buyer"]
    buyer = next(d for d in comp.fields if d.name == "buyer")
    assert abs(buyer.delta - (-0.2)) < 1e-9
    chips = next(d for d in comp.fields if d.name == "chips")
    assert chips.delta is None and not chips.regression
    assert compare(a, a).regressions == []


def test_compare_renders_regressions_in_red():
    comp = compare(_run(0.8, {"buyer": 0.9, "agency": 0.5}), _run(0.8, {"buyer": 0.7, "agency": 0.6}))
    console = Console(record=True, width=120, force_terminal=True, color_system="standard")
    console.print(comparison_report(comp))
    ansi = console.export_text(styles=True, clear=False)
    buyer_line = next(line for line in ansi.splitlines() if "buyer" in line and "0.900" in line)
    agency_line = next(line for line in ansi.splitlines() if "agency" in line and "0.500" in line)
    assert "\x1b[31m" in buyer_line or "\x1b[1;31m" in buyer_line  # red
    assert "\x1b[31m" not in agency_line and "\x1b[1;31m" not in agency_line
    assert "-0.200" in buyer_line and "+0.100" in agency_line
    assert "Regressions: buyer" in console.export_text()


def test_terminal_caps_errors_per_document_and_names_missing_predictions(tmp_path):
    make_pdf(tmp_path / "empty.pdf", [["公告"]])
    labels = {"notice_type": "award", "buyer": "甲", "agency": "乙", "project_name": "丙", "project_code": "丁",
              "publish_date": "2024-01-02", "budget_cny": 100, "chips": ["NVIDIA A100"]}
    (tmp_path / "empty.gold.json").write_text(json.dumps(
        {"schema": "tender", "schema_version": 1, "labels": labels}, ensure_ascii=False), "utf-8")
    scores = score(load_gold(tmp_path), [])
    console = Console(record=True, width=200, color_system=None)
    console.print(terminal_report(scores))
    out = console.export_text()
    assert "… and 2 more (see --html)" in out and "8/8" in out
    assert "No prediction for 1 document(s)" in out and "empty.pdf" in out
    assert "(no prediction record: scored as all null)" in render_html(scores)
