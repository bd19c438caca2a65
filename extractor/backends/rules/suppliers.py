"""Suppliers: labelled winners, supplier blocks and winner tables."""

from __future__ import annotations

import re

from extractor.backends.rules.kv import kv_org, pairs_for
from extractor.backends.rules.labels import org_value
from extractor.backends.rules.tables import consortium_members
from extractor.backends.rules.views import BLOCKS, COLON, HEADING, ORG_SUFFIX, View, label_words
from extractor.core.document import FieldValue

_SUPPLIER_LABEL = re.compile(r"(?:" + label_words("suppliers") + ")" + COLON + r"([^\n]+)")

_ORG_LINE = re.compile(rf"^[\u4e00-\u9fff（）()A-Za-z0-9·]{{3,50}}{ORG_SUFFIX}$")

_SUPPLIER_TABLE = re.compile(r"中标供应商|成交供应商|供应商名称|中标人名称|中标（成交）供应商")



def suppliers_field(views: list[View]) -> FieldValue:
    names: list[str] = []
    first: tuple[View, int, int] | None = None
    for v in views:
        for m in _SUPPLIER_LABEL.finditer(v.clean):
            value = org_value(m.group(1), v, m)
            if value and value not in names and not re.search(r"地址|电话|联系", value):
                names.append(value)
                first = first or (v, m.start(), m.end(1))
    if not names:
        for v in views:
            for m in BLOCKS["suppliers"].finditer(v.clean):
                value = org_value(m.group(1), v, m)
                if value and value not in names:
                    names.append(value)
                    first = first or (v, m.start(1) - 3, m.end(1))
    if not names:  # a key-value table (``中标人⏎湖北…有限公司``)
        for v in views:
            for p in pairs_for(v, "suppliers"):
                value = kv_org(p)
                if value and value not in names:
                    names.append(value)
                    first = first or (v, p.start, p.end)
    from_table = not names
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
    names = list(dict.fromkeys(m for n in names for m in consortium_members(n)))
    v, s, e = first
    fv = v.fv(names, s, e)
    return fv.low("organisation names read from table cells under a supplier column") if from_table else fv



def _table_orgs(v: View, start: int) -> list[tuple[str, int, int]]:
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
        if HEADING.match(line) and not re.match(r"^\d+$", line):
            break
        joined, end_i = line, i
        j = i + 1
        if not _ORG_LINE.match(joined) and j < len(lines):
            nxt = lines[j][0]  # only the very next line: the rest of a name wrapped in its cell
            if len(nxt) <= 6 and re.search(ORG_SUFFIX + "$", joined + nxt):
                joined, end_i = joined + nxt, j
        if _ORG_LINE.match(joined) and not re.search(r"[省市区县路号]\S*[路号街]", joined):
            out.append((joined, s, lines[end_i][1] + len(lines[end_i][0])))
            i = end_i
        i += 1
    return out

