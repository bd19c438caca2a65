"""From notices to purchases: link extraction records into cases and build each case's view.

Layer: above pipeline, below cli. Reads records (the dicts of records.jsonl).
"""

from extractor.cases.link import Case, Notice, link_records
from extractor.cases.view import build_cases, case_json, case_view

__all__ = ["Case", "Notice", "build_cases", "case_json", "case_view", "link_records"]
