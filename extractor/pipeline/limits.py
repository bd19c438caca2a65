"""Bounds on what one value may weigh: a model (or a hostile document) can return megabytes.

A 10 MB "buyer" must not reach the JSONL, the CSV and the cache whole. Values past
the bounds are cut, and the record says so (``truncated:<field>``), so nothing is
silently lost and nothing unbounded is written.
"""

from __future__ import annotations

from extractor.core.document import FieldValue

MAX_VALUE_CHARS = 1000  # a name or title; the longest real project names are ~150 characters
MAX_ITEMS = 200  # items in a list field
MAX_QUOTE_CHARS = 2000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def bound_values(fields: dict[str, FieldValue]) -> list[str]:
    """Cut over-long values and quotes in place; return the names of the fields that were cut."""
    cut = []
    for name, fv in fields.items():
        before = (fv.value, fv.quote)
        if isinstance(fv.value, str):
            fv.value = _cut(fv.value, MAX_VALUE_CHARS)
        elif isinstance(fv.value, list):
            fv.value = [_cut(v, MAX_VALUE_CHARS) if isinstance(v, str) else v for v in fv.value[:MAX_ITEMS]]
        if isinstance(fv.quote, str):
            fv.quote = _cut(fv.quote, MAX_QUOTE_CHARS)
        if (fv.value, fv.quote) != before:
            cut.append(name)
            fv.verified = False  # a cut quote no longer shows what the document says
    return cut
