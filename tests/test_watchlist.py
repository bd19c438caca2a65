"""Watchlist: aliases to canonical names, context rules for bare model numbers, restriction."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.core.watchlist import (
    Watchlist,
    canonicals,
    default_watchlist,
    entry,
    expand_query,
    find_mentions,
    is_restricted,
)

ROOT = Path(__file__).resolve().parents[1]


def names(text: str) -> dict[str, list[str]]:
    return canonicals(find_mentions(text))


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("每台配置8块NVIDIA A100 80GB加速卡", "chip", ["NVIDIA A100"]),
    ("英伟达A800 PCIe 80G", "chip", ["NVIDIA A800"]),
    ("DGX H100系统2台", "chip", ["NVIDIA H100"]),
    ("HGX H20 8-GPU模组", "chip", ["NVIDIA H20"]),
    ("ＮＶＩＤＩＡ　Ｈ１００", "chip", ["NVIDIA H100"]),
    ("昇腾910B NPU", "chip", ["Huawei Ascend 910B"]),
    ("华为昇腾 AI处理器（昇腾 910B）", "chip", ["Huawei Ascend 910B"]),  # the family name is dropped
    ("海光DCU K100加速卡", "chip", ["Hygon DCU"]),
    ("寒武纪 MLU370-X8", "chip", ["Cambricon MLU370"]),
    ("AMD Instinct MI250X OAM", "chip", ["AMD Instinct MI250"]),
    ("Google Cloud TPU v4 计算时长", "chip", ["Google TPU v4"]),
    ("亚马逊云科技（Amazon Web Services，AWS）", "cloud", ["AWS"]),
    ("Amazon Bedrock 上的 Claude 3.5 Sonnet", "cloud", ["AWS"]),
    ("世纪互联 Azure", "cloud", ["Microsoft Azure"]),
    ("天翼云智算资源", "cloud", ["China Telecom Cloud"]),
    ("火山引擎（火山方舟平台）", "cloud", ["Volcano Engine"]),
    ("阿里云通义千问API", "model", ["Qwen"]),
    ("Amazon Bedrock 上的 Claude 3.5 Sonnet", "model", ["Anthropic Claude"]),
    ("文心一言与智谱GLM-4", "model", ["ERNIE Bot", "GLM"]),
    ("部署DeepSeek-R1满血版", "model", ["DeepSeek"]),
])
def test_aliases_to_canonical(text: str, kind: str, expected: list[str]) -> None:
    assert names(text)[kind] == expected


def test_azure_openai_implies_azure_cloud() -> None:
    n = names("通过Azure OpenAI服务调用大模型")
    assert n["model"] == ["Azure OpenAI"]
    assert n["cloud"] == ["Microsoft Azure"]


def test_openai_compatible_api_is_not_openai() -> None:
    assert names("接口兼容OpenAI API格式，部署DeepSeek-V3")["model"] == ["DeepSeek"]
    assert names("采购OpenAI GPT-4o接口调用服务")["model"] == ["OpenAI GPT-4"]


@pytest.mark.parametrize("text", [
    "全自动生化分析仪 型号：A100，品牌：普康",
    "恒温恒湿试验箱 H100型 1台",
    "离心机 V100 两台",
    "联系电话 0571-84090123",
    "项目编号 ZB-A100-2024",
])
def test_bare_model_numbers_without_gpu_context_are_not_chips(text: str) -> None:
    assert names(text)["chip"] == []


@pytest.mark.parametrize(("text", "expected"), [
    ("GPU服务器，配置A100 80G加速卡", ["NVIDIA A100"]),
    ("算力服务器4台，每台8块H20", ["NVIDIA H20"]),
    ("显卡：4090 24G", ["NVIDIA RTX 4090"]),
    ("显卡：RTX 4090D", ["NVIDIA RTX 4090D"]),
    ("显卡：RTX4090D 24G；另需 RTX 4090 两块", ["NVIDIA RTX 4090D", "NVIDIA RTX 4090"]),
    ("GPU：4090D", ["NVIDIA RTX 4090D"]),
])
def test_bare_model_numbers_with_gpu_context(text: str, expected: list[str]) -> None:
    assert names(text)["chip"] == expected


def test_a100_analyser_even_next_to_a_server_word() -> None:
    # the device word stands closer than the computing word
    text = "配套数据服务器一台；全自动生化分析仪A100一台"
    assert names(text)["chip"] == []


def test_mention_offsets_point_into_the_text() -> None:
    text = "本项目采购ＮＶＩＤＩＡ A100 GPU服务器"
    [m] = find_mentions(text)
    assert text[m.start:m.end] == m.alias
    assert m.canonical == "NVIDIA A100" and m.kind == "chip"


def test_rtx_4090_depends_on_the_date() -> None:
    chips = ["NVIDIA RTX 4090"]
    assert not is_restricted(chips, [], [], "2023-06-15")
    assert not is_restricted(chips, [], [], "2023-10-17")
    assert is_restricted(chips, [], [], "2023-10-18")
    assert is_restricted(chips, [], [], "2024-05-14")
    assert not is_restricted(["NVIDIA RTX 4090D"], [], [], "2024-09-12")


def test_restriction_by_origin_and_kind() -> None:
    assert is_restricted(["NVIDIA A100"], [], [], None)
    assert is_restricted([], [], ["Azure OpenAI"], "2024-11-08")
    assert is_restricted(["AMD Instinct MI250"], [], [], "2024-01-19")
    assert not is_restricted(["Huawei Ascend 910B", "Hygon DCU"], ["China Telecom Cloud"], ["DeepSeek"], "2025-01-01")
    assert not is_restricted(["NVIDIA V100"], [], [], "2024-01-01")
    assert not is_restricted(["Unknown Chip"], [], [], "2024-01-01")
    # a US cloud counts when the tender is about AI compute, not for plain web hosting
    assert is_restricted([], ["AWS"], [], "2024-06-21", ai_context=True)
    assert not is_restricted([], ["AWS"], [], "2024-06-21", ai_context=False)


def test_expand_query() -> None:
    q = expand_query("英伟达 A100")
    assert "NVIDIA A100" in q and "A100" in q and "NVIDIA" in q
    q = expand_query("亚马逊云服务")
    assert {"AWS", "Amazon Web Services", "亚马逊云科技"} <= set(q)
    assert expand_query("办公家具") == []


def test_every_entry_is_documented() -> None:
    wl = default_watchlist()
    assert len(wl.entries) > 50
    for e in wl.entries:
        assert e.kind in ("chip", "cloud", "model")
        assert e.origin in ("US", "CN", "other")
        assert e.reason and e.date and e.aliases
    assert entry("NVIDIA RTX 4090").restricted_after == "2023-10-17"
    assert entry("NVIDIA RTX 4090D").restricted is False


def test_alias_claimed_by_two_entries_is_rejected(tmp_path) -> None:
    bad = tmp_path / "w.yaml"
    bad.write_text(
        "entries:\n"
        "  - {canonical: X, kind: chip, aliases: [Foo 1]}\n"
        "  - {canonical: Y, kind: chip, aliases: [foo-1]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="claimed"):
        Watchlist.load(bad)


def test_the_alias_pattern_matches_any_case_without_ignorecase(tmp_path) -> None:
    """Compiled without IGNORECASE (a cold search compiles it: ~3x faster), the alias pattern runs
    on the text with ASCII letters lower-cased one char for one char, so every case and width
    still matches and offsets still point into the text as given."""
    import re

    assert not default_watchlist()._pattern.flags & re.IGNORECASE
    for text in ("采购nvidia a100两台", "采购NVIDIA A100两台", "采购Nvidia a100两台", "采购ｎｖｉｄｉａ Ａ100两台"):
        [m] = find_mentions(text)
        assert (m.canonical, text[m.start:m.end]) == ("NVIDIA A100", m.alias)
    assert not find_mentions("型号XA100试剂")  # still whole words: an upper-case letter before A100
    cased = tmp_path / "w.yaml"  # an alias with a non-ASCII cased letter keeps IGNORECASE
    cased.write_text("entries:\n  - {canonical: Äther X1, kind: chip, aliases: [Äther X1]}\n", encoding="utf-8")
    assert [m.canonical for m in Watchlist.load(cased).find_mentions("ÄTHER X1 与 äther x1")] == ["Äther X1"] * 2


def _short_texts() -> list[str]:
    """Every hand-written search query, and each alias as a query would spell it (other case,
    width, separators, between Chinese words), and texts that only nearly name one."""
    import yaml

    from extractor.core.watchlist import _FULLWIDTH

    queries = yaml.safe_load((ROOT / "evals" / "search_queries.yaml").read_text(encoding="utf-8"))["queries"]
    texts = [q["query"] for q in queries]
    wide = {v: k for k, v in _FULLWIDTH.items() if v != 0x20}
    for e in default_watchlist().entries:
        for a in (*e.aliases, *e.ambiguous):
            texts += [a, f"采购{a}服务器", a.upper(), a.lower(), a.replace(" ", "-"), a.replace(" ", ""),
                      a.replace(" ", "_ "), a.translate(wide), f"型号X{a}", a[:-1], f"{a}0"]
    return texts


def test_a_short_text_is_matched_without_the_regex_only_when_nothing_can_match() -> None:
    """A search query that names no watched item is answered without compiling the alias regex
    (a cold `tenderx search` paid ~15-40 ms for it); whenever the regex finds a mention, the
    key check says one may be there — over every eval query and ~5,000 alias spellings."""
    compiled = Watchlist.load()
    lazy = Watchlist.load()
    texts = _short_texts()
    assert len(texts) > 2000
    found = 0
    for text in texts:
        if compiled.find_mentions(text, use_context=False):
            found += 1
            assert lazy._may_name_any(text), text
    assert 0 < found < len(texts)
    fresh = Watchlist.load()
    assert fresh.find_mentions("物业管理服务 中标") == [] and fresh.find_mentions("cloud servers for a school") == []
    assert "_pattern" not in fresh.__dict__  # nothing named: no regex compiled
    assert [m.canonical for m in fresh.find_mentions("采购英伟达 A100 服务器")] == ["NVIDIA A100"]
    assert "_pattern" in fresh.__dict__
