"""The clean view of tender text and its map back to the raw text."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.core.document import Page
from extractor.read.cleaning import clean_page, is_boilerplate_page, is_page_number_line, strip_repeated_lines
from tests.conftest import SAMPLES

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "tender-packages"


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def assert_maps_back(raw: str, clean: str, clean_map: list[int]) -> None:
    """Every clean char comes from raw[clean_map[i]] (modulo NFKC and whitespace), in order."""
    assert len(clean) == len(clean_map)
    assert clean_map == sorted(clean_map)
    for i, ch in enumerate(clean):
        assert 0 <= clean_map[i] < len(raw)
        if not ch.isspace():
            assert nfkc(raw[clean_map[i]]) == nfkc(ch), (i, ch, raw[clean_map[i]])


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("采 购 人：合肥市公安局瑶海分局", "采购人：合肥市公安局瑶海分局"),
        ("名 称：合肥市政府采购中心", "名称：合肥市政府采购中心"),
        ("3.采 购 人：某大学", "3.采购人：某大学"),
        ("投 标 文 件", "投标文件"),
        # a table row: label cell and value cell stay apart
        ("3.1 采购人 合肥市公安局瑶海分局", "3.1 采购人 合肥市公安局瑶海分局"),
        # Latin and number runs keep their spaces
        ("采购 NVIDIA A100 80GB 共 8 块", "采购 NVIDIA A100 80GB 共 8 块"),
    ],
)
def test_spaced_labels(raw: str, clean: str) -> None:
    got, cmap = clean_page(raw)
    assert got == clean
    assert_maps_back(raw, got, cmap)


def test_spaced_label_maps_back_to_verbatim_raw() -> None:
    raw = "项目编号：X1\n采 购 人：合肥市公安局\n"
    clean, cmap = clean_page(raw)
    start = clean.index("采购人")
    end = start + len("采购人")
    assert raw[cmap[start] : cmap[end - 1] + 1] == "采 购 人"


def test_vertical_title_is_joined() -> None:
    raw = "2026年度船管员服务项目\n竞\n争\n性\n磋\n商\n文\n件\n采购单位：上海市公安局"
    clean, cmap = clean_page(raw)
    assert clean.split("\n") == ["2026年度船管员服务项目", "竞争性磋商文件", "采购单位：上海市公安局"]
    assert_maps_back(raw, clean, cmap)


def test_two_single_char_lines_are_not_a_vertical_title() -> None:
    clean, _ = clean_page("日期：\n年\n日")
    assert clean == "日期：\n年\n日"


@pytest.mark.parametrize(
    "raw",
    [
        "第一章 投标邀请................................................ 1",
        "第一章 投标邀请 .........................................1",
        "第一章 投标邀请……………………1",
        "第一章 投标邀请·········· 1",
        "第一章 投标邀请. . . . . . 1",
    ],
)
def test_toc_dot_leaders_are_dropped(raw: str) -> None:
    clean, cmap = clean_page(raw)
    assert clean == "第一章 投标邀请 1"
    assert_maps_back(raw, clean, cmap)


def test_ellipsis_in_prose_is_kept() -> None:
    assert clean_page("包括服务器、存储……等设备")[0] == "包括服务器、存储……等设备"


def test_full_width_alnum_to_half_width_keeps_chinese_punctuation() -> None:
    raw = "预算金额：１２３．５万元（ＮＶＩＤＩＡ　Ａ１００），共８台。"
    clean, cmap = clean_page(raw)
    assert clean == "预算金额：123．5万元（NVIDIA A100），共8台。"
    assert_maps_back(raw, clean, cmap)


def test_whitespace_is_collapsed() -> None:
    raw = "  名 称：  合肥\t\t市\r\n\r\n\r\n\r\n地 址：滨湖新区   \n"
    clean, cmap = clean_page(raw)
    assert clean == "名称： 合肥 市\n\n地址：滨湖新区"
    assert_maps_back(raw, clean, cmap)


def test_empty_text() -> None:
    assert clean_page("") == ("", [])
    assert clean_page(" \n \n") == ("", [])


_ALPHABET = st.sampled_from(list("采购人名称项目预算金额第一章竞争性 \n\t\r.…·：，。（）_0123456789AZaz") + ["１", "Ａ", "\u3000", "ｚ"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=120))
def test_map_property_on_arbitrary_text(raw: str) -> None:
    clean, cmap = clean_page(raw)
    assert_maps_back(raw, clean, cmap)
    assert "  " not in clean and "\n\n\n" not in clean
    # nothing visible is lost except TOC leaders and the spaces cleaning removes
    kept = "".join(c for c in nfkc(clean) if not c.isspace())
    visible = "".join(c for c in nfkc(raw) if not c.isspace())
    assert len(kept) <= len(visible)


def _page(n: int, raw: str) -> Page:
    clean, cmap = clean_page(raw)
    return Page(number=n, text=raw, clean=clean, clean_map=cmap)


def test_strip_repeated_headers_footers_and_page_numbers() -> None:
    header = "合肥市政府采购项目公开招标文件示范文本（服务类）"
    bodies = ["采购人为合肥市某单位。", "预算金额：300万元。", "采购方式：公开招标", "服务期限：一年", "联系人：李工"]
    raws = [
        f"{header}\n第 {i} 页/共 5 页\n正文第{i}页：{body}\n{body}\n陕西正信招标有限公司 第 {i} 页 环城西路 6 层"
        for i, body in enumerate(bodies, start=1)
    ]
    pages = [_page(i, raw) for i, raw in enumerate(raws, start=1)]
    strip_repeated_lines(pages)
    for i, (page, raw) in enumerate(zip(pages, raws, strict=True), start=1):
        assert page.text == raw  # raw text untouched
        body = bodies[i - 1]
        assert page.clean == f"正文第{i}页：{body}\n{body}"
        assert_maps_back(raw, page.clean, page.clean_map)
        assert raw[page.clean_map[0] : page.clean_map[0] + 2] == "正文"


def test_short_document_keeps_repeated_lines_but_drops_page_numbers() -> None:
    pages = [_page(i, f"某某大学采购公告\n正文{i}\n- {i} -") for i in (1, 2)]
    strip_repeated_lines(pages)
    assert [p.clean for p in pages] == ["某某大学采购公告\n正文1", "某某大学采购公告\n正文2"]


def test_numbers_inside_the_body_are_kept() -> None:
    pages = [_page(i, f"标题{i}\n一\n二\n3\n4\n5\n三\n四\n尾{i}") for i in range(1, 4)]
    strip_repeated_lines(pages)
    assert all("\n3\n4\n5\n" in p.clean for p in pages)


@pytest.mark.parametrize("line", ["第 3 页 共 93 页", "第3页/共93页", "- 12 -", "— 4 —", "7", "3/93", "Page 2 of 9"])
def test_page_number_lines(line: str) -> None:
    assert is_page_number_line(line)


@pytest.mark.parametrize("line", ["第一章 投标邀请", "2024年6月", "3.1 采购人", "预算 300 万元"])
def test_not_page_number_lines(line: str) -> None:
    assert not is_page_number_line(line)


def test_boilerplate_pages() -> None:
    toc = clean_page("目 录\n第一章 投标邀请......1\n第二章 投标人须知......3\n第三章 采购需求......22\n第四章 合同......48")[0]
    form = "投标文件\n（资格证明文件）\n项目名称:\n项目编号/包号：\n投标人名称："
    underscores = "甲方：____________________\n乙方：____________________\n日期：______年____月____日"
    content = "一、项目基本情况\n项目编号：ZX2025-05-42\n项目名称：2025年纸质图书采购项目\n采购方式：公开招标\n预算金额：300000.00元"
    assert is_boilerplate_page(toc)
    assert is_boilerplate_page(form)
    assert is_boilerplate_page(underscores)
    assert is_boilerplate_page("")
    assert not is_boilerplate_page(content)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_real_tender_pages_clean_and_map_back() -> None:
    from pypdf import PdfReader

    reader = PdfReader(CORPUS / "example.pdf")
    raws = [p.extract_text() for p in reader.pages]
    pages = [_page(i, raw) for i, raw in enumerate(raws, start=1)]
    strip_repeated_lines(pages)
    for page in pages:
        assert_maps_back(page.text, page.clean, page.clean_map)
        assert "示范文本（服务类）" not in page.clean.split("\n")[0]  # running header gone
    assert "采 购 人" in pages[0].text
    assert "采购人：合肥市公安局瑶海分局" in pages[0].clean
    assert is_boilerplate_page(pages[1].clean)  # the TOC
    assert not is_boilerplate_page(pages[2].clean)


def test_sample_package_pages_clean_and_map_back() -> None:
    """The same checks on a shipped long package (running header, footer, TOC, spaced labels, vertical
    title), so a fresh clone without ../shared still tests real-layout cleaning."""
    from pypdf import PdfReader

    reader = PdfReader(SAMPLES / "package-univ-ai-platform-h800.pdf")
    pages = [_page(i, p.extract_text()) for i, p in enumerate(reader.pages, start=1)]
    strip_repeated_lines(pages)
    for page in pages:
        assert_maps_back(page.text, page.clean, page.clean_map)
        assert "江东理工大学人工智能计算平台建设项目招标文件" not in page.clean.split("\n")[0]  # running header gone
        assert not re.search(r"第 \d+ 页 共 \d+ 页", page.clean)  # footer gone
    spaced = next(p for p in pages if "采 购 人" in p.text)
    assert "采购人：江东理工大学" in spaced.clean
    assert is_boilerplate_page(pages[1].clean)  # the TOC
    assert not is_boilerplate_page(pages[2].clean)
