"""Durable JSONL output: torn lines dropped, compaction keeps one record per file, CSV view."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from extractor.pipeline.records import JsonlWriter, compact, drop_torn_tail, read_records, to_csv


def _rec(file: str, sha: str, value: object = None, **kw: object) -> dict:
    return {"file": file, "sha256": sha, "fields": {"suppliers": {"value": value}}, "flags": [], "errors": [], **kw}


def test_torn_last_line_is_dropped_and_appending_continues(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(_rec("a.pdf", "1")) + "\n" + '{"file": "b.pdf", "sha2', encoding="utf-8")
    assert [r["file"] for r in read_records(out)] == ["a.pdf"]
    with JsonlWriter(out) as w:
        w.write(_rec("b.pdf", "2"))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(x) for x in lines)


def test_drop_torn_tail_keeps_complete_file(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    text = json.dumps(_rec("a.pdf", "1")) + "\n"
    out.write_text(text, encoding="utf-8")
    drop_torn_tail(out)
    assert out.read_text(encoding="utf-8") == text


def test_compact_keeps_last_record_per_file_in_given_order(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with JsonlWriter(out) as w:
        w.write(_rec("b.pdf", "old", errors=["timeout"]))
        w.write(_rec("a.pdf", "1"))
        w.write(_rec("b.pdf", "new"))
    recs = compact(out, order=["a.pdf", "b.pdf"])
    assert [(r["file"], r["sha256"]) for r in recs] == [("a.pdf", "1"), ("b.pdf", "new")]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_csv_joins_lists_with_semicolons() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([_rec("a.pdf", "1", ["甲公司", "乙公司"])], ["suppliers"]))))
    assert rows[0] == ["file", "sha256", "backend", "suppliers", "flags", "errors"]
    assert rows[1][3] == "甲公司;乙公司"
