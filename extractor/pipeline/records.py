"""Durable output: JSONL records written whole-line, CSV views, resume.

A batch of thousands of PDFs must never lose finished work. Records are
appended one complete line at a time and fsynced at checkpoints; a line cut
short by a crash is dropped on the next run; when a run completes the file
is compacted (one line per document) and replaced atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LIST_JOIN = ";"


def record_key(rec: dict[str, Any]) -> str:
    """One record per file path: a newer record for the same path replaces the old one."""
    return str(rec.get("file", ""))


def read_records(path: Path) -> list[dict[str, Any]]:
    """All complete, parseable records of a JSONL file (a torn last line is skipped)."""
    if not path.exists():
        return []
    out = []
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn write from an interrupted run
            try:
                rec = json.loads(raw)
            except (ValueError, RecursionError):  # a hand-made line nested 100,000 deep is skipped too
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def well_formed(rec: dict[str, Any]) -> dict[str, Any]:
    """A record shaped as the desk and the exports read it: ``fields`` a mapping of mappings, ``flags`` and
    ``errors`` lists. A hand-edited or foreign line (``"fields": []``, a field that is a list)
    is shown with what can be read, instead of failing the overview, `export` and the desk."""
    fields = rec.get("fields")
    clean = {str(k): v for k, v in fields.items() if isinstance(v, dict)} if isinstance(fields, dict) else {}
    out = {**rec, "fields": clean}
    for key in ("flags", "errors"):
        value = rec.get(key)
        out[key] = [str(x) for x in value] if isinstance(value, list) else ([] if value in (None, "") else [str(value)])
    return out


def drop_torn_tail(path: Path) -> None:
    """Truncate a JSONL file after its last newline (a crash can leave half a line)."""
    if not path.exists():
        return
    with path.open("r+b") as fh:
        data = fh.read()
        cut = data.rfind(b"\n") + 1
        if cut != len(data):
            fh.truncate(cut)
            fh.flush()
            os.fsync(fh.fileno())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give: the user's umask, not mkstemp's 0600


def atomic_write_text(path: Path, text: str) -> None:
    """Write a whole file via a temp file in the same folder, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class JsonlWriter:
    """Thread-safe append-only JSONL writer; fsync every ``checkpoint`` lines."""

    def __init__(self, path: Path, checkpoint: int = 20) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        drop_torn_tail(path)
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._since_sync = 0
        self.checkpoint = checkpoint

    def write(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            self._since_sync += 1
            if self._since_sync >= self.checkpoint:
                os.fsync(self._fh.fileno())
                self._since_sync = 0

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compact(path: Path, order: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Keep the last record per document and rewrite the file atomically."""
    latest: dict[str, dict[str, Any]] = {}
    for rec in read_records(path):
        latest[record_key(rec)] = rec
    keys = list(latest)
    if order is not None:
        rank = {k: i for i, k in enumerate(order)}
        keys.sort(key=lambda k: rank.get(k, len(rank)))
    recs = [latest[k] for k in keys]
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return recs


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula (``=HYPERLINK(…)``,
    ``@SUM…``, ``+``, ``-``, tab, CR) gets a leading apostrophe (OWASP's CSV-injection rule).
    Document text goes into these cells, and documents can be hostile."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_csv_cell(value)
    if isinstance(value, list):
        return safe_csv_cell(LIST_JOIN.join(str(v) for v in value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_csv(records: list[dict[str, Any]], field_names: list[str], evidence: bool = False) -> str:
    """One row per document; list fields joined with ';'.

    ``evidence`` (what `tenderx run` writes): each field's page, quote and verified beside its value,
    each party's list status in words (match type and citation: a sub-unit match says so), the
    intermediaries and the duplicate link; the file relative to the input folder; a BOM so Excel
    reads the Chinese."""
    from extractor.core.paths import published_file
    from extractor.screen.status import status_text

    buf = io.StringIO()
    w = csv.writer(buf)
    if not evidence:
        w.writerow(["file", "sha256", "backend", *field_names, "flags", "errors"])
    else:
        cols = [c for n in field_names for c in (n, f"{n}_page", f"{n}_quote", f"{n}_verified")]
        w.writerow(["file", "sha256", "backend", *cols, "screening", "intermediaries", "duplicate_of",
                    "flags", "errors"])
    for rec in records:
        fields = rec.get("fields") or {}
        if not evidence:
            values = [_cell((fields.get(n) or {}).get("value")) for n in field_names]
            extra: list[str] = []
        else:
            values = [_cell((fields.get(n) or {}).get(k)) for n in field_names
                      for k in ("value", "page", "quote", "verified")]
            extra = [_cell([status_text(s) for s in rec.get("screening") or []]),
                     _cell([f"{i.get('supplier') or '(bidders)'} → {i.get('intermediary_for')} ({i.get('basis')}, "
                            f"p.{i.get('page')}: {i.get('quote')})" for i in rec.get("intermediaries") or []]),
                     _cell(Path(str(rec["duplicate_of"])).name if rec.get("duplicate_of") else None)]
        w.writerow(
            [
                safe_csv_cell(published_file(rec) if evidence else str(rec.get("file", ""))),
                rec.get("sha256", ""),
                rec.get("backend", ""),
                *values,
                *extra,
                _cell(rec.get("flags") or []),
                _cell(rec.get("errors") or []),
            ]
        )
    return ("\ufeff" if evidence else "") + buf.getvalue()
