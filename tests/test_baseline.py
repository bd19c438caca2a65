"""CI guard: the rules engine must not score below evals/baseline.json on samples/.

Raise the baseline in the same commit as an improvement:
    tenderx eval samples/ --backend rules --json evals/baseline.json
"""

from __future__ import annotations

import json
from pathlib import Path

from extractor.evaluate import evaluate_folder

ROOT = Path(__file__).resolve().parent.parent


def test_rules_engine_does_not_regress_below_baseline(samples_scans_ocrd: Path) -> None:
    baseline = json.loads((ROOT / "evals" / "baseline.json").read_text(encoding="utf-8"))
    scores = evaluate_folder(ROOT / "samples", backend="rules").to_json()
    assert scores["documents"] >= baseline["documents"], "fewer gold documents scored than in the baseline"
    assert scores["micro_f1"] >= baseline["micro_f1"] - 1e-9, (
        f"micro-F1 fell from {baseline['micro_f1']:.4f} to {scores['micro_f1']:.4f}"
    )
    base_recall = baseline["restricted_us_tech"]["recall"]
    recall = scores["restricted_us_tech"]["recall"]
    assert recall >= base_recall - 1e-9, f"restricted_us_tech recall fell from {base_recall} to {recall}"
    worse = {
        name: (f["f1"], scores["fields"][name]["f1"])
        for name, f in baseline["fields"].items()
        if f["f1"] is not None and (scores["fields"][name]["f1"] or 0) < f["f1"] - 0.05
    }
    assert not worse, f"per-field F1 dropped by more than 0.05: {worse}"
