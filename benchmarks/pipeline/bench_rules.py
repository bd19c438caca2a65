"""Rules engine throughput: documents/s and pages/s on notices.

Measured twice: on documents already read (the engine alone, what the target
is about) and end to end from the PDF files (read_pdf + rules), so the share
of PDF parsing is visible.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path


def _median_seconds(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(pdfs: list[Path], repeats: int = 3) -> list[dict]:
    from extractor.backends.rules import extract_rules
    from extractor.core.schema import load_schema
    from extractor.read.pdf import read_pdf

    schema = load_schema("tender")
    docs = [read_pdf(p) for p in pdfs]
    pages = sum(len(d.pages) for d in docs)
    filled = 0
    for d in docs:  # warm-up (regex compilation, jieba/watchlist loading) and a sanity count
        filled += sum(1 for fv in extract_rules(d, schema).values() if fv.value not in (None, [], ""))

    def rules_only() -> None:
        for d in docs:
            extract_rules(d, schema)

    def from_files() -> None:
        for p in pdfs:
            extract_rules(read_pdf(p), schema)

    rows = []
    for label, fn in (("rules engine (documents in memory)", rules_only),
                      ("read_pdf + rules engine (from files)", from_files)):
        seconds = _median_seconds(fn, repeats)
        rows.append({"stage": label, "documents": len(docs), "pages": pages, "seconds": seconds,
                     "docs_per_s": len(docs) / seconds, "pages_per_s": pages / seconds,
                     "fields_filled_per_doc": filled / max(1, len(docs))})
    return rows
