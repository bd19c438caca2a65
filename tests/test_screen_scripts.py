"""Listed names written in traditional characters or with invisible characters still match (issue 24 #9).

A notice from Hong Kong or Taiwan, or one pasted through a word processor, prints 四川大學 or
四川\\u200b大学; both are the listed 四川大学. Before matching, names are converted to simplified
characters (OpenCC) and stripped of format characters (zero-width space, BOM, soft hyphen).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

VARIANTS = [
    ("四川大學", "四川大学"),
    ("電子科技大學", "电子科技大学"),
    ("華為技術有限公司", "华为技术有限公司"),
    ("四川\u200b大学", "四川大学"),  # zero-width space
    ("\ufeff电子科技大学", "电子科技大学"),  # BOM
    ("华为\u00ad技术有限公司", "华为技术有限公司"),  # soft hyphen
    ("哈爾濱工業大學（深圳）", "哈尔滨工业大学（深圳）"),  # traditional with a campus
    ("四川\u2060大學", "四川大学"),  # word joiner and traditional together
]


def _first_match(results: list[dict], party: str) -> str:
    return next(r["match"] for r in results if r["party"] == party)


def test_traditional_and_invisible_variants_match_like_the_simplified_name() -> None:
    names = [v for v, _ in VARIANTS] + [s for _, s in VARIANTS]
    r = run_cli("screen", *names, "--json")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    for variant, simplified in VARIANTS:
        want = _first_match(results, simplified)
        assert want in ("exact", "subunit"), (simplified, want)  # the plain name is listed
        assert _first_match(results, variant) == want, (variant.encode("unicode_escape"), results)
        entries = {r["entry_id"] for r in results if r["party"] == variant}
        assert entries == {r["entry_id"] for r in results if r["party"] == simplified}


@pytest.mark.parametrize("name", ["深圳大學", "北京\u200b理工大学附属中学"])
def test_normalising_script_does_not_invent_matches(name: str) -> None:
    r = run_cli("screen", name, "--json")
    assert r.returncode == 0, r.stderr
    assert all(x["match"] in ("none", "similar") for x in json.loads(r.stdout)), r.stdout
