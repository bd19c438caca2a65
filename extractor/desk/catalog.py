"""The documents the desk may show: those named by the records file or held by the store.

A document is addressed by its sha256 only, never by a path from a request, so the desk cannot be
made to read any other file. A record's ``file`` is relative to wherever extraction ran; it is
resolved through the store (same sha256) or beside the records file, and accepted only when the
file's content still has the record's sha256.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from extractor.core.document import Document, Page
from extractor.core.errors import ReadError
from extractor.pipeline.records import read_records, well_formed
from extractor.read.bounded import BoundedCalls
from extractor.read.guard import GuardedReader
from extractor.read.pdf import file_sha256

__all__ = ["Catalog", "DeskDoc", "summary_row", "is_flag"]

T = TypeVar("T")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TEXT_CACHE = 12  # documents whose text is kept in memory
AMOUNT_FIELDS = ("award_amount_cny", "budget_cny")
TECH_FIELDS = ("chips", "cloud_providers", "ai_models")


def is_flag(flag: str) -> bool:
    """A flag that makes a document one to look at first (not the bookkeeping ones)."""
    return not flag.startswith("unverified:") and flag != "needs_ocr"


@dataclass
class DeskDoc:
    id: str  # sha256 of the content
    name: str
    path: Path | None  # a readable file with that content, or None when it cannot be found
    record: dict[str, Any] | None = None
    title: str | None = None
    pages: int | None = None
    needs_ocr: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def is_pdf(self) -> bool:
        return self.path is not None and self.path.suffix.lower() == ".pdf"


def _value(rec: dict[str, Any], name: str) -> Any:
    return ((rec.get("fields") or {}).get(name) or {}).get("value")


def _as_list(v: Any) -> list[str]:
    if v in (None, ""):
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def summary_row(doc: DeskDoc, reviewed: int = 0) -> dict[str, Any]:
    """One overview line: what an analyst sorts and filters on."""
    rec = doc.record or {}
    fields = rec.get("fields") or {}
    flags = [str(f) for f in rec.get("flags") or []]
    unverified = sorted({n for n, f in fields.items() if isinstance(f, dict) and f.get("verified") is False
                         and f.get("value") not in (None, [], "")}
                        | {f.split(":", 1)[1] for f in flags if f.startswith("unverified:")})
    amount = next((a for a in (_value(rec, n) for n in AMOUNT_FIELDS) if isinstance(a, int | float)), None)
    restricted = _value(rec, "restricted_us_tech") is True or "restricted_us_tech" in flags
    return {
        "id": doc.id,
        "name": doc.name,
        "title": _value(rec, "project_name") or doc.title,
        "has_record": doc.record is not None,
        "notice_type": _value(rec, "notice_type"),
        "buyer": _value(rec, "buyer"),
        "suppliers": _as_list(_value(rec, "suppliers")),
        "tech": [t for n in TECH_FIELDS for t in _as_list(_value(rec, n))],
        "restricted": restricted,
        "flags": [f for f in flags if is_flag(f)],
        "flagged": any(is_flag(f) for f in flags) or restricted,
        "unverified": unverified,
        "errors": [str(e) for e in rec.get("errors") or []],
        "date": _value(rec, "publish_date"),
        "amount": amount,
        "backend": rec.get("backend"),
        "fields": len(fields),
        "reviewed": reviewed,
        "pages": doc.pages,
        "missing_file": doc.path is None,
    }


def row_order(row: dict[str, Any]) -> tuple:
    """Flagged first, then failed, then those with unverified values, then by name."""
    return (not row["flagged"], not row["errors"], not row["unverified"], row["name"])


class Catalog:
    """Records + store, reloaded when the records file changes; text read on demand (in bounded
    worker processes, as ingest reads), cached."""

    def __init__(self, records: Path | None = None, store_dir: Path | None = None,
                 calls: BoundedCalls | None = None) -> None:
        self.records_path = records
        self.store_dir = store_dir
        self._store: Any = None
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tenderx-desk-store")
        self._lock = threading.RLock()
        self._docs: dict[str, DeskDoc] = {}
        self._stamp: tuple[float, int] | None = None
        self._texts: OrderedDict[str, Document] = OrderedDict()
        self._calls = calls  # bounded workers for one-page reads (made on first use when not given)
        self._reader: GuardedReader | None = None  # bounded workers for whole documents, as ingest reads them
        self._ocr_reader: GuardedReader | None = None  # the same, with OCR, for scans
        self.reload()

    # --- loading -------------------------------------------------------------
    @property
    def has_store(self) -> bool:
        return self.store_dir is not None and (self.store_dir / "documents.sqlite").exists()

    def with_store(self, fn: Callable[[Any], T]) -> T | None:
        """``fn(store)`` on the one thread that owns the Store (its SQLite handle is bound to the
        thread that opened it); None when there is no store."""
        if not self.has_store:
            return None
        return self._store_thread.submit(self._on_store, fn).result()

    def warm_up(self) -> None:
        """Load the embedder and the BM25 index in the background, so the first search is quick."""
        if self.has_store:
            from extractor.search.hybrid import search

            self._store_thread.submit(self._on_store, lambda st: search(st, "采购", k=1))

    def _on_store(self, fn: Callable[[Any], T]) -> T:
        if self._store is None:
            from extractor.store.store import Store

            self._store = Store(self.store_dir)  # type: ignore[arg-type]
        return fn(self._store)

    def _records_stamp(self) -> tuple[float, int] | None:
        if self.records_path is None or not self.records_path.exists():
            return None
        st = self.records_path.stat()
        return (st.st_mtime, st.st_size)

    def reload(self, force: bool = False) -> None:
        with self._lock:
            stamp = self._records_stamp()
            if self._docs and stamp == self._stamp and not force:
                return
            self._stamp = stamp
            docs: dict[str, DeskDoc] = {}
            stored = self.with_store(lambda st: st.documents()) or []
            by_sha: dict[str, list[Any]] = {}
            for sd in stored:
                by_sha.setdefault(sd.sha256, []).append(sd)
            records = read_records(self.records_path) if self.records_path is not None else []
            latest: dict[str, dict[str, Any]] = {}
            for rec in records:  # the last record of a file wins, as in pipeline.records.compact
                latest[str(rec.get("file", ""))] = rec
            for raw in latest.values():
                rec = well_formed(raw)
                sha = str(rec.get("sha256") or "")
                if not _SHA.match(sha):
                    continue
                path = self._resolve(str(rec.get("file", "")), sha, by_sha)
                sd = (by_sha.get(sha) or [None])[0]
                docs[sha] = DeskDoc(id=sha, name=Path(str(rec.get("file", ""))).name, path=path, record=rec,
                                    title=sd.title if sd else None, pages=sd.pages if sd else None,
                                    needs_ocr="needs_ocr" in (rec.get("flags") or []) or bool(sd and sd.needs_ocr))
            for sha, sds in by_sha.items():
                if sha not in docs:
                    sd = sds[0]
                    docs[sha] = DeskDoc(id=sha, name=sd.name, path=Path(sd.path) if Path(sd.path).is_file() else None,
                                        title=sd.title, pages=sd.pages, needs_ocr=sd.needs_ocr)
            self._docs = docs

    def _resolve(self, file: str, sha: str, by_sha: dict[str, list[Any]]) -> Path | None:
        for sd in by_sha.get(sha, []):
            if Path(sd.path).is_file():
                return Path(sd.path)
        raw = Path(file)
        candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw]
        if not raw.is_absolute() and self.records_path is not None:
            base = self.records_path.resolve().parent
            candidates += [base / raw, base.parent / raw, base / raw.name]
        for c in candidates:
            try:
                if c.is_file() and file_sha256(c) == sha:
                    return c.resolve()
            except OSError:
                continue
        return None

    def _bounded_reader(self, ocr: bool = False) -> GuardedReader:
        with self._lock:
            if ocr:
                if self._ocr_reader is None:  # OCR as extraction ran it (same settings, same text)
                    self._ocr_reader = GuardedReader.from_env(workers=1)
                return self._ocr_reader
            if self._reader is None:
                self._reader = GuardedReader.from_env(workers=1, ocr=False)
            return self._reader

    def close(self) -> None:
        """Stop the worker processes (the page workers too, when this catalogue made them)."""
        with self._lock:
            readers, self._reader, self._ocr_reader = (self._reader, self._ocr_reader), None, None
        for reader in readers:
            if reader is not None:
                reader.close()
        if self._calls is not None:
            self._calls.close()

    # --- lookup --------------------------------------------------------------
    def ids(self) -> list[str]:
        self.reload()
        return list(self._docs)

    def get(self, doc_id: str) -> DeskDoc:
        """The document with this id; KeyError for anything else (no path ever comes from a caller)."""
        self.reload()
        if not _SHA.match(doc_id or ""):
            raise KeyError(doc_id)
        return self._docs[doc_id]

    def by_path(self, path: str) -> DeskDoc | None:
        """The document a store path (e.g. a search hit's file) belongs to."""
        self.reload()
        for doc in self._docs.values():
            if doc.path is not None and str(doc.path) == path:
                return doc
        return None

    def docs(self) -> list[DeskDoc]:
        self.reload()
        return list(self._docs.values())

    def text(self, doc_id: str) -> Document:
        """The document's pages (pypdf text, as the quotes were checked against); ReadError if unreadable."""
        doc = self.get(doc_id)
        with self._lock:
            cached = self._texts.get(doc_id)
            if cached is not None:
                self._texts.move_to_end(doc_id)
                return cached
        if doc.path is None:
            raise ReadError("missing", f"{doc.name}: file not found (moved since extraction?)")
        read = self._bounded_reader().read(doc.path)
        if any(p.needs_ocr for p in read.pages):  # a scan: its values' quotes were located in the OCR text
            read = self._bounded_reader(ocr=True).read(doc.path)
        with self._lock:
            self._texts[doc_id] = read
            while len(self._texts) > _TEXT_CACHE:
                self._texts.popitem(last=False)
            if doc.pages is None:
                doc.pages = len(read.pages)
        return read

    def page(self, doc_id: str, number: int) -> Page | None:
        """One page's text, as the quotes were checked against; reads only that page of a PDF
        (a 90-page package takes seconds to read whole, one page a fraction of that)."""
        doc = self.get(doc_id)
        with self._lock:
            cached = self._texts.get(doc_id)
        if cached is not None or not doc.is_pdf:
            full = cached if cached is not None else self.text(doc_id)
            return next((p for p in full.pages if p.number == number), None)
        with self._lock:
            if self._calls is None:
                self._calls = BoundedCalls.from_env("extractor.desk.page_work", workers=2)
        try:
            text = self._calls.call("page_text", str(doc.path), number)
        except ReadError as e:  # a file that changed, broke or is hostile: one line, the server lives on
            raise ReadError(e.kind, f"{doc.name}: page {number} cannot be read ({e.message})") from e
        if text is None:
            return None
        if not text.strip():  # a scan: its quotes were located in the OCR text
            return next((p for p in self.text(doc_id).pages if p.number == number), None)
        return Page(number=number, text=text)
