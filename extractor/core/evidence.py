"""Checking that an evidence quote really is in the document.

pypdf breaks lines and inserts spaces where the PDF placed glyphs apart, and LLMs quote
full-width digits as half-width, so a quote counts as found when it occurs after both sides
are NFKC-normalised and stripped of whitespace. Used by both extraction backends and by the
evaluator's grounding rate.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from extractor.core.document import Document, FieldValue

__all__ = ["squash", "squash_with_map", "verify_quote", "find_page", "locate", "verify", "value_grounded",
           "verify_fields"]


def _squash_char(ch: str) -> str:
    return "" if ch.isspace() else unicodedata.normalize("NFKC", ch)


@lru_cache(maxsize=512)
def squash_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` NFKC-normalised without whitespace, and for each output char its input offset."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii() and not ch.isspace():
            out.append(ch)
            offsets.append(i)
            continue
        for c in _squash_char(ch):
            if not c.isspace():
                out.append(c)
                offsets.append(i)
    return "".join(out), tuple(offsets)


def squash(text: str) -> str:
    """The comparison form of a text: NFKC, no whitespace."""
    return squash_with_map(text)[0]


def verify_quote(page_text: str | None, quote: str | None) -> bool:
    """True when ``quote`` occurs in ``page_text`` ignoring whitespace and width (NFKC)."""
    if not page_text or not quote:
        return False
    q = squash(quote)
    return bool(q) and q in squash(page_text)


def locate(doc: Document, quote: str | None) -> tuple[int, int, int] | None:
    """Where ``quote`` is in the raw page text: (page number, start, end), first page first."""
    if not quote:
        return None
    q = squash(quote)
    if not q:
        return None
    for page in doc.pages:
        text, offsets = squash_with_map(page.text)
        i = text.find(q)
        if i >= 0:
            return page.number, offsets[i], offsets[i + len(q) - 1] + 1
    return None


def find_page(doc: Document, quote: str | None) -> int | None:
    """The first page (1-based) whose raw text contains ``quote``."""
    hit = locate(doc, quote)
    return hit[0] if hit else None


def verify(doc: Document, fv: FieldValue) -> bool:
    """True when ``fv.quote`` occurs on page ``fv.page`` of the document's raw text."""
    if fv.page is None or not fv.quote:
        return False
    for page in doc.pages:
        if page.number == fv.page:
            return verify_quote(page.text, fv.quote)
    return False


def value_grounded(doc: Document, fv: FieldValue, field_type: str) -> bool:
    """True when the value itself is backed by the document, not only its quote.

    A model steered by text inside the document can return an invented value
    next to a genuine quote; such a value must not pass as verified. Strings
    and list items must occur in the text (list items may also be a watchlist
    canonical name whose alias occurs), dates and amounts must be among those
    the text states (an amount may also be the sum of those in its quote).
    Enums, booleans and integers (often computed, e.g. servers × GPUs) are not
    checked here.
    """
    from extractor.core.normalize import iter_amounts, iter_dates

    value = fv.value
    if value is None or value == [] or value == "":
        return True
    text = doc.text
    if field_type == "string":
        return _text_in(str(value), text)
    if field_type == "list":
        items = value if isinstance(value, list) else [value]
        canon: set[str] | None = None
        for item in items:
            if _text_in(str(item), text):
                continue
            if canon is None:
                from extractor.core.watchlist import find_mentions

                canon = {m.canonical.upper() for m in find_mentions(text)}
            if str(item).strip().upper() not in canon:
                return False
        return True
    if field_type == "date":
        return str(value) in {h.iso for h in iter_dates(text)}
    if field_type == "number":
        try:
            target = float(value)
        except (TypeError, ValueError):
            return False

        def close(x: float) -> bool:
            return abs(x - target) <= max(1.0, 0.001 * abs(target))

        if any(close(a.value) for a in iter_amounts(text)):
            return True
        in_quote = [a.value for a in iter_amounts(fv.quote or "")]
        return len(in_quote) > 1 and close(sum(in_quote))
    return True


def _text_in(value: str, text: str) -> bool:
    v = squash(value).strip("\"'“”‘’「」『』《》()（）[]【】.,，。;；:：").upper()
    return bool(v) and v in squash(text).upper()


def verify_fields(doc: Document, fields: dict[str, FieldValue], types: dict[str, str] | None = None) -> None:
    """Set ``verified`` on every value, for every backend alike: the one place evidence is judged.

    A non-empty value is verified only when its quote is on the page it names; with ``types``
    (field name -> schema type, given for engines that can invent values, such as an LLM) the value
    itself must also be stated in the document. Empty values are neither verified nor unverified."""
    for name, fv in fields.items():
        if fv.value in (None, [], ""):
            fv.verified = None
            continue
        fv.verified = bool(fv.quote) and fv.page is not None and verify(doc, fv)
        if fv.verified and types is not None and not value_grounded(doc, fv, types.get(name, "")):
            fv.verified = False

