"""The hand-labelled samples are only useful if every gold label is true of its own PDF.

These checks are deliberately independent of the project's extractor/normalize modules:
the gold set is what those modules are scored against, so it must not be validated with them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import ContentStream

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
GOLD_FILES = sorted(SAMPLES.glob("*.gold.json"))
MIN_GOLD_FILES = 30  # raise to 30 once both sample sets are in

NOTICE_TYPES = {"intention", "tender", "correction", "award", "termination", "contract", "single_source", "other"}
METHODS = {"public_tender", "invited_tender", "competitive_negotiation", "competitive_consultation", "inquiry",
           "single_source", "framework", "other", None}
STRING_FIELDS = ("project_name", "project_code", "buyer", "agency")
AMOUNT_FIELDS = ("budget_cny", "award_amount_cny")
LIST_FIELDS = ("suppliers", "chips", "cloud_providers", "ai_models")
INT_FIELDS = ("gpu_count", "server_count", "token_count")
ALL_FIELDS = {"notice_type", "procurement_method", *STRING_FIELDS, "publish_date", *AMOUNT_FIELDS, *LIST_FIELDS,
              *INT_FIELDS, "restricted_us_tech"}


def squash(text: str) -> str:
    """NFKC, no whitespace: the comparison form for 'this string occurs in the document'."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@cache
def pdf_raw_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(pdf).pages)


def pdf_text(pdf: Path) -> str:
    return squash(pdf_raw_text(pdf))


IMAGE_ONLY = "scanned-notice-image-only"


def stated_text(gold: Path) -> str:
    """The text a gold file's document states: its PDF's text layer, or for a scan (no text
    layer) the born-digital original it was made from (samples/make_scans.py), or for the
    image-only notice the lines samples/render.py drew into its image."""
    stem = gold.name.removesuffix(".gold.json")
    if stem == IMAGE_ONLY:
        import importlib.util

        spec = importlib.util.spec_from_file_location("samples_render", SAMPLES / "render.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("samples_render", module)  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return "\n".join(module.SCANNED_TEXT)
    if stem.startswith("scanned-"):
        stem = stem.removeprefix("scanned-")
    return pdf_raw_text(SAMPLES / f"{stem}.pdf")


def load_labels(gold: Path) -> dict:
    return json.loads(gold.read_text(encoding="utf-8"))["labels"]


# --- an independent amount reader: 元 / 万元 / 亿元 figures and capital numerals -------------------------

CAPITAL_DIGITS = {"零": 0, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
                  "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CAPITAL_UNITS = {"拾": 10, "佰": 100, "仟": 1000, "十": 10, "百": 100, "千": 1000}
CAPITAL_AMOUNT = re.compile(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+元(?:[零壹贰叁肆伍陆柒捌玖]角)?(?:[零壹贰叁肆伍陆柒捌玖]分)?")


def capital_to_number(text: str) -> float:
    """人民币贰佰叁拾万元整 → 2300000 (handles 万/亿 sections, 角/分)."""
    total, section, digit = 0.0, 0, 0
    for ch in text:
        if ch in CAPITAL_DIGITS:
            digit = CAPITAL_DIGITS[ch]
        elif ch in CAPITAL_UNITS:
            section += (digit or 1) * CAPITAL_UNITS[ch]
            digit = 0
        elif ch in "万亿":
            total += (section + digit) * (10_000 if ch == "万" else 100_000_000)
            section = digit = 0
        elif ch == "元":
            total += section + digit
            section = digit = 0
        elif ch == "角":
            total += digit / 10
            digit = 0
        elif ch == "分":
            total += digit / 100
            digit = 0
    return total


FIGURE = re.compile(r"(\d[\d,]*(?:\.\d+)?)(亿|万)?(元)?")
LOTS = re.compile(r"分包|包号|标段|第[一二三四五六七八九十\d]+包|包[一二三四五六七八九十\d]")
MONEY_SHAPE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d{2}")


def stated_amounts(text: str, money_only: bool = False) -> set[float]:
    """Figures in NFKC text, read as yuan: `x万`/`x亿` scaled; bare figures also scaled by 10^4 when a
    table header says the column is in (万元). money_only keeps figures that look like money
    (a 元/万/亿 unit, thousands separators or two decimals), not phone numbers, years or counts."""
    found: set[float] = set()
    in_wan_column = re.search(r"\(万元\)", text) is not None
    for m in FIGURE.finditer(text):
        number, scale_word, yuan = m.groups()
        if money_only and not (scale_word or yuan or MONEY_SHAPE.fullmatch(number)):
            continue
        value = float(number.replace(",", ""))
        scale = {"亿": 100_000_000, "万": 10_000}.get(scale_word or "", 1)
        found.add(value * scale)
        if in_wan_column and scale == 1:
            found.add(value * 10_000)
    for m in CAPITAL_AMOUNT.finditer(re.sub(r"\s+", "", text)):
        found.add(capital_to_number(m.group(0)))
    return found


def amount_is_stated(amount: float, text: str) -> bool:
    """The amount is printed, or, in a document with lots, the sum of 2-3 printed money figures.

    Figures are read both from the text with its line breaks (so adjacent table cells such as
    `1` and `917,500.00` stay apart) and squashed (so a figure wrapped inside a cell is rejoined)."""
    text = unicodedata.normalize("NFKC", text)

    def close(v: float) -> bool:
        return abs(v - amount) <= max(1.0, 0.001 * amount)

    if any(close(v) for v in stated_amounts(text) | stated_amounts(squash(text))):
        return True
    if not LOTS.search(text):
        return False
    money = sorted(v for v in stated_amounts(text, money_only=True) if 100 <= v < amount)
    return any(close(sum(combo)) for n in (2, 3) for combo in itertools.combinations(money, n))


CHINESE_DIGIT = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..31 as written in dates: 十, 十二, 二十, 二十一 …"""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else CHINESE_DIGIT[tens]) + "十" if tens else "") + (CHINESE_DIGIT[ones] if ones else "")


def date_forms(iso: str) -> set[str]:
    d = dt.date.fromisoformat(iso)
    y, m, day = d.year, d.month, d.day
    forms = {f"{y}年{m}月{day}日", f"{y}年{m:02d}月{day:02d}日"}
    for sep in "-./":
        forms |= {f"{y}{sep}{m:02d}{sep}{day:02d}", f"{y}{sep}{m}{sep}{day}"}
    forms.add("".join(CHINESE_DIGIT[int(c)] for c in str(y)) + f"年{chinese_number(m)}月{chinese_number(day)}日")
    return forms


# --- self-checks of the checker, so a broken checker cannot pass every sample -----------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("人民币贰佰叁拾万元整", 2_300_000), ("人民币伍拾陆万捌仟元整", 568_000), ("壹佰贰拾陆万捌仟元整", 1_268_000),
    ("叁拾壹万捌仟元整", 318_000), ("人民币贰仟伍佰捌拾叁万陆仟元整", 25_836_000), ("壹拾元伍角", 10.5),
    ("壹亿零伍佰万元", 105_000_000),
])
def test_capital_numerals_are_read(text: str, value: float) -> None:
    assert value in stated_amounts(text)


def test_amount_checker_accepts_forms_and_rejects_absent_amounts() -> None:
    text = "预算金额：人民币６８．００万元，单价1,250,000.00元，共1.5亿元；分包一118万元，分包二30万元\n1\n917,500.00"
    assert not amount_is_stated(1_480_000, "预算118万元，代理费30万元")  # sums only where there are lots
    assert amount_is_stated(680_000, text)
    assert amount_is_stated(917_500, text)  # a table cell next to the row number `1`
    assert amount_is_stated(1_250_000, "金额：1,250,00\n0.00元")  # wrapped inside a cell
    assert amount_is_stated(8_600_000, "|预算金额（万元）|\n860.00")
    assert not amount_is_stated(8_600_000, "预算金额（元）860.00")
    assert amount_is_stated(1_250_000, text)
    assert amount_is_stated(150_000_000, text)
    assert amount_is_stated(1_480_000, text)  # 118万 + 30万
    assert not amount_is_stated(777_777, text)


def test_date_forms_cover_chinese_numerals() -> None:
    assert "二〇二三年八月二十二日" in date_forms("2023-08-22")
    assert "二〇二四年十月十日" in date_forms("2024-10-10")
    assert "2024年3月8日" in date_forms("2024-03-08")


# --- the gold files ---------------------------------------------------------------------------------------

def test_enough_gold_files() -> None:
    assert len(GOLD_FILES) >= MIN_GOLD_FILES


@pytest.mark.parametrize("gold", GOLD_FILES, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_gold_file_is_valid(gold: Path) -> None:
    data = json.loads(gold.read_text(encoding="utf-8"))
    assert data["schema"] == "tender"
    assert data["schema_version"] == 1
    labels = data["labels"]
    assert set(labels) == ALL_FIELDS, f"missing {ALL_FIELDS - set(labels)}, extra {set(labels) - ALL_FIELDS}"
    assert labels["notice_type"] in NOTICE_TYPES
    assert labels["procurement_method"] in METHODS
    for name in ("project_name", "buyer"):
        assert isinstance(labels[name], str) and labels[name].strip()
    for name in ("project_code", "agency"):
        assert labels[name] is None or (isinstance(labels[name], str) and labels[name].strip())
    if labels["publish_date"] is not None:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", labels["publish_date"])
        dt.date.fromisoformat(labels["publish_date"])
    for name in AMOUNT_FIELDS:
        value = labels[name]
        assert value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value > 0)
    for name in LIST_FIELDS:
        assert isinstance(labels[name], list)
        assert all(isinstance(item, str) and item.strip() for item in labels[name])
        assert len(set(labels[name])) == len(labels[name]), f"{name} has duplicates"
    for name in INT_FIELDS:
        value = labels[name]
        assert value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)
    assert isinstance(labels["restricted_us_tech"], bool)
    assert "notes" not in data or isinstance(data["notes"], str)
    assert (gold.parent / gold.name.replace(".gold.json", ".pdf")).is_file(), "PDF missing beside gold file"


@pytest.mark.parametrize("gold", GOLD_FILES, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_gold_strings_occur_in_pdf(gold: Path) -> None:
    labels = load_labels(gold)
    text = squash(stated_text(gold))
    values = [labels[name] for name in STRING_FIELDS if labels[name]] + labels["suppliers"]
    missing = [v for v in values if squash(v) not in text]
    assert not missing, f"not in the PDF text: {missing}"


@pytest.mark.parametrize("gold", GOLD_FILES, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_gold_date_and_amounts_are_stated(gold: Path) -> None:
    labels = load_labels(gold)
    raw = stated_text(gold)
    if labels["publish_date"]:
        text = squash(raw)
        assert any(form in text for form in date_forms(labels["publish_date"])), labels["publish_date"]
    for name in AMOUNT_FIELDS:
        if labels[name] is not None:
            assert amount_is_stated(labels[name], raw), f"{name}={labels[name]} not stated in any form"


@pytest.mark.parametrize("gold", GOLD_FILES, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_source_file_exists(gold: Path) -> None:
    stem = gold.name.removesuffix(".gold.json")
    if stem == IMAGE_ONLY:
        return  # drawn by samples/render.py from its SCANNED_TEXT (stated_text reads it)
    assert (SAMPLES / "src" / f"{stem.removeprefix('scanned-')}.txt").is_file()


SCANS = sorted(SAMPLES.glob("scanned-*.pdf"))


@pytest.mark.parametrize("scan", SCANS, ids=lambda p: p.stem)
def test_scans_are_image_only_and_labelled_like_their_original(scan: Path) -> None:
    reader = pypdf.PdfReader(scan)
    for page in reader.pages:
        assert (page.extract_text() or "").strip() == "", "a scan must have no text layer"
        assert page.images, "page should carry the scanned image"
    if scan.stem == IMAGE_ONLY:
        return
    original = SAMPLES / scan.name.removeprefix("scanned-")
    assert len(pypdf.PdfReader(original).pages) == len(reader.pages)
    assert load_labels(scan.with_name(scan.stem + ".gold.json")) == load_labels(
        original.with_name(original.stem + ".gold.json"))


def test_four_scanned_samples() -> None:
    assert len([s for s in SCANS if s.stem != IMAGE_ONLY]) >= 4


# --- the error-path files ---------------------------------------------------------------------------------

def test_image_only_pdf_has_no_text_layer() -> None:
    reader = pypdf.PdfReader(SAMPLES / "scanned-notice-image-only.pdf")
    assert len(reader.pages) >= 1
    for page in reader.pages:
        assert (page.extract_text() or "").strip() == ""
        operators = {op for _, op in ContentStream(page.get_contents(), reader).operations}
        assert not operators & {b"Tj", b"TJ", b"'", b'"'}, "page shows text"
        assert page.images, "page should carry the scanned image"


def test_truncated_pdf_fails_to_parse() -> None:
    path = SAMPLES / "broken-truncated.pdf"
    assert path.read_bytes().startswith(b"%PDF-")
    with pytest.raises(pypdf.errors.PyPdfError):
        reader = pypdf.PdfReader(path)
        for page in reader.pages:
            page.extract_text()


# --- the renderer itself ----------------------------------------------------------------------------------

DEMO_SOURCE = """font: cid   # comment after a value
header: 示例大学采购文件
footer: 第 {page} 页 共 {pages} 页
---
[[vertical 招标文件]]
[[pagebreak]]
# 目 录
[[toc 第一章 招标公告|3]]
[[pagebreak]]
# 示例大学服务器采购项目招标公告
采 购 人：示例大学
预算金额：人民币贰拾万元整
|序号|名称|数量|
|1|服务器 & 配件 <A>|２台|
"""


def test_renderer_implements_the_format(tmp_path: Path) -> None:
    src = tmp_path / "demo-notice.txt"
    src.write_text(DEMO_SOURCE, encoding="utf-8")
    render = [sys.executable, str(SAMPLES / "render.py"), "--out", str(tmp_path / "out"), str(src)]
    (tmp_path / "out").mkdir()
    result = subprocess.run(render, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "demo-notice.pdf"
    first = out.read_bytes()
    assert subprocess.run(render, capture_output=True).returncode == 0
    assert out.read_bytes() == first, "re-rendering must give the same bytes"
    pages = [page.extract_text() for page in pypdf.PdfReader(out).pages]
    assert len(pages) == 3
    assert all("示例大学采购文件" in p and f"第 {i} 页 共 3 页" in p for i, p in enumerate(pages, 1))
    assert "招\n标\n文\n件" in pages[0]
    assert re.search(r"第一章 招标公告…{5,}\s*3", pages[1])
    assert "服务器 & 配件 <A>" in pages[2] and "人民币贰拾万元整" in pages[2]


def test_renderer_rejects_bad_source(tmp_path: Path) -> None:
    src = tmp_path / "no-header-end.txt"
    src.write_text("font: cid\n# 没有分隔线\n", encoding="utf-8")
    render = [sys.executable, str(SAMPLES / "render.py"), "--out", str(tmp_path), str(src)]
    result = subprocess.run(render, capture_output=True, text=True)
    assert result.returncode == 1
    assert "---" in result.stderr
    assert not (tmp_path / "no-header-end.pdf").exists()
