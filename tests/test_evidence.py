"""Evidence quotes are checked against the raw page text, ignoring whitespace and width."""

from __future__ import annotations

from pathlib import Path

from extractor.core.document import Document, FieldValue, Page
from extractor.core.evidence import find_page, locate, verify, verify_quote


def test_verify_quote_whitespace_and_width_insensitive() -> None:
    page = "采 购 人：深圳大学\n预算金额：５０万元\n二、项目名称：GPU云\n服务采购"
    assert verify_quote(page, "采购人：深圳大学")
    assert verify_quote(page, "预算金额：50万元")
    assert verify_quote(page, "GPU云服务采购")
    assert not verify_quote(page, "预算金额：60万元")
    assert not verify_quote(page, "")
    assert not verify_quote(page, "   ")
    assert not verify_quote("", "深圳大学")


def _doc() -> Document:
    return Document(path="x.pdf", sha256="0" * 64, pages=[
        Page(1, "一、项目编号：SZU-2024-01\n二、项目名称：算力租赁"),
        Page(2, "中标金额：１２０ 万元\n2024年3月18日"),
    ])


def test_verify_checks_the_stated_page() -> None:
    doc = _doc()
    assert verify(doc, FieldValue("SZU-2024-01", page=1, quote="项目编号：SZU-2024-01"))
    assert not verify(doc, FieldValue("SZU-2024-01", page=2, quote="项目编号：SZU-2024-01"))
    assert not verify(doc, FieldValue("x", page=9, quote="项目编号"))
    assert not verify(doc, FieldValue("x", page=None, quote="项目编号"))
    assert not verify(doc, FieldValue("x", page=1, quote=None))
    assert verify(doc, FieldValue(1200000, page=2, quote="中标金额：120万元"))


def test_find_page_and_locate_give_raw_offsets() -> None:
    doc = _doc()
    assert find_page(doc, "2024年3月18日") == 2
    assert find_page(doc, "不存在的文字") is None
    page, start, end = locate(doc, "中标金额：120万元")
    assert page == 2
    assert doc.pages[1].text[start:end] == "中标金额：１２０ 万元"


def test_verify_on_a_real_pdf(tmp_path: Path) -> None:
    from extractor.read.pdf import read_pdf
    from tests.pdf_factory import make_pdf

    path = make_pdf(tmp_path / "n.pdf", [["采购人：沪东理工大学", "预算金额：145万元"], ["2024年6月21日"]])
    doc = read_pdf(path)
    assert verify(doc, FieldValue("沪东理工大学", page=1, quote="采购人：沪东理工大学"))
    assert verify(doc, FieldValue("2024-06-21", page=2, quote="2024年6月21日"))
    assert not verify(doc, FieldValue("2024-06-21", page=1, quote="2024年6月21日"))
