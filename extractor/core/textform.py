"""The comparison form of a text: NFKC-normalised, whitespace dropped.

pypdf breaks lines and inserts spaces where a PDF placed glyphs apart, and readers quote
full-width digits as half-width, so texts are compared in this form. It lives below
``core.evidence`` (the one quote matcher, which re-exports it) so that the label check
(``core.field_label``) can use the same form without importing the matcher.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["squash", "squash_with_map"]


def _squash_char(ch: str) -> str:
    return "" if ch.isspace() else unicodedata.normalize("NFKC", ch)


def _squash_map(text: str) -> tuple[str, tuple[int, ...]]:
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


@lru_cache(maxsize=512)
def squash_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` NFKC-normalised without whitespace, and for each output char its input offset.
    Cached: a page's text is squashed once for all the quotes looked up on it."""
    return _squash_map(text)


@lru_cache(maxsize=8192)
def squash(text: str) -> str:
    """The comparison form of a text: NFKC, no whitespace. Its own cache, so the many short texts
    compared (quotes, labels, the text before a value) do not push the pages out of
    ``squash_with_map``'s."""
    return _squash_map(text)[0]
