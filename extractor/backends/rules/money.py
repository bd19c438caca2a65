"""Amounts: budget and award totals from labels, table columns and table cells."""

from __future__ import annotations

import re
from collections.abc import Iterable

from extractor.backends.rules.cues import words_re
from extractor.backends.rules.kv import kv_amount, kv_field
from extractor.backends.rules.views import HEADING, View
from extractor.core.document import FieldValue
from extractor.core.normalize import (
    iter_amounts,
    parse_amount,
)
from extractor.core.schema import load_schema

_CEILING_WORDS = ("最高限价", "控制价")  # a price ceiling stands in for the budget only when no budget is stated


def _wrapping(field: str) -> re.Pattern[str]:
    """The field's label words (schema file) where a line break may fall between any two characters
    (``预算⏎金额25万元``: a label wrapped at the page margin)."""
    words = list(load_schema("tender").field(field).labels)
    return re.compile("(?:" + words_re(words, spaced=True).replace(r"\s*", r"\n?") + ")")


BUDGET = _wrapping("budget_cny")

BUDGET_PRIMARY = tuple(w for w in load_schema("tender").field("budget_cny").labels if w not in _CEILING_WORDS)

AWARD = _wrapping("award_amount_cny")



def _column_header(*labels: str) -> re.Pattern[str]:
    """A table column header alone on its line(s), wrapped anywhere (``中标（成交）金⏎额``)."""
    spaced = ["".join(re.escape(ch) + r"\s*" for ch in label).removesuffix(r"\s*") for label in labels]
    return re.compile(r"^[ \t]*(?:" + "|".join(spaced) + r")[ \t]*$", re.M)



AWARD_COLUMN = _column_header("中标（成交）金额", "中标(成交)金额", "中标金额", "成交金额", "合同金额", "中标价", "成交价",
                               "中标价格", "成交价格")

BUDGET_COLUMN = _column_header("预算金额", "采购预算", "项目预算", "预算资金")

_LOT = re.compile(r"分包|[包标]段?[一二三四五六七八九十\d]|第[一二三四五六七八九十\d]+[包标]|包号|标段")

_UNIT_WRAPPED = re.compile(r"(?<=\d)\n\s*(?:亿元|万元|元|亿|万)")



def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end



_CORRECTED_TO = re.compile(r"(?:现|已)?(?:更正|调整|变更|修改|更改)(?:后)?为\s*[:：]?")
_REPLACED_BEFORE = re.compile(r"(?:原|更正前|变更前|调整前)\s*$")


def _clause_before(text: str, pos: int) -> str:
    """The sentence part before ``pos`` (back to 。；, line breaks ignored): where a lot is named."""
    before = text[max(0, pos - 80): pos]
    cut = max((m.end() for m in re.finditer(r"[。；;]", before)), default=0)
    return before[cut:].replace("\n", "")


# ``包1280万元，包2140万元``: OCR read ``包1 280万元`` with the lot number run into the figure
_FUSED_LOT = re.compile(r"(?:包|标段|包件)(\d+(?:\.\d+)?)(万元|元)")


def _fused_lot_amounts(window: str) -> tuple[float, int] | None:
    """(sum, end) of lot amounts whose lot numbers (1, 2, 3 … in order) run into the figures, as a
    recogniser joins ``包1 280万元``; None unless every amount of two or more starts with its lot's
    number and has digits left after it."""
    found = list(_FUSED_LOT.finditer(window))
    if len(found) < 2:
        return None
    total = 0.0
    for k, m in enumerate(found, 1):
        digits, lot = m.group(1), str(k)
        if not digits.startswith(lot) or len(digits) <= len(lot) or digits[len(lot)] in ".0":
            return None
        total += float(digits[len(lot):]) * (10000 if m.group(2) == "万元" else 1)
    return total, found[-1].end()


def labelled_amount(views: list[View], label: re.Pattern[str], primary: Iterable[str] = ()) -> FieldValue | None:
    """The amount after a money label. Several labelled amounts that belong to lots are summed;
    a primary label (预算金额) wins over a secondary one (最高限价)."""
    hits: list[tuple[int, float, View, int, int, bool]] = []  # (rank, value, view, start, end, lot)
    primary = tuple(primary)
    for v in views:
        for m in label.finditer(v.clean):
            window_end = _line_end(v.clean, m.end())
            if _UNIT_WRAPPED.match(v.clean, window_end):  # ``96⏎万元``: the figure's unit on the next line
                window_end = _line_end(v.clean, window_end + 1)
            window = v.clean[m.end(): min(window_end, m.end() + 120)]
            window = re.split(r"(?<=[元整）)])\s*[。；;]", window, maxsplit=1)[0]  # the amount's own sentence
            if not re.match(r"\s*(?:[（(][^）)]{0,6}[)）])?\s*(?:[:：]|为|是|人民币|共计|合计|总计|约|[¥￥\d])", window):
                continue
            amounts = [a for a in iter_amounts(window) if a.explicit_unit or a.value >= 1000]
            if not amounts and re.search(r"[（(]\s*(?:万元|元)\s*[)）]", window[:10]):
                amounts = [a for a in iter_amounts(window)]
            if not amounts:
                continue
            corrected = _CORRECTED_TO.search(window)
            if _REPLACED_BEFORE.search(v.clean[max(0, m.start() - 4): m.start()]) and not corrected:
                continue  # ``原预算金额：200万元`` with no new figure: the replaced value
            if corrected:  # ``原预算金额：200万元，现更正为：260万元``: the figure after the correction
                after = [a for a in iter_amounts(window[corrected.end():]) if a.explicit_unit or a.value >= 1000]
                if after:
                    a = after[0]
                    hits.append((0, a.value, v, m.start(), m.end() + corrected.end() + a.end, False))
                    continue
            lot_before = bool(_LOT.search(_clause_before(v.clean, m.start())))
            rank = 0 if (not primary or m.group().replace("\n", "") in primary) else 1
            arabic = [a for a in amounts if not a.capital] or amounts
            lots_inside = [a for a in arabic if a.explicit_unit]
            fused = _fused_lot_amounts(window)
            if fused is not None:
                hits.append((rank, fused[0], v, m.start(), m.end() + fused[1], False))
                continue
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
    if len(lot_hits) >= 2:  # per-lot amounts: their sum, reconciled with a stated total if any
        lot_sum = round(sum(h[1] for h in lot_hits), 2)
        totals = [h for h in hits if not h[5]]
        if totals and abs(totals[0][1] - lot_sum) <= max(1.0, 0.001 * lot_sum):
            t = totals[0]
            return t[2].fv(t[1], t[3], t[4])
        h = lot_hits[0]
        fv = h[2].fv(lot_sum, h[3], h[4])
        if totals:
            fv.low(f"the {len(lot_hits)} lots sum to {lot_sum:,.2f} but a total of {totals[0][1]:,.2f} is also stated")
        return fv
    h = hits[0]
    return h[2].fv(h[1], h[3], h[4])



def table_column_sum(views: list[View], header: str) -> FieldValue | None:
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
            ranked = _ranked_column(v, m.end(), unit)
            if ranked is not None:
                return ranked
            total, first, last = 0.0, None, None
            pos = m.end()
            for line_m in re.finditer(r"^[^\n]*$", v.clean[pos:], re.M):
                line = line_m.group().strip()
                s = pos + line_m.start()
                if HEADING.match(line) and not re.match(r"^\d+$", line):
                    break
                if re.match(r"^(?:合\s*计|总\s*计)", line):
                    a = parse_amount(re.sub(r"^(?:合\s*计|总\s*计)", "", line), default_unit=unit)
                    if not a:  # the total's cell on the next line: still the total, never one more item
                        nxt = re.match(r"\n[ \t]*([^\n]*)", v.clean[s + len(line_m.group()):])
                        a = parse_amount(nxt.group(1), default_unit=unit) if nxt else None
                        if a and nxt:
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
                return v.fv(round(total, 2), first, last).low("summed from a table column, no labelled total")
    return None



_FIGURE = re.compile(r"^[ \t]*([¥￥]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[¥￥]?\d+\.\d+)[ \t]*$", re.M)
_ROW_MARK = re.compile(r"^[ \t]*\d{1,2}[ \t]*$", re.M)
_MONEY_HEADER = re.compile(r"金额|价|费|保证金|限价|[（(](?:万元|元)")


def _ranked_column(v: View, header_end: int, unit: str) -> FieldValue | None:
    """The column's own figures when other money columns stand beside it in the header
    (``预算金额（元）⏎最高限价（元）⏎1⏎…⏎1,380,000.00⏎1,350,000.00``): each row holds one figure per
    money column, so the column's figure is the one after as many figures as money headers precede
    it. None when it is the only money column (the plain sum is then right)."""
    text = v.clean
    line_end = text.find("\n", header_end)
    pos = len(text) if line_end < 0 else line_end + 1
    after = 0
    region_start = None
    for line_m in re.finditer(r"^[^\n]*$", text[pos: pos + 200], re.M):
        line = line_m.group().strip()
        if _ROW_MARK.fullmatch(line) or _FIGURE.fullmatch(line) or len(line) > 14:
            region_start = pos + line_m.start()
            break
        if _MONEY_HEADER.search(line):
            after += 1
    before = 0
    back_end = text.rfind("\n", 0, header_end)
    for line in reversed(text[max(0, back_end - 200): max(0, back_end)].split("\n")[-8:]):
        s = line.strip()
        if not s or len(s) > 14 or HEADING.match(s) or re.search(r"[:：]", s) or _FIGURE.fullmatch(s):
            break
        before += bool(_MONEY_HEADER.search(s))
    if not (after or before) or region_start is None:
        return None
    region_end = len(text)
    for line_m in re.finditer(r"^[^\n]*$", text[region_start:], re.M):
        line = line_m.group().strip()
        if (HEADING.match(line) and not _ROW_MARK.fullmatch(line)) or re.match(r"^(?:合\s*计|总\s*计)", line):
            region_end = region_start + line_m.start()
            break
    figures = list(_FIGURE.finditer(text, region_start, region_end))
    marks = [r.start() for r in _ROW_MARK.finditer(text, region_start, region_end)]
    if not figures:
        return None
    if not marks or marks[0] > figures[0].start():
        marks = [region_start]
    picked = []
    for i, row_start in enumerate(marks):
        row_end = marks[i + 1] if i + 1 < len(marks) else region_end
        row = [f for f in figures if row_start <= f.start() < row_end]
        if len(row) == before + 1 + after:
            picked.append(row[before])
        elif len(row) > after:
            picked.append(row[len(row) - 1 - after])
    if not picked:
        return None
    values = [parse_amount(f.group(1), default_unit=unit) or 0.0 for f in picked]
    return v.fv(round(sum(values), 2), picked[0].start(1), picked[-1].end(1)).low(
        "read from one column of a table with several money columns")


def table_cell_amounts(views: list[View], header: re.Pattern[str]) -> FieldValue | None:
    """A money column of a flattened table whose header has no unit, so each cell states its
    own (``1,158,800.00元``, ``45.6万元``, ``人民币…元整（⏎6512400.00元）``): the first amount of each
    row (rows are the ``1``, ``2`` … lines), summed; the cells end at the next heading."""
    for v in views:
        for m in header.finditer(v.clean):
            region_end = min(len(v.clean), m.end() + 600)
            for line_m in re.finditer(r"^[^\n]*$", v.clean[m.end(): region_end], re.M):
                line = line_m.group().strip()
                if HEADING.match(line) and not re.fullmatch(r"\d+", line):
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
            return v.fv(round(sum(a.value for a in picked), 2), start, end).low("summed from table cells, no labelled total")
    return None



_BEFORE_HEAD = re.compile(r"^[ \t]*(?:原内容|原公告内容|(?:更正|变更|修改|调整)前(?:内容)?)[ \t]*$", re.M)
_AFTER_HEAD = re.compile(r"^[ \t]*(?:现内容|更正内容|(?:更正|变更|修改|调整)后(?:内容)?)[ \t]*$", re.M)


def corrected_table_amount(views: list[View], label: re.Pattern[str]) -> FieldValue | None:
    """An amount changed in a before/after correction table (``更正前内容⏎更正后内容⏎1⏎预算金额⏎150万元⏎
    172万元``): the row that names the label holds the old figure, then the new one; the new one counts."""
    for v in views:
        head = _BEFORE_HEAD.search(v.clean)
        if not head or not _AFTER_HEAD.match(v.clean, head.end() + 1):
            continue
        for m in label.finditer(v.clean, head.end()):
            row = re.split(r"\n[ \t]*\d{1,2}[ \t]*\n|\n(?=[一二三四五六七八九十]+、)", v.clean[m.end(): m.end() + 120], maxsplit=1)[0]
            amounts = [a for a in iter_amounts(row) if a.explicit_unit]
            if len(amounts) >= 2:
                a = amounts[-1]
                return v.fv(a.value, m.start(), m.end() + a.end)
    return None


def budget_field(views: list[View]) -> FieldValue:
    """The budget: a labelled amount, else a budget column's sum, else budget cells of a table."""
    return (corrected_table_amount(views, BUDGET) or labelled_amount(views, BUDGET, primary=BUDGET_PRIMARY)
            or kv_field(views, "budget_cny", kv_amount)
            or table_column_sum(views, r"预算金额|预算（|采购预算")
            or table_cell_amounts(views, BUDGET_COLUMN) or FieldValue(None))


def award_field(views: list[View]) -> FieldValue:
    """The awarded total: a labelled amount, else an award column's sum, else award cells of a table."""
    return (labelled_amount(views, AWARD) or kv_field(views, "award_amount_cny", kv_amount)
            or table_column_sum(views, r"中标金额|成交金额|中标（成交）金额")
            or table_cell_amounts(views, AWARD_COLUMN) or FieldValue(None))
