"""Index terms and query understanding: model numbers and codes whole, no bare number standing
in for a model, English glossary expansion, query kinds and the watchlist sense."""

from __future__ import annotations

from extractor.core.document import Chunk
from extractor.search.lexical import BM25Index
from extractor.search.query import GLOSSARY_PATH, Glossary, analyse
from extractor.search.terms import latin_terms, query_tokens, tokenize


def _index(texts: list[str]) -> BM25Index:
    return BM25Index.build([Chunk(id=f"c{i}", doc_sha256="x" * 64, file="/x.pdf", text=t, page_start=1,
                                  page_end=1, char_start=0, char_end=len(t), index=i) for i, t in enumerate(texts)])


def test_model_numbers_and_codes_stay_whole():
    for word in ("A100", "H800", "MI250", "HFACC-2024-ZB-0031", "SZU-XJ-2024-0186"):
        assert word in latin_terms(f"型号 {word} 配置")
    assert "RTX4090D" in latin_terms("RTX 4090D") and "RTX4090D" in latin_terms("ＲＴＸ４０９０Ｄ")
    assert "4090D" in latin_terms("RTX4090D")  # spaced and unspaced spellings meet
    assert "100" not in latin_terms("A100") and "100" not in latin_terms("100KVA")
    assert "#100" in latin_terms("100KVA")  # the embedded number is only a part term
    assert set(query_tokens("A100")) == {"A100"}  # a typed model never searches its number part
    assert query_tokens("4090")["#4090"] < query_tokens("4090")["4090"]  # a typed number reaches parts, weakly


def test_a100_does_not_match_100kva_but_a_bare_number_still_finds_parts():
    index = _index(["变压器 100KVA 开阳桥 100KVA 白纸坊桥 100KVA", "每台配置8块NVIDIA A100 GPU", "RTX4090 工作站"])
    assert [h.position for h in index.search("英伟达 A100", k=5)] == [1]
    assert [h.position for h in index.search(query_tokens("A100"), k=5)] == [1]
    assert {h.position for h in index.search("4090", k=5)} == {2}
    code = _index(["项目编号：HFACC-2024-ZB-0031", "项目编号：HFACC-2024-ZB-0032", "2024年 0031号"])
    assert code.search("HFACC-2024-ZB-0031", k=3)[0].position == 0
    assert 2 not in {h.position for h in code.search("HFACC-2024-ZB-0031", k=3)}  # bare 2024/0031 never match


def test_query_terms_use_the_index_vocabulary_without_jieba():
    index = _index(["智能计算服务器采购项目 项目编号"])
    terms = index.query_terms("智能计算服务器")
    assert "服务器" in terms and "计算" in terms and "算服" in terms  # vocabulary words and bigrams
    assert all(t in index.postings or len(t) == 2 for t in terms)
    assert tokenize("项目编号")[:1] == ["项目"]  # the index side still runs jieba


def test_glossary_is_data_with_source_and_date():
    head = GLOSSARY_PATH.read_text(encoding="utf-8").split("terms:")[0]
    assert "Source:" in head and "Date:" in head
    glossary = Glossary.load()
    assert len(glossary.entries) >= 250
    zh = {z for entry in glossary.entries for z in entry[0]}
    assert {"预算金额", "投标保证金", "评标办法", "中标", "采购人", "更正"} <= zh


def test_english_queries_expand_into_chinese_and_back():
    q = analyse("budget amount of the GPU servers")
    assert q.kind == "english" and q.terms.get("预算金额") == 1.0 and "OF" not in q.terms
    assert "预算金额" in q.dense_text
    # "project" names nothing a notice lacks (every notice has a 项目名称): the rest is one label
    assert analyse("budget amount of the project").kind == "keyword"
    assert analyse("bid bonds").terms.get("投标保证金") == 1.0  # plurals folded
    assert analyse("bid bond").kind == "keyword"  # one label: lexical leads
    back = analyse("投标保证金")
    assert 0 < back.terms.get("BOND", 0) < 1  # Chinese reaches the English spelling, weakly
    assert analyse("英伟达 服务器").terms.get("NVIDIA") == 0.5  # watchlist alias below typed words


def test_query_kinds_and_watchlist_sense():
    assert analyse("HFACC-2024-ZB-0031").kind == "identifier"
    assert analyse("2024BFFFZ01583").kind == "identifier"
    assert analyse("H20 服务器").kind == "model"
    assert analyse("项目编号").kind == "keyword"
    assert analyse("法院办公楼 保洁 安保 物业").kind == "text"
    assert analyse("英伟达 A100").sense == {"NVIDIA A100"}  # the GPU is meant
    assert analyse("A100").sense == set()  # ambiguous alone
    assert analyse("普康 A100 生化分析仪").anti_sense == {"NVIDIA A100"}  # an analyser is meant
    weights = {k: analyse(q).weights for k, q in (("id", "SZU-XJ-2024-0186"), ("text", "法院 物业"))}
    assert weights["id"][1] > weights["id"][0] and weights["text"] == (1.0, 1.0)
