"""Per-page and per-document text caps, applied while reading (before cleaning).

Why: a 5 KB PDF can hold one 1 MB string; without a cap it parses inside the
reader's bounds and then costs hundreds of chunks and minutes of embedding.
The cap keeps the first characters and says, in the document's warnings, how
much was dropped and which setting raises it.
"""

from __future__ import annotations

from extractor.core.config import TextLimits


class TextBudget:
    """Hands out each page's text, cut to the page cap and to what is left of the document cap."""

    def __init__(self, limits: TextLimits | None = None) -> None:
        self.limits = limits or TextLimits.from_env()
        self.used = 0
        self.warnings: list[str] = []
        self._doc_warned = False

    @property
    def unpaged_limit(self) -> int | None:
        """Characters worth collecting from an unpaginated document before the cut (readers stop
        walking past it: parsing a 50 MB page to keep 200 k characters would cost minutes)."""
        caps = [c for c in (self.limits.max_unpaged_chars, self.limits.max_doc_chars) if c is not None]
        return min(caps) + 1 if caps else None

    def take(self, text: str, page: int | None = None) -> str:
        """``text`` within the caps; ``page`` (1-based) names the page in the warning.

        Without ``page`` the text is a whole unpaginated document (a web page, a .docx, a text file):
        the unpaged cap applies instead of the page cap, since a Word tender package is rightly
        longer than any page, but not as long as 400 pages.
        """
        where = f"page {page}: " if page is not None else ""
        page_cap = self.limits.max_page_chars if page is not None else self.limits.max_unpaged_chars
        if page_cap is not None and len(text) > page_cap:
            if page is not None:
                self.warnings.append(f"{where}text cut from {len(text):,} to {page_cap:,} characters "
                                     "(TENDERX_MAX_PAGE_CHARS)")
            else:  # the reader may have stopped collecting just past the cap: the full length is unknown
                self.warnings.append(f"text cut at {page_cap:,} characters; the rest is not read "
                                     "(TENDERX_MAX_UNPAGED_CHARS)")
            text = text[:page_cap]
        doc_cap = self.limits.max_doc_chars
        if doc_cap is not None and self.used + len(text) > doc_cap:
            keep = max(0, doc_cap - self.used)
            if not self._doc_warned:
                self.warnings.append(f"{where}document text cut at {doc_cap:,} characters; the rest is not "
                                     "read (TENDERX_MAX_DOC_CHARS)")
                self._doc_warned = True
            text = text[:keep]
        self.used += len(text)
        return text
