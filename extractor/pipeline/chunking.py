"""Token-sized chunks of the clean page text, each able to say where it came from.

Consecutive content pages are joined with a blank line and split by
langchain's recursive splitter on Chinese sentence punctuation, counting
tokens with the bundled cl100k encoding. A chunk may span pages; its
``char_start`` is an offset into the first page's clean text and ``char_end``
into the last page's, so a chunk is exactly
``pages[page_start].clean[char_start:] + PAGE_JOIN + … + pages[page_end].clean[:char_end]``.
TOC and blank-form pages (and pages without text) are left out and break the run.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from extractor.core.document import Chunk, Document, Page
from extractor.core.tokens import ENCODING_NAME, count_tokens
from extractor.read.cleaning import clean_page, is_boilerplate_page

PAGE_JOIN = "\n\n"
SEPARATORS = ["\n\n", "\n", "。", "；", "！", "？", "，", " ", ""]


@lru_cache(maxsize=8)
def _splitter(chunk_tokens: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING_NAME,
        disallowed_special=(),
        chunk_size=chunk_tokens,
        chunk_overlap=overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def content_pages(doc: Document) -> list[list[Page]]:
    """Runs of consecutive pages worth embedding (not TOC/blank forms, not empty)."""
    runs: list[list[Page]] = []
    current: list[Page] = []
    for page in doc.pages:
        if page.text and not page.clean_map:  # a Document built by hand: fill its clean view
            page.clean, page.clean_map = clean_page(page.text)
        if page.clean.strip() and not is_boilerplate_page(page.clean):
            current.append(page)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _split_to_limit(text: str, chunk_tokens: int, overlap: int) -> list[str]:
    """The splitter's pieces, re-split when BPE merging left one over the token limit."""
    out: list[str] = []
    for piece in _splitter(chunk_tokens, overlap).split_text(text):
        if count_tokens(piece) <= chunk_tokens or len(piece) < 2:
            out.append(piece)
            continue
        smaller = max(8, chunk_tokens - max(4, chunk_tokens // 10))
        out.extend(_split_to_limit(piece, smaller, min(overlap, smaller // 2)) if smaller < chunk_tokens else [piece])
    return out


CHUNK_TOKENS = 400
# 30, not 60: the same search figures at 5% fewer tokens to embed (benchmarks/results.md,
# "chunk size and overlap"); 800-token chunks cost more per token and lose a query.
OVERLAP_TOKENS = 30


def chunk_document(doc: Document, chunk_tokens: int = CHUNK_TOKENS, overlap: int = OVERLAP_TOKENS) -> list[Chunk]:
    """Split a document's clean text into chunks of at most ``chunk_tokens`` tokens."""
    if overlap >= chunk_tokens:
        raise ValueError(f"overlap ({overlap}) must be smaller than chunk_tokens ({chunk_tokens})")
    chunks: list[Chunk] = []
    for run in content_pages(doc):
        starts: list[int] = []
        parts: list[str] = []
        pos = 0
        for page in run:
            starts.append(pos)
            parts.append(page.clean)
            pos += len(page.clean) + len(PAGE_JOIN)
        text = PAGE_JOIN.join(parts)
        search_from = 0
        for piece in _split_to_limit(text, chunk_tokens, overlap):
            start = text.find(piece, search_from)
            if start < 0:  # cannot happen with strip-only splitting; keep provenance honest anyway
                continue
            end = start + len(piece)
            search_from = start + 1
            first = bisect.bisect_right(starts, start) - 1
            last = bisect.bisect_right(starts, end - 1) - 1
            index = len(chunks)
            chunks.append(
                Chunk(
                    id=f"{doc.sha256[:16]}:{index}",
                    doc_sha256=doc.sha256,
                    file=doc.path,
                    text=piece,
                    page_start=run[first].number,
                    page_end=run[last].number,
                    char_start=start - starts[first],
                    char_end=end - starts[last],
                    index=index,
                    tokens=count_tokens(piece),
                )
            )
    return chunks


def chunk_text_from_pages(doc: Document, chunk: Chunk) -> str:
    """Rebuild a chunk's text from its page/offset provenance (the inverse of chunking)."""
    pages = {p.number: p for p in doc.pages}
    if chunk.page_start == chunk.page_end:
        return pages[chunk.page_start].clean[chunk.char_start : chunk.char_end]
    texts = [pages[chunk.page_start].clean[chunk.char_start :]]
    texts += [pages[n].clean for n in range(chunk.page_start + 1, chunk.page_end)]
    texts.append(pages[chunk.page_end].clean[: chunk.char_end])
    return PAGE_JOIN.join(texts)


def locate_in_page(page: Page, clean_start: int, clean_end: int) -> tuple[int, int]:
    """Map a [start, end) span of ``page.clean`` to the matching span of ``page.text``."""
    if not page.clean_map or clean_end <= clean_start:
        raw = page.clean_map[clean_start] if clean_start < len(page.clean_map) else len(page.text)
        return raw, raw
    clean_start = max(0, min(clean_start, len(page.clean_map) - 1))
    clean_end = max(clean_start + 1, min(clean_end, len(page.clean_map)))
    return page.clean_map[clean_start], page.clean_map[clean_end - 1] + 1
