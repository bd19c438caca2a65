"""CI guard and quality gate: the rules engine on samples/, scored through `tenderx eval`.

The gate (`make test`'s last word on quality): micro-F1 and verified precision (the share of values
marked verified that equal gold) must stay a hair under today's figures (0.993 and 1.000), or
`tenderx eval` exits 4. It scores the records of the session's one rules extraction of samples/
(tests/conftest.py `extracted_samples`, made by `tenderx extract -b rules`), so samples/ is not read
and OCR'd a second time. By hand, the same gate is

    tenderx eval samples/ --backend rules --fail-under 0.99 --min-verified-precision 0.995

and no field may fall below evals/baseline.json. Raise the baseline in the same commit as an improvement:
    tenderx eval samples/ --backend rules --json evals/baseline.json
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
GATE_MIN_F1 = 0.99
GATE_MIN_VERIFIED_PRECISION = 0.995


def test_rules_engine_passes_the_gate_and_does_not_regress_below_baseline(extracted_samples: Path,
                                                                          tmp_path: Path) -> None:
    scored = tmp_path / "rules.json"
    res = run_cli("eval", str(ROOT / "samples"), "--predictions", str(extracted_samples / "out" / "records.jsonl"),
                  "--fail-under", str(GATE_MIN_F1), "--min-verified-precision", str(GATE_MIN_VERIFIED_PRECISION),
                  "--json", str(scored))
    assert res.returncode == 0, f"the quality gate failed (exit {res.returncode}):\n{res.stdout[-4000:]}{res.stderr}"
    scores = json.loads(scored.read_text(encoding="utf-8"))
    baseline = json.loads((ROOT / "evals" / "baseline.json").read_text(encoding="utf-8"))
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


def test_the_gate_fails_a_run_below_it(extracted_samples: Path, tmp_path: Path) -> None:
    """The gate can fail: the same records with verified string values made wrong (as many as a third of the
    records, in file order) exit 4."""
    records = [json.loads(line) for line in
               (extracted_samples / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    spoiled = 0
    for record in records:
        for value in (record.get("fields") or {}).values():
            if isinstance(value, dict) and value.get("verified") and isinstance(value.get("value"), str) \
                    and spoiled * 3 < len(records):
                value["value"] += "（错）"
                spoiled += 1
    assert spoiled
    bad = tmp_path / "records.jsonl"
    bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    res = run_cli("eval", str(ROOT / "samples"), "--predictions", str(bad),
                  "--fail-under", str(GATE_MIN_F1), "--min-verified-precision", str(GATE_MIN_VERIFIED_PRECISION))
    assert res.returncode == 4, res.stdout[-3000:] + res.stderr
