"""Labelled fields of the national notice format: notice type, method, project name and code,
buyer, agency and publication date (labels, blocks, the title)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from extractor.backends.rules.cues import cues, words_re
from extractor.backends.rules.dates import page_timestamp, publicity_start
from extractor.backends.rules.tables import cut_at_next_label
from extractor.backends.rules.views import (
    BLOCK_BODY,
    BLOCK_HEADS,
    BLOCKS,
    COLON,
    HEADING,
    ORG_SUFFIX,
    View,
    cell_value,
    clean_value,
    label_words,
)
from extractor.core.document import Document, FieldValue
from extractor.core.normalize import (
    iter_dates,
)
from extractor.core.shape import checks_for_schema, contradicting_kind

# "一、项目编号" alone on a heading line with the value on the next line.
_COLON_OR_HEADING_NL = r"(?:\s*[:：]\s*|(?<=[号称码])(?:(?<=^[一二三四五六七八九十]、....)|(?<=^[一二三四五六七八九十]、......))[ \t]*\n\s*)"

_LABELS = {
    "project_code": re.compile(r"(?<!原公告的)(?:" + label_words("project_code") + ")" + _COLON_OR_HEADING_NL + r"([^\n]+)", re.M),
    "project_name": re.compile(r"(?<![包标分])(?:" + label_words("project_name") + ")" + _COLON_OR_HEADING_NL + r"([^\n]+)", re.M),
    "buyer": re.compile(r"(?:" + label_words("buyer") + r")(?!代表|信息|联系)" + COLON + r"([^\n]+)"),
    "agency": re.compile(r"(?:" + label_words("agency") + ")" + COLON + r"([^\n]+)"),
    "publish_date": re.compile(r"(?<!原)(?<!原公告)(?<!原公告发布)(?<!首次)(?<!首次公告)(?<!开标)(?:" + label_words("publish_date") + ")"
                               + COLON + r"([^\n]+)"),
}

# A block whose heading ends one page and whose 名称 line opens the next.
_BLOCK_AT_PAGE_END = {k: re.compile(h + r"\s*\Z") for k, h in BLOCK_HEADS.items()}

_BLOCK_AT_PAGE_START = re.compile(r"\A\s*" + BLOCK_BODY)

_NOTICE_TYPES = [
    ("termination", re.compile(r"终止公告|废标公告|流标公告|终止公示|采购终止|项目终止|废标")),
    ("correction", re.compile(r"更正公告|变更公告|澄清公告|更正公示|澄清.{0,3}更正|补充公告")),
    ("intention", re.compile(r"采购意向")),
    ("single_source", re.compile(r"单一来源.{0,6}公示|单一来源采购.{0,4}公告")),
    ("contract", re.compile(r"合同公告|合同公示")),
    # 中标候选人公示: the evaluation's ranking, not yet an award (the contract's ``other``).
    ("other", re.compile(r"(?:候选人.{0,2}(?:公示|公告)|评标结果公示)(?!期|无异议|结束|已)")),
    ("award", re.compile(r"中标.{0,4}公告|成交.{0,4}公告|结果公告|中标.{0,4}公示|成交.{0,4}公示|结果公示|(?:中标|成交)通告")),
    ("tender", re.compile(r"招标公告|采购公告|磋商公告|谈判公告|询价公告|询价通知|邀请书|招标文件|磋商文件|谈判文件|询价文件|采购文件|比选公告|遴选公告")),
]

_METHODS = [
    ("competitive_consultation", "竞争性磋商"), ("competitive_negotiation", "竞争性谈判"),
    ("invited_tender", "邀请招标"), ("public_tender", "公开招标"), ("single_source", "单一来源"),
    ("framework", "框架协议"), ("inquiry", "询价"),
]

_METHOD_RE = re.compile("|".join(k for _, k in _METHODS))

_METHOD_OF = {k: v for v, k in _METHODS}

_METHOD_LABEL = re.compile(r"(?:采购方式|招标方式|采购形式)\s*(?:[:：]|为|拟为|拟采用|采用)\s*([^\n]{0,20})")

# A date label qualified by another notice (``招标公告发布日期``, ``采购文件发布时间``) dates that
# notice, not this one.
_OTHER_NOTICE_DATE = re.compile(r"(?:招标|采购|磋商|谈判|询价|预审|意向|首次|原|前次)(?:公告|公示|文件)?\s*$")

_DATE_LINE = re.compile(r"^\s*(?:(?:日期|时间)[:：])?\s*([0-9]{4}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|[〇○零一二三四五六七八九十]{4}年[〇○零一二三四五六七八九十]{1,2}月[〇○零一二三四五六七八九十]{1,3}日|[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2})\s*$", re.M)

_BAD_VALUE = re.compile(r"^[\s/_＿\-—无见详略（(]*$|盖章|签字|签章|^详见|^见")



def _title_span(views: list[View]) -> tuple[View, int, int] | None:
    """The notice's title: the first lines of page 1 up to the first labelled/numbered line."""
    if not views:
        return None
    v = views[0]
    start = end = None
    pos = 0
    lines = v.clean.split("\n")
    skip_banner = _is_banner(lines)
    for line in lines:
        s = line.strip()
        if (skip_banner and s) or (start is None and s in _chrome_lines()):  # above the title
            skip_banner = False
            pos += len(line) + 1
            continue
        if s and start is None and len(s) > 1:
            start = pos + line.index(s[0])
        if start is not None and (HEADING.match(line) or re.search(r"[:：，,。]", s) or len(s) > 60
                                  or _DATE_LINE.match(line)):
            break
        if start is not None and s:
            end = pos + len(line)
            if pos + len(line) - start > 120:
                break
        pos += len(line) + 1
    if start is None or end is None:
        return None
    return v, start, end



@lru_cache(maxsize=1)
def _chrome_lines() -> frozenset[str]:
    """Lines a site prints above a notice (``详细信息``, ``打印本页``): never part of its title."""
    return frozenset(cues()["page_chrome_lines"])


_BANNER_END = re.compile(r"(?:网|系统|平台|中心|办公室|管理处|交易所)$")
_NOTICE_WORD = re.compile(r"公告|公示|通告|意向|文件|通知|邀请")


def _is_banner(lines: list[str]) -> bool:
    """Whether page 1 opens with a site or office banner above the title (``东岭省政府采购网``,
    ``华东理工研究院 采购公告``): a short line that is a site/office name or two spaced parts, followed
    by a line of the title proper."""
    text = [line.strip() for line in lines if line.strip()][:3]
    if len(text) < 2 or len(text[0]) > 24:
        return False
    first, second = text[0], text[1]
    spaced = bool(re.search(r"[\u4e00-\u9fff)）]\s+[\u4e00-\u9fff]", first))
    if not (_BANNER_END.search(first) or spaced):
        return False
    title_after = _NOTICE_WORD.search(second) or (len(text) > 2 and _NOTICE_WORD.search(second + text[2]))
    return bool(title_after) and not re.search(r"[:：]", second)


def title_text(views: list[View]) -> tuple[str, View | None, int, int]:
    span = _title_span(views)
    if not span:
        return "", None, 0, 0
    v, s, e = span
    return re.sub(r"\s+", "", v.clean[s:e]), v, s, e



def notice_type_field(doc: Document, views: list[View]) -> FieldValue:
    title, v, s, e = title_text(views)
    sources = [(title, v, s, e)]
    if doc.title:
        sources.append((re.sub(r"\s+", "", doc.title), None, 0, 0))
    if views:
        head = views[0].flat[:400]
        sources.append((head, None, 0, 0))
    for text, view, s, e in sources:
        for kind, pattern in _NOTICE_TYPES:
            if pattern.search(text):
                body = _body_disagrees(doc, views, kind)
                if body is not None:
                    return body
                if view is not None:
                    return view.fv(kind, s, e)
                return _fv_for_text(views, pattern) or FieldValue(kind)
    return _kind_from_body(views) or FieldValue("other").low("no notice kind in the title or the body")


def _body_disagrees(doc: Document, views: list[View], kind: str) -> FieldValue | None:
    """The body's kind when the title's is one the checks judge, the body has none of its phrases
    and enough of another judged kind's (``overrule_with``: a 成交公告 title over a call for bids):
    sites reuse a template's title; the body says what the notice does."""
    other = contradicting_kind(checks_for_schema("tender"), "".join(v.flat for v in views), kind, overrule=True)
    if other is None:
        return None
    fv = _kind_from_body(views, only=other)
    return fv.low(f"the title says {kind}, the body's phrases say {other}") if fv is not None else None


@lru_cache(maxsize=1)
def _body_cues() -> list[tuple[str, re.Pattern[str]]]:
    body = (checks_for_schema("tender").data.get("notice_type") or {}).get("body_cues") or {}
    return [(kind, re.compile(words_re(words))) for kind, words in body.items()]


def _kind_from_body(views: list[View], only: str | None = None) -> FieldValue | None:
    """The kind from the body's standard phrases (``更正事项``, ``欢迎合格的供应商前来投标``) when the
    title names none (web notices saved without their title)."""
    for kind, pattern in _body_cues():
        if only is not None and kind != only:
            continue
        for v in views[:2]:
            m = pattern.search(v.flat)
            if m:
                return v.fv(kind, m.start(), m.end(), flat=True).low(f"kind read from the phrase {m.group()!r}, not a title")
    return None



def _fv_for_text(views: list[View], pattern: re.Pattern[str]) -> FieldValue | None:
    for v in views[:2]:
        m = pattern.search(v.flat)
        if m:
            kind = next(k for k, p in _NOTICE_TYPES if p is pattern)
            return v.fv(kind, m.start(), m.end(), flat=True)
    return None



def method_field(views: list[View], notice: str) -> FieldValue:
    for v in views:
        for m in _METHOD_LABEL.finditer(v.clean):
            k = _METHOD_RE.search(m.group(1))
            if k:
                return v.fv(_METHOD_OF[k.group()], m.start(), m.end())
    title, tv, s, e = title_text(views)
    k = _METHOD_RE.search(title)
    if k and tv is not None:
        return tv.fv(_METHOD_OF[k.group()], s, e)
    if notice == "intention":
        return FieldValue(None)
    for v in views[:3]:
        for k in _METHOD_RE.finditer(v.flat):
            if k.group() == "单一来源" and notice not in ("single_source",):
                continue
            return v.fv(_METHOD_OF[k.group()], max(0, k.start() - 8), k.end() + 4, flat=True).low(
                "method word found in the text, not under a 采购方式 label")
    return FieldValue(None)



def labelled_field(views: list[View], field: str, clean: Any,
                   shaped: Callable[[FieldValue], bool] | None = None) -> FieldValue | None:
    """The first labelled value; with ``shaped``, the first that has the field's shape, else the first
    found (a person signing under 招标人： gives way to the 招标人 of the contact block further down)."""
    pattern = _LABELS[field]
    first: FieldValue | None = None
    for v in views:
        for m in pattern.finditer(v.clean):
            value = clean(m.group(1), v, m)
            if value:
                end = m.end(1)
                if value not in v.clean[m.start(1):end]:  # wrapped onto the next line: quote both lines
                    nl = v.clean.find("\n", end + 1)
                    end = nl if nl >= 0 else len(v.clean)
                fv = v.fv(value, m.start(), end)
                if shaped is None or shaped(fv):
                    return fv
                first = first or fv
    return first



def block_field(views: list[View], field: str) -> FieldValue | None:
    for i, v in enumerate(views):
        for m in BLOCKS[field].finditer(v.clean):
            value = org_value(m.group(1), v, m)
            if value:
                return v.fv(value, m.start(1) - 3, m.end(1))
        if i + 1 < len(views) and _BLOCK_AT_PAGE_END[field].search(v.clean[-80:]):
            nxt = views[i + 1]
            head = _BLOCK_AT_PAGE_START.match(nxt.clean)
            value = org_value(head.group(1), nxt, head) if head else None
            if head and value:
                return nxt.fv(value, head.start(1) - 3, head.end(1))
    return None



def _until_unmatched_close(value: str) -> str:
    """A value up to a closing bracket it did not open: ``ALCG-2023-017）已于…`` → ``ALCG-2023-017``
    (the code ran into the sentence around its bracket); ``HCA(4)2017…`` keeps its own brackets."""
    depth = 0
    for i, ch in enumerate(value):
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            if depth == 0:
                return value[:i]
            depth -= 1
    return value


def code_value(raw: str, v: View, m: re.Match[str]) -> str | None:
    raw = _until_unmatched_close(cell_value(v, m)[0])
    value = re.split(r"[（；;，,。\s]|\((?=[\u4e00-\u9fff])", raw.strip(), maxsplit=1)[0].strip(" ：:")
    if not value or _BAD_VALUE.search(value) or not re.search(r"[A-Za-z0-9]", value):
        return None
    return value[:-1] if _COUNTER_SUFFIX.match(value) else value


# ``MJZ2016017号``: the counter word after a plain ASCII code is not part of it (``第30号`` and
# ``[2019]12号`` keep theirs: there 号 belongs to the document number)
_COUNTER_SUFFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]{3,}号$")



def _continued(v: View, m: re.Match[str], value: str) -> str:
    """Join a value wrapped onto the next line (long names in narrow columns/pages)."""
    line_start = v.clean.rfind("\n", 0, m.start()) + 1
    nxt_end = v.clean.find("\n", m.end(1) + 1)
    nxt = v.clean[m.end(1) + 1: nxt_end if nxt_end >= 0 else len(v.clean)].strip()
    # a line filled to the margin, or a name that stops short of any name ending (``…加工及``)
    # while the next line supplies one (``…数据库建设服务项目``)
    unfinished = not _NAME_END.search(value) and bool(_NAME_END.search(nxt))
    if m.end(1) - line_start < 30 and not unfinished:
        return value
    if not nxt or HEADING.match(nxt) or re.search(r"[:：]", nxt[:14]) or len(nxt) > 30:
        return value
    return value + clean_value(nxt)


# How a project's name usually ends; a value without such an ending may continue on the next line.
_NAME_END = re.compile(r"(?:项目|采购|服务|工程|施工|建设|系统|平台|设备|监理|设计|改造|[包标]|[期次批][)）]|[)）])$")



def name_value(raw: str, v: View, m: re.Match[str]) -> str | None:
    raw, cut = cell_value(v, m)
    value = raw.strip()
    value = re.split(r"[；;。]|\s{2,}", value, maxsplit=1)[0].strip(" ：:，,")
    if not value or _BAD_VALUE.search(value):
        return None
    return _continued(v, m, value) if value == raw.strip() and not cut else value



def org_value(raw: str, v: View, m: re.Match[str]) -> str | None:
    value = clean_value(cell_value(v, m)[0])
    value = cut_at_next_label(re.split(r"\s*(?:地址|联系人|联系方式|电话)[:：]", value, maxsplit=1)[0].strip())
    if not value or _BAD_VALUE.search(value) or len(value) < 2 or len(value) > 60:
        return None
    return _org_wrapped(v, m, value)


_ORG_END = re.compile(ORG_SUFFIX + "$")


def _org_wrapped(v: View, m: re.Match[str], value: str) -> str:
    """An organisation's name cut by a cell's line break (``北原明信招标有限公⏎司``): joined when the
    next line's first characters complete an organisation ending the value lacks."""
    if _ORG_END.search(value) or m.end(1) >= len(v.clean) or v.clean[m.end(1)] != "\n":
        return value
    head = re.match(r"[^\s:：，,。；;]{1,4}", v.clean[m.end(1) + 1: m.end(1) + 6])
    if head and _ORG_END.search(value + head.group()) and not _ORG_END.search(head.group()):
        return value + head.group()
    return value



# What a title adds to the project's name: the notice's kind (``…中标候选人公示``, ``…招标公告``).
_TITLE_NOTICE_SUFFIX = re.compile(
    r"的?(?:(?:公开|邀请)?招标|中标(?:（成交）|\(成交\))?|成交|(?:竞争性)?磋商|(?:竞争性)?谈判|询价|单一来源(?:采购)?)?"
    r"(?:候选人)?(?:结果)?"
    r"(?:更正|变更|澄清|终止|废标|流标|补充)?(?:公告|公示|通告)"
    r"(?P<qualifier>[（(]第?[一二三四五六七八九十\d]+次[^（）()]{0,4}[)）])?$")

_TITLE_NAME_MAX = 80



def _name_from_title(title: str | None) -> str | None:
    """A project name from a title: the notice-kind suffix dropped (a ``(第2次招标)`` qualifier kept);
    None for a run of flattened text rather than a title."""
    if not title:
        return None
    name = re.split(r"[。；;！!？?]", title.strip(), maxsplit=1)[0].strip()
    m = _TITLE_NOTICE_SUFFIX.search(name)
    if m:  # a title that is only the notice's kind (``公开招标公告``) names no project
        name = name[: m.start()] + (m.group("qualifier") or "") if m.start() > 0 else ""
    name = _TITLE_PACKAGE_SUFFIX.sub("", name) if len(name) > 6 else name
    name = name.strip(" ：:，,-—")
    return name if 2 <= len(name) <= _TITLE_NAME_MAX else None


# A tender package's title ends with the document kind (``…工程施工招标文件``).
_TITLE_PACKAGE_SUFFIX = re.compile(r"(?:公开|竞争性|单一来源|询价)?(?:招标|采购|磋商|谈判|询价)文件(?:示范文本)?$")



def title_field(doc: Document, views: list[View]) -> FieldValue:
    """The project's name from the title; a title name the body never repeats, while the body does
    repeat its tail, carries a prefix that is not the name (a banner, an office): the tail is kept."""
    title, v, s, e = title_text(views)
    if v is None:
        return FieldValue(_name_from_title(doc.title)).low("from the file's title, no label")
    name = _name_from_title(title)
    if not name:
        return FieldValue(None)
    body = re.sub(r"\s+", "", v.clean[:s] + v.clean[e:] + "".join(w.clean for w in views[1:]))
    if name not in body:
        tail = next((name[k:] for k in range(1, len(name) - 7) if name[k:] in body), None)
        if tail:
            return v.fv(tail, s, e).low("from the title, its prefix dropped because the body never repeats it")
    return v.fv(name, s, e).low("from the notice title, no 项目名称 label")


_ROW_ONE = re.compile(r"^[ \t]*1[ \t]*$", re.M)
_ROW_TWO = re.compile(r"^[ \t]*2[ \t]*$", re.M)
_NAME_COLUMN = re.compile(r"^[ \t]*(?:采购项目名称|项目名称)[ \t]*$", re.M)


def intention_row_name(views: list[View]) -> FieldValue | None:
    """An intention notice listing ONE purchase in its table: that row's project name (the
    title names the notice, not the project). The name cell wraps over lines as narrow as the
    first; the next, wider lines are the next cell."""
    for v in views:
        head = _NAME_COLUMN.search(v.clean)
        row = _ROW_ONE.search(v.clean, head.end()) if head else None
        if not head or not row or row.start() - head.end() > 80 or _ROW_TWO.search(v.clean, row.end()):
            continue
        lines = v.clean[row.end() + 1:].split("\n")
        parts = [lines[0].strip()]
        for line in lines[1:4]:
            s = line.strip()
            if not s or len(s) > len(parts[0]) + 1 or re.match(r"[\d,.]+$", s):
                break
            parts.append(s)
        name = "".join(parts)
        if len(name) >= 4:
            start = row.end() + 1 + lines[0].index(parts[0][0])
            end = row.end() + 1 + sum(len(x) + 1 for x in lines[: len(parts)]) - 1
            return v.fv(name, start, end)
    return None


_SENTENCE_BUYER = [
    # ``临江传媒学院于2024年03月18日 在阳光易采电子采购平台发布的…``: a purchasing platform's notice
    re.compile(rf"^\s*([\u4e00-\u9fff（）()]{{2,40}}?(?:{ORG_SUFFIX[3:-1]}|局|委员会|政府|办公室|馆|所|院|站|厅))"
               r"于\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*在", re.M),
    # ``受西湖区教育局委托``
    re.compile(rf"受([\u4e00-\u9fff（）()]{{2,40}}?(?:{ORG_SUFFIX[3:-1]}|局|委员会|政府|办公室|馆|所|院|站|厅))(?:的)?委托"),
]


def buyer_from_sentence(views: list[View]) -> FieldValue | None:
    """The buyer named only in a sentence (no label): ``X于…在…平台发布的``, ``受X委托``."""
    for pattern in _SENTENCE_BUYER:
        for v in views[:2]:
            m = pattern.search(v.clean)
            if m:
                return v.fv(m.group(1), m.start(1), m.end(1)).low("named in a sentence, not under a label")
    return None



def buyer_from_title(views: list[View]) -> FieldValue:
    """Intention notices often name the buyer only in the title (``江州大学2025年…采购意向``)."""
    title, v, s, e = title_text(views)
    m = re.match(rf"^([\u4e00-\u9fff（）()]{{2,40}}?{ORG_SUFFIX}|[\u4e00-\u9fff]{{2,30}}?(?:局|委员会|政府|办公室|馆|所|院|站|队|厅))", title)
    if m and v is not None:
        return v.fv(m.group(1), s, e).low("the buyer read off the title's opening words")
    return FieldValue(None)



def publish_date_field(views: list[View]) -> FieldValue:
    for v in views:
        for m in _LABELS["publish_date"].finditer(v.clean):
            line_start = v.clean.rfind("\n", 0, m.start()) + 1
            if _OTHER_NOTICE_DATE.search(v.clean[max(line_start, m.start() - 8): m.start()]):
                continue
            hits = iter_dates(m.group(1))
            if hits:
                return v.fv(hits[0].iso, m.start(), m.start(1) + hits[0].end)
    for v in reversed(views):
        lines = list(_DATE_LINE.finditer(v.clean))
        for m in reversed(lines):
            hits = iter_dates(m.group(1))
            if hits:
                fv = v.fv(hits[0].iso, m.start(1), m.end(1))
                # a package's cover or last-page date: usually its issue date, but not labelled as such
                return fv.low("an unlabelled date line in a multi-page document") if len(views) > 3 else fv
    return page_timestamp(views) or publicity_start(views) or FieldValue(None)

