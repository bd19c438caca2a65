"""Property tests for the normalisers: any string is safe input, and the
formats we claim to read come back to the same value.

``parse_amount`` / ``parse_date`` / ``parse_count`` / ``norm_text`` see raw
PDF text from thousands of sites, so they must never raise; ``norm_text`` is
the scoring normalisation and must be idempotent; dates and amounts written
the ways tenders write them must parse back to the value they were made from.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import cn2an
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from extractor.core.normalize import (
    iter_amounts,
    iter_dates,
    norm_text,
    parse_amount,
    parse_count,
    parse_date,
)

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Text biased towards what the parsers look for: digits (half and full width), units,
# capital numerals, date words, separators, and odd Unicode.
TENDERISH = st.text(
    alphabet=st.sampled_from(list("0123456789０１２３４５６７８９.,，。:：-/ 年月日号万亿千百元角分整圆人民币"
                                  "零壹贰叁肆伍陆柒捌玖拾佰仟〇一二三四五六七八九十两￥¥$%（）()\n\t\u3000\u200b")),
    max_size=60,
)
ANY_TEXT = st.one_of(st.text(max_size=200), TENDERISH)


@PROPS
@given(ANY_TEXT)
@example("零元整")
@example("9" * 400 + "亿元")
@example("１２３４５６７８９０万元")
@example("二〇二四年十三月三十二日")
def test_parsers_never_crash(s: str) -> None:
    amount = parse_amount(s)
    assert amount is None or (isinstance(amount, float) and amount >= 0)
    for a in iter_amounts(s):
        assert 0 <= a.start <= a.end <= len(s) + 10 and a.value >= 0
    date = parse_date(s)
    assert date is None or ISO.match(date)
    for h in iter_dates(s):
        dt.date.fromisoformat(h.iso)
    count = parse_count(s)
    assert count is None or isinstance(count, int)
    assert isinstance(norm_text(s), str)


@PROPS
@given(ANY_TEXT)
@example(" （采购人） ")
@example("ａｂｃ－１２３")
@example("\u00bd")  # NFKC turns one character into several
@example("(（[x]）)")
def test_norm_text_is_idempotent(s: str) -> None:
    once = norm_text(s)
    assert norm_text(once) == once
    assert not re.search(r"\s", once)
    assert once == once.upper() or not once.isascii() or once.upper() == once


@PROPS
@given(ANY_TEXT)
def test_parse_date_output_round_trips(s: str) -> None:
    out = parse_date(s)
    if out is not None:
        assert dt.date.fromisoformat(out).isoformat() == out
        assert parse_date(out) == out


@PROPS
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_as_tenders_write_them(d: dt.date) -> None:
    iso = d.isoformat()
    for written in (iso, f"{d.year}年{d.month}月{d.day}日", f"{d.year} 年 {d.month:02d} 月 {d.day:02d} 日",
                    f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month:02d}.{d.day:02d}",
                    f"公告日期：{d.year}年{d.month}月{d.day}日（星期一）"):
        assert parse_date(written) == iso, written


@PROPS
@given(st.integers(min_value=0, max_value=10**12))
def test_integer_amounts_round_trip(n: int) -> None:
    assert parse_amount(f"{n}元") == n
    assert parse_amount(f"{n:,}元") == n
    assert parse_amount(f"预算金额：人民币{n}元") == n
    if n <= 10**8:
        assert parse_amount(f"{n}万元") == n * 10_000


@PROPS
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2))
def test_decimal_wan_yuan_round_trip(x: Decimal) -> None:
    value = parse_amount(f"{x}万元")
    assert value is not None and abs(value - float(x * 10_000)) < 0.01


@PROPS
@given(st.integers(min_value=1, max_value=10**11))
def test_capital_numerals_round_trip(n: int) -> None:
    written = cn2an.an2cn(n, "rmb")  # 壹佰贰拾叁万肆仟伍佰陆拾柒元整
    assert parse_amount(written) == n, written
