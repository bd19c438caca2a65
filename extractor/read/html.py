"""Saved web notices (.html/.htm) → a one-page ``Document``.

Most notices on ccgp.gov.cn, the provincial sites and 公共资源交易 platforms are
HTML pages. The text the rules engine and search need is the notice itself:
scripts, styles, navigation, headers, footers and breadcrumbs are dropped,
data tables become one line per row (``label：value`` kept together, cells
tab-separated, see ``layout``), and the notice's own publication time
(``【信息时间：2021/5/17】``, ``发布时间：…``, ``<meta name="PubDate">``) goes into
``Document.metadata``. Parsed with lxml (≈1,000 pages/s raw on this corpus).
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from extractor.core.document import Document, Page
from extractor.core.errors import ReadError
from extractor.core.structure import Block, Heading, Table, build_table, locate_cells
from extractor.read.caps import TextBudget
from extractor.read.cleaning import clean_page
from extractor.read.encoding import declared_charset, decode_text
from extractor.read.layout import cell_text, table_lines

# Elements that never hold notice text.
_DROP_TAGS = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "iframe", "select",
              "option", "button", "input", "textarea", "svg", "object", "embed", "head", "map", "canvas", "link",
              "meta"}
_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "section",
               "article", "blockquote", "pre", "tr", "table", "tbody", "thead", "tfoot", "form", "center",
               "address", "main", "body", "hr", "td", "th", "caption", "fieldset", "figure", "figcaption", "html"}
# Site chrome by class/id: menus, breadcrumbs ("当前位置"), footers, share and print bars, sidebars.
_CHROME = re.compile(r"nav|menu|(?:^|[\s_-])(?:breadcrumbs?|crumbs?|location|position|"
                     r"footer|foot|copyright|sidebar|share|toolbar|tool-bar|topbar|top-bar|top_bar|login|search|searchbox|"
                     r"friendlinks?|banner|notice-tools|"
                     r"logo|gotop|backtop|back-top|print|qrcode|skip)(?:$|[\s_-])", re.I)
_CHROME_MAX_SHARE = 0.3  # a "chrome" element holding more of the page than this is the page
_CHROME_LINE = re.compile(r"^(?:(?:当前位置|您的位置|您现在的位置|所在位置)\s*[:：].*|今天是\s*[:：]?.{0,40}|"
                          r".{0,40}(?:设为首页|加入收藏).{0,40}|\S{0,4}首页(?:\s*[|>»/]+\s*[^|>»/\s]{1,10}){2,}|"
                          r"(?:[【\[]?\s*(?:打印|关闭|打印本页|关闭窗口|返回顶部|返回|收藏|分享|网站纠错|我要纠错)\s*[】\]]?\s*)+|"
                          # the caption of the page's content panel, alone on its line (it glued onto the title)
                          r"(?:详细信息|信息详情|公告详情|文章详情|内容详情|详情|正文|信息正文|公告正文))$")
# print/close buttons and empty counters inside a line (``来源：本网 【打印】``, ``【阅读次数：】``)
_CHROME_TOKEN = re.compile(r"\s*[【\[]\s*(?:我要打印|打印本页|打印|关闭窗口|关闭|收藏|分享|[^】\]:：]{1,8}[:：]\s*)\s*[】\]]")
_DATA_CELL_MAX = 500  # a table with a longer cell is page layout, not data
_LONG_CELL = etree.XPath(f"boolean((.//td | .//th)[string-length(.) > {_DATA_CELL_MAX}])")
_TIME_SCAN_ELEMENTS = 20_000  # a publication-time element sits near the top; a 50 MB page is not scanned whole
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200b\u3000\ufeff]+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_SERVER_TAGS = re.compile(r"<%.*?%>", re.S)  # JSP/ASP directives left in pages saved from templates

_TIME_LABEL = r"(?<![标原次开更变])(?:信息时间|发布时间|发布日期|公告时间|公告日期|发文日期|发稿时间|公示时间|发布于|信息发布时间|上传时间)"
_DATE = (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
         r"(?:\s*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?")
_PRINTED_TIME = re.compile(_TIME_LABEL + r"\s*[:：]?\s*" + _DATE)
_META_TIME_NAMES = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time", "publishtime",
                    "dc.date.issued", "dc.date")
_META_TIME = re.compile(_DATE)
_TIME_ELEMENT = re.compile(r"pub_?time|pub_?date|publish_?(?:time|date)|release_?time|fbsj|fbrq|info_?time", re.I)
_NAME_LINE = re.compile(r"^(?:[\d一二三四五六七八九十]+[、.．]\s*)?(?:采购)?项目名称\s*[:：]\s*([^\t]+)")
_HEADINGS = ("h1", "h2", "h3")
_SITE_SUFFIX = re.compile(r"\s*[_|｜\-–—]+\s*[^_|｜\-–—]*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _title(root: Any, lines: list[str], html_title: str | None) -> str | None:
    """The 项目名称 value, else the first heading, else the <title> without its site name."""
    for line in lines[:60]:
        m = _NAME_LINE.match(line)
        if m and m.group(1).strip():
            return m.group(1).strip()[:120]
    for el in root.iter(*_HEADINGS):
        text = cell_text(el.text_content())
        if len(_CJK.findall(text)) >= 4:
            return text[:120]
    if html_title:
        text = _SITE_SUFFIX.sub("", html_title) or html_title
        return text[:120] if _CJK.search(text) else None
    return None


class _Full(Exception):
    """Enough text collected: the rest of the page would be cut anyway."""


class _Lines:
    """Builds text lines from inline fragments; blocks and <br> end a line. Past ``limit``
    characters it raises _Full, so a 50 MB page is not walked to the end to be cut."""

    def __init__(self, limit: int | None = None) -> None:
        self.lines: list[str] = []
        self._cur: list[str] = []
        self.limit = limit
        self.chars = 0

    def text(self, s: str | None) -> None:
        if s:
            self._cur.append(s)

    def end_line(self) -> None:
        if self._cur:
            line = _WS.sub(" ", "".join(self._cur)).strip()
            self._cur = []
            if line:
                self._keep(line)

    def add_line(self, line: str) -> None:
        self.end_line()
        if line:
            self._keep(line)

    def _keep(self, line: str) -> None:
        line = _CHROME_TOKEN.sub("", line).strip()
        if not line or _CHROME_LINE.match(line):  # site chrome: neither kept nor counted against the cap
            return
        self.lines.append(line)
        self.chars += len(line) + 1
        if self.limit is not None and self.chars > self.limit:
            raise _Full


def _tag(el: Any) -> str | None:
    return el.tag.lower() if isinstance(el.tag, str) else None  # comments and PIs have a function tag


def _is_chrome(el: Any, page_chars: int) -> bool:
    marks = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
    if not marks or not _CHROME.search(marks):
        return False
    return len(el.text_content()) <= _CHROME_MAX_SHARE * max(page_chars, 1)


def _rows(table: Any) -> Iterator[list[Any]]:
    """The table's rows of cells, lazily (the walk stops at the text cap, not at row 200,000)."""
    for tr in table.iter("tr"):
        cells = [c for c in tr if _tag(c) in ("td", "th")]
        if cells:
            yield cells


def _is_data_table(table: Any) -> bool:
    """A table of facts (not page layout): no nested table, no long cell."""
    if any(True for _ in table.iterdescendants("table")):
        return False
    return not _LONG_CELL(table)  # one C-level query, not a Python call per cell of a 600,000-cell table


def _span(el: Any, name: str) -> int:
    try:
        return max(1, min(int(str(el.get(name) or "1").strip() or "1"), 100))
    except ValueError:
        return 1


class _Walker:
    def __init__(self, page_chars: int) -> None:
        self.page_chars = page_chars
        self.tables: list[list[list[tuple[str, int, int, bool]]]] = []  # data tables, rows of cells
        self.headings: list[tuple[str, int]] = []

    def walk(self, el: Any, out: _Lines) -> None:
        tag = _tag(el)
        if tag is None or tag in _DROP_TAGS or _is_chrome(el, self.page_chars):
            out.text(el.tail)
            return
        if tag == "br":
            out.end_line()
            out.text(el.tail)
            return
        if tag == "table" and _is_data_table(el):
            out.end_line()
            rows, size = [], 0
            for cells in _rows(el):  # rows only up to the text still wanted (a 200,000-row table)
                rows.append(cells)
                size += sum(len(c.text_content()) for c in cells)
                if out.limit is not None and out.chars + size > out.limit:
                    break
            th = [all(_tag(c) == "th" for c in cells) for cells in rows]
            texts = [[self.cell(c) for c in cells] for cells in rows]
            self._keep(rows, texts)
            for line in table_lines(texts, th):
                out.add_line(line)
            out.text(el.tail)
            return
        if tag == "table" and not any(True for _ in el.iterdescendants("table")):
            # a grid with a long cell: its text is read block by block as before, its cells kept too
            grid = list(_rows(el))
            self._keep(grid, [[self.cell(c, keep_headings=False) for c in cells] for cells in grid])
        block = tag in _BLOCK_TAGS
        if block:
            out.end_line()
        if tag in _HEADINGS:
            self.headings.append((cell_text(el.text_content()), int(tag[1])))
        out.text(el.text)
        for child in el:
            self.walk(child, out)
        if block:
            out.end_line()
        out.text(el.tail)

    def _keep(self, rows: list[list[Any]], texts: list[list[str]]) -> None:
        self.tables.append([[(t, _span(c, "rowspan"), _span(c, "colspan"), _tag(c) == "th")
                             for t, c in zip(row_texts, cells, strict=True)]
                            for row_texts, cells in zip(texts, rows, strict=True)])

    def cell(self, el: Any, keep_headings: bool = True) -> str:
        kept = len(self.headings)
        inner = _Lines()
        out_text = el.text
        inner.text(out_text)
        for child in el:
            self.walk(child, inner)
        inner.end_line()
        if not keep_headings:
            del self.headings[kept:]  # the cell is walked again for the page text
        return cell_text(" ".join(inner.lines))


def _published(root: Any, lines: list[str]) -> dict[str, str]:
    """The notice's publication time as printed on the page (labelled, or in a ``pubTime``-like
    element), else from a <meta> tag."""
    for line in lines:
        m = _PRINTED_TIME.search(line)
        if m:
            return {"published": _iso(m), "published_text": m.group(0).strip(), "published_from": "page text"}
    for el in itertools.islice(root.iter(), _TIME_SCAN_ELEMENTS):
        if not isinstance(el.tag, str) or el.tag in ("meta", "script", "style"):
            continue
        marks = f"{el.get('id') or ''} {el.get('class') or ''}"
        if marks.strip() and _TIME_ELEMENT.search(marks):
            m = _META_TIME.search(el.text_content())
            if m:
                return {"published": _iso(m), "published_text": m.group(0).strip(),
                        "published_from": f"<{el.tag} {marks.strip()}>"}
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip().lower()
        if name in _META_TIME_NAMES:
            m = _META_TIME.search(meta.get("content") or "")
            if m:
                return {"published": _iso(m), "published_text": m.group(0), "published_from": f"<meta {name}>"}
    return {}


def _iso(m: re.Match[str]) -> str:
    y, mo, d, h, mi, s = m.groups()
    date = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
    if h is None:
        return date
    return f"{date}T{int(h):02d}:{mi}" + (f":{s}" if s else "")


def html_text(data: bytes, limit: int | None = None) -> tuple[list[str], dict[str, str], str | None]:
    """(lines of notice text, metadata, <title>) of an HTML page's bytes; the walk stops a little
    past ``limit`` characters."""
    lines, meta, title, _ = html_structure(data, limit)
    return lines, meta, title


def html_structure(data: bytes, limit: int | None = None
                   ) -> tuple[list[str], dict[str, str], str | None, _Walker | None]:
    """``html_text`` plus the walker that saw the data tables and headings (None for an empty page)."""
    text, encoding = decode_text(data, declared_charset(data))
    text = _SERVER_TAGS.sub("", _XML_DECL.sub("", text, count=1))
    if not text.strip():
        return [], {"format": "html", "encoding": encoding}, None, None
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return [], {"format": "html", "encoding": encoding}, None, None
    title_el = root.find(".//title")
    title = cell_text(title_el.text_content()) if title_el is not None else None
    body = root.find("body")
    start = body if body is not None else root
    out = _Lines(limit)
    walker = _Walker(len(start.text_content()))
    with contextlib.suppress(_Full):
        walker.walk(start, out)
    lines = [ln for ln in (_CHROME_TOKEN.sub("", ln).strip() for ln in out.lines) if ln and not _CHROME_LINE.match(ln)]
    meta: dict[str, str] = {"format": "html", "encoding": encoding}
    meta.update(_published(root, lines))
    if title:
        meta["html_title"] = title
    return lines, meta, _title(start, lines, title), walker


def page_blocks(walker: _Walker | None, text: str, page: int = 1) -> list[Block]:
    """The walker's headings and data tables as blocks, each cell located in the page text."""
    if walker is None:
        return []
    blocks: list[Block] = []
    pos = 0
    for heading, level in walker.headings:
        found = text.find(heading) if heading else -1
        if found >= 0:
            blocks.append(Heading(heading, level, found, found + len(heading)))
    for n, rows in enumerate(walker.tables, 1):
        table: Table = build_table(f"p{page}t{n}", page, rows)
        pos = locate_cells(table, text, pos)
        blocks.append(table)
    return blocks


def read_html(path: str | Path, budget: TextBudget | None = None) -> Document:
    """Read one saved web page into a one-page Document; raises ReadError."""
    from extractor.read.pdf import file_sha256, find_title

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ReadError("unreadable", f"cannot read file: {e.strerror or e}") from e
    budget = budget or TextBudget()
    lines, meta, title, walker = html_structure(data, budget.unpaged_limit)
    text = budget.take("\n".join(lines))
    if not text.strip():
        raise ReadError("empty", "web page holds no text (only scripts, styles or navigation?)")
    clean, clean_map = clean_page(text)
    pages = [Page(number=1, text=text, clean=clean, clean_map=clean_map, blocks=page_blocks(walker, text))]
    return Document(path=str(path), sha256=file_sha256(p), pages=pages, title=title or find_title(pages),
                    warnings=list(budget.warnings), metadata=meta)
