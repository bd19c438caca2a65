"""`tenderx eval` scores lots apart from v1: the multi-lot samples through the real CLI, and a
predictions file with known lot mistakes, whose lot figures are counted by hand below."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from extractor.evaluate import load_gold, score
from extractor.evaluate.lots import lot_number, pair_lots
from tests.conftest import run_cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# hand-labelled samples whose gold has ``lots`` (a PDF tender, a PDF award with a failed lot, an HTML award
# with rowspans, a DOCX award with merged cells, a key-value page reporting one lot of two): 3 + 2 + 2 + 2 + 1
LOT_SAMPLES = ("tender-multi-lot-lab-furniture.pdf", "award-one-failed-lot.pdf",
               "web/ccgp-award-lots-rowspan.html", "word/award-lots-merged-cells.docx",
               "web/zbgs-award-kv-grid-second-lot.html")


def _copy_samples(dest: Path) -> Path:
    for rel in LOT_SAMPLES:
        src = SAMPLES / rel
        shutil.copy(src, dest / src.name)
        shutil.copy(src.with_name(src.stem + ".gold.json"), dest / (src.stem + ".gold.json"))
    return dest


def test_eval_cli_reports_lots_in_terminal_json_and_html(tmp_path: Path) -> None:
    (tmp_path / "gold").mkdir()
    gold = _copy_samples(tmp_path / "gold")
    res = run_cli("eval", str(gold), "--backend", "rules", "--json", str(tmp_path / "s.json"),
                  "--html", str(tmp_path / "s.html"), "--markdown", str(tmp_path / "s.md"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "lots (scored apart from v1, 5 labelled documents): found 10/10 gold lots" in res.stdout
    scores = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    lots = scores["lots"]
    assert (lots["documents"], lots["gold_lots"], lots["predicted_lots"], lots["found"]) == (5, 10, 10, 10)
    assert set(lots["fields"]) == {"budget_cny", "award_amount_cny", "suppliers", "status"}
    assert lots["fields"]["status"]["accuracy"] == 1.0 and lots["wrong_documents"] == []
    assert "lots" not in scores["fields"]  # the contract's per-field table is unchanged
    assert "<h2>Lots</h2>" in (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "## Lots" in (tmp_path / "s.md").read_text(encoding="utf-8")


def _lot(lot_id: str, amount: float | None, suppliers: list[str], status: str) -> dict:
    out: dict = {"id": {"value": lot_id, "page": 1, "quote": lot_id}, "status": status}
    if amount is not None:
        out["award_amount_cny"] = {"value": amount, "page": 1, "quote": str(amount)}
    if suppliers:
        out["suppliers"] = {"value": suppliers, "page": 1, "quote": suppliers[0]}
    return out


def test_lot_mistakes_are_counted_and_v1_is_untouched(tmp_path: Path) -> None:
    """award-one-failed-lot: gold 第一包 awarded 1,320,000 to 南屿康达医药物流有限公司, 第二包 failed.
    The prediction gets 包1's amount wrong and invents a 包3; 包2 is right."""
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    for suffix in (".pdf", ".gold.json"):
        shutil.copy(SAMPLES / f"award-one-failed-lot{suffix}", gold_dir / f"award-one-failed-lot{suffix}")
    [g] = load_gold(gold_dir)
    fields = {k: {"value": v} for k, v in g.labels.items()}
    record = {"file": str(g.pdf), "sha256": g.sha256, "fields": fields, "lots": [
        _lot("包1", 1230000, ["南屿康达医药物流有限公司"], "awarded"),
        _lot("包2", None, [], "failed"),
        _lot("包3", 5000, ["某公司"], "awarded")]}
    s = score([g], [record])
    lots = s.lots
    assert lots is not None
    assert (lots["gold_lots"], lots["predicted_lots"], lots["found"]) == (2, 3, 2)
    award = lots["fields"]["award_amount_cny"]
    assert (award["tp"], award["fp"], award["fn"]) == (0, 2, 1)  # 包1 wrong (fp+fn), 包3 invented (fp)
    sup = lots["fields"]["suppliers"]
    assert (sup["tp"], sup["fp"], sup["fn"]) == (1, 1, 0)
    status = lots["fields"]["status"]
    assert (status["tp"], status["fp"], status["fn"]) == (2, 1, 0)
    assert lots["wrong_documents"] == ["award-one-failed-lot.pdf"]
    without = score([g], [{k: v for k, v in record.items() if k != "lots"}])
    assert s.micro_f1 == without.micro_f1 == 1.0  # lots never enter the contract's figures
    assert without.lots is not None and without.lots["found"] == 0 and without.lots["recall"] == 0.0


def test_lots_pair_by_number_then_name() -> None:
    assert [lot_number({"id": t}) for t in ("第一包", "包02", "1", "第十二标段", "A包")] == [1, 2, 1, 12, None]
    gold = [{"id": "第一包", "name": "普通耗材"}, {"id": "X", "name": "检验试剂"}]
    pred = [{"id": {"value": "检验"}, "name": {"value": "检验 试剂"}}, {"id": {"value": "包1"}}]
    pairs, extra = pair_lots(gold, pred)
    assert [p for _, p in pairs] == [pred[1], pred[0]] and extra == []
