"""Is a page's text layer usable? Detects the mojibake a CJK font without a ToUnicode map gives.

Chinese PDFs often embed subset CID fonts with no ToUnicode map; pypdf then returns the raw
glyph ids as characters: control characters, private-use code points, U+FFFD, unassigned code
points, or runs of low ASCII punctuation that stand for glyph ids 32-126. Indexing that text
makes search and extraction silently return nothing, so such a page is treated as having no
text layer (it is OCR'd, or reported as needing OCR).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GARBAGE_SHARE = 0.3  # a page whose visible characters are this share (or more) bad is garbage
_MIN_CHARS = 10  # fewer visible characters than this is "no text", not garbage
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORDISH = re.compile(r"[0-9A-Za-z]")


@dataclass(frozen=True)
class TextQuality:
    """How much of a text layer is readable: ``chars`` visible, ``bad`` of them garbage."""

    chars: int
    bad: int
    han: int

    @property
    def bad_share(self) -> float:
        return self.bad / self.chars if self.chars else 0.0

    @property
    def empty(self) -> bool:
        return self.chars < _MIN_CHARS

    @property
    def garbage(self) -> bool:
        """Text that decodes to glyph ids rather than words."""
        return not self.empty and self.bad_share >= GARBAGE_SHARE


def _is_bad(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # Cc control (tab/newline are whitespace and skipped before), Co private use, Cs surrogate,
    # Cn unassigned, plus the replacement character pypdf emits for undecodable codes.
    return cat in ("Cc", "Co", "Cs", "Cn") or ch == "\ufffd"


def measure(text: str) -> TextQuality:
    """Count visible characters and the garbage among them.

    Besides control/private-use/unassigned characters, a text without a single Han character
    whose visible characters are mostly ASCII punctuation (``!"#$%&'()*+,-./``: glyph ids read
    as Latin-1) counts its punctuation as bad too: no Chinese notice reads like that.
    """
    visible = [ch for ch in text if not ch.isspace()]
    bad = sum(1 for ch in visible if _is_bad(ch))
    han = sum(1 for ch in visible if _HAN.match(ch))
    if visible and not han:
        punct = sum(1 for ch in visible if ch.isascii() and not _WORDISH.match(ch) and not _is_bad(ch))
        if punct / len(visible) > 0.5:
            bad += punct
    return TextQuality(chars=len(visible), bad=bad, han=han)


__all__ = ["GARBAGE_SHARE", "TextQuality", "measure"]
