"""Context selection for long documents: which lines and chunks each field's question is shown.

A long tender package is not sent to a model whole: each field group gets the
lines where its labels introduce a value and the chunks retrieval ranks for it,
taken in turns, de-duplicated and merged, within a token budget.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Sequence

from extractor.core.document import Chunk, Document, Retriever
from extractor.core.evidence import squash
from extractor.core.schema import Field
from extractor.core.tokens import count_tokens
from extractor.core.watchlist import find_mentions

log = logging.getLogger("tenderx.context")

def group_query(fields: Sequence[Field]) -> str:
    """Search text for a field group: its Chinese labels first, then short descriptions."""
    labels = [lab for f in fields for lab in f.labels]
    desc = [" ".join(f.description.split())[:80] for f in fields if f.description]
    return " ".join([*labels, *desc])


_CJK_TERM = re.compile(r"[\u3400-\u9fff]{2,}")


def field_query(f: Field) -> str:
    """Search text for one field: its Chinese labels, then the Chinese terms of its description
    (``公开招标``, ``采购意向公开``...). English prose is left out: it only dilutes BM25 and the
    dense query, and Chinese tenders do not contain it."""
    terms = [*f.labels, *_CJK_TERM.findall(f.description or "")]
    return " ".join(dict.fromkeys(terms)) or f.name


def merge_groups(groups: dict[str, list[Field]], max_fields: int) -> list[tuple[str, list[Field]]]:
    """Consecutive schema groups packed into calls of at most ``max_fields`` fields (a group is
    never split): each call repeats the system prompt, so fewer calls send fewer tokens."""
    merged: list[tuple[str, list[Field]]] = []
    for name, fields in groups.items():
        if merged and len(merged[-1][1]) + len(fields) <= max_fields:
            merged[-1] = (f"{merged[-1][0]}+{name}", [*merged[-1][1], *fields])
        else:
            merged.append((name, list(fields)))
    return merged


class FieldSearch:
    """Per-field candidates: the lines of the document where a field's label introduces a value
    (``采购人：…``, a label alone on its line above its value; for dates, a line that is only a
    date, as under a notice's signature) taken in turns with the retriever's chunks. BM25 and
    vectors favour chunks that repeat a label, such as contract clauses; the labelled line is
    what holds the value. Without a retriever (or once it fails: a broken store is not asked
    again) the chunks are label-ranked page windows."""

    def __init__(self, doc: Document, retriever: Retriever | None, k: int, lines_per_field: int = 3) -> None:
        self.doc = doc
        self.retriever = retriever
        self.k = k
        self.lines_per_field = lines_per_field

    def ranked(self, f: Field) -> list[Chunk]:
        found: list[Chunk] = []
        if self.retriever is not None:
            try:
                found = list(self.retriever(field_query(f), self.k))
            except Exception as e:  # noqa: BLE001 — a broken store must not stop extraction
                log.warning("retriever failed (%s); ranking pages by labels instead", type(e).__name__)
                self.retriever = None
        if self.retriever is None:  # a retriever finding nothing for a field is an answer, not a failure
            found = _rank_page_windows(self.doc, [f])[: self.k]
        lines = labelled_lines(self.doc, f, self.lines_per_field)
        turns = [c for pair in itertools.zip_longest(lines, found) for c in pair if c is not None]
        return turns


def labelled_lines(doc: Document, f: Field, limit: int = 3, context: int = 1) -> list[Chunk]:
    """The first ``limit`` distinct lines (document order) where one of ``f``'s labels introduces
    a value, a date-only line (date fields) or a line naming a watchlist item the field's
    description names, each with ``context`` lines either side, as page-text excerpts (quotes
    stay verbatim)."""
    labels = [squash(lab) for lab in f.labels if squash(lab)]
    items = _named_items(f.description or "")
    out: list[Chunk] = []
    seen: set[str] = set()
    for page in doc.pages:
        lines = page.text.splitlines(keepends=True)
        starts = list(itertools.accumulate((len(x) for x in lines), initial=0))
        for i, line in enumerate(lines):
            sq = squash(line)
            if not sq or sq in seen:
                continue
            if not (_introduces(sq, labels) or (f.type == "date" and _is_date_line(sq))
                    or (items and items & _named_items(line))):
                continue
            seen.add(sq)
            lo, hi = max(0, i - context), min(len(lines), i + context + 1)
            text = "".join(lines[lo:hi]).strip()
            out.append(Chunk(id=f"{doc.sha256[:12]}-p{page.number}-L{lo}", doc_sha256=doc.sha256, file=doc.path,
                             text=text, page_start=page.number, page_end=page.number, char_start=starts[lo],
                             char_end=starts[hi], index=-1, tokens=count_tokens(text)))
            if len(out) >= limit:
                return out
    return out


@functools.lru_cache(maxsize=65536)
def _named_items(text: str) -> frozenset[str]:
    """Watchlist items (chips, clouds, models) a text names: a field whose description lists
    canonical names (``NVIDIA H800``…) is anchored on the lines naming one of them (``8块H800``)."""
    return frozenset(m.canonical for m in find_mentions(text))


def _introduces(line: str, labels: Sequence[str]) -> bool:
    """The (whitespace-free) line gives a label's value: ``label：…`` anywhere, or the label alone."""
    return any(line == lab or f"{lab}：" in line or f"{lab}:" in line for lab in labels)


# a line that is only a date: under a signature (2024年3月18日), or a web page's publication stamp
# at its head (2016-02-29 16:45:31, squashed to 2016-02-2916:45:31)
_DATE_LINE = re.compile(r"^(?:(?:\d{4}|[〇○零一二三四五六七八九]{4})年[\d〇○零一二三四五六七八九十]{1,2}月"
                        r"[\d〇○零一二三四五六七八九十]{1,3}日"
                        r"|\d{4}([-/.])\d{1,2}\1\d{1,2}(?:\d{1,2}:\d{2}(?::\d{2})?)?)$")


def _is_date_line(line: str) -> bool:
    return bool(_DATE_LINE.match(unicodedata.normalize("NFKC", line)))


def select_chunks(rankings: Sequence[Sequence[Chunk]], budget: int) -> list[Chunk]:
    """Chunks for one call: the fields' rankings taken in turns (every field's best chunk
    before any field's second), duplicates and chunks already covered by a chosen one skipped,
    within ``budget`` tokens; overlapping neighbours merged and the result in page order. A field
    whose best candidate is a labelled line (``labelled_lines``: a few lines) gets it even past the
    budget: another field's first chunk must not leave it asked with nothing that states it."""
    chosen: list[Chunk] = []
    seen: set[str] = set()
    used = 0
    depth = max((len(r) for r in rankings), default=0)
    for rank in range(depth):
        for ranking in rankings:
            if rank >= len(ranking):
                continue
            c = ranking[rank]
            text = squash(c.text)
            if c.id in seen or any(text in squash(o.text) for o in chosen):
                seen.add(c.id)
                continue
            covered = [o for o in chosen if squash(o.text) in text]  # a line excerpt inside c
            cost = _tokens(c) - sum(_tokens(o) for o in covered)
            if chosen and used + cost > budget and not (rank == 0 and c.index == -1):
                continue
            chosen = [o for o in chosen if o not in covered] + [c]
            seen.add(c.id)
            used += cost
    return merge_overlaps(sorted(chosen, key=lambda c: (c.page_start, c.char_start, c.index)))


TABLES_HEADING = "Tables on this page (cell ids in brackets):"


def with_tables(doc: Document, chunks: Sequence[Chunk], budget: int) -> list[Chunk]:
    """The chosen chunks plus, after them, the tables of the pages they come from as Markdown with
    cell ids (one chunk a table, under its page's marker), within ``budget`` tokens: the rows and
    columns the flattened text lost, and ids the model may cite instead of copying a cell."""
    pages = {n for c in chunks for n in range(c.page_start, c.page_end + 1)}
    out = list(chunks)
    used = 0
    for page in doc.pages:
        if page.number not in pages:
            continue
        for table in page.tables:
            text = f"{TABLES_HEADING}\n{table.to_markdown()}"
            cost = count_tokens(text)
            if used + cost > budget:
                return out
            used += cost
            out.append(Chunk(id=f"{doc.sha256[:12]}-{table.id}", doc_sha256=doc.sha256, file=doc.path, text=text,
                             page_start=page.number, page_end=page.number, char_start=0, char_end=0, index=-2,
                             tokens=cost))
    return out


def _tokens(c: Chunk) -> int:
    return c.tokens or count_tokens(c.text)


def merge_overlaps(chunks: Sequence[Chunk], min_overlap: int = 8) -> list[Chunk]:
    """Neighbouring chunks (in page order) that share text — the chunker's overlap — joined into
    one, so the shared text is sent once. Only an exact suffix/prefix match is merged."""
    out: list[Chunk] = []
    for c in chunks:
        prev = out[-1] if out else None
        shared = _shared_edge(prev.text, c.text, min_overlap) if prev and prev.page_end >= c.page_start - 1 else 0
        if prev is None or not shared:
            out.append(c)
            continue
        out[-1] = Chunk(id=f"{prev.id}+{c.id}", doc_sha256=prev.doc_sha256, file=prev.file,
                        text=prev.text + c.text[shared:], page_start=prev.page_start,
                        page_end=max(prev.page_end, c.page_end), char_start=prev.char_start,
                        char_end=c.char_end, index=prev.index,
                        tokens=(prev.tokens or count_tokens(prev.text)) + count_tokens(c.text[shared:]))
    return out


def _shared_edge(a: str, b: str, min_len: int) -> int:
    """Length of the longest suffix of ``a`` that is a prefix of ``b`` (0 below ``min_len``)."""
    for n in range(min(len(a), len(b)), min_len - 1, -1):
        if a.endswith(b[:n]):
            return n
    return 0


def _rank_page_windows(doc: Document, fields: Sequence[Field], window_chars: int = 1500) -> list[Chunk]:
    """Without a retriever: page windows ranked by how many of the fields' labels they contain."""
    labels = [lab for f in fields for lab in f.labels]
    windows: list[tuple[int, Chunk]] = []
    for page in doc.pages:
        text = page.text or page.clean
        for start in range(0, max(1, len(text)), window_chars):
            piece = text[start:start + window_chars]
            if not piece.strip():
                continue
            score = sum(piece.count(lab) for lab in labels)
            chunk = Chunk(id=f"{doc.sha256[:12]}-p{page.number}-{start}", doc_sha256=doc.sha256, file=doc.path,
                          text=piece, page_start=page.number, page_end=page.number, char_start=start,
                          char_end=start + len(piece), index=len(windows))
            windows.append((score, chunk))
    windows.sort(key=lambda sc: (-sc[0], sc[1].index))
    return [c for _, c in windows]

