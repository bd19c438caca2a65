"""Linking notices into cases: each rule, the never-merge cases, and the history a correction leaves.

The inputs are records in the records.jsonl format written by hand here (the fields a linker reads),
so every rule can be tried on the exact case it is for; tests/test_cases_cli.py runs the same on real
rendered PDFs through the CLI.
"""

from __future__ import annotations

from typing import Any

import pytest

from extractor.cases.keys import name_similarity, norm_code, norm_name, split_lot
from extractor.cases.link import link_records
from extractor.cases.view import build_cases


def rec(file: str, notice_type: str, date: str | None, *, code: str | None = None, buyer: str | None = "甲市数据局",
        name: str | None = "甲市数据局2024年算力云服务采购项目", budget: float | None = None,
        award: float | None = None, suppliers: list[str] | None = None, flags: list[str] | None = None,
        **extra: Any) -> dict[str, Any]:
    def fv(value: Any, quote: str | None = None, page: int = 1) -> dict[str, Any]:
        if value in (None, []):
            return {"value": value, "page": None, "quote": None}
        return {"value": value, "page": page, "quote": quote or str(value), "verified": True}

    fields = {
        "notice_type": fv(notice_type), "project_code": fv(code, f"项目编号：{code}"),
        "project_name": fv(name), "buyer": fv(buyer, f"采购人：{buyer}"), "publish_date": fv(date),
        "budget_cny": fv(budget, f"预算金额：{budget}元", page=2), "award_amount_cny": fv(award),
        "suppliers": fv(suppliers or []), "restricted_us_tech": fv("restricted_us_tech" in (flags or [])),
    }
    return {"file": file, "sha256": file * 2, "schema": "tender", "fields": fields, "flags": flags or [],
            "errors": [], **extra}


def groups(records: list[dict[str, Any]], **kw: Any) -> set[frozenset[str]]:
    return {frozenset(n.file for n in c.notices) for c in link_records(records, **kw)}


# --- the comparison forms ---------------------------------------------------------------------------


def test_codes_compare_across_full_width_spaces_and_case() -> None:
    assert norm_code("ＸＹＹＹ２０２４－ＧＫ－０４２") == norm_code("XYYY2024-GK-042") == norm_code(" xyyy 2024-gk-042 ")
    assert norm_code("ＺＢ（２０２４）０１") == norm_code("ZB(2024)01")


@pytest.mark.parametrize(("code", "base", "lot"), [
    ("JC2024-018包1", "JC2024-018", "1"),
    ("JC2024-018(包2)", "JC2024-018", "2"),
    ("JC2024-018-包3", "JC2024-018", "3"),
    ("JC2024-018第二标段", "JC2024-018", "二"),
    ("JC2024-018-LOT4", "JC2024-018", "4"),
    ("XYYY2024-GK-042", "XYYY2024-GK-042", None),  # a numeric tail is not a lot by itself
])
def test_lot_suffixes_split_off(code: str, base: str, lot: str | None) -> None:
    assert split_lot(norm_code(code)) == (base, lot)


def test_numeric_lot_only_when_the_bare_code_is_printed_too() -> None:
    assert split_lot("JC2024-018-01", {"JC2024-018", "JC2024-018-01"}) == ("JC2024-018", "01")
    assert split_lot("JC2024-018-01", {"JC2024-018-01"}) == ("JC2024-018-01", None)


def test_names_drop_their_notice_type_ending() -> None:
    assert norm_name("甲市数据局2024年算力云服务采购项目更正公告") == norm_name("甲市数据局2024年算力云服务采购项目")
    assert norm_name("甲市数据局2024年算力云服务采购项目采购意向公开") == norm_name("甲市数据局 2024年算力云服务采购项目")


@pytest.mark.parametrize(("a", "b"), [
    ("明德市第一中学智慧教室设备采购项目（一期）", "明德市第一中学智慧教室设备采购项目（二期）"),
    ("甲市数据局2023年算力云服务采购项目", "甲市数据局2024年算力云服务采购项目"),
    ("甲市计算机教室设备采购A包", "甲市计算机教室设备采购B包"),
])
def test_names_that_differ_in_a_number_never_match(a: str, b: str) -> None:
    assert name_similarity(norm_name(a), norm_name(b)) == 0.0


def test_near_identical_names_match() -> None:
    a, b = norm_name("甲市数据局2024年政务算力云服务采购项目"), norm_name("甲市数据局2024年政务算力云服务租用项目")
    assert 0.9 <= name_similarity(a, b) < 1.0
    assert name_similarity(a, norm_name("甲市数据局2024年办公家具采购项目")) < 0.9


# --- rule 1: the code --------------------------------------------------------------------------------


def test_same_code_printed_full_and_half_width_is_one_case() -> None:
    recs = [rec("t.pdf", "tender", "2024-06-03", code="ＸＹＹＹ２０２４－ＧＫ－０４２"),
            rec("x.pdf", "termination", "2024-06-26", code="XYYY2024-GK-042", name="另一种写法的项目名称")]
    [case] = link_records(recs)
    assert [n.file for n in case.notices] == ["t.pdf", "x.pdf"]
    assert {n.link for n in case.notices} == {"code"} and case.codes == ["XYYY2024-GK-042"]


def test_lots_stay_in_the_case_of_their_code() -> None:
    recs = [rec("t.pdf", "tender", "2024-03-01", code="JC2024-018"),
            rec("a1.pdf", "award", "2024-04-01", code="JC2024-018-01"),
            rec("a2.pdf", "award", "2024-04-01", code="JC2024-018包2")]
    [case] = link_records(recs)
    assert case.lots == ["01", "2"] and len(case.notices) == 3


def test_two_different_codes_never_merge_even_with_identical_buyer_and_name() -> None:
    recs = [rec("a.pdf", "tender", "2024-03-01", code="JC2024-018"),
            rec("b.pdf", "tender", "2024-03-02", code="JC2024-019")]
    assert groups(recs) == {frozenset({"a.pdf"}), frozenset({"b.pdf"})}


def test_one_code_printed_by_two_buyers_is_two_cases() -> None:
    recs = [rec("a.pdf", "tender", "2024-03-01", code="2024-001", buyer="甲大学"),
            rec("b.pdf", "award", "2024-04-01", code="2024-001", buyer="乙医院")]
    cases = link_records(recs)
    assert len(cases) == 2 and all("different buyers" in c.notes[0] for c in cases)


# --- rule 2: buyer + name inside the window ----------------------------------------------------------


def test_codeless_intention_joins_the_tender_by_buyer_and_name() -> None:
    recs = [rec("i.pdf", "intention", "2024-01-15", budget=3_600_000),
            rec("t.pdf", "tender", "2024-04-02", code="JC2024-018", budget=3_600_000)]
    [case] = link_records(recs)
    intention = case.notices[0]
    assert intention.file == "i.pdf" and intention.link == "buyer+name"
    assert "t.pdf" in intention.why and "78 days apart" in intention.why


def test_codeless_notice_of_another_buyer_or_outside_the_window_stays_apart() -> None:
    tender = rec("t.pdf", "tender", "2024-04-02", code="JC2024-018")
    other_buyer = rec("o.pdf", "intention", "2024-01-15", buyer="乙市数据局")
    too_late = rec("l.pdf", "termination", "2026-01-15")
    assert groups([tender, other_buyer, too_late]) == {frozenset({"t.pdf"}), frozenset({"o.pdf"}), frozenset({"l.pdf"})}
    assert groups([tender, too_late], window_days=1000) == {frozenset({"t.pdf", "l.pdf"})}


def test_codeless_notice_picks_the_phase_its_name_says() -> None:
    one = rec("p1.pdf", "tender", "2024-03-05", code="MD-015", name="明德市第一中学智慧教室设备采购项目（一期）")
    two = rec("p2.pdf", "tender", "2024-09-10", code="MD-027", name="明德市第一中学智慧教室设备采购项目（二期）")
    intent = rec("i2.pdf", "intention", "2024-07-01", name="明德市第一中学智慧教室设备采购项目（二期）")
    assert groups([one, two, intent]) == {frozenset({"p1.pdf"}), frozenset({"p2.pdf", "i2.pdf"})}


def test_codeless_notice_matching_two_cases_equally_is_linked_to_neither() -> None:
    a = rec("a.pdf", "tender", "2024-03-01", code="JC-1")
    b = rec("b.pdf", "tender", "2024-03-03", code="JC-2")
    x = rec("x.pdf", "termination", "2024-03-02")
    cases = link_records([a, b, x])
    assert len(cases) == 3
    alone = next(c for c in cases if c.notices[0].file == "x.pdf")
    assert alone.notices[0].link == "first" and "linked to neither" in alone.notes[0]


def test_codeless_notices_link_to_each_other_and_undated_needs_an_identical_name() -> None:
    recs = [rec("i.pdf", "intention", "2024-01-10"), rec("x.pdf", "termination", "2024-05-01"),
            rec("u.pdf", "other", None, name="甲市数据局2024年算力云服务租用项目")]
    assert groups(recs) == {frozenset({"i.pdf", "x.pdf"}), frozenset({"u.pdf"})}


def test_failed_records_are_not_notices() -> None:
    broken = {"file": "broken.pdf", "sha256": "", "fields": {}, "errors": ["truncated: cut short"]}
    assert groups([broken, rec("t.pdf", "tender", "2024-01-01", code="A-1")]) == {frozenset({"t.pdf"})}


# --- the case view -----------------------------------------------------------------------------------


def chain() -> list[dict[str, Any]]:
    return [
        rec("i.pdf", "intention", "2024-01-15", budget=3_600_000),
        rec("t.pdf", "tender", "2024-04-02", code="JC2024-018", budget=3_600_000, flags=["restricted_us_tech"]),
        rec("c.pdf", "correction", "2024-04-12", code="JC2024-018", budget=3_800_000),
        rec("a.pdf", "award", "2024-05-20", code="JC2024-018", budget=3_800_000, award=3_765_000,
            suppliers=["江川云启数字科技有限公司"]),
    ]


def test_view_takes_the_corrected_budget_and_keeps_its_history() -> None:
    [case] = build_cases(chain())
    budget = case["view"]["budget_cny"]
    assert budget["value"] == 3_800_000 and budget["file"] == "c.pdf" and budget["page"] == 2
    assert budget["quote"] == "预算金额：3800000元"
    assert budget["display"] == "3,800,000 ← 3,600,000 (correction, 2024-04-12)"
    assert [h["file"] for h in budget["history"]] == ["t.pdf"]


def test_two_corrections_leave_two_steps_of_history() -> None:
    recs = [*chain()[:3], rec("c2.pdf", "correction", "2024-04-20", code="JC2024-018", budget=3_900_000)]
    [case] = build_cases(recs)
    assert case["view"]["budget_cny"]["display"] == (
        "3,900,000 ← 3,800,000 (correction, 2024-04-20) ← 3,600,000 (correction, 2024-04-12)")


def test_view_award_suppliers_status_and_flag_name_their_notice() -> None:
    [case] = build_cases(chain())
    v = case["view"]
    assert (v["award_amount_cny"]["value"], v["award_amount_cny"]["file"]) == (3_765_000, "a.pdf")
    assert v["suppliers"]["value"] == ["江川云启数字科技有限公司"] and v["suppliers"]["notice_type"] == "award"
    assert v["status"] == {"value": "awarded", "file": "a.pdf", "notice_type": "award", "publish_date": "2024-05-20"}
    assert v["restricted_us_tech"]["value"] is True and v["restricted_us_tech"]["file"] == "t.pdf"
    assert case["flagged"] is True
    assert [n["notice_type"] for n in case["notices"]] == ["intention", "tender", "correction", "award"]
    assert [n["link"] for n in case["notices"]] == ["buyer+name", "code", "code", "code"]


@pytest.mark.parametrize(("types", "status"), [
    (["tender"], "open"),
    (["intention"], "open"),
    (["tender", "correction"], "corrected"),
    (["tender", "termination"], "terminated"),
    (["tender", "award", "correction"], "awarded"),  # a correction of the result keeps it awarded
    (["tender", "award", "contract"], "contracted"),
    (["tender", "termination", "tender"], "open"),  # re-tendered under the same code
])
def test_status_follows_the_notices(types: list[str], status: str) -> None:
    recs = [rec(f"{i}.pdf", t, f"2024-0{i + 1}-01", code="S-1") for i, t in enumerate(types)]
    [case] = build_cases(recs)
    assert case["view"]["status"]["value"] == status


def test_single_source_supplier_is_not_an_award() -> None:
    [case] = build_cases([rec("s.pdf", "single_source", "2024-01-01", code="S-1", suppliers=["某公司"])])
    assert case["view"]["suppliers"] is None and case["view"]["status"]["value"] == "open"


def test_screening_entries_are_carried_with_their_notice_and_listed_ones_flag_the_case() -> None:
    listed = {"party": "某公司", "role": "supplier", "list": "entity_list", "entry": "EL-1", "citation": "x",
              "match": "exact", "score": 1.0, "as_of": "2026-11-01", "matched_name": "某公司", "confidence": "high",
              "note": ""}
    buyer = {**listed, "party": "甲市数据局", "role": "buyer", "entry": "EL-2", "match": "similar", "score": 0.8}
    recs = [rec("t.pdf", "tender", "2024-01-01", code="S-1", screening=[buyer]),
            rec("a.pdf", "award", "2024-02-01", code="S-1", suppliers=["某公司"], screening=[buyer, listed])]
    [case] = build_cases(recs)
    entries = {e["party"]: e for e in case["view"]["screening"]}
    assert entries["甲市数据局"]["file"] == "t.pdf" and entries["甲市数据局"]["also_in"] == ["a.pdf"]
    assert entries["某公司"]["file"] == "a.pdf" and entries["某公司"]["list"] == "entity_list"
    assert case["flagged"] is True
    [similar_only] = build_cases([rec("t.pdf", "tender", "2024-01-01", code="S-1", screening=[buyer])])
    assert similar_only["flagged"] is False  # a similar name is a lead, not a listing
    [clean] = build_cases([rec("t.pdf", "tender", "2024-01-01", code="S-1", screening=[])])
    assert clean["flagged"] is False and clean["view"]["screening"] == []
