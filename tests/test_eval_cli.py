"""`tenderx eval` as a user runs it: a subprocess on a tiny gold folder with a hand-written predictions file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.pdf_factory import make_pdf


def write_gold(pdf: Path, labels: dict) -> None:
    pdf.with_name(pdf.stem + ".gold.json").write_text(
        json.dumps({"schema": "tender", "schema_version": 1, "labels": labels}, ensure_ascii=False), "utf-8")


def rec(pdf: Path, fields: dict, by_sha: bool = True) -> dict:
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest() if by_sha else ""
    return {"file": str(pdf) if by_sha else f"/somewhere/else/{pdf.name}", "sha256": sha, "schema": "tender",
            "schema_version": 1, "backend": "llm", "model": "test-model", "fields": fields, "flags": [],
            "errors": [], "usage": {}}


def fv(value, page=None, quote=None) -> dict:
    return {"value": value, "page": page, "quote": quote, "verified": None}


@pytest.fixture
def gold_set(tmp_path: Path) -> tuple[Path, Path]:
    """Three labelled PDFs (one in a subfolder) and a predictions JSONL with known mistakes."""
    gold = tmp_path / "gold"
    a = make_pdf(gold / "a.pdf", [["深圳大学云计算服务采购项目成交公告", "采购人：深圳大学"],
                                  ["成交金额：人民币贰拾万元整", "成交供应商：深圳市云达科技有限公司"]])
    b = make_pdf(gold / "b.pdf", [["清华大学GPU服务器采购项目招标公告", "采购人：清华大学", "预算金额：500万元"]])
    c = make_pdf(gold / "sub" / "c.pdf", [["某中学课桌椅采购意向公开", "采购单位：某中学"]])
    write_gold(a, {"notice_type": "award", "buyer": "深圳大学", "award_amount_cny": 200000,
                   "suppliers": ["深圳市云达科技有限公司"], "restricted_us_tech": True})
    write_gold(b, {"notice_type": "tender", "buyer": "清华大学", "budget_cny": 5000000,
                   "restricted_us_tech": True})
    write_gold(c, {"notice_type": "intention", "buyer": "某中学", "restricted_us_tech": False})
    preds = tmp_path / "preds.jsonl"
    lines = [
        # a: all 5 right, all values grounded except restricted_us_tech (no quote)
        rec(a, {"notice_type": fv("award", 1, "成交公告"), "buyer": fv("深圳大学", 1, "采购人：深圳大学"),
                "award_amount_cny": fv(200000, 2, "成交金额：人民币贰拾万元整"),
                "suppliers": fv(["深圳市云达科技有限公司"], 2, "深圳市云达科技有限公司"),
                "restricted_us_tech": fv(True)}),
        # b (matched by file name): notice_type wrong but its quote is in the text; budget off by 5001 (> 5000)
        rec(b, {"notice_type": fv("award", 1, "招标公告"), "buyer": fv("清华大学", 1, "采购人：清华大学"),
                "budget_cny": fv(5005001, 1, "预算金额：500万元"), "restricted_us_tech": fv(False)},
            by_sha=False),
        # c: everything right; the flag false has no quote
        rec(c, {"notice_type": fv("intention", 1, "采购意向公开"), "buyer": fv("某中学", 1, "采购单位：某中学"),
                "restricted_us_tech": fv(False)}),
    ]
    preds.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return gold, preds


def test_eval_writes_json_markdown_and_html(gold_set, tmp_path):
    gold, preds = gold_set
    out = tmp_path / "out"
    r = run_cli("eval", str(gold), "--predictions", str(preds), "--json", str(out / "s.json"),
                "--markdown", str(out / "s.md"), "--html", str(out / "s.html"))
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "s.json").read_text("utf-8"))
    # by hand: a 5 TP; b buyer TP, notice_type/budget/restricted (gold true, pred false) each FP+FN;
    # c 3 TP → TP 9, FP 3, FN 3 → micro-F1 18/24
    assert s["documents"] == 3
    assert s["micro_f1"] == pytest.approx(18 / 24)
    assert s["all_fields_correct"] == pytest.approx(2 / 3)
    assert s["restricted_us_tech"] == {"precision": 1.0, "recall": 0.5}
    assert s["fields"]["notice_type"] == {"precision": 2 / 3, "recall": 2 / 3, "f1": pytest.approx(2 / 3),
                                          "accuracy": pytest.approx(2 / 3), "support": 3}
    assert s["fields"]["budget_cny"]["accuracy"] == 0.0 and s["fields"]["agency"]["support"] == 0
    # grounding: 12 non-null predicted values; not grounded: the 3 restricted_us_tech without quote
    assert s["grounding_rate"] == pytest.approx(9 / 12)
    assert s["grounded_but_wrong"] == 2  # b's notice_type and budget quotes are real, values wrong
    assert (s["backend"], s["model"], s["schema_version"]) == ("llm", "test-model", 1)
    md = (out / "s.md").read_text("utf-8")
    assert "| notice_type | 0.667 | 0.667 | 0.667 | 0.667 | 3 |" in md
    html = (out / "s.html").read_text("utf-8")
    assert "<svg" in html and "b.pdf — 3 of 4 fields wrong" in html
    assert "<mark>预算金额：500万元</mark>" in html
    assert "micro-F1" in r.stdout and "b.pdf" in r.stdout


def test_eval_compare_flags_a_regression(gold_set, tmp_path):
    gold, preds = gold_set
    good = tmp_path / "good.json"
    assert run_cli("eval", str(gold), "--predictions", str(preds), "--json", str(good)).returncode == 0
    worse = json.loads(preds.read_text("utf-8").splitlines()[0])
    worse["fields"]["buyer"]["value"] = "深圳"
    lines = preds.read_text("utf-8").splitlines()
    preds.write_text("\n".join([json.dumps(worse, ensure_ascii=False), *lines[1:]]) + "\n", "utf-8")
    bad = tmp_path / "bad.json"
    assert run_cli("eval", str(gold), "--predictions", str(preds), "--json", str(bad)).returncode == 0
    r = run_cli("eval", "--compare", str(good), str(bad))
    assert r.returncode == 0, r.stderr
    assert "Regressions: micro-F1, all fields correct, grounded but wrong, buyer" in r.stdout
    assert "-0.333" in r.stdout  # buyer F1 1.000 → 0.667


def test_eval_missing_prediction_exits_1_and_names_the_document(gold_set):
    gold, preds = gold_set
    lines = preds.read_text("utf-8").splitlines()
    preds.write_text("\n".join(lines[:2]) + "\n", "utf-8")
    r = run_cli("eval", str(gold), "--predictions", str(preds))
    assert r.returncode == 1
    assert "c.pdf" in r.stdout


def test_eval_bad_inputs_exit_2_with_the_file_named(gold_set, tmp_path):
    gold, preds = gold_set
    r = run_cli("eval", str(tmp_path / "missing"), "--predictions", str(preds))
    assert r.returncode == 2 and "gold folder not found" in r.stderr
    bad = gold / "sub" / "c.gold.json"
    bad.write_text('{"schema": "tender", "schema_version": 1, "labels": {"budget_cny": "五十万"}}', "utf-8")
    r = run_cli("eval", str(gold), "--predictions", str(preds))
    assert r.returncode == 2
    assert "c.gold.json" in r.stderr and "budget_cny" in r.stderr
    r = run_cli("eval", "--compare", str(preds), str(tmp_path / "nope.json"))
    assert r.returncode == 2
    r = run_cli("eval")
    assert r.returncode == 2 and "GOLD_DIR" in r.stderr


def test_eval_help_documents_the_options():
    r = run_cli("eval", "--help")
    assert r.returncode == 0
    for opt in ("--backend", "--predictions", "--json", "--markdown", "--html", "--compare"):
        assert opt in r.stdout
