"""Chunks of real PDFs: token limits, overlap, page/offset provenance, stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.core.document import Document, Page
from extractor.core.tokens import count_tokens
from extractor.pipeline.chunking import (
    PAGE_JOIN,
    chunk_document,
    chunk_text_from_pages,
    content_pages,
    locate_in_page,
)
from extractor.read.pdf import read_pdf
from tests.conftest import SAMPLES
from tests.pdf_factory import make_pdf

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "tender-packages"

SENTENCES = [
    "本项目采购人工智能计算服务器，用于学校科研平台建设。",
    "采 购 人：某某大学，地址：某某市大学路 1 号。",
    "供应商须提供 NVIDIA A100 80GB 计算卡共 8 块，并负责安装调试；",
    "投标人应具有独立承担民事责任的能力，具有良好的商业信誉！",
    "预算金额为人民币壹佰贰拾万元整，超过预算的报价无效。",
    "合同履行期限为合同签订之日起九十日内，逾期交付按日计罚？",
]


def _body(page: int, n: int) -> list[str]:
    return [f"{page}.{i} {SENTENCES[(page + i) % len(SENTENCES)]}" for i in range(n)]


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    toc = ["目 录", "第一章 投标邀请..........3", "第二章 采购需求..........5", "第三章 合同..........9"]
    pages = [_body(1, 12), _body(2, 3), toc, _body(4, 10), _body(5, 2), _body(6, 2)]
    return read_pdf(make_pdf(tmp_path_factory.mktemp("chunks") / "tender.pdf", pages))


def test_chunks_respect_token_limit_and_count_tokens(doc: Document) -> None:
    chunks = chunk_document(doc, chunk_tokens=80, overlap=20)
    assert len(chunks) > 4
    for c in chunks:
        assert 0 < c.tokens <= 80
        assert c.tokens == count_tokens(c.text)
        assert c.text == c.text.strip()


def test_provenance_round_trips_to_page_text(doc: Document) -> None:
    chunks = chunk_document(doc, chunk_tokens=80, overlap=20)
    for c in chunks:
        assert 1 <= c.page_start <= c.page_end <= len(doc.pages)
        assert chunk_text_from_pages(doc, c) == c.text
        if c.page_start == c.page_end:
            assert doc.pages[c.page_start - 1].clean[c.char_start : c.char_end] == c.text
        else:
            assert doc.pages[c.page_start - 1].clean[c.char_start :] in c.text
            assert PAGE_JOIN in c.text
    assert any(c.page_start != c.page_end for c in chunks)  # short pages 5 and 6 share a chunk


def test_toc_page_is_not_chunked(doc: Document) -> None:
    chunks = chunk_document(doc, chunk_tokens=80, overlap=20)
    assert 3 not in {p for c in chunks for p in range(c.page_start, c.page_end + 1)}
    assert not any("投标邀请" in c.text for c in chunks)
    assert [p.number for run in content_pages(doc) for p in run] == [1, 2, 4, 5, 6]


def _global_spans(doc: Document, chunks: list) -> list[tuple[int, int]]:
    """Chunk spans in one coordinate system: page offsets laid end to end."""
    base, pos = {}, 0
    for p in doc.pages:
        base[p.number] = pos
        pos += len(p.clean) + len(PAGE_JOIN)
    return [(base[c.page_start] + c.char_start, base[c.page_end] + c.char_end) for c in chunks]


def test_consecutive_chunks_overlap(doc: Document) -> None:
    # lines are ~35-40 tokens: an overlap of 50 tokens carries the last line over
    chunks = chunk_document(doc, chunk_tokens=120, overlap=50)
    page1 = [c for c in chunks if c.page_end == 1]
    assert len(page1) >= 3
    spans = _global_spans(doc, page1)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:], strict=False):
        assert s1 < s2 < e1 < e2  # the next chunk starts inside the previous one
    without = _global_spans(doc, [c for c in chunk_document(doc, chunk_tokens=120, overlap=0) if c.page_end == 1])
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(without, without[1:], strict=False))


def test_ids_are_deterministic(doc: Document) -> None:
    a = chunk_document(doc, chunk_tokens=80, overlap=20)
    b = chunk_document(read_pdf(doc.path), chunk_tokens=80, overlap=20)
    assert [c.id for c in a] == [c.id for c in b]
    assert [c.text for c in a] == [c.text for c in b]
    assert [c.id for c in a] == [f"{doc.sha256[:16]}:{i}" for i in range(len(a))]
    assert [c.index for c in a] == list(range(len(a)))
    assert all(c.doc_sha256 == doc.sha256 and c.file == doc.path for c in a)
    meta = a[0].metadata()
    assert "text" not in meta and meta["page_start"] == a[0].page_start


def test_locate_in_page_maps_clean_span_to_raw(doc: Document) -> None:
    page = doc.pages[0]
    start = page.clean.index("采购人：某某大学")
    raw_start, raw_end = locate_in_page(page, start, start + len("采购人：某某大学"))
    assert page.text[raw_start:raw_end] == "采 购 人：某某大学"
    chunk = chunk_document(doc, chunk_tokens=80, overlap=20)[0]
    rs, re_ = locate_in_page(page, chunk.char_start, chunk.char_end)
    assert page.text[rs:re_].replace(" ", "").startswith(chunk.text[:10].replace(" ", ""))


def test_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(ValueError):
        chunk_document(Document(path="x.pdf", sha256="0" * 64, pages=[]), chunk_tokens=50, overlap=50)


def test_hand_built_document_gets_a_clean_view() -> None:
    doc = Document(path="n.pdf", sha256="ab" * 32, pages=[Page(number=1, text="采 购 人：某大学\n预算：１０万元")])
    [chunk] = chunk_document(doc)
    assert chunk.text == "采购人：某大学\n预算：10万元"
    assert chunk.id == "abababababababab:0"


def test_scanned_and_empty_pages_give_no_chunks() -> None:
    doc = Document(path="s.pdf", sha256="cd" * 32, pages=[Page(number=1, text="", needs_ocr=True)])
    assert chunk_document(doc) == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_real_tender_package_chunks() -> None:
    doc = read_pdf(CORPUS / "example.pdf")
    chunks = chunk_document(doc)
    assert chunks and all(c.tokens <= 400 for c in chunks)
    assert all(chunk_text_from_pages(doc, c) == c.text for c in chunks)
    assert any("采购人：合肥市公安局瑶海分局" in c.text for c in chunks)


def test_sample_package_chunks() -> None:
    """A shipped 34-page package: token-bounded chunks that map back to their pages (no ../shared needed)."""
    doc = read_pdf(SAMPLES / "package-univ-ai-platform-h800.pdf")
    chunks = chunk_document(doc)
    assert len(chunks) > 20 and all(c.tokens <= 400 for c in chunks)
    assert all(chunk_text_from_pages(doc, c) == c.text for c in chunks)
    assert not any("投标邀请……" in c.text for c in chunks)  # the TOC page (number on the next line) is not embedded
    assert any("采购人：江东理工大学" in c.text for c in chunks)
