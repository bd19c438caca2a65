"""OCDS mapping of every notice type, checked against the published OCDS 1.1.5 schemas.

Hand-written records (tests/test_cases.py `rec`) cover the types the chain samples do not: a
contract, a single-source publicity, a correction after the award, the doubtful methods.
"""

from __future__ import annotations

import pytest

from extractor.export.compile import compile_records, patched_release_schema
from extractor.export.ocds import mapping, records_to_package
from extractor.export.validate import record_package_errors, release_errors, release_package_errors
from tests.test_cases import rec


def _with_method(r: dict, method: str | None) -> dict:
    r["fields"]["procurement_method"] = {"value": method, "page": 1 if method else None,
                                         "quote": "采购方式" if method else None, "verified": bool(method)}
    return r


def _package(records: list[dict]) -> dict:
    pkg = records_to_package(records, prefix="ocds-test01", published="2026-12-01T00:00:00+00:00")
    assert release_package_errors(pkg) == []
    assert all(release_errors(r, patched_release_schema()) == [] for r in pkg["releases"])
    return pkg


def test_every_notice_type_gets_its_tag_and_a_valid_release() -> None:
    recs = [rec(f"{t}.pdf", t, f"2024-0{i + 1}-10", code="ZB-9", budget=100.0) for i, t in
            enumerate(["intention", "tender", "correction", "termination", "other"])]
    tags = {r["evidence"][0]["document"]: r["tag"] for r in _package(recs)["releases"]}
    want = {t: [mapping()["notice_types"][t]["tag"]] for t in ("intention", "tender", "correction", "termination", "other")}
    assert tags == {f"{t}.pdf": tag for t, tag in want.items()}
    assert want["other"] == ["tenderUpdate"] and want["termination"] == ["tenderCancellation"]


def test_correction_after_the_award_is_an_award_update_and_contract_points_at_the_award() -> None:
    recs = [rec("t.pdf", "tender", "2024-01-10", code="ZB-9", budget=100.0),
            rec("a.pdf", "award", "2024-02-10", code="ZB-9", award=90.0, suppliers=["乙公司"]),
            rec("c.pdf", "correction", "2024-02-20", code="ZB-9", award=95.0, suppliers=["乙公司"]),
            rec("k.pdf", "contract", "2024-03-10", code="ZB-9", award=95.0, suppliers=["乙公司"])]
    pkg = _package(recs)
    rels = {r["evidence"][0]["document"]: r for r in pkg["releases"]}
    assert rels["c.pdf"]["tag"] == ["awardUpdate"]
    award_id = rels["a.pdf"]["awards"][0]["id"]
    assert rels["c.pdf"]["awards"][0]["id"] == award_id  # the corrected award, not a new one
    [contract] = rels["k.pdf"]["contracts"]
    assert contract["awardID"] == award_id == rels["k.pdf"]["awards"][0]["id"]
    assert contract["value"] == {"amount": 95.0, "currency": "CNY"}
    records = compile_records(pkg)
    assert record_package_errors(records) == []
    [record] = records["records"]
    compiled = record["compiledRelease"]
    assert len(compiled["awards"]) == 1 and compiled["contracts"][0]["awardID"] == award_id
    assert compiled["awards"][0]["value"]["amount"] == 95.0
    assert {p["name"]: p["roles"] for p in compiled["parties"]}["乙公司"] == ["supplier"]


def test_single_source_names_a_tenderer_and_maps_to_direct() -> None:
    r = _with_method(rec("s.pdf", "single_source", "2024-01-10", code="DY-1", suppliers=["丙公司"]), "single_source")
    [rel] = _package([r])["releases"]
    assert rel["tag"] == ["tender"] and "awards" not in rel
    assert rel["tender"]["procurementMethod"] == "direct" and rel["tender"]["tenderers"][0]["name"] == "丙公司"
    assert {p["name"]: p["roles"] for p in rel["parties"]}["丙公司"] == ["tenderer"]


@pytest.mark.parametrize(("method", "code", "details"), [
    ("public_tender", "open", "公开招标"),
    ("invited_tender", "selective", "邀请招标"),
    ("competitive_negotiation", "limited", "竞争性谈判"),
    ("competitive_consultation", "limited", "竞争性磋商"),
    ("inquiry", "limited", "询价"),
    ("single_source", "direct", "单一来源"),
    ("framework", None, "框架协议"),
    (None, None, None),
])
def test_procurement_methods_map_to_the_closed_codelist(method: str | None, code: str | None,
                                                        details: str | None) -> None:
    [rel] = _package([_with_method(rec("t.pdf", "tender", "2024-01-10", code="M-1"), method)])["releases"]
    assert rel["tender"].get("procurementMethod") == code
    assert rel["tender"].get("procurementMethodDetails") == details


def test_undated_notice_uses_the_package_date_and_buyerless_notice_has_no_buyer() -> None:
    [rel] = _package([rec("u.pdf", "tender", None, code="U-1", buyer=None)])["releases"]
    assert rel["date"] == "2026-12-01T00:00:00+00:00" and "buyer" not in rel
