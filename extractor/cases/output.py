"""cases.jsonl: one case per line, written whole and replaced atomically like records.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from extractor.pipeline.records import atomic_write_text, read_records


def write_cases(cases: list[dict[str, Any]], path: Path) -> Path:
    atomic_write_text(path, "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases))
    return path


def read_cases(path: Path) -> list[dict[str, Any]]:
    return read_records(path)


def cases_for_records_file(records_path: Path, out: Path | None = None) -> list[dict[str, Any]]:
    """Link the records of a records.jsonl into cases; write them to ``out`` when given."""
    from extractor.cases.view import build_cases

    cases = build_cases(read_records(records_path))
    if out is not None:
        write_cases(cases, out)
    return cases
