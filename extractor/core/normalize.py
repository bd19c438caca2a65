"""Turning printed values into data: amounts in yuan, ISO dates, counts, and the contract's
text normalisation used for scoring.

Tender text writes the same number many ways (``50万元``, ``￥500,000.00``, ``人民币伍拾万元整``,
full-width ``５０万元``); everything here is a pure function over a string so the rules engine,
the LLM backend and the evaluator agree on what a value means.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "Amount", "DateHit", "iter_amounts", "parse_amount", "iter_dates", "parse_date",
    "parse_count", "cn_to_int", "norm_text", "to_halfwidth",
]

# --------------------------------------------------------------------------- width

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_halfwidth(text: str) -> str:
    """Full-width ASCII (``２０２４``, ``ＮＶＩＤＩＡ``) to half-width, one char for one char,
    so offsets into the result are offsets into the input."""
    return text.translate(_FULLWIDTH)


# --------------------------------------------------------------------------- Chinese numerals

_CN_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "Ｏ": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CN_NUM_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)


def cn_to_int(text: str) -> int | None:
    """A Chinese numeral (ordinary or capital) as an integer: ``一百二十三万四千五百`` → 1234500,
    ``贰拾`` → 20, ``二〇二四`` (digits read one by one) → 2024. None when not a numeral."""
    if not text or any(ch not in _CN_NUM_CHARS for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = section = number = 0
    for ch in text:
        if ch in _CN_DIGITS:
            number = _CN_DIGITS[ch]
        elif ch in _CN_SMALL_UNITS:
            section += (number or 1) * _CN_SMALL_UNITS[ch]
            number = 0
        elif ch == "亿" or ch == "億":
            total = (total + section + number) * 10**8
            section = number = 0
        else:  # 万
            total += (section + number) * 10**4
            section = number = 0
    return total + section + number


# --------------------------------------------------------------------------- amounts

_UNIT_FACTORS = {
    "亿元": 1e8, "亿": 1e8, "千万元": 1e7, "千万": 1e7, "百万元": 1e6, "百万": 1e6,
    "万元": 1e4, "万": 1e4, "千元": 1e3, "元": 1.0, "圆": 1.0,
}
_ARABIC_AMOUNT = re.compile(
    # thousands grouped by three, or by four (万 grouping, ``250,0000.00``: 2,500,000)
    r"([¥￥]\s*)?(?<![\d.])(\d{1,3}(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d{1,4}(?:,\d{4})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(亿元|千万元|百万元|万元|千元|元|圆|亿|千万|百万|万(?![件台套个人次]))?"
)
_CAPITAL_AMOUNT = re.compile(
    r"([零壹贰貳叁參肆伍陆陸柒捌玖拾佰仟万萬亿億〇一二三四五六七八九十百千两]+)\s*([元圆])"
    r"(?:\s*([零壹贰叁肆伍陆柒捌玖一二三四五六七八九])角)?(?:\s*([零壹贰叁肆伍陆柒捌玖一二三四五六七八九])分)?"
    r"|([零壹贰貳叁參肆伍陆陸柒捌玖拾佰仟〇一二三四五六七八九十百千两]+[万萬亿億]+)\s*(?=[元圆整]|$)"
)
_PAREN_UNIT = re.compile(r"[（(]\s*(?:单位\s*[:：]?\s*)?(亿元|万元|元)\s*[)）]|单位\s*[:：]\s*(亿元|万元|元)")
# a unit on the same line (the next line's first word, 项目经理, is no unit of this figure)
_NOT_MONEY_AFTER = re.compile(r"[ \t\u3000]*(?:%|％|个|章|条|款|项|包|年|月|日|天|台|套|件|人|次|号|页|GB|G|T|TB|卡|块|核)")


@dataclass(frozen=True)
class Amount:
    value: float  # yuan
    start: int
    end: int
    explicit_unit: bool  # the unit was written next to the number (not assumed)
    capital: bool = False


def iter_amounts(text: str, default_unit: str = "元") -> list[Amount]:
    """Every amount in ``text`` with its span. Numbers without a unit use ``default_unit``
    (or a ``（万元）`` / ``单位：万元`` note in the text) and are marked not explicit."""
    t = to_halfwidth(text)
    paren = _PAREN_UNIT.search(t)
    if paren:
        default_unit = paren.group(1) or paren.group(2)
    found: list[Amount] = []
    paren_span = paren.span() if paren else (-1, -1)
    for m in _ARABIC_AMOUNT.finditer(t):
        if paren_span[0] <= m.start() < paren_span[1]:
            continue
        sign, num, unit = m.group(1), m.group(2), m.group(3)
        if not unit and _NOT_MONEY_AFTER.match(t, m.end(2)):
            continue
        if not unit and sign:
            unit = "元"  # ￥ written before the figure says yuan
        value = float(num.replace(",", "")) * _UNIT_FACTORS[unit or default_unit]
        if not math.isfinite(value):  # hundreds of digits: not an amount
            continue
        found.append(Amount(round(value, 2), m.start(), m.end(), explicit_unit=bool(unit)))
    for m in _CAPITAL_AMOUNT.finditer(t):
        capital = _capital_value(m)
        if capital is not None:
            found.append(Amount(capital, m.start(), m.end(), explicit_unit=True, capital=True))
    return sorted(found, key=lambda a: a.start)


def _capital_value(m: re.Match[str]) -> float | None:
    if m.group(5):
        if not any(ch in _CN_DIGITS for ch in m.group(5)) and m.group(5)[0] not in "十拾":
            return None
        n = cn_to_int(m.group(5))
        return float(n) if n is not None else None
    whole = m.group(1)
    if not any(ch in _CN_DIGITS for ch in whole) and whole[0] not in "十拾":
        return None  # a bare unit such as the 万 of （万元）
    n = cn_to_int(whole.lstrip("零〇"))
    if n is None:
        return None
    jiao = _CN_DIGITS.get(m.group(3) or "零", 0)
    fen = _CN_DIGITS.get(m.group(4) or "零", 0)
    return round(n + jiao / 10 + fen / 100, 2)


def parse_amount(text: str | None, default_unit: str = "元") -> float | None:
    """The amount a field value states, in yuan.

    With both forms present (``（大写）…（小写）…``) the Arabic figure wins, consistently; a
    capital-numeral amount is used when no Arabic figure with a unit exists; a bare number is
    read in ``default_unit`` only when it is all the text says (a table cell under a ``万元``
    header), never a stray ``第3包``."""
    if not text:
        return None
    amounts = iter_amounts(text, default_unit)
    for a in amounts:
        if a.explicit_unit and not a.capital:
            return a.value
    for a in amounts:
        if a.capital:
            return a.value
    bare = [a for a in amounts if not a.explicit_unit]
    if len(bare) == 1:
        t = to_halfwidth(text)
        before = re.sub(r"^.*[:：]", "", t[: bare[0].start])  # a label before the figure is fine
        rest = _PAREN_UNIT.sub("", before + t[bare[0].end:])
        if not re.sub(r"[\s¥￥$:：,，.。;；()（）\-]|人民币|RMB|CNY|小写|金额", "", rest, flags=re.I):
            return bare[0].value
    return None


# --------------------------------------------------------------------------- dates

_CN_DATE_NUM = "〇○零一二三四五六七八九十"
_DATE_PATTERNS = [
    re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)"),
    re.compile(rf"([{_CN_DATE_NUM}]{{4}})\s*年\s*([{_CN_DATE_NUM}]{{1,2}})\s*月\s*([{_CN_DATE_NUM}]{{1,3}})\s*日"),
]


@dataclass(frozen=True)
class DateHit:
    iso: str
    start: int
    end: int


def _cn_small(text: str) -> int | None:
    if text and text.isdigit():
        return int(text)
    return cn_to_int(text.replace("○", "〇"))


def iter_dates(text: str) -> list[DateHit]:
    """Every valid calendar date in ``text`` (年月日, ISO-ish with - / ., Chinese numerals)."""
    t = to_halfwidth(text)
    hits = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(t):
            y, mo, d = (_cn_small(g) for g in m.groups())
            if y is None or mo is None or d is None or not 1900 <= y <= 2100:
                continue
            try:
                iso = date(y, mo, d).isoformat()
            except ValueError:
                continue
            hits.append(DateHit(iso, m.start(), m.end()))
    return sorted(hits, key=lambda h: h.start)


def parse_date(text: str | None) -> str | None:
    """The first date in ``text`` as ISO ``YYYY-MM-DD``, or None."""
    if not text:
        return None
    hits = iter_dates(text)
    return hits[0].iso if hits else None


# --------------------------------------------------------------------------- counts

_COUNT = re.compile(
    r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s*"
    r"(亿|千万|百万|万|千|[kK](?![a-zA-Z])|[mM](?![a-zA-Z])|[bB](?![a-zA-Z]))?"
)
_COUNT_FACTORS = {"亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4, "千": 10**3,
                  "k": 10**3, "m": 10**6, "b": 10**9}


def parse_count(text: str | None) -> int | None:
    """The first count in ``text`` as an integer: ``4000万 tokens`` → 40000000, ``8卡`` → 8,
    ``十台`` → 10, ``1.5亿`` → 150000000, ``100M tokens`` → 100000000."""
    if not text:
        return None
    m = _COUNT.search(to_halfwidth(text))
    if not m:
        return None
    num, unit = m.group(1), m.group(2)
    if num[0].isdigit():
        value = float(num.replace(",", ""))
    else:
        n = cn_to_int(num)
        if n is None:
            return None
        value = float(n)
    if unit:
        value *= _COUNT_FACTORS[unit.lower()]
    if not math.isfinite(value):
        return None
    return int(round(value))


# --------------------------------------------------------------------------- scoring normalisation

_UPPER_ASCII = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
_WHITESPACE = re.compile(r"\s+")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def norm_text(s: Any) -> str:
    """The contract's scoring normalisation: Unicode NFKC, all whitespace removed, surrounding
    punctuation and brackets stripped, Latin letters upper-cased. None → ``""``."""
    if s is None:
        return ""
    text = str(s)
    for _ in range(4):  # removing spaces / upper-casing can expose new NFKC compositions: to a fixed point
        again = _norm_once(text)
        if again == text:
            break
        text = again
    return text


def _norm_once(s: str) -> str:
    text = _WHITESPACE.sub("", unicodedata.normalize("NFKC", s))
    start, end = 0, len(text)
    while start < end and _is_punct(text[start]):
        start += 1
    while end > start and _is_punct(text[end - 1]):
        end -= 1
    return text[start:end].translate(_UPPER_ASCII)
