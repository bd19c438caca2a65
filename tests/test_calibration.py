"""Confidence calibration in `tenderx eval`: accuracy of the values a backend rated high vs low."""

from __future__ import annotations

import json
from pathlib import Path

from extractor.evaluate import load_gold, score
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "evals" / "heldout"


def test_calibration_counts_right_and_wrong_values_per_confidence_level() -> None:
    gold = [g for g in load_gold(HELDOUT) if g.name == "award-two-lots-wan-decimal.pdf"]
    (g,) = gold
    record = {"file": g.name, "sha256": g.sha256, "fields": {
        "buyer": {"value": g.labels["buyer"], "page": 1, "quote": g.labels["buyer"], "confidence": "high"},
        "agency": {"value": "别的代理公司", "page": 1, "quote": "别的代理公司", "confidence": "high"},
        "budget_cny": {"value": g.labels["budget_cny"], "page": 1, "quote": "230万元", "confidence": "low",
                       "reason": "summed"},
        "award_amount_cny": {"value": 1, "page": 1, "quote": "1", "confidence": "low"},
        "project_code": {"value": g.labels["project_code"], "page": 1, "quote": g.labels["project_code"]},
    }}
    cal = score(gold, [record], page_texts=lambda _pdf: [""]).calibration.to_json()
    overall = cal["overall"]
    assert overall["high"] == {"values": 2, "correct": 1, "accuracy": 0.5}
    assert overall["low"] == {"values": 2, "correct": 1, "accuracy": 0.5}
    assert overall["unrated"]["values"] == 1  # a value without a confidence
    assert cal["fields"]["agency"]["high"]["correct"] == 0
    assert "suppliers" not in cal["fields"]  # no value predicted: nothing to rate


def test_eval_cli_reports_calibration_in_terminal_json_and_markdown(tmp_path: Path) -> None:
    out, md = tmp_path / "scores.json", tmp_path / "report.md"
    r = run_cli("eval", str(HELDOUT), "--backend", "rules", "--json", str(out), "--markdown", str(md))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Confidence calibration" in r.stdout
    cal = json.loads(out.read_text(encoding="utf-8"))["confidence_calibration"]
    assert cal["overall"]["high"]["values"] > 0 and cal["overall"]["unrated"]["values"] == 0
    assert "## Confidence calibration" in md.read_text(encoding="utf-8")
