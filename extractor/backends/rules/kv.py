"""Key-value tables as pypdf flattens them: one cell per line, a key line, then its value's lines.

Engineering award tables (``招标人:⏎宜陵市…⏎建设地点⏎…``), two-column tables without colons
(``中标价(万元)⏎86.35``) and four-column key-value grids all come out this way; a narrow cell
wraps a key (``采购项目名⏎称``) or a value (``…工程（⏎二期）施工``) over lines. A key line is a
known key (``rules_cues.yaml``: ``kv``) alone on its line, with or without a colon or a unit in
brackets; its value is every line up to the next key line. A key right after another key is a
column-header row (``序号⏎项目名称⏎采购需求概况…``), not a key-value pair, and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from extractor.backends.rules.cues import kv_keys
from extractor.backends.rules.views import HEADING, View
from extractor.core.document import FieldValue
from extractor.core.normalize import parse_amount

_MAX_VALUE_LINES = 4
# A cell line that ends a value: a sentence, a name's or an organisation's usual ending. A line
# ending otherwise (``…提升工程（``, ``…招标代理有限公``) wrapped and continues on the next line.
_COMPLETE = re.compile(r"(?:。|项目|服务|施工|公司|局|院|中心|大学|学院|医院|委员会|办公室|[)）])$")


@dataclass(frozen=True)
class Pair:
    """One key-value pair: the field the key belongs to (``other`` for keys of no field), the key as
    printed (unit included), the unit in its brackets, the value joined over its lines, and offsets
    in the page's clean text (key start, value start, value end)."""

    field: str
    key: str
    unit: str | None
    value: str
    start: int
    value_start: int
    end: int


@lru_cache(maxsize=1)
def _key_table() -> dict[str, str]:
    """Every key as printed (spaces removed) -> its field; bracketed units are matched apart."""
    table: dict[str, str] = {}
    for field, keys in kv_keys().items():
        for key in keys:
            table.setdefault(re.sub(r"\s+", "", key), field)
    return table


_TRAILING_UNIT = re.compile(r"(.+?)[（(]\s*([^）)]{1,6})\s*[)）]$")


def _as_key(text: str) -> tuple[str, str | None] | None:
    """(field, unit) when the whole line (spaces removed, a closing colon dropped) is a known key,
    with or without a unit in brackets (``中标价(万元):``)."""
    squashed = re.sub(r"\s+", "", text).rstrip(":：")
    if not squashed or len(squashed) > 16:
        return None
    table = _key_table()
    if squashed in table:
        unit = _TRAILING_UNIT.match(squashed)
        return table[squashed], unit.group(2) if unit else None
    unit = _TRAILING_UNIT.match(squashed)
    if unit and unit.group(1) in table:
        return table[unit.group(1)], unit.group(2)
    return None


def _cells(v: View) -> list[tuple[str, int, int]]:
    """(text, clean offset, line number) of every table cell: a line of a PDF (pypdf gives one cell
    per line), or the parts of a text line that tabs or runs of spaces separate (HTML/TXT dumps
    flatten a row onto one line; the clean view folds those gaps, the raw text still has them)."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for n, line in enumerate(v.clean.split("\n")):
        cut = [pos]
        for i in range(pos + 1, pos + len(line) - 1):
            if v.clean[i].isspace() and i + 1 < len(v.cmap):
                gap = v.raw[v.cmap[i - 1] + 1: v.cmap[i + 1]]
                if re.search(r"\t| {2}|\u3000{2}", gap):
                    cut.append(i + 1)
        cut.append(pos + len(line) + 1)
        for a, b in zip(cut, cut[1:], strict=False):
            text = v.clean[a: b - 1] if b - 1 <= pos + len(line) else v.clean[a: pos + len(line)]
            s = text.strip()
            if s:
                out.append((s, a + text.index(s[0]), n))
        pos += len(line) + 1
    return out


def kv_pairs(v: View) -> tuple[Pair, ...]:
    """Every key-value pair of a page, in order (computed once per page view)."""
    cached = getattr(v, "_kv_pairs", None)
    if cached is None:
        cached = _pairs(v)
        v._kv_pairs = cached  # type: ignore[attr-defined]
    return cached


def _pairs(v: View) -> tuple[Pair, ...]:
    cells = _cells(v)
    per_line: dict[int, int] = {}
    for _, _, n in cells:
        per_line[n] = per_line.get(n, 0) + 1

    def alone(i: int) -> bool:  # the cell is its line's only cell (a PDF line, not a row's part)
        return per_line[cells[i][2]] == 1

    keys: dict[int, tuple[str, str | None, int]] = {}  # first cell -> (field, unit, cells used)
    i = 0
    while i < len(cells):
        k = _as_key(cells[i][0])
        if k:
            keys[i] = (*k, 1)
        elif i + 1 < len(cells) and alone(i) and alone(i + 1) and not _as_key(cells[i + 1][0]):
            k = _as_key(cells[i][0] + cells[i + 1][0])  # a key wrapped in its cell: ``公告发布日⏎期:``
            if k:
                keys[i] = (*k, 2)
                i += 1
        i += 1
    out: list[Pair] = []
    starts = sorted(keys)
    for n, first in enumerate(starts):
        field, unit, used = keys[first]
        prev = max((s for s in starts if s < first), default=None)
        if prev is not None and prev + keys[prev][2] == first:
            continue  # right after another key: a column-header row
        value_first = first + used
        stop = starts[n + 1] if n + 1 < len(starts) else len(cells)
        stop = min(stop, value_first + _MAX_VALUE_LINES)
        parts: list[tuple[str, int]] = []
        for j in range(value_first, stop):
            text, off, line_no = cells[j]
            if parts:
                continued = alone(j) and line_no == cells[j - 1][2] + 1
                if (not continued or HEADING.match(text) or re.search(r"[:：]", text)
                        or _COMPLETE.search(parts[-1][0])):
                    break  # another column, a heading, a labelled line, or the value already ended
            parts.append((text, off))
        if not parts:
            continue
        value = "".join(p for p, _ in parts)
        end = parts[-1][1] + len(parts[-1][0])
        key_text = "".join(cells[c][0] for c in range(first, first + used))
        out.append(Pair(field, key_text, unit, value, cells[first][1], parts[0][1], end))
    return tuple(out)


def pairs_for(v: View, field: str) -> list[Pair]:
    return [p for p in kv_pairs(v) if p.field == field]


def kv_field(views: list[View], field: str, clean: Callable[[Pair], Any]) -> FieldValue | None:
    """The first pair of ``field`` whose value ``clean`` accepts (returns non-empty), quoted from the
    key to the end of the value."""
    for v in views:
        for p in pairs_for(v, field):
            value = clean(p)
            if value not in (None, "", []):
                return v.fv(value, p.start, p.end)
    return None


def kv_amount(p: Pair) -> float | None:
    """A money value; the key's bracket gives the unit (``中标价(万元)⏎86.35``)."""
    unit = "万元" if p.unit and "万" in p.unit else "元"
    return parse_amount(p.value, default_unit=unit)


def kv_code(p: Pair) -> str | None:
    value = re.split(r"[（；;，,。\s]|\((?=[\u4e00-\u9fff])", p.value.strip(), maxsplit=1)[0].strip(" ：:")
    return value if re.search(r"[A-Za-z0-9]", value) and not re.fullmatch(r"[\d\-/.年月日]+", value) else None


def kv_text(p: Pair) -> str | None:
    """A name: not a placeholder, a date or an amount."""
    value = p.value.strip(" ：:")
    if len(value) < 4 or re.fullmatch(r"[\s/_\-—无]*|[\d,.\s]+|\d{4}[-年].*", value):
        return None
    return value


def kv_org(p: Pair) -> str | None:
    value = re.sub(r"[（(](?:盖章|公章|签章)[)）]$", "", p.value.strip(" ：:"))
    value = re.split(r"[；;，,。]|\s{2,}", value, maxsplit=1)[0]
    if not (2 <= len(value) <= 60) or not re.search(r"[\u4e00-\u9fff]", value) or re.search(r"\d{5,}", value):
        return None
    return value
