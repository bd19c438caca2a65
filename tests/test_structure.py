"""Documents read as structure (issue 22): tables with spans and cell offsets from every reader,
rules that read key-value rows and column tables, lots in records, table cells as evidence, and
tables shown to the LLM with cell ids it may cite.

Real files: the hand-written table samples in samples/ (PDF, web, Word), a web page written here,
the real CLI in a subprocess, and the local OpenAI-protocol server for the LLM path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from extractor.backends.llm import LLMExtractor
from extractor.backends.rules import extract_rules_with_lots
from extractor.backends.rules.tables import read_facts
from extractor.core.config import LLMSettings
from extractor.core.document import Document
from extractor.core.evidence import verify_fields
from extractor.core.schema import load_schema
from extractor.read.formats import read_document
from extractor.read.pdf import read_pdf
from tests.conftest import SAMPLES, run_cli
from tests.openai_server import OpenAIServer, chat_reply
from tests.openai_server import openai_server as openai_server

WEB = SAMPLES / "web"
WORD = SAMPLES / "word"
_WS = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WS.sub("", text)


def _cells_found_in_page_text(doc: Document) -> None:
    """Every located cell's offsets slice the page text to the cell's text (whitespace aside)."""
    for page in doc.pages:
        for table in page.tables:
            for cell in table.cells:
                if cell.text and cell.start is not None:
                    assert _squash(page.text[cell.start:cell.end]) == _squash(cell.text)


# --- readers ------------------------------------------------------------------------------------

def test_html_table_keeps_rowspan_and_colspan_and_cell_offsets() -> None:
    doc = read_document(WEB / "ccgp-award-lots-rowspan.html")
    (table,) = doc.pages[0].tables
    grid = table.grid()
    assert (table.n_rows, table.n_cols) == (5, 4)
    lot1 = grid[1][0]
    assert lot1 is not None and lot1.text == "包1" and lot1.rowspan == 2
    assert grid[2][0] is lot1 and grid[2][2] is grid[1][2]  # 包1's supplier spans the 录播系统 row
    assert grid[2][1] is not None and grid[2][1].text == "录播系统"
    total = grid[4][0]
    assert total is not None and total.text == "合计" and total.colspan == 3
    assert [c.header for c in table.cells[:4]] == [True] * 4  # <th>
    assert all(c.start is not None for c in table.cells)
    _cells_found_in_page_text(doc)


def test_docx_table_keeps_vertical_and_horizontal_merges() -> None:
    doc = read_document(WORD / "award-lots-merged-cells.docx")
    kv, lots = doc.pages[0].tables
    assert [c.text for c in kv.cells[:4]] == ["项目编号", "HCDX-2025-ZB-0092", "采购方式", "公开招标"]
    grid = lots.grid()
    assert grid[1][3] is grid[2][3] and grid[1][3] is not None and grid[1][3].rowspan == 2  # w:vMerge
    assert grid[4][0] is not None and grid[4][0].text == "合计" and grid[4][0].colspan == 3  # w:gridSpan
    _cells_found_in_page_text(doc)


def test_pdf_table_cells_have_boxes_and_page_offsets() -> None:
    doc = read_pdf(SAMPLES / "award-two-lots-computer-lab.pdf")
    (table,) = doc.pages[0].tables
    assert (table.n_rows, table.n_cols) == (3, 5)
    rows = [[c.text if c else None for c in row] for row in table.grid()]
    assert rows[0] == ["包号", "包名称", "中标供应商", "供应商地址", "中标金额（元）"]
    assert rows[1][2] == "宜宾蜀通电子科技有限公司" and rows[2][4] == "287,400.00"  # wrapped cells joined
    assert all(c.bbox is not None and c.bbox[0] < c.bbox[2] and c.bbox[1] < c.bbox[3] for c in table.cells)
    _cells_found_in_page_text(doc)
    assert not read_pdf(SAMPLES / "award-two-lots-computer-lab.pdf", tables=False).pages[0].tables


def test_page_without_table_words_is_not_read_for_tables() -> None:
    doc = read_pdf(SAMPLES / "award-property-management.pdf")  # a ruled table, but no lot/total words
    assert all(not p.blocks for p in doc.pages)


def test_markdown_shows_cell_ids_and_merged_slots() -> None:
    (table,) = read_document(WEB / "ccgp-award-lots-rowspan.html").pages[0].tables
    md = table.to_markdown().splitlines()
    assert md[0].startswith("| [p1t1r0c0] 包号 |")
    assert "[p1t1r2c1] 录播系统" in md[3] and md[3].count("〃") == 3


# --- rules on structure -------------------------------------------------------------------------

def test_kv_grid_web_award_reads_each_value_from_its_own_cell() -> None:
    """A 公共资源交易 result page that is one key-value table: no heading names the kind, the winner
    (a consortium) and the price sit only in cells. Before: kind other, no name, code, winner, price."""
    doc = read_document(WEB / "zbgs-award-kv-grid-winner.html")
    fields, lots = extract_rules_with_lots(doc)
    assert fields["notice_type"].value == "award" and fields["notice_type"].confidence == "low"
    assert fields["project_name"].value == "云岭市北辰大道改扩建工程监理服务"
    assert fields["project_code"].value == "YLJ030017-202501-01"
    assert fields["suppliers"].value == ["湖南中路工程监理有限公司", "云岭公路勘察设计院有限公司"]
    assert fields["award_amount_cny"].value == 2386500
    winner = fields["suppliers"]  # the cell, not the flattened line
    assert winner.quote == "湖南中路工程监理有限公司、云岭公路勘察设计院有限公司联合体"
    assert winner.cell is not None and winner.cell["column"] == "中标人"
    assert lots == []  # one project, no lot table


def test_multi_lot_tender_budget_is_the_total_row() -> None:
    """预算金额：详见下表 — the text path took the last lot (95.80万); the 合计 row is the budget."""
    doc = read_pdf(SAMPLES / "tender-multi-lot-lab-furniture.pdf")
    fields, lots = extract_rules_with_lots(doc)
    budget = fields["budget_cny"]
    assert budget.value == 3543000
    assert budget.cell is not None and budget.cell["row"] == "合计" and budget.cell["column"] == "预算金额（万元）"
    assert budget.cell["bbox"][0] < budget.cell["bbox"][2]
    assert [(lot.id.value if lot.id else None, lot.budget_cny.value if lot.budget_cny else None, lot.status)
            for lot in lots] == [("第1包", 1865000, "open"), ("第2包", 720000, "open"), ("第3包", 958000, "open")]


def test_spanned_lot_rows_count_once_and_total_row_is_the_award() -> None:
    for path in (WEB / "ccgp-award-lots-rowspan.html", WORD / "award-lots-merged-cells.docx"):
        fields, lots = extract_rules_with_lots(read_document(path))
        assert fields["award_amount_cny"].value == 1698800, path.name  # not 1,286,000 twice
        assert fields["suppliers"].value == ["海川博文教育科技有限公司", "南屿新材家具制造有限公司"]
        assert [lot.id.value for lot in lots if lot.id] == ["包1", "包2"]
        assert [lot.status for lot in lots] == ["awarded", "awarded"]


def test_multi_lot_award_sums_lots_in_header_unit_and_names_every_winner() -> None:
    fields, lots = extract_rules_with_lots(read_pdf(SAMPLES / "award-multi-lot-campus-network.pdf"))
    assert fields["suppliers"].value == ["临江恒通网络科技有限公司", "江城智联信息技术有限公司", "海川安信数据有限公司"]
    assert [lot.award_amount_cny.value for lot in lots if lot.award_amount_cny] == [2684000, 1337500, 962000]


def test_failed_lot_gives_no_winner_and_award_stays_an_award() -> None:
    fields, lots = extract_rules_with_lots(read_pdf(SAMPLES / "award-one-failed-lot.pdf"))
    assert fields["notice_type"].value == "award"
    assert [(lot.id.value if lot.id else None, lot.status) for lot in lots] == [("第一包", "awarded"), ("第二包", "failed")]
    assert lots[1].suppliers is None and lots[1].award_amount_cny is None
    assert fields["suppliers"].value == ["南屿康达医药物流有限公司"] and fields["award_amount_cny"].value == 1320000


def _page(tmp_path: Path, body: str, name: str = "notice.html") -> Path:
    path = tmp_path / name
    path.write_text(f"<html><head><meta charset='utf-8'><title>交易平台</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    return path


def test_empty_failed_lots_table_does_not_make_a_termination(tmp_path: Path) -> None:
    """Its head says 废标结果 (a termination word) and no heading names the kind; the failed-lots
    table is empty (``/ / / /``) and the award table names a winner: an award."""
    body = ("<p>废标结果及中标结果</p>"
            "<table><tr><th>序号</th><th>标项名称</th><th>废标理由</th><th>其他事项</th></tr>"
            "<tr><td>/</td><td>/</td><td>/</td><td>/</td></tr></table>"
            "<table><tr><th>序号</th><th>中标供应商名称</th><th>中标金额（元）</th></tr>"
            "<tr><td>1</td><td>白石鑫源厨房设备有限公司</td><td>846,500.00</td></tr></table>")
    doc = read_document(_page(tmp_path, body))
    assert read_facts(doc.pages).empty_failed_tables == 1
    fields, _ = extract_rules_with_lots(doc)
    assert fields["notice_type"].value == "award"
    assert fields["suppliers"].value == ["白石鑫源厨房设备有限公司"] and fields["award_amount_cny"].value == 846500


def test_header_cell_is_never_a_value_and_rate_is_no_award(tmp_path: Path) -> None:
    """An award table whose winner column header sits beside 报价下浮率: the supplier is the cell
    under 中标人, never a header; a price given as a rate is no award amount."""
    body = ("<h3>某道路工程施工中标结果公示</h3>"
            "<table><tr><th>中标人</th><th>报价下浮率</th><th>中标价（元）</th></tr>"
            "<tr><td>宜陵路桥建设有限公司</td><td>下浮率3.5%</td><td>下浮率3.5%</td></tr></table>")
    fields, _ = extract_rules_with_lots(read_document(_page(tmp_path, body)))
    assert fields["suppliers"].value == ["宜陵路桥建设有限公司"]
    assert fields["award_amount_cny"].value is None


def test_kv_grid_buyer_is_its_cell_and_inline_labels_split(tmp_path: Path) -> None:
    body = ("<h3>宜陵市城东污水管网改造工程施工招标公告</h3>"
            "<table><tr><td>建设单位</td><td>宜陵市水务投资有限公司</td><td>工程类别</td><td>施工</td></tr></table>"
            "<p>项目编号：YLSW-2025-SG-008</p>")
    fields, _ = extract_rules_with_lots(read_document(_page(tmp_path, body)))
    assert fields["buyer"].value == "宜陵市水务投资有限公司"
    body = ("<h3>宜陵市城东道路工程招标公告</h3>"
            "<table><tr><td>招标人：宜陵市城投集团有限公司招标代理机构：宜陵正衡咨询有限公司</td></tr></table>")
    fields, _ = extract_rules_with_lots(read_document(_page(tmp_path, body, "inline.html")))
    assert fields["buyer"].value == "宜陵市城投集团有限公司"
    assert fields["agency"].value == "宜陵正衡咨询有限公司"


def test_table_evidence_quotes_the_page_and_verifies() -> None:
    doc = read_document(WEB / "ccgp-award-lots-rowspan.html")
    fields, lots = extract_rules_with_lots(doc)
    types = {f.name: f.type for f in load_schema("tender").fields}
    verify_fields(doc, fields, types)
    award = fields["award_amount_cny"]
    assert award.quote == "1,698,800.00" and award.verified is True
    assert award.cell == {"cell": "p1t1r4c3", "column": "中标金额（元）", "row": "合计"}


# --- records ------------------------------------------------------------------------------------

def test_records_carry_lots_only_for_lot_tables(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    r = run_cli("extract", str(SAMPLES / "award-one-failed-lot.pdf"), str(SAMPLES / "award-property-management.pdf"),
                "--backend", "rules", "--out", str(out))
    assert r.returncode == 0, r.stderr
    records = {Path(rec["file"]).name: rec for rec in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    lots = records["award-one-failed-lot.pdf"]["lots"]
    assert [lot["status"] for lot in lots] == ["awarded", "failed"]
    assert lots[0]["suppliers"]["value"] == ["南屿康达医药物流有限公司"]
    assert lots[0]["award_amount_cny"]["cell"]["column"] == "中标金额（元）"
    assert "lots" not in records["award-property-management.pdf"]
    gold = json.loads((SAMPLES / "award-one-failed-lot.gold.json").read_text(encoding="utf-8"))
    assert [g["status"] for g in gold["lots"]] == [lot["status"] for lot in lots]


# --- the LLM sees tables and may cite a cell -----------------------------------------------------

def test_llm_prompt_shows_tables_and_a_cited_cell_is_quoted_from_the_page(openai_server: OpenAIServer) -> None:
    doc = read_document(WEB / "ccgp-award-lots-rowspan.html")
    schema = load_schema("tender")
    cited = {
        "award_amount_cny": {"value": 1698800, "page": 1, "quote": "p1t1r4c3"},
        "suppliers": {"value": ["海川博文教育科技有限公司"], "page": 1, "quote": "[p1t1r1c2]"},
        "buyer": {"value": "海川大学", "page": 1, "quote": "p9t9r9c9"},  # no such cell: left as given
        "project_name": {"value": "海川大学智慧教室建设项目", "page": 1, "quote": "项目名称：海川大学智慧教室建设项目"},
    }
    empty = {"list": [], "boolean": False}
    reply = {f.name: cited.get(f.name, {"value": empty.get(f.type, f.enum[0] if f.enum and not f.nullable else None),
                                        "page": None, "quote": None}) for f in schema.fields}
    openai_server.enqueue(chat_reply({"fields": reply}))
    settings = LLMSettings(base_url=openai_server.url, api_key="sk-test", model="gpt-4o-mini", timeout=10,
                           max_retries=0)
    fields, _ = LLMExtractor(settings, None).extract(doc, schema)
    prompt = openai_server.chat_requests()[-1].prompt_text
    assert "Tables on this page" in prompt and "[p1t1r4c3] 1,698,800.00" in prompt
    assert fields["award_amount_cny"].quote == "1,698,800.00" and fields["award_amount_cny"].cell == {"cell": "p1t1r4c3"}
    assert fields["suppliers"].quote == "海川博文教育科技有限公司"
    assert fields["buyer"].quote == "p9t9r9c9"
    verify_fields(doc, fields, {f.name: f.type for f in schema.fields})
    assert fields["award_amount_cny"].verified is True and fields["buyer"].verified is False


@pytest.mark.parametrize("name", ["tender-multi-lot-lab-furniture", "award-multi-lot-campus-network",
                                  "award-kv-grid-construction", "award-one-failed-lot", "award-empty-failed-table",
                                  "web/zbgs-award-kv-grid-winner", "web/ccgp-award-lots-rowspan",
                                  "word/award-lots-merged-cells"])
def test_table_samples_are_right_field_by_field(name: str) -> None:
    gold = json.loads((SAMPLES / f"{name}.gold.json").read_text(encoding="utf-8"))
    path = next(p for p in SAMPLES.glob(f"{name}.*") if not p.name.endswith(".gold.json"))
    fields, lots = extract_rules_with_lots(read_document(path))
    for key, want in gold["labels"].items():
        assert fields[key].value == want, (name, key, fields[key].value)
    for want, got in zip(gold.get("lots", []), lots, strict=True):
        assert (got.id.value if got.id else None) == want["id"] and got.status == want["status"]
        assert (got.award_amount_cny.value if got.award_amount_cny else None) == want["award_amount_cny"]
        assert (got.suppliers.value if got.suppliers else []) == want["suppliers"]


def test_consortium_winner_is_its_members_in_text_too(tmp_path: Path) -> None:
    """A plain-text notice (no table) names a consortium: suppliers lists each member, as from a cell."""
    path = tmp_path / "award.txt"
    path.write_text("某某道路工程中标结果公示\n招标人：宜陵市城投集团有限公司\n"
                    "中标人：宜陵路桥建设有限公司、宜陵市政设计院有限公司联合体\n中标价(元)：1286000.00\n",
                    encoding="utf-8")
    fields, _ = extract_rules_with_lots(read_document(path))
    assert fields["suppliers"].value == ["宜陵路桥建设有限公司", "宜陵市政设计院有限公司"]


def test_kv_grid_with_winner_and_price_is_an_award_even_if_the_body_says_招标(tmp_path: Path) -> None:
    grid = ("<table><tr><td>招标人:</td><td>宜都市两江城市投资发展集团有限公司</td></tr>"
            "<tr><td>中标范围和内容:</td><td>设计施工图、招标工程量清单、招标文件范围内的全部工程内容。</td></tr>"
            "{rows}</table>")
    award = grid.format(rows="<tr><td>中标人:</td><td>宜都市市政工程公司</td></tr>"
                             "<tr><td>中标价(元):</td><td>7596447.34</td></tr>")
    fields, _ = extract_rules_with_lots(read_document(_page(tmp_path, award)))
    assert fields["notice_type"].value == "award" and fields["notice_type"].confidence == "low"
    assert fields["award_amount_cny"].value == 7596447.34
    tender = grid.format(rows="<tr><td>最高限价(元):</td><td>7600000.00</td></tr>")
    fields, _ = extract_rules_with_lots(read_document(_page(tmp_path, tender, "tender.html")))
    assert fields["notice_type"].value != "award"


def test_grid_with_a_long_cell_keeps_its_cells(tmp_path: Path) -> None:
    """A key-value grid whose scope cell runs past 500 characters is read block by block as page text
    (as before), and its cells are still kept: the winner and price come from them."""
    scope = "新建10KV架空导线路径长2827m，" * 40
    body = ("<table><tr><td>招标人:</td><td>宜昌夷陵经发能源有限公司</td></tr>"
            "<tr><td>标段(包)名称:</td><td>岩花综合能源服务站10KV配电工程</td></tr>"
            "<tr><td>中标人:</td><td>宜昌昌耀电业集团有限公司</td></tr>"
            f"<tr><td>中标范围和内容:</td><td>{scope}</td></tr>"
            "<tr><td>中标价(元):</td><td>18520052.03</td></tr></table>")
    doc = read_document(_page(tmp_path, body))
    assert "\t" not in doc.pages[0].text.split("\n")[0]  # not flattened as a data table
    (table,) = doc.pages[0].tables
    assert table.n_rows == 5 and all(c.start is not None for c in table.cells)
    fields, _ = extract_rules_with_lots(doc)
    assert fields["notice_type"].value == "award"
    assert fields["suppliers"].value == ["宜昌昌耀电业集团有限公司"] and fields["award_amount_cny"].value == 18520052.03


def test_retrieved_chunks_come_with_their_pages_tables(openai_server: OpenAIServer) -> None:
    """A document too long for one call is sent as retrieved chunks per field group; the tables of
    the chunks' pages follow them, so the 合计 cell can be seen and cited."""
    doc = read_pdf(SAMPLES / "tender-multi-lot-lab-furniture.pdf")
    schema = load_schema("tender")
    empty = {"list": [], "boolean": False}

    def answer(req):  # type: ignore[no-untyped-def]
        names = req.body["response_format"]["json_schema"]["schema"]["properties"]["fields"]["required"]
        fields = {}
        for n in names:
            f = schema.field(n)
            value = empty.get(f.type, f.enum[0] if f.enum and not f.nullable else ("未知" if not f.nullable else None))
            fields[n] = {"value": value, "page": None, "quote": None}
        if "budget_cny" in names:
            fields["budget_cny"] = {"value": 3543000, "page": 1, "quote": "p1t1r4c3"}
        return chat_reply({"fields": fields})

    openai_server.handler = answer
    settings = LLMSettings(base_url=openai_server.url, api_key="sk-test", model="gpt-4o-mini", timeout=10,
                           max_retries=0)
    fields, _ = LLMExtractor(settings, None, max_prompt_tokens=3600).extract(doc, schema)
    prompts = [r.prompt_text for r in openai_server.chat_requests()]
    assert len(prompts) > 1  # retrieval units, not the whole document
    assert any("Tables on this page" in p and "[p1t1r4c3] 354.30" in p for p in prompts)
    assert fields["budget_cny"].quote == "354.30" and fields["budget_cny"].cell is not None
