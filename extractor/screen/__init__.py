"""Screening tender parties against US export-control and related lists, in Chinese.

Layer: imports only ``extractor.core``; the pipeline imports it. Entry points: ``screen_names`` and
``screen_record``. A match is a lead to verify against the list's own text, not a finding.
"""

from extractor.screen.api import (
    LISTED,
    listed_entries,
    record_parties,
    screen_names,
    screen_record,
    split_parties,
)
from extractor.screen.lists import ScreeningTable, load_table
from extractor.screen.match import Screener, ScreenResult, default_screener
from extractor.screen.status import list_name, match_label, status_text

__all__ = [
    "LISTED",
    "ScreenResult",
    "Screener",
    "ScreeningTable",
    "default_screener",
    "list_name",
    "listed_entries",
    "load_table",
    "match_label",
    "record_parties",
    "screen_names",
    "screen_record",
    "split_parties",
    "status_text",
]
