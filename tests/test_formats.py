"""Readers for what analysts' folders hold besides PDFs: saved web pages, Word files, text.

Real files: the hand-written samples in samples/web and samples/word, and pages,
text files and Office/archive/image files written here in the encodings and
layouts met on Chinese procurement sites.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import lxml.html
import pytest

from extractor.core.config import TextLimits
from extractor.core.errors import ReadError
from extractor.read.caps import TextBudget
from extractor.read.formats import detect_format, iter_input_paths, read_document
from extractor.read.guard import GuardedReader
from extractor.read.layout import join_row, table_lines
from tests.conftest import SAMPLES

WEB = SAMPLES / "web"
WORD = SAMPLES / "word"
NOTICE = ("<h1>某某大学智算平台采购项目中标公告</h1><p>发布时间：2024年6月3日</p>"
          "<table><tr><td>采购人</td><td>某某大学</td><td>项目编号</td><td>MMDX-2024-071</td></tr>"
          "<tr><td>中标供应商</td><td colspan=3>某某科技有限公司</td></tr></table><p>预算金额：120万元</p>")


def _page(meta: str, body: str = NOTICE) -> str:
    return f"<html><head>{meta}<title>公告</title></head><body>{body}</body></html>"


def _text(path: Path) -> str:
    return read_document(path).pages[0].text


# --- HTML: encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "meta", "codec", "expect"), [
    ("utf8.html", '<meta charset="utf-8">', "utf-8", "utf-8"),
    ("gbk-declared.html", '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', "gbk", "gb18030"),
    ("gbk-undeclared.htm", "", "gbk", "gb18030"),
    ("gbk-meta-says-utf8.html", '<meta charset="utf-8">', "gbk", "gb18030"),
    ("utf8-meta-says-gbk.html", '<meta charset="gbk">', "utf-8", "utf-8"),
    ("utf16-bom.html", "", "utf-16", "utf-16"),
    ("utf8-bom.html", '<meta charset="gbk">', "utf-8-sig", "utf-8-sig"),
])
def test_html_encodings_are_detected(tmp_path: Path, name: str, meta: str, codec: str, expect: str) -> None:
    path = tmp_path / name
    path.write_bytes(_page(meta).encode(codec))
    doc = read_document(path)
    assert doc.metadata["format"] == "html" and doc.metadata["encoding"] == expect
    text = doc.pages[0].text
    assert "采购人：某某大学\t项目编号：MMDX-2024-071" in text
    assert "中标供应商：某某科技有限公司" in text
    assert "\ufffd" not in text
    assert doc.metadata["published"] == "2024-06-03"


def test_gbk_sample_and_lying_meta_sample_read_cleanly() -> None:
    gbk = read_document(WEB / "gbk-correction-school-multimedia.html")
    assert gbk.metadata["encoding"] == "gb18030"
    assert "一、原公告的采购项目编号：BSZC2019-0142" in gbk.pages[0].text.split("\n")
    lying = read_document(WEB / "hospital-single-source-h20-imaging-ai.html")
    assert b"charset=gb2312" in (WEB / "hospital-single-source-h20-imaging-ai.html").read_bytes()
    assert lying.metadata["encoding"] == "utf-8"
    assert "GPU计算服务器4台，每台配置8块NVIDIA H20 96GB GPU" in lying.pages[0].text


# --- HTML: layout --------------------------------------------------------------------------------


def test_ccgp_page_drops_site_chrome_and_keeps_rows() -> None:
    doc = read_document(WEB / "ccgp-central-award-a800-training-cloud.html")
    assert len(doc.pages) == 1
    text = doc.pages[0].text
    lines = text.split("\n")
    assert lines[0] == "中国科学技术信息研究所大模型训练算力租赁服务项目中标公告"
    for chrome in ("政策法规", "当前位置", "版权所有", "hm.js", "_hmt", "请输入关键字", "关于我们", "【打印】"):
        assert chrome not in text, chrome
    # a data row under the column-header row: every value beside its header, on one line
    row = next(ln for ln in lines if "北京智算云途科技有限公司" in ln)
    assert "中标供应商名称：北京智算云途科技有限公司" in row and "中标（成交）金额(元)：最终报价:5,376,000(元)" in row
    assert "序号\t中标（成交）金额(元)\t统一社会信用代码\t中标供应商名称\t中标供应商地址" in lines
    assert doc.title == "中国科学技术信息研究所大模型训练算力租赁服务项目"
    assert doc.metadata["published"] == "2024-08-19T17:42"  # the unlabelled span#pubTime under the title
    assert doc.metadata["published_text"] == "2024年08月19日 17:42"


def test_a_content_panels_caption_is_chrome_not_the_titles_first_words(tmp_path: Path) -> None:
    """University sites caption the notice panel 详细信息 on its own line above the title; read as text
    it became the title's first words, and the buyer read off the title came out 详细信息辽宁…学院."""
    page = ("<html><head><meta charset='utf-8'><title>通知公告</title></head><body>"
            "<div class='panel'><div class='caption'>详细信息</div>"
            "<h3>江北职业技术学院实训室空调采购项目采购公告</h3>"
            "<p>1. 项目名称：实训室空调采购项目</p><p>2. 采购方式：竞争性磋商</p></div></body></html>")
    path = tmp_path / "notice.html"
    path.write_text(page, encoding="utf-8")
    doc = read_document(path)
    assert doc.pages[0].text.split("\n")[0] == "江北职业技术学院实训室空调采购项目采购公告"
    assert "详细信息" not in doc.pages[0].text
    from extractor.backends.rules import extract_rules

    assert extract_rules(doc)["buyer"].value == "江北职业技术学院"


def test_ggzy_info_time_and_word_pasted_table() -> None:
    doc = read_document(WEB / "ggzy-award-road-reconstruction.html")
    assert doc.metadata["published"] == "2021-05-17"
    assert doc.metadata["published_text"] == "信息时间：2021/5/17"
    lines = doc.pages[0].text.split("\n")
    assert "招标人：赣西市城市建设投资发展集团有限公司\t招标代理机构：江西中诚工程项目管理有限公司" in lines
    assert "中标人：江西赣通路桥建设集团有限公司" in lines
    assert not any("设为首页" in ln or "交易信息" in ln for ln in lines)


def test_layout_tables_are_read_as_blocks_not_one_line(tmp_path: Path) -> None:
    """Old sites wrap the whole page in tables; their cells are paragraphs, not values."""
    para = "本项目为某某市中学多媒体教室设备采购，" * 40
    html = (f"<table><tr><td class=leftnav><table><tr><td>采购公告</td></tr></table></td>"
            f"<td><p>项目名称：某某中学多媒体设备采购</p><p>{para}</p><br>采购人：某某中学</td></tr></table>")
    path = tmp_path / "layout.html"
    path.write_text(_page('<meta charset="utf-8">', html), encoding="utf-8")
    lines = _text(path).split("\n")
    assert lines == ["项目名称：某某中学多媒体设备采购", para, "采购人：某某中学"]


def test_publication_time_labels_and_meta(tmp_path: Path) -> None:
    cases = {
        "<p>【信息时间：2021/5/7】【阅读次数：12】</p>": "2021-05-07",
        "<div>发布时间：2023-11-02 16:05:09 来源：本网</div>": "2023-11-02T16:05:09",
        "<p>招标公告日期：2019年7月25日</p><p>公告日期：2019年8月23日</p>": "2019-08-23",
    }
    for i, (body, expect) in enumerate(cases.items()):
        path = tmp_path / f"t{i}.html"
        path.write_text(_page('<meta charset="utf-8">', body + "<p>采购人：某某局</p>"), encoding="utf-8")
        assert read_document(path).metadata["published"] == expect, body
    path = tmp_path / "meta.html"
    path.write_text(_page('<meta charset="utf-8"><meta name="PubDate" content="2022-01-09 08:00">',
                          "<p>采购人：某某局</p>"), encoding="utf-8")
    assert read_document(path).metadata["published"] == "2022-01-09T08:00"


def test_rows_join_labels_with_values_but_not_header_cells() -> None:
    assert join_row(["采购人", "某某大学", "联系人", "张三"]) == "采购人：某某大学\t联系人：张三"
    assert join_row(["招标人:", "某某公司"]) == "招标人:某某公司"
    assert join_row(["序号", "单位名称", "项目名称", "合同金额（万元）"]) == "序号\t单位名称\t项目名称\t合同金额（万元）"
    assert table_lines([["序号", "供应商名称", "成交金额"], ["1", "某某公司", "100元"]]) == [
        "序号\t供应商名称\t成交金额", "序号：1\t供应商名称：某某公司\t成交金额：100元"]


def test_a_page_of_only_scripts_is_an_empty_error(tmp_path: Path) -> None:
    path = tmp_path / "spa.html"
    path.write_text("<html><head><script>var a='采购人：某某';</script></head><body><div id=app></div></body></html>",
                    encoding="utf-8")
    with pytest.raises(ReadError) as err:
        read_document(path)
    assert err.value.kind == "empty"


def test_real_corpus_html_pages_read(tmp_path: Path) -> None:
    corpus = SAMPLES.parent.parent / "shared" / "corpus"
    pages = sorted(corpus.glob("notices-*/*.html"))
    if not pages:
        pytest.skip("shared corpus not present")
    for page in pages:
        doc = read_document(page)
        assert doc.pages[0].text.strip() and "<%" not in doc.pages[0].text, page


# --- DOCX and TXT --------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_document_order() -> None:
    doc = read_document(WORD / "tender-l40s-inference-servers.docx")
    assert doc.metadata["format"] == "docx" and len(doc.pages) == 1
    lines = doc.pages[0].text.split("\n")
    order = ["一、项目基本情况", "项目编号：BHZC2025-0208\t采购方式：竞争性磋商",
             "项目名称：滨海市人工智能创新中心智算推理服务器采购项目", "采购需求：",
             "序号\t货物名称\t主要技术参数\t数量\t单位", "二、申请人的资格要求", "2025年3月3日"]
    at = [lines.index(x) for x in order]
    assert at == sorted(at)
    assert sum("滨海市人工智能创新中心智算推理服务器采购项目" in ln and "项目名称" in ln for ln in lines) == 1
    assert doc.title == "滨海市人工智能创新中心智算推理服务器采购项目"


def test_docx_that_is_not_a_zip_and_a_damaged_docx(tmp_path: Path) -> None:
    fake = tmp_path / "old.docx"
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(ReadError) as err:
        read_document(fake)
    assert err.value.kind == "unsupported" and "libreoffice --headless --convert-to docx" in err.value.message
    broken = tmp_path / "broken.docx"
    data = (WORD / "tender-l40s-inference-servers.docx").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as err:
        read_document(broken)
    assert err.value.kind in ("corrupt", "unsupported"), err.value


@pytest.mark.parametrize(("codec", "expect"), [("gb18030", "gb18030"), ("utf-8", "utf-8"), ("utf-16", "utf-16")])
def test_txt_encodings(tmp_path: Path, codec: str, expect: str) -> None:
    # 𠀀 and € are outside GBK: a GB18030 file needs the full GB18030 decoder
    text = "某某市𠀀区政务云服务采购公告\n采购人：某某市大数据局\n预算金额：50万元（€ 不适用）\n"
    path = tmp_path / f"notice-{codec}.txt"
    path.write_bytes(text.encode(codec))
    doc = read_document(path)
    assert doc.metadata == {"format": "txt", "encoding": expect}
    assert doc.pages[0].text == text


def test_txt_form_feeds_are_pages(tmp_path: Path) -> None:
    path = tmp_path / "pdftotext.txt"
    path.write_text("第一页 采购人：某某局\f第二页 预算金额：10万元\f", encoding="utf-8")
    doc = read_document(path)
    assert [p.number for p in doc.pages] == [1, 2] and "预算金额" in doc.pages[1].text


# --- formats tenderx does not read ---------------------------------------------------------------


def _zip(path: Path, names: list[str]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in names:
            z.writestr(n, "<x/>")
    path.write_bytes(buf.getvalue())
    return path


def unsupported_files(folder: Path) -> dict[str, str]:
    """Real-signature files of formats tenderx does not read → the hint each must give."""
    folder.mkdir(parents=True, exist_ok=True)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000
    (folder / "招标文件.doc").write_bytes(ole)
    (folder / "报价表.xls").write_bytes(ole)
    (folder / "投标文件.wps").write_bytes(ole)
    (folder / "清单.et").write_bytes(ole)
    _zip(folder / "报价明细.xlsx", ["[Content_Types].xml", "xl/workbook.xml"])
    _zip(folder / "附件.zip", ["a.pdf"])
    (folder / "附件.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\0" * 100)
    (folder / "扫描件.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    (folder / "合同.ofd").write_bytes(_zip(folder / "tmp.zip", ["OFD.xml", "Doc_0/Document.xml"]).read_bytes())
    (folder / "tmp.zip").unlink()
    return {"招标文件.doc": "convert-to docx", "报价表.xls": "convert-to pdf", "投标文件.wps": "convert-to docx",
            "清单.et": "convert-to pdf", "报价明细.xlsx": "convert-to pdf", "附件.zip": "unpack it first",
            "附件.rar": "unrar x", "扫描件.png": "img2pdf", "合同.ofd": "OFD"}


def test_unsupported_formats_say_how_to_convert(tmp_path: Path) -> None:
    for name, hint in unsupported_files(tmp_path).items():
        with pytest.raises(ReadError) as err:
            read_document(tmp_path / name)
        assert err.value.kind == "unsupported", name
        assert hint in err.value.message and "\n" not in err.value.message, (name, err.value.message)


def test_content_decides_over_a_misleading_suffix(tmp_path: Path) -> None:
    pdf = tmp_path / "notice.html"
    pdf.write_bytes((SAMPLES / "award-univ-aws-a100-cloud.pdf").read_bytes())
    assert detect_format(pdf) == "pdf"
    page = tmp_path / "notice"
    page.write_text(_page('<meta charset="utf-8">'), encoding="utf-8")
    assert detect_format(page) == "html"
    assert detect_format(WORD / "tender-l40s-inference-servers.docx") == "docx"


# --- caps, walk, bounded reader ------------------------------------------------------------------


def test_text_budget_cuts_pages_and_documents_with_warnings() -> None:
    budget = TextBudget(TextLimits(max_page_chars=100, max_doc_chars=150))
    assert len(budget.take("甲" * 500, 1)) == 100
    assert len(budget.take("乙" * 80, 2)) == 50
    assert budget.take("丙" * 10, 3) == ""
    assert any("TENDERX_MAX_PAGE_CHARS" in w and "page 1" in w for w in budget.warnings)
    assert sum("TENDERX_MAX_DOC_CHARS" in w for w in budget.warnings) == 1
    whole = TextBudget(TextLimits(max_page_chars=100, max_doc_chars=1000))
    assert len(whole.take("丁" * 500)) == 500  # an unpaginated document: the document cap only
    assert len(whole.take("戊" * 800)) == 500 and len(whole.warnings) == 1


def test_walk_lists_skips_and_honours_tenderxignore() -> None:
    found, skipped = iter_input_paths([SAMPLES])
    names = {p.name for p in found}
    assert {"ccgp-central-award-a800-training-cloud.html", "tender-l40s-inference-servers.docx",
            "award-univ-aws-a100-cloud.pdf"} <= names
    assert not any(p.suffix == ".txt" for p in found)  # samples/src is listed in samples/.tenderxignore
    reasons = {e.message for _, e in skipped}
    assert "gold labels (used by tenderx eval)" in reasons and "folder listed in .tenderxignore" in reasons
    assert all(p.is_absolute() for p in found)


def test_guarded_reader_reads_every_format() -> None:
    with GuardedReader(workers=1, timeout=60) as reader:
        assert reader.read(WEB / "zcy-award-deepseek-api-tokens.html").metadata["format"] == "html"
        assert reader.read(WORD / "contract-huawei-govcloud-ascend.docx").metadata["format"] == "docx"
        assert reader.read(SAMPLES / "README.md").metadata["format"] == "txt"  # named directly: read as text
        with pytest.raises(ReadError) as err:
            reader.read(SAMPLES / "word" / "__missing__.docx")
        assert err.value.kind == "missing"


# --- the gold labels of the new samples, checked without tenderx's readers -----------------------


def _independent_text(path: Path) -> str:
    """The document's text by other means: lxml's text_content, or the raw w:t runs of the .docx."""
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            xml = z.read("word/document.xml").decode("utf-8")
        return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))
    data = path.read_bytes()
    codec = "gbk" if path.name.startswith("gbk-") else "utf-8"
    return lxml.html.document_fromstring(data.decode(codec)).text_content()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


@pytest.mark.parametrize("gold", sorted([*WEB.glob("*.gold.json"), *WORD.glob("*.gold.json")]), ids=lambda p: p.name)
def test_new_sample_gold_strings_occur_in_the_document(gold: Path) -> None:
    labels = json.loads(gold.read_text(encoding="utf-8"))["labels"]
    doc = next(p for p in gold.parent.iterdir() if p.name.startswith(gold.name.removesuffix(".gold.json") + ".")
               and not p.name.endswith(".gold.json"))
    text = _squash(_independent_text(doc))
    for name in ("project_name", "project_code", "buyer", "agency"):
        if labels.get(name):
            assert _squash(labels[name]) in text, (name, labels[name])
    for supplier in labels["suppliers"]:
        assert _squash(supplier) in text, supplier
    assert len(labels) == 17
