"""Retrieval-targeted LLM prompts on the long packages: at most half the whole-document tokens,
and every gold value's supporting text still inside the prompt that asks for its field.

The prompts are the ones the real extractor sends through the real openai client to the local
OpenAI-protocol test server (benchmarks/search/bench_retrieval.py); tokens are tiktoken counts."""

from __future__ import annotations

import json

import pytest

from benchmarks.search.bench_retrieval import LONG_SAMPLES, TARGET_RATIO, document_block, run, supported
from extractor.backends.llm.prompts import build_messages
from extractor.core.document import Chunk, Document
from extractor.core.schema import load_schema
from extractor.read.pdf import read_pdf
from extractor.search.context import labelled_lines, merge_groups, select_chunks
from tests.conftest import SAMPLES
from tests.pdf_factory import make_pdf


@pytest.fixture(scope="module")
def schema():
    return load_schema("tender")


@pytest.fixture(scope="module")
def result() -> dict:
    return run([SAMPLES / f"{name}.pdf" for name in LONG_SAMPLES])


@pytest.mark.parametrize("name", LONG_SAMPLES)
def test_targeted_prompts_keep_every_gold_value_at_half_the_tokens(result, name):
    doc = next(d for d in result["documents"] if d["file"] == f"{name}.pdf")
    labels = json.loads((SAMPLES / f"{name}.gold.json").read_text(encoding="utf-8"))["labels"]
    non_empty = [k for k, v in labels.items() if v not in (None, [], "")]
    assert sorted(f["field"] for f in doc["fields"]) == sorted(non_empty)
    assert doc["whole_kept"] == doc["items"] >= 12  # the proxy finds every value in the whole document
    assert doc["targeted_kept"] == doc["items"], f"evidence lost for {doc['missed']}"
    assert doc["targeted_tokens"] <= TARGET_RATIO * doc["whole_tokens"]
    assert 1 <= doc["calls"] < len(load_schema("tender").groups())


def test_the_evidence_proxy_fails_when_the_text_is_not_shown(schema):
    """Not vacuous: a prompt without the pages that state a value does not count it."""
    doc = read_pdf(SAMPLES / "package-univ-ai-platform-h800.pdf")
    labels = json.loads((SAMPLES / "package-univ-ai-platform-h800.gold.json").read_text(encoding="utf-8"))["labels"]

    def kept(pages) -> dict[str, int]:
        block = document_block(build_messages(schema, pages, schema.fields))
        return {n: supported(schema.field(n), v, block, labels)[0] for n, v in labels.items()}

    assert sum(kept([]).values()) == 0
    only_specs = kept([p for p in doc.pages if p.number in (12, 13)])  # technical spec pages
    assert only_specs["chips"] == 1 and only_specs["gpu_count"] == 1
    assert only_specs["budget_cny"] == only_specs["publish_date"] == only_specs["project_code"] == 0
    assert only_specs["agency"] == only_specs["procurement_method"] == 0
    # the date is written only on pages 4 (sale of the documents from that day) and 5 (signature)
    assert kept([p for p in doc.pages if p.number not in (4, 5)])["publish_date"] == 0
    assert kept([p for p in doc.pages if p.number != 4])["publish_date"] == 1


def test_groups_merge_into_fewer_calls_without_splitting_a_group(schema):
    merged = merge_groups(schema.groups(), 10)
    assert [name for name, _ in merged] == ["basics+parties+money", "compute"]
    assert [f.name for _, fs in merged for f in fs] == schema.names
    assert [name for name, _ in merge_groups(schema.groups(), 1)] == list(schema.groups())


def _chunk(cid: str, text: str, page: int, start: int, index: int = 0) -> Chunk:
    return Chunk(id=cid, doc_sha256="x", file="f.pdf", text=text, page_start=page, page_end=page,
                 char_start=start, char_end=start + len(text), index=index)


def test_select_chunks_takes_turns_drops_duplicates_and_merges_overlaps():
    a = _chunk("a", "第一章 投标邀请\n项目编号：JDZB2024-0316\n预算金额：4860万元", 3, 0, 0)
    b = _chunk("b", "预算金额：4860万元\n采购人：江东理工大学", 3, 27, 1)  # overlaps a's tail
    inside = _chunk("line", "项目编号：JDZB2024-0316", 3, 9, -1)  # already in a
    spec = _chunk("s", "8块NVIDIA H800 80GB SXM5 GPU", 12, 0, 5)
    far = _chunk("z", "附件格式" * 200, 30, 0, 9)
    chosen = select_chunks([[a, inside, far], [spec, b], [a, b]], budget=120)
    assert [c.page_start for c in chosen] == [3, 12]  # page order; the long chunk is over budget
    merged = chosen[0]
    assert merged.id == "a+b" and merged.text.count("预算金额：4860万元") == 1
    assert merged.text.endswith("采购人：江东理工大学") and merged.char_end == b.char_end
    assert all("附件格式" not in c.text for c in chosen)
    # a chunk that contains an already chosen line excerpt replaces it
    assert [c.id for c in select_chunks([[inside], [a]], budget=500)] == ["a"]


def test_labelled_lines_find_label_value_lines_dates_and_named_items(tmp_path, schema):
    pages = [["第二章 投标人须知", "采购人", "江东理工大学，地址：南京市", "本章其余条款由采购人负责解释。"],
             ["第三章 采购需求", "★GPU加速卡 8块英伟达H800 80GB", "江苏鼎信招标咨询有限公司", "2024年3月18日",
              "采购人：江东理工大学"]]
    doc: Document = read_pdf(make_pdf(tmp_path / "p.pdf", pages))
    buyer = labelled_lines(doc, schema.field("buyer"))
    assert [c.page_start for c in buyer] == [1, 2]  # the label alone above its value, then 采购人：…
    assert "投标人须知" in buyer[0].text and "江东理工大学，地址" in buyer[0].text  # one line either side
    assert "负责解释" not in buyer[0].text
    assert all(c.text in doc.pages[c.page_start - 1].text for c in buyer)  # verbatim page text
    date = labelled_lines(doc, schema.field("publish_date"))
    assert len(date) == 1 and "2024年3月18日" in date[0].text and "鼎信" in date[0].text
    chips = labelled_lines(doc, schema.field("chips"))
    assert len(chips) == 1 and "H800" in chips[0].text
    assert labelled_lines(doc, schema.field("token_count")) == []


def test_a_fields_labelled_line_is_not_crowded_out_by_another_fields_chunk():
    """Hybrid asks two fields with a 480-token budget: the first field's best is a long retrieved
    chunk, the second's a labelled line. Both are shown (the perfect-reader benchmark lost a real
    notice's publish_date this way); a second-round chunk past the budget still is not."""
    method = _chunk("m", "招标公告 公开招标 " * 38, 1, 400, 0)  # ~460 tokens
    stamp = _chunk("line", "2016-02-29 16:45:31\n某代理公司受某医院委托", 1, 0, -1)
    later = _chunk("later", "采购方式 " * 60, 2, 0, 3)
    chosen = select_chunks([[method, later], [stamp]], budget=480)
    assert {c.id for c in chosen} == {"line", "m"}


def test_a_publication_stamp_line_is_a_date_line(tmp_path, schema):
    """A saved web notice opens with its publication stamp (``2016-02-29 16:45:31``) and prints no
    other date: the hybrid's publish_date question must be shown that line (the perfect-reader
    benchmark lost it on a real notice), but never a code or a phone number that looks like one."""
    pages = [["2016-02-29 16:45:31", "某代理公司受某医院委托，对医疗设备采购项目进行公开招标。",
              "项目编号：JLXD-2016-ZC-011", "联系电话：0579-86622307"]]
    doc: Document = read_pdf(make_pdf(tmp_path / "stamp.pdf", pages))
    date = labelled_lines(doc, schema.field("publish_date"))
    assert len(date) == 1 and date[0].text.startswith("2016-02-29 16:45:31")
