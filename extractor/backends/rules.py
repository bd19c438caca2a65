"""The offline rules engine: labelled fields of the national notice format, the watchlist, and
the AI-compute counts, each value with its page and a verbatim quote from the raw page text.

Works on each page's cleaned view (spaced labels joined, full-width digits folded) and maps
every span back to pypdf's raw text through ``clean_map``, so quotes verify against the
document as printed. All patterns are compiled once; a notice is scanned a few times in
total, not once per field label, so thousands of notices per second are possible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from extractor.core.document import Document, FieldValue, Page
from extractor.core.normalize import (
    cn_to_int,
    iter_amounts,
    iter_dates,
    parse_amount,
    parse_count,
    to_halfwidth,
)
from extractor.core.watchlist import Mention, default_watchlist

__all__ = ["extract_rules", "FIELD_NAMES"]

FIELD_NAMES = (
    "notice_type", "procurement_method", "project_name", "project_code", "buyer", "agency",
    "publish_date", "budget_cny", "award_amount_cny", "suppliers", "chips", "cloud_providers",
    "ai_models", "gpu_count", "server_count", "token_count", "restricted_us_tech",
)
_LIST_FIELDS = {"suppliers", "chips", "cloud_providers", "ai_models"}

_CN_NUM = "零〇一二两三四五六七八九十"
_NUM = rf"(\d+|[{_CN_NUM}]+)"


# --------------------------------------------------------------------------- page views

@dataclass
class _View:
    """One page's cleaned text, its flat form (no newlines) and the maps back to raw text."""

    number: int
    raw: str
    clean: str
    cmap: list[int]
    flat: str
    fmap: list[int]  # flat index -> clean index

    @classmethod
    def of(cls, page: Page) -> _View:
        if page.clean and len(page.clean_map) == len(page.clean):
            clean, cmap = page.clean, list(page.clean_map)
        else:  # no cleaned view: the raw text, width-folded one char for one char
            clean, cmap = to_halfwidth(page.text), list(range(len(page.text)))
        keep = [i for i, ch in enumerate(clean) if ch != "\n"]
        return cls(page.number, page.text, clean, cmap, "".join(clean[i] for i in keep), keep)

    def quote(self, start: int, end: int, limit: int = 160) -> str:
        """The raw text behind clean[start:end] (verbatim, may include line breaks)."""
        end = max(start + 1, min(end, start + limit, len(self.clean)))
        if start >= len(self.cmap):
            return ""
        return self.raw[self.cmap[start]: self.cmap[end - 1] + 1]

    def flat_quote(self, start: int, end: int) -> str:
        end = max(start + 1, min(end, len(self.fmap)))
        return self.quote(self.fmap[start], self.fmap[end - 1] + 1)

    def fv(self, value: Any, start: int, end: int, flat: bool = False) -> FieldValue:
        q = self.flat_quote(start, end) if flat else self.quote(start, end)
        return FieldValue(value=value, page=self.number, quote=q.strip() or None)


# --------------------------------------------------------------------------- patterns

_COLON = r"\s*[:：]\s*"
# "一、项目编号" alone on a heading line with the value on the next line.
_COLON_OR_HEADING_NL = r"(?:\s*[:：]\s*|(?<=[号称码])(?:(?<=^[一二三四五六七八九十]、....)|(?<=^[一二三四五六七八九十]、......))[ \t]*\n\s*)"
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d)|第[一二三四五六七八九十\d]+[章节条]|[（(][一二三四五六七八九十\d]+[)）])")

_LABELS = {
    "project_code": re.compile(r"(?<!原公告的)(?:采购项目编号|项目编号|采购编号|招标编号|采购计划编号|项目代码)" + _COLON_OR_HEADING_NL + r"([^\n]+)", re.M),
    "project_name": re.compile(r"(?<![包标分])(?:采购项目名称|项目名称|招标项目名称)" + _COLON_OR_HEADING_NL + r"([^\n]+)", re.M),
    "buyer": re.compile(r"(?:采购人名称|采购单位名称|招标人名称|采购人|采购单位|招标人|采购方)(?!代表|信息|联系)" + _COLON + r"([^\n]+)"),
    "agency": re.compile(r"(?:采购代理机构名称|招标代理机构名称|代理机构名称|采购代理机构|招标代理机构|集中采购机构名称|集中采购机构|"
                         r"招标机构名称|招标机构|代理机构|招标代理)" + _COLON + r"([^\n]+)"),
    "publish_date": re.compile(r"(?<!原)(?<!原公告)(?<!原公告发布)(?<!首次)(?<!首次公告)(?<!开标)(?:公告日期|发布日期|发布时间|公示日期|公告时间|更正日期|合同公告日期|公告发布日期)" + _COLON + r"([^\n]+)"),
}
_BLOCK_HEADS = {
    "buyer": r"采购人信息[^\n]*",
    "agency": r"(?:采购代理机构|代理机构|集中采购机构)(?:信息)?[ \t]*",
    "suppliers": r"(?:拟定供应商|中标供应商|成交供应商|中标人|供应商)信息[ \t]*",
}
_BLOCK_BODY = r"(?:[^\n:：]*\n)?\s*名\s*称" + _COLON + r"([^\n]+)"
_BLOCKS = {k: re.compile(h + r"\n" + _BLOCK_BODY) for k, h in _BLOCK_HEADS.items()}
# A block whose heading ends one page and whose 名称 line opens the next.
_BLOCK_AT_PAGE_END = {k: re.compile(h + r"\s*\Z") for k, h in _BLOCK_HEADS.items()}
_BLOCK_AT_PAGE_START = re.compile(r"\A\s*" + _BLOCK_BODY)
_BUDGET = re.compile(r"(?:项目预算金额|采购预算金额|预算总金额|预算金额|采购预算|项目预算|预算资金|最高限价|控制价)")
_BUDGET_PRIMARY = ("项目预算金额", "采购预算金额", "预算总金额", "预算金额", "采购预算", "项目预算", "预算资金")
_AWARD = re.compile(r"(?:中标（成交）金额|中标\(成交\)金额|中标金额|成交金额|合同金额|中标价格?|成交价格?|中标（成交）价)")


def _column_header(*labels: str) -> re.Pattern[str]:
    """A table column header alone on its line(s), wrapped anywhere (``中标（成交）金⏎额``)."""
    spaced = ["".join(re.escape(ch) + r"\s*" for ch in label).removesuffix(r"\s*") for label in labels]
    return re.compile(r"^[ \t]*(?:" + "|".join(spaced) + r")[ \t]*$", re.M)


_AWARD_COLUMN = _column_header("中标（成交）金额", "中标(成交)金额", "中标金额", "成交金额", "合同金额", "中标价", "成交价",
                               "中标价格", "成交价格")
_BUDGET_COLUMN = _column_header("预算金额", "采购预算", "项目预算", "预算资金")
_LOT = re.compile(r"分包|[包标]段?[一二三四五六七八九十\d]|第[一二三四五六七八九十\d]+[包标]|包号|标段")
_SUPPLIER_LABEL = re.compile(
    r"(?:中标（成交）供应商名称|中标（成交）供应商|中标供应商名称|成交供应商名称|中标供应商|成交供应商|"
    r"供应商名称|中标人名称|中标人|成交人|拟定供应商名称|拟定供应商|拟定的供应商|乙方名称|供应商（乙方）|乙方)" + _COLON + r"([^\n]+)")
_ORG_SUFFIX = r"(?:有限责任公司|股份有限公司|有限公司|集团公司|公司|研究院|研究所|大学|学院|医院|中心|事务所)"
_ORG_LINE = re.compile(rf"^[\u4e00-\u9fff（）()A-Za-z0-9·]{{3,50}}{_ORG_SUFFIX}$")
_SUPPLIER_TABLE = re.compile(r"中标供应商|成交供应商|供应商名称|中标人名称|中标（成交）供应商")

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

_GPU_WORDS = r"(?:GPU|gpu|显卡|加速卡|算力卡|计算卡|NPU|AI处理器|DCU|加速器|训练卡|推理卡|Tensor\s*Core)"
_PER_SERVER = re.compile(rf"(?:每台|单台|单机|每节点|每个节点|每套|每台服务器|每台实例|每台工作站)[^。；;，,]{{0,12}}?{_NUM}\s*(?:块|张|片|颗|个|卡)")
_N_CARD = re.compile(rf"{_NUM}\s*卡(?:GPU|AI|智算|训练|推理)?(?:服务器|主机|机型|节点)")
_TOTAL_GPU = re.compile(rf"(?:共计|合计|总计|共|总共|累计)\s*(?:配置|配备|含|包含|采购|部署)?\s*{_NUM}\s*(?:块|张|片|颗|个)[^。；;，,]{{0,16}}?{_GPU_WORDS}")
_TOTAL_GPU_WORD_FIRST = re.compile(rf"(?:共计|合计|总计|总共|累计|共)\s*(?:配置|配备|含|包含|采购|部署)?[^。；;，,\d]{{0,12}}?{_GPU_WORDS}\s*{_NUM}\s*(?:块|张|片|颗|个)")
# A bare card count (``智能加速卡16张``, ``采购24张昇腾加速卡``), not a capability (``最多支持8块GPU``).
_GPU_QTY = re.compile(rf"(?<!支持)(?<!扩展)(?<!最多)(?<!最大)(?<!可插)(?:{_GPU_WORDS}[^。；;，,\d]{{0,6}}?{_NUM}\s*(?:块|张|片)|{_NUM}\s*(?:块|张|片)[^。；;，,\d]{{0,10}}?{_GPU_WORDS})")
# Machines or cards the buyer already owns (``现有的4台推理服务器``) are not what it buys.
_EXISTING = re.compile(r"(?:现有|已有|原有|既有|已建|已购|现网)[^。；;，,\d]{0,6}$")
_SPEC_COUNT = re.compile(rf"{_NUM}\s*(?:块|张|片|颗|个|卡)")
_ITEM_SEP = re.compile(r"[、，,/]")
_CLAUSE_END = re.compile(r"[。；;]")
_QTY = re.compile(rf"{_NUM}\s*(?:台|个节点|节点|套)")
_SERVER_WORD = re.compile(r"服务器|实例|节点|主机|云主机|ECS|DGX|HGX|整机柜|计算系统|Atlas")
_NOT_SERVER = re.compile(r"工作站|计算机|台式|笔记本|一体机|终端|交换机|存储")
_SERVER_QTY = re.compile(rf"(?:服务器|实例|云主机|节点|主机|ECS)[^。；;，,\d]{{0,12}}?{_NUM}\s*(?:台|个)|{_NUM}\s*(?:台|个)[^。；;，,\d]{{0,16}}?(?:服务器|实例|云主机|主机|DGX|HGX)")
_TOKENS = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(亿|千万|百万|万|[kKmMbB])?\s*(?:个)?\s*(?:tokens?|Tokens?|TOKENS?|令牌)")
# A throughput (``800 tokens/s``, ``每秒…tokens``) is a performance requirement, not tokens bought.
_TOKEN_RATE_AFTER = re.compile(r"\s*(?:/|每)\s*(?:s|秒|min|分钟|sec)|\s*per\s*s", re.I)
_TOKEN_RATE_BEFORE = re.compile(r"每秒[^。；;，,\d]{0,6}$|吞吐[^。；;，,\d]{0,8}$")

_CORRECTION_AFTER = re.compile(r"更正后|变更后|修改后|调整为|变更为|更改为|修改为|更正为|现内容|更正内容")
_CORRECTION_BEFORE = re.compile(r"更正前|变更前|修改前|原内容|原公告|原招标|原采购|原要求")


def _num(s: str) -> int | None:
    return int(s) if s.isdigit() else cn_to_int(s)


# The next label run into a value on flattened text (``设备采购 项目编号：…``, ``… 二、…``).
_NEXT_LABEL = re.compile(r"\s(?=[\u4e00-\u9fff（）()]{2,12}[:：]|[一二三四五六七八九十]+、)")


def _cell(v: _View, m: re.Match[str]) -> tuple[str, bool]:
    """A label's value up to the end of its table cell, and whether a cell break cut it.

    pypdf and HTML dumps flatten a table row into one line with tabs (or runs of spaces)
    between cells; the cleaned view folds those to one space, so the raw text decides."""
    start, end = m.start(1), m.end(1)
    cell_end = next((i for i in range(start + 1, end - 1) if v.clean[i].isspace()
                     and re.search(r"\t| {2}|\u3000{2}", v.raw[v.cmap[i - 1] + 1: v.cmap[i + 1]])), end)
    value = v.clean[start:cell_end]
    cut = _NEXT_LABEL.search(value)
    return (value[: cut.start()], True) if cut else (value, cell_end < end)


def _clean_value(v: str) -> str:
    """A label's value as printed, without trailing notes in brackets or list punctuation."""
    v = v.strip()
    v = re.split(r"[；;，,。]|\s{2,}|（(?=[^）]*(?:编号|简称|以下|盖章|采购|招标|代理|联系))", v, maxsplit=1)[0]
    return v.strip(" ：:\t")


# --------------------------------------------------------------------------- the engine

def extract_rules(doc: Document, schema: Any = None) -> dict[str, FieldValue]:
    """Every field of the schema (default: tender v1) from the document, offline.

    Non-null values carry the 1-based page and a verbatim quote from that page's raw text.
    Fields the rules cannot find are ``FieldValue(None)`` (or ``[]`` for lists)."""
    views = [_View.of(p) for p in doc.pages if (p.clean or p.text)]
    out: dict[str, FieldValue] = {}
    out["notice_type"] = _notice_type(doc, views)
    notice = out["notice_type"].value
    out["procurement_method"] = _method(views, notice)
    out["project_code"] = _labelled(views, "project_code", _code_value) or FieldValue(None)
    out["project_name"] = _labelled(views, "project_name", _name_value) or _title_field(doc, views)
    out["buyer"] = _labelled(views, "buyer", _org_value) or _block(views, "buyer") or _buyer_from_title(views)
    out["agency"] = _block(views, "agency") or _labelled(views, "agency", _org_value) or FieldValue(None)
    out["publish_date"] = _publish_date(views)
    out["budget_cny"] = (_money(views, _BUDGET, primary=_BUDGET_PRIMARY) or _table_column_sum(views, r"预算金额|预算（|采购预算")
                         or _table_cell_amounts(views, _BUDGET_COLUMN) or FieldValue(None))
    if notice in ("award", "contract"):
        out["award_amount_cny"] = (_money(views, _AWARD) or _table_column_sum(views, r"中标金额|成交金额|中标（成交）金额")
                                   or _table_cell_amounts(views, _AWARD_COLUMN) or FieldValue(None))
    else:
        out["award_amount_cny"] = FieldValue(None)
    out["suppliers"] = _suppliers(views) if notice in ("award", "contract", "single_source") else FieldValue([])
    mentions = _mentions(views, notice)
    names = default_watchlist().canonicals([m for _, m in mentions])
    for fname, kind in (("chips", "chip"), ("cloud_providers", "cloud"), ("ai_models", "model")):
        out[fname] = _list_with_evidence(views, mentions, names[kind])
    ai = bool(names["chip"] or names["model"]) or _has_ai_words(views)
    out["gpu_count"], out["server_count"] = _compute_counts(views, ai)
    out["token_count"] = _token_count(views)
    out["restricted_us_tech"] = _restricted(views, mentions, names, notice, out["publish_date"].value, ai)
    for fv in out.values():
        if fv.value is None or (isinstance(fv.value, list) and not fv.value):
            fv.page, fv.quote = None, None
    if schema is not None and getattr(schema, "fields", None):
        wanted = [f.name for f in schema.fields]
        return {n: out.get(n, FieldValue([] if n in _LIST_FIELDS else None)) for n in wanted}
    return out


# --------------------------------------------------------------------------- basics

def _title_span(views: list[_View]) -> tuple[_View, int, int] | None:
    """The notice's title: the first lines of page 1 up to the first labelled/numbered line."""
    if not views:
        return None
    v = views[0]
    start = end = None
    pos = 0
    for line in v.clean.split("\n"):
        s = line.strip()
        if s and start is None and len(s) > 1:
            start = pos + line.index(s[0])
        if start is not None and (_HEADING.match(line) or re.search(r"[:：，,。]", s) or len(s) > 60
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


def _title_text(views: list[_View]) -> tuple[str, _View | None, int, int]:
    span = _title_span(views)
    if not span:
        return "", None, 0, 0
    v, s, e = span
    return re.sub(r"\s+", "", v.clean[s:e]), v, s, e


def _notice_type(doc: Document, views: list[_View]) -> FieldValue:
    title, v, s, e = _title_text(views)
    sources = [(title, v, s, e)]
    if doc.title:
        sources.append((re.sub(r"\s+", "", doc.title), None, 0, 0))
    if views:
        head = views[0].flat[:400]
        sources.append((head, None, 0, 0))
    for text, view, s, e in sources:
        for kind, pattern in _NOTICE_TYPES:
            if pattern.search(text):
                if view is not None:
                    return view.fv(kind, s, e)
                return _fv_for_text(views, pattern) or FieldValue(kind)
    return FieldValue("other")


def _fv_for_text(views: list[_View], pattern: re.Pattern[str]) -> FieldValue | None:
    for v in views[:2]:
        m = pattern.search(v.flat)
        if m:
            kind = next(k for k, p in _NOTICE_TYPES if p is pattern)
            return v.fv(kind, m.start(), m.end(), flat=True)
    return None


def _method(views: list[_View], notice: str) -> FieldValue:
    for v in views:
        for m in _METHOD_LABEL.finditer(v.clean):
            k = _METHOD_RE.search(m.group(1))
            if k:
                return v.fv(_METHOD_OF[k.group()], m.start(), m.end())
    title, tv, s, e = _title_text(views)
    k = _METHOD_RE.search(title)
    if k and tv is not None:
        return tv.fv(_METHOD_OF[k.group()], s, e)
    if notice == "intention":
        return FieldValue(None)
    for v in views[:3]:
        for k in _METHOD_RE.finditer(v.flat):
            if k.group() == "单一来源" and notice not in ("single_source",):
                continue
            return v.fv(_METHOD_OF[k.group()], max(0, k.start() - 8), k.end() + 4, flat=True)
    return FieldValue(None)


def _labelled(views: list[_View], field: str, clean: Any) -> FieldValue | None:
    pattern = _LABELS[field]
    for v in views:
        for m in pattern.finditer(v.clean):
            value = clean(m.group(1), v, m)
            if value:
                return v.fv(value, m.start(), m.end(1))
    return None


def _block(views: list[_View], field: str) -> FieldValue | None:
    for i, v in enumerate(views):
        for m in _BLOCKS[field].finditer(v.clean):
            value = _org_value(m.group(1), v, m)
            if value:
                return v.fv(value, m.start(1) - 3, m.end(1))
        if i + 1 < len(views) and _BLOCK_AT_PAGE_END[field].search(v.clean[-80:]):
            nxt = views[i + 1]
            m = _BLOCK_AT_PAGE_START.match(nxt.clean)
            value = _org_value(m.group(1), nxt, m) if m else None
            if m and value:
                return nxt.fv(value, m.start(1) - 3, m.end(1))
    return None


def _code_value(raw: str, v: _View, m: re.Match[str]) -> str | None:
    raw = _cell(v, m)[0]
    value = re.split(r"[（；;，,。\s]|\((?=[\u4e00-\u9fff])", raw.strip(), maxsplit=1)[0].strip(" ：:")
    if not value or _BAD_VALUE.search(value) or not re.search(r"[A-Za-z0-9]", value):
        return None
    return value


def _continued(v: _View, m: re.Match[str], value: str) -> str:
    """Join a value wrapped onto the next line (long names in narrow columns/pages)."""
    line_start = v.clean.rfind("\n", 0, m.start()) + 1
    if m.end(1) - line_start < 30:
        return value
    nxt_end = v.clean.find("\n", m.end(1) + 1)
    nxt = v.clean[m.end(1) + 1: nxt_end if nxt_end >= 0 else len(v.clean)].strip()
    if not nxt or _HEADING.match(nxt) or re.search(r"[:：]", nxt[:14]) or len(nxt) > 30:
        return value
    return value + _clean_value(nxt)


def _name_value(raw: str, v: _View, m: re.Match[str]) -> str | None:
    raw, cut = _cell(v, m)
    value = raw.strip()
    value = re.split(r"[；;。]|\s{2,}", value, maxsplit=1)[0].strip(" ：:，,")
    if not value or _BAD_VALUE.search(value):
        return None
    return _continued(v, m, value) if value == raw.strip() and not cut else value


def _org_value(raw: str, v: _View, m: re.Match[str]) -> str | None:
    value = _clean_value(_cell(v, m)[0])
    value = re.split(r"\s*(?:地址|联系人|联系方式|电话)[:：]", value, maxsplit=1)[0].strip()
    if not value or _BAD_VALUE.search(value) or len(value) < 2 or len(value) > 60:
        return None
    return value


# What a title adds to the project's name: the notice's kind (``…中标候选人公示``, ``…招标公告``).
_TITLE_NOTICE_SUFFIX = re.compile(
    r"的?(?:(?:公开|邀请)?招标|中标(?:（成交）|\(成交\))?|成交)?(?:候选人)?(?:结果)?"
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
    name = name.strip(" ：:，,-—")
    return name if 2 <= len(name) <= _TITLE_NAME_MAX else None


def _title_field(doc: Document, views: list[_View]) -> FieldValue:
    title, v, s, e = _title_text(views)
    if v is None:
        return FieldValue(_name_from_title(doc.title))
    name = _name_from_title(title)
    return v.fv(name, s, e) if name else FieldValue(None)


def _buyer_from_title(views: list[_View]) -> FieldValue:
    """Intention notices often name the buyer only in the title (``江州大学2025年…采购意向``)."""
    title, v, s, e = _title_text(views)
    m = re.match(rf"^([\u4e00-\u9fff（）()]{{2,40}}?{_ORG_SUFFIX}|[\u4e00-\u9fff]{{2,30}}?(?:局|委员会|政府|办公室|馆|所|院|站|队|厅))", title)
    if m and v is not None:
        return v.fv(m.group(1), s, e)
    return FieldValue(None)


def _publish_date(views: list[_View]) -> FieldValue:
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
                return v.fv(hits[0].iso, m.start(1), m.end(1))
    return FieldValue(None)


# --------------------------------------------------------------------------- money

_UNIT_WRAPPED = re.compile(r"(?<=\d)\n\s*(?:亿元|万元|元|亿|万)")


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _money(views: list[_View], label: re.Pattern[str], primary: Iterable[str] = ()) -> FieldValue | None:
    """The amount after a money label. Several labelled amounts that belong to lots are summed;
    a primary label (预算金额) wins over a secondary one (最高限价)."""
    hits: list[tuple[int, float, _View, int, int, bool]] = []  # (rank, value, view, start, end, lot)
    primary = tuple(primary)
    for v in views:
        for m in label.finditer(v.clean):
            window_end = _line_end(v.clean, m.end())
            if _UNIT_WRAPPED.match(v.clean, window_end):  # ``96⏎万元``: the figure's unit on the next line
                window_end = _line_end(v.clean, window_end + 1)
            window = v.clean[m.end(): min(window_end, m.end() + 120)]
            if not re.match(r"\s*(?:[（(][^）)]{0,6}[)）])?\s*(?:[:：]|为|是|人民币|共计|合计|总计|约|[¥￥\d])", window):
                continue
            amounts = [a for a in iter_amounts(window) if a.explicit_unit or a.value >= 1000]
            if not amounts and re.search(r"[（(]\s*(?:万元|元)\s*[)）]", window[:10]):
                amounts = [a for a in iter_amounts(window)]
            if not amounts:
                continue
            line_start = v.clean.rfind("\n", 0, m.start()) + 1
            lot_before = bool(_LOT.search(v.clean[line_start: m.start()]))
            rank = 0 if (not primary or m.group() in primary) else 1
            arabic = [a for a in amounts if not a.capital] or amounts
            lots_inside = [a for a in arabic if a.explicit_unit]
            if len(lots_inside) >= 2 and _LOT.search(window):
                total = sum(a.value for a in lots_inside)
                hits.append((rank, total, v, m.start(), m.end() + lots_inside[-1].end, False))
                continue
            value = parse_amount(window) or arabic[0].value
            a0 = arabic[0]
            hits.append((rank, value, v, m.start(), m.end() + a0.end, lot_before))
    if not hits:
        return None
    best_rank = min(h[0] for h in hits)
    hits = [h for h in hits if h[0] == best_rank]
    lot_hits = [h for h in hits if h[5]]
    if len(lot_hits) >= 2:
        seen: list[float] = []
        for h in lot_hits:
            seen.append(h[1])
        h = lot_hits[0]
        return h[2].fv(round(sum(seen), 2), h[3], h[4])
    h = hits[0]
    return h[2].fv(h[1], h[3], h[4])


def _table_column_sum(views: list[_View], header: str) -> FieldValue | None:
    """Sum of a money column in a table pypdf flattened (header cells, then one cell per line).
    The unit comes from the header (``预算金额（万元）``); figures are lines holding only a
    decimal/grouped number, up to a ``合计`` row (which is used directly when present)."""
    head = re.compile(rf"(?:{header})")
    for v in views:
        for m in head.finditer(v.clean):
            after = v.clean[m.end(): m.end() + 16]
            squashed = re.sub(r"\s", "", after)
            if not re.match(r"[（(]?(?:万元|元)", squashed):
                continue
            unit = "万元" if squashed.lstrip("（(").startswith("万元") else "元"
            total, first, last = 0.0, None, None
            pos = m.end()
            for line_m in re.finditer(r"^[^\n]*$", v.clean[pos:], re.M):
                line = line_m.group().strip()
                s = pos + line_m.start()
                if _HEADING.match(line) and not re.match(r"^\d+$", line):
                    break
                if re.match(r"^(?:合\s*计|总\s*计)", line):
                    a = parse_amount(re.sub(r"^(?:合\s*计|总\s*计)", "", line), default_unit=unit)
                    if not a:  # the total's cell on the next line: still the total, never one more item
                        nxt = re.match(r"\n[ \t]*([^\n]*)", v.clean[s + len(line_m.group()):])
                        a = parse_amount(nxt.group(1), default_unit=unit) if nxt else None
                        if a:
                            return v.fv(a, s, s + len(line_m.group()) + nxt.end())
                    if a:
                        return v.fv(a, s, s + len(line_m.group()))
                if re.fullmatch(r"[¥￥]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[¥￥]?\d+\.\d+", line):
                    a = parse_amount(line, default_unit=unit)
                    if a:
                        total += a
                        first = s if first is None else first
                        last = s + len(line_m.group())
            if first is not None and last is not None:
                return v.fv(round(total, 2), first, last)
    return None


def _table_cell_amounts(views: list[_View], header: re.Pattern[str]) -> FieldValue | None:
    """A money column of a flattened table whose header has no unit, so each cell states its
    own (``1,158,800.00元``, ``45.6万元``, ``人民币…元整（⏎6512400.00元）``): the first amount of each
    row (rows are the ``1``, ``2`` … lines), summed; the cells end at the next heading."""
    for v in views:
        for m in header.finditer(v.clean):
            region_end = min(len(v.clean), m.end() + 600)
            for line_m in re.finditer(r"^[^\n]*$", v.clean[m.end(): region_end], re.M):
                line = line_m.group().strip()
                if _HEADING.match(line) and not re.fullmatch(r"\d+", line):
                    region_end = m.end() + line_m.start()
                    break
            region = v.clean[m.end(): region_end]
            amounts = [a for a in iter_amounts(region) if a.explicit_unit and not a.capital]
            amounts = amounts or [a for a in iter_amounts(region) if a.capital]
            if not amounts:
                continue
            rows = [r.start() for r in re.finditer(r"^[ \t]*\d{1,2}[ \t]*$", region, re.M)]
            picked = []
            for i, row_start in enumerate(rows):
                row_end = rows[i + 1] if i + 1 < len(rows) else len(region)
                picked += [a for a in amounts if row_start <= a.start < row_end][:1]
            picked = picked or amounts[:1]
            start, end = m.end() + picked[0].start, m.end() + picked[-1].end
            return v.fv(round(sum(a.value for a in picked), 2), start, end)
    return None


# --------------------------------------------------------------------------- suppliers

def _suppliers(views: list[_View]) -> FieldValue:
    names: list[str] = []
    first: tuple[_View, int, int] | None = None
    for v in views:
        for m in _SUPPLIER_LABEL.finditer(v.clean):
            value = _org_value(m.group(1), v, m)
            if value and value not in names and not re.search(r"地址|电话|联系", value):
                names.append(value)
                first = first or (v, m.start(), m.end(1))
    if not names:
        for v in views:
            for m in _BLOCKS["suppliers"].finditer(v.clean):
                value = _org_value(m.group(1), v, m)
                if value and value not in names:
                    names.append(value)
                    first = first or (v, m.start(1) - 3, m.end(1))
    if not names:
        for v in views:
            for m in _SUPPLIER_TABLE.finditer(v.clean):
                line_end = v.clean.find("\n", m.end())
                if line_end < 0 or ":" in v.clean[m.end(): line_end] or "：" in v.clean[m.end(): line_end]:
                    continue
                for value, s, e in _table_orgs(v, line_end):
                    if value not in names:
                        names.append(value)
                        first = first or (v, s, e)
            if names:
                break
    if not names or first is None:
        return FieldValue([])
    v, s, e = first
    return v.fv(names, s, e)


def _table_orgs(v: _View, start: int) -> list[tuple[str, int, int]]:
    """Organisation names in the table cells after a header, joining a name wrapped in its cell."""
    lines: list[tuple[str, int]] = []
    pos = start + 1
    for raw_line in v.clean[pos:].split("\n"):
        lines.append((raw_line.strip(), pos))
        pos += len(raw_line) + 1
    out = []
    i = 0
    while i < len(lines):
        line, s = lines[i]
        if _HEADING.match(line) and not re.match(r"^\d+$", line):
            break
        joined, end_i = line, i
        j = i + 1
        if not _ORG_LINE.match(joined) and j < len(lines):
            nxt = lines[j][0]  # only the very next line: the rest of a name wrapped in its cell
            if len(nxt) <= 6 and re.search(_ORG_SUFFIX + "$", joined + nxt):
                joined, end_i = joined + nxt, j
        if _ORG_LINE.match(joined) and not re.search(r"[省市区县路号]\S*[路号街]", joined):
            out.append((joined, s, lines[end_i][1] + len(lines[end_i][0])))
            i = end_i
        i += 1
    return out


# --------------------------------------------------------------------------- AI compute

def _mentions(views: list[_View], notice: str) -> list[tuple[_View, Mention]]:
    """Watchlist mentions per page. In a correction notice, items named only in the
    'before' part (原内容/更正前) are what the tender no longer seeks and are left out
    when an 'after' part names something."""
    wl = default_watchlist()
    found = [(v, m) for v in views for m in wl.find_mentions(v.clean)]
    if notice != "correction" or not found:
        return found
    replaced = {id(m) for v in views for m in _replaced_in_correction_table(v, [m for w, m in found if w is v])}
    kept = []
    for v, m in found:
        if id(m) in replaced:
            continue
        before = v.clean[max(0, m.start - 80): m.start]
        b = max((x.end() for x in _CORRECTION_BEFORE.finditer(before)), default=-1)
        a = max((x.end() for x in _CORRECTION_AFTER.finditer(before)), default=-1)
        if b > a:
            continue
        kept.append((v, m))
    return kept or found


_BEFORE_COLUMN = re.compile(r"^[ \t]*(?:原内容|原公告内容|(?:更正|变更|修改|调整)前(?:内容)?)[ \t]*$", re.M)
_AFTER_COLUMN = re.compile(r"[ \t]*(?:现内容|更正内容|(?:更正|变更|修改|调整)后(?:内容)?)[ \t]*$")
_ROW_NUMBER = re.compile(r"^[ \t]*\d{1,2}[ \t]*$", re.M)


def _replaced_in_correction_table(v: _View, mentions: list[Mention]) -> list[Mention]:
    """Mentions in the 'before' column of a flattened before/after correction table.

    pypdf gives each row as its cells one after the other (序号, [item,] before, after), so a
    row's 'after' cell starts at the first line naming something the row has not named yet;
    what the lines before it name, and the after cell does not repeat, is what was replaced."""
    out: list[Mention] = []
    for head in _BEFORE_COLUMN.finditer(v.clean):
        nxt = v.clean[head.end() + 1: head.end() + 40].split("\n", 1)[0]
        if not _AFTER_COLUMN.fullmatch(nxt):
            continue
        table_start = head.end() + 1 + len(nxt)
        table_end = len(v.clean)
        pos = table_start
        for line in v.clean[table_start:].split("\n"):
            if _HEADING.match(line) and not _ROW_NUMBER.fullmatch(line):
                table_end = pos
                break
            pos += len(line) + 1
        rows = [r.start() for r in _ROW_NUMBER.finditer(v.clean, table_start, table_end)] + [table_end]
        for row_start, row_end in zip(rows, rows[1:], strict=False):
            in_row = sorted((m for m in mentions if row_start <= m.start < row_end), key=lambda m: m.start)
            split = _after_cell_start(v.clean, in_row)
            if split is None:
                continue
            after = {m.canonical for m in in_row if m.start >= split}
            out += [m for m in in_row if m.start < split and m.canonical not in after]
    return out


def _after_cell_start(text: str, in_row: list[Mention]) -> int | None:
    """Where the first line naming a new item starts, once an earlier line has named one."""
    seen: set[str] = set()
    seen_line = -1
    for m in in_row:
        line_start = text.rfind("\n", 0, m.start) + 1
        if seen and m.canonical not in seen and line_start > seen_line:
            return line_start
        if m.canonical not in seen:
            seen.add(m.canonical)
            seen_line = max(seen_line, line_start)
    return None


def _list_with_evidence(views: list[_View], mentions: list[tuple[_View, Mention]], names: list[str]) -> FieldValue:
    if not names:
        return FieldValue([])
    wl = default_watchlist()
    for v, m in mentions:
        e = wl.by_canonical[m.canonical]
        if m.canonical in names or any(i in names for i in e.implies):
            return v.fv(list(names), m.start, m.end)
    return FieldValue(list(names))


_AI_WORDS = re.compile(r"人工智能|大模型|GPU|算力|深度学习|模型训练|推理服务|智算|AI|tokens?", re.I)


def _has_ai_words(views: list[_View]) -> bool:
    return any(_AI_WORDS.search(v.flat) for v in views)


def _compute_counts(views: list[_View], ai: bool) -> tuple[FieldValue, FieldValue]:
    if not ai:
        return FieldValue(None), FieldValue(None)
    gpu: FieldValue | None = None
    server: FieldValue | None = None
    for v in views:
        text = v.flat
        for m in _PER_SERVER.finditer(text):
            item = _per_server_gpus(text, m)
            if item is None:
                continue
            per, item_end = item
            qty, qs, qe, is_server = _nearby_quantity(text, m.start(), m.end())
            if per and qty:
                if gpu is None:
                    gpu = v.fv(per * qty, min(qs, m.start()), max(qe, item_end), flat=True)
                if server is None and is_server:
                    server = v.fv(qty, qs, qe, flat=True)
            if gpu is not None:
                break
        if gpu is None:
            m = _N_CARD.search(text)
            if m:
                qty, qs, qe, is_server = _nearby_quantity(text, m.start(), m.end())
                per = _num(m.group(1))
                if per and qty:
                    gpu = v.fv(per * qty, min(qs, m.start()), max(qe, m.end()), flat=True)
                    if server is None and is_server:
                        server = v.fv(qty, qs, qe, flat=True)
        if gpu is not None and server is not None:
            break
    for pattern in (_TOTAL_GPU, _TOTAL_GPU_WORD_FIRST, _GPU_QTY):  # stated totals, then bare card counts
        if gpu is not None:
            break
        for v in views:
            m = next((m for m in pattern.finditer(v.flat) if not _EXISTING.search(v.flat[max(0, m.start() - 10): m.start()])
                      and _num(m.group(1) or m.group(2) or "")), None)
            if m:
                gpu = v.fv(_num(m.group(1) or m.group(2)), m.start(), m.end(), flat=True)
                break
    if server is None:
        for v in views:
            for m in _SERVER_QTY.finditer(v.flat):
                n = _num(m.group(1) or m.group(2))
                num_start = m.start(1) if m.group(1) else m.start(2)
                if _EXISTING.search(v.flat[max(0, m.start() - 10): num_start]):
                    continue  # ``现有的4台推理服务器``: machines already owned, not bought
                if n and not _NOT_SERVER.search(m.group()):
                    server = v.fv(n, m.start(), m.end(), flat=True)
                    break
            if server is not None:
                break
    return gpu or FieldValue(None), server or FieldValue(None)


def _per_server_gpus(text: str, m: re.Match[str]) -> tuple[int | None, int] | None:
    """The accelerator count in a per-machine spec (``每台配置2颗CPU、8块MI250加速卡``): the
    listed item whose own words name a GPU; else the first count when a GPU is named soon after."""
    limit = min(len(text), m.end() + 100)
    stops = [x.start() for x in (_CLAUSE_END.search(text, m.end(), limit), _QTY.search(text, m.end(), limit)) if x]
    clause_end = min(stops, default=limit)  # a sentence end, or the row's machine quantity (``40台``)
    counts = [(m.group(1), m.start(1), m.end())]
    counts += [(c.group(1), c.start(), c.end()) for c in _SPEC_COUNT.finditer(text, m.end(), clause_end)]
    wl = default_watchlist()
    item_start = m.start()
    for number, start, end in counts:
        seps = list(_ITEM_SEP.finditer(text, item_start, start))
        head = text[seps[-1].end() if seps else item_start: start]
        nxt = _ITEM_SEP.search(text, end, min(len(text), end + 40))
        tail = text[end: nxt.start() if nxt else min(len(text), end + 40)]
        if re.search(_GPU_WORDS, head + " " + tail) or wl.find_mentions(head) or wl.find_mentions(tail):
            return _num(number), end
        item_start = end
    tail = text[m.end(): m.end() + 40]
    if re.search(_GPU_WORDS, tail) or wl.find_mentions(tail):
        return _num(m.group(1)), m.end()
    return None


def _nearby_quantity(text: str, start: int, end: int) -> tuple[int | None, int, int, bool]:
    """How many machines a per-machine spec applies to: ``N台`` just before it (``服务器4台，
    每台配置…``) or, in a flattened table row, the first ``N台`` after it."""
    before = text[max(0, start - 40): start]
    cands = list(_QTY.finditer(before))
    if cands:
        q = cands[-1]
        s = max(0, start - 40) + q.start()
        ctx = text[max(0, s - 20): start]
        owned = bool(_EXISTING.search(text[max(0, s - 10): s]))  # ``现有4台服务器，每台加装…``: cards bought, not servers
        return _num(q.group(1)), s, s + len(q.group()), _is_server_ctx(ctx) and not owned
    after = _QTY.search(text, end, min(len(text), end + 160))
    if after:
        ctx = text[max(0, start - 60): after.end()]
        return _num(after.group(1)), after.start(), after.end(), _is_server_ctx(ctx)
    return None, start, end, False


def _is_server_ctx(ctx: str) -> bool:
    return bool(_SERVER_WORD.search(ctx)) and not _NOT_SERVER.search(ctx)


def _token_count(views: list[_View]) -> FieldValue:
    best: tuple[int, _View, int, int] | None = None
    for v in views:
        for m in _TOKENS.finditer(v.flat):
            n = parse_count(m.group(1) + (m.group(2) or ""))
            if (not n or _TOKEN_RATE_AFTER.match(v.flat, m.end())
                    or _TOKEN_RATE_BEFORE.search(v.flat[max(0, m.start() - 14): m.start()])):
                continue
            before = v.flat[max(0, m.start() - 6): m.start()]
            if re.search(r"合计|共计|总计|总量", before) or re.search(r"合计|共计|总计|总量", v.flat[max(0, m.start() - 14): m.start()]):
                return v.fv(n, m.start(), m.end(), flat=True)
            if best is None:
                best = (n, v, m.start(), m.end())
    if best is None:
        return FieldValue(None)
    n, v, s, e = best
    return v.fv(n, s, e, flat=True)


def _restricted(views: list[_View], mentions: list[tuple[_View, Mention]], names: dict[str, list[str]],
                notice: str, publish_date: str | None, ai: bool) -> FieldValue:
    """``restricted_us_tech`` per the contract: a termination seeks nothing; otherwise any
    restricted chip/model (dated rules applied) or a US cloud used for AI compute."""
    wl = default_watchlist()
    flag = notice != "termination" and wl.is_restricted(
        names["chip"], names["cloud"], names["model"], publish_date, ai_context=ai)
    if not flag:  # evidence for "no": the title saying what the notice is about
        _, tv, s, e = _title_text(views)
        if tv is not None:
            return tv.fv(False, s, e)
        first = next((m for m in re.finditer(r"\S[^\n]*", views[0].clean)), None) if views else None
        return views[0].fv(False, first.start(), first.end()) if first else FieldValue(False)
    for v, m in mentions:
        e = wl.by_canonical[m.canonical]
        if e.restricted_on(publish_date) and (e.kind != "cloud" or ai):
            return v.fv(True, m.start, m.end)
    return FieldValue(True)
