"""Publication dates a notice states without a date label: the site's timestamp line above a
ccgp-style notice (``2015-11-18 15:37:44``), and the first day of a candidate or result notice's
publicity period (``公示期为2025年07月03日 18时00分至…``). Both are fallbacks after the labelled
date and the date line at the notice's end, and both are low confidence (no label states them)."""

from __future__ import annotations

import re
from functools import lru_cache

from extractor.backends.rules.cues import cues, words_re
from extractor.backends.rules.views import View
from extractor.core.document import FieldValue
from extractor.core.normalize import iter_dates

# A line that is only a date and a clock time: what a site prints as a page's publication stamp.
_STAMP_LINE = re.compile(
    r"[ \t]*(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)[ \t]+\d{1,2}[:：]\d{2}(?:[:：]\d{2})?[ \t]*")
_STAMP_LINES_ABOVE = 3  # the stamp is among the page's first non-empty lines, above the notice


def page_timestamp(views: list[View]) -> FieldValue | None:
    """The stamp line among the first lines of the first page (a date and a time, nothing else)."""
    pos = seen = 0
    for line in views[0].clean.split("\n") if views else []:
        if line.strip():
            m = _STAMP_LINE.fullmatch(line)
            hits = iter_dates(m.group(1)) if m else []
            if m and hits:
                return views[0].fv(hits[0].iso, pos + m.start(1), pos + m.end()).low(
                    "the page's publication timestamp above the notice, no label")
            seen += 1
            if seen == _STAMP_LINES_ABOVE:
                break
        pos += len(line) + 1
    return None


@lru_cache(maxsize=1)
def _publicity() -> re.Pattern[str]:
    return re.compile(r"(?:" + words_re(cues()["publicity_period"]) + r")[ \t]*(?:为|是|[:：])?[ \t]*(?:自|从)?[ \t]*([^\n]{6,40})")


def publicity_start(views: list[View]) -> FieldValue | None:
    """The first day of the publicity period, when its text gives a date right after the cue."""
    for v in views:
        for m in _publicity().finditer(v.clean):
            hits = iter_dates(m.group(1))
            if hits and hits[0].start <= 2:
                return v.fv(hits[0].iso, m.start(), m.start(1) + hits[0].end).low(
                    "the first day of the publicity period; no date line or label")
    return None
