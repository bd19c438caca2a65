"""Normalisers: amounts, dates, counts and the contract's scoring normalisation."""

from __future__ import annotations

import pytest

from extractor.core.normalize import cn_to_int, iter_amounts, norm_text, parse_amount, parse_count, parse_date


@pytest.mark.parametrize(("text", "expected"), [
    ("50万元", 500_000),
    ("1.5亿元", 150_000_000),
    ("￥1,234,567.00元", 1_234_567),
    ("¥ 1,280,000", 1_280_000),
    ("人民币 1234567.00 元", 1_234_567),
    ("人民币贰拾万元整", 200_000),
    ("壹佰贰拾叁万肆仟伍佰元整", 1_234_500),
    ("人民币贰佰叁拾万元整", 2_300_000),
    ("壹拾万零伍佰元伍角叁分", 100_500.53),
    ("拾万元整", 100_000),
    ("１２３万元", 1_230_000),
    ("６８．００万元", 680_000),
    ("0.5万元", 5_000),
    ("50.00 万元（人民币）", 500_000),
    # both forms: the Arabic (小写) figure, in either order
    ("（大写）人民币伍拾万元整（小写）￥500,000.00元", 500_000),
    ("成交金额：人民币伍拾陆万捌仟元整（¥568,000.00）", 568_000),
    ("预算金额（万元）：120", 1_200_000),
    ("120（万元）", 1_200_000),
    ("详见第3章", None),
    ("第1包", None),
    ("5万台", None),
    ("", None),
])
def test_parse_amount(text: str, expected: float | None) -> None:
    assert parse_amount(text) == expected


def test_parse_amount_default_unit_for_table_cells() -> None:
    assert parse_amount("860.00", default_unit="万元") == 8_600_000
    assert parse_amount("48.50", default_unit="万元") == 485_000
    assert parse_amount("860.00") == 860
    # an explicit unit beats the column's unit; ￥ says yuan
    assert parse_amount("30万元", default_unit="元") == 300_000
    assert parse_amount("￥500", default_unit="万元") == 500


def test_iter_amounts_finds_lots_with_spans() -> None:
    text = "预算金额：分包一118万元，分包二30万元"
    amounts = [a for a in iter_amounts(text) if a.explicit_unit]
    assert [a.value for a in amounts] == [1_180_000, 300_000]
    assert text[amounts[1].start:amounts[1].end] == "30万元"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024年3月18日", "2024-03-18"),
    ("２０２４年３月１８日", "2024-03-18"),
    ("2024 年 3 月 8 日", "2024-03-08"),
    ("2024-03-18", "2024-03-18"),
    ("2024/3/18", "2024-03-18"),
    ("2024.03.18", "2024-03-18"),
    ("二〇二四年三月十八日", "2024-03-18"),
    ("二〇二三年八月二十二日", "2023-08-22"),
    ("二○二三年十二月三十一日", "2023-12-31"),
    ("发布时间：2024-03-18 10:00:00", "2024-03-18"),
    ("2024年2月30日", None),
    ("电话0571-8409", None),
    ("", None),
])
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("4000万 tokens", 40_000_000),
    ("5000万tokens", 50_000_000),
    ("3亿tokens", 300_000_000),
    ("1.5亿", 150_000_000),
    ("100M tokens", 100_000_000),
    ("1,000,000 tokens", 1_000_000),
    ("8卡", 8),
    ("十台", 10),
    ("两台", 2),
    ("共10台服务器", 10),
    ("无", None),
])
def test_parse_count(text: str, expected: int | None) -> None:
    assert parse_count(text) == expected


def test_cn_to_int() -> None:
    assert cn_to_int("一百二十三万四千五百") == 1_234_500
    assert cn_to_int("一亿二千万") == 120_000_000
    assert cn_to_int("二〇二四") == 2024
    assert cn_to_int("十八") == 18
    assert cn_to_int("abc") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("（深圳大学）", "深圳大学"),
    ("  ＡＢＣ 有限公司。", "ABC有限公司"),
    ("“华为技术有限公司”", "华为技术有限公司"),
    ("nvidia a100", "NVIDIAA100"),
    ("Ｎｖｉｄｉａ\u3000Ａ１００", "NVIDIAA100"),
    ("深圳市云达科技有限公司\n", "深圳市云达科技有限公司"),
    ("SZUCG2024000312", "SZUCG2024000312"),
    ("【项目】（一期）", "项目】(一期"),  # only the surrounding brackets go; NFKC folds （
    ("沪东理工大学 人工 智能", "沪东理工大学人工智能"),
    ("award", "AWARD"),
    ("2024-03-18", "2024-03-18"),
    (None, ""),
    (True, "TRUE"),
])
def test_norm_text(text: object, expected: str) -> None:
    assert norm_text(text) == expected


def test_norm_text_makes_contract_equivalents_equal() -> None:
    assert norm_text("上海云桥数据科技有限公司") == norm_text(" 上海云桥数据科技 有限公司；")
    assert norm_text("NVIDIA A100") == norm_text("nvidia  a100")
    assert norm_text("a") != norm_text("b")
