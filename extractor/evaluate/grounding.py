"""Evidence against the document's own text: does a quote occur, and in what context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.errors import ReadError
from extractor.core.evidence import squash_with_map
from extractor.read.formats import read_document

CONTEXT_CHARS = 200  # characters of page text shown on each side of an evidence quote



@dataclass
class QuoteContext:
    """Where a quote sits: the page and the raw text around it."""

    page: int
    before: str
    match: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "before": self.before, "match": self.match, "after": self.after}



class DocumentText:
    """A document's per-page text, with whitespace-insensitive quote lookup."""

    def __init__(self, pages: Sequence[str]) -> None:
        self.pages = list(pages)
        self._compact_pages = [squash_with_map(p) for p in self.pages]
        self._joined = "".join(c for c, _ in self._compact_pages)

    def contains(self, quote: Any) -> bool:
        """Whether ``quote`` occurs in the text, ignoring whitespace (also across pages)."""
        q = squash_with_map(quote)[0] if isinstance(quote, str) else ""
        return bool(q) and q in self._joined

    def context(self, quote: Any, page: Any = None, width: int = CONTEXT_CHARS) -> QuoteContext | None:
        """The quote in its page context: the page it names first, then any other page."""
        q = squash_with_map(quote)[0] if isinstance(quote, str) else ""
        if not q:
            return None
        order = list(range(len(self.pages)))
        if isinstance(page, int) and not isinstance(page, bool) and 1 <= page <= len(self.pages):
            order.remove(page - 1)
            order.insert(0, page - 1)
        for i in order:
            compact, offsets = self._compact_pages[i]
            at = compact.find(q)
            if at < 0:
                continue
            text = self.pages[i]
            start, end = offsets[at], offsets[at + len(q) - 1] + 1
            return QuoteContext(i + 1, text[max(0, start - width):start], text[start:end], text[end:end + width])
        return None



def read_page_texts(pdf: Path) -> list[str]:
    """The document's per-page text as extraction read it (the text evidence quotes are taken from):
    a scanned page's OCR text, so values read by OCR are grounded against what OCR read (the
    reader's OCR cache answers when extraction ran in this process)."""
    try:
        doc = read_document(pdf)
        if any(p.needs_ocr for p in doc.pages):
            from extractor.read.guard import GuardedReader

            reader = GuardedReader.from_env()
            try:
                doc = reader.read(pdf)
            finally:
                reader.close()
        return [p.text for p in doc.pages]
    except ReadError:
        return []  # an unreadable document grounds nothing

