"""A value is verified only under its own field's label (issue 23, "the quote states this value for
this field").

``招标人：城南区教育局 招标代理机构：江西城信咨询有限公司`` holds the buyer's label and a well-formed
organisation, yet the agency is not the buyer: the label it stands under is 招标代理机构. A model (a
real local OpenAI-protocol server) that answers the agency as the buyer, quoting that line, gets a
located but unverified value; the same line verifies the real buyer and the agency. In a table the
label is the cell's: its column header or the label cell left of it, and a header cell is never a
value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from extractor.core.document import Document, FieldValue, Page
from extractor.core.evidence import verify_fields
from extractor.core.schema import load_schema
from extractor.core.structure import build_table, locate_cells
from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, schema_valid_fields

LINE = "招标人：城南区教育局 招标代理机构：江西城信咨询有限公司"
NOTICE = """<html><head><meta charset="utf-8"><title>中标候选人公示</title></head><body>
<h3>城南区第二中学教学楼改造工程中标候选人公示</h3>
<p>项目名称：城南区第二中学教学楼改造工程</p>
<p>项目编号：CN-2025-031</p>
<p>{line}</p>
<p>第一中标候选人：江西建工集团有限公司</p>
<p>联系人：张三 联系电话：0791-8888123</p>
<p>备注：{group}</p>
</body></html>"""

# group -> (field, value, quote, verified?)
GROUPS: dict[str, list[tuple[str, Any, str, bool]]] = {
    "wrong": [("buyer", "江西城信咨询有限公司", LINE, False),  # the agency, under 招标代理机构
              ("suppliers", ["江西建工集团有限公司"], "第一中标候选人：江西建工集团有限公司", False)],  # a candidate
    "right": [("buyer", "城南区教育局", LINE, True), ("agency", "江西城信咨询有限公司", LINE, True)],
}


def model(req: Recorded) -> Reply:
    fields = schema_valid_fields()
    group = next(g for g in GROUPS if f"备注：{g}" in req.prompt_text)
    for name, value, quote, _ in GROUPS[group]:
        fields[name] = {"value": value, "page": 1, "quote": quote}
    return chat_reply({"fields": fields})


def test_a_value_under_another_fields_label_is_located_not_verified(tmp_path: Path) -> None:
    docs = tmp_path / "in"
    docs.mkdir()
    for group in GROUPS:
        (docs / f"{group}.html").write_text(NOTICE.format(line=LINE, group=group), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    with OpenAIServer() as server:
        server.handler = model
        res = run_cli("extract", str(docs), "--backend", "llm", "-o", str(out), "--store", str(tmp_path / "s"),
                      env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": "m"})
    assert res.returncode == 0, res.stdout + res.stderr
    records = {Path(r["file"]).stem: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for group, cases in GROUPS.items():
        for name, value, _quote, verified in cases:
            fv = records[group]["fields"][name]
            assert fv["value"] == value, (group, name, fv)
            assert fv["located"] is True, (group, name, fv)
            assert (fv.get("verified") is True) is verified, (group, name, fv)
            if not verified:
                assert f"unverified:{name}" in records[group]["flags"], (group, records[group]["flags"])


def _table_page() -> Page:
    """An award table as a reader gives it: the header row, one winner row; cells located in the text."""
    text = "评标结果\n中标人 中标价 报价下浮率\n甲建设有限公司 1,280,000元 5%\n"
    table = build_table("p1t1", 1, [[("中标人", 1, 1, True), ("中标价", 1, 1, True), ("报价下浮率", 1, 1, True)],
                                    [("甲建设有限公司", 1, 1, False), ("1,280,000元", 1, 1, False), ("5%", 1, 1, False)]])
    locate_cells(table, text)
    return Page(1, text, blocks=[table])


def _verify(page: Page, field: str, value: Any, quote: str) -> FieldValue:
    doc = Document("t.html", "0" * 64, [page])
    fv = FieldValue(value, page=1, quote=quote, confidence="high")
    schema = load_schema("tender")
    verify_fields(doc, {field: fv}, {f.name: f.type for f in schema.fields}, schema=schema)
    return fv


def test_a_table_value_takes_its_columns_label() -> None:
    page = _table_page()
    # in the text the nearest label before the winner is 中标价 (the award's); its cell's column says 中标人
    assert _verify(page, "suppliers", ["甲建设有限公司"], "甲建设有限公司").verified is True
    buyer = _verify(page, "buyer", "甲建设有限公司", "甲建设有限公司")  # the winner's column, not the buyer's
    assert buyer.located is True and buyer.verified is False and "label" in (buyer.reason or "")


def test_a_header_cell_is_never_a_value() -> None:
    header = _verify(_table_page(), "suppliers", ["报价下浮率"], "报价下浮率")  # a column's name, as a winner
    assert header.located is True and header.verified is False and "header" in (header.reason or ""), header.reason


def test_a_neutral_label_under_the_fields_block_still_verifies() -> None:
    """ccgp's 采购人信息 block writes the buyer as 名称：X — 名称 names no field and is passed over."""
    text = "一、采购人信息\n名 称：城南区教育局\n地 址：城南区人民路1号\n"
    fv = _verify(Page(1, text), "buyer", "城南区教育局", "名 称：城南区教育局")
    assert fv.verified is True, fv.reason
    contact = _verify(Page(1, "采购人：城南区教育局\n联系人：城南区教育局办公室\n"), "buyer", "城南区教育局办公室",
                      "联系人：城南区教育局办公室")
    assert contact.verified is False and "联系人" in (contact.reason or "")


def test_the_agency_under_its_own_label_is_not_the_buyer() -> None:
    """In-process, with no second engine to dispute it (the CLI run above also has the rules engine's
    reading, which disagrees): the buyer's label 40 characters back does not make the agency the buyer."""
    page = Page(1, f"项目名称：城南区第二中学教学楼改造工程\n{LINE}\n")
    wrong = _verify(page, "buyer", "江西城信咨询有限公司", LINE)
    assert wrong.located is True and wrong.verified is False and "招标代理机构" in (wrong.reason or ""), wrong.reason
    assert _verify(page, "buyer", "城南区教育局", LINE).verified is True
    assert _verify(page, "agency", "江西城信咨询有限公司", LINE).verified is True


def test_a_name_holding_another_label_ran_into_it() -> None:
    """A label the checks file does not list (监理单位：) glued onto the buyer: a name never holds `词：`."""
    line = "招标人：城北区水务局 监理单位：城北建设监理有限公司"
    fv = _verify(Page(1, line + "\n"), "buyer", "城北区水务局 监理单位：城北建设监理有限公司", line)
    assert fv.located is True and fv.verified is False and "监理单位" in (fv.reason or ""), fv.reason
    assert _verify(Page(1, line + "\n"), "buyer", "城北区水务局", line).verified is True
