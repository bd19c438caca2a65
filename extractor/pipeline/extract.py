"""Per-document extraction: choose a backend, attach evidence, write records.

This is the library call behind `tenderx extract` and `tenderx run`. It reads
each PDF, runs the rules engine or the LLM, checks every quote against the
page it names, and appends one JSONL record per document as soon as it is
done, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from extractor.backends.base import Backend, BackendOptions
from extractor.backends.registry import get_backend, resolve_backend
from extractor.core.config import DEFAULT_STORE, LLMSettings
from extractor.core.document import Chunk, Document, FieldValue, Lot, Retriever
from extractor.core.errors import LLMAuthError, LLMConfigError, UsageError
from extractor.core.evidence import verify_fields
from extractor.core.injection import find_instructions
from extractor.core.paths import display_path, relative_name
from extractor.core.schema import Schema, load_schema
from extractor.pipeline.disputes import mark_disputes, rules_readings, still_raised
from extractor.pipeline.limits import bound_values

if TYPE_CHECKING:
    from extractor.read.guard import GuardedReader
from extractor.pipeline.duplicates import content_sketch, link_duplicates
from extractor.pipeline.intermediaries import find_intermediaries
from extractor.pipeline.records import (
    JsonlWriter,
    atomic_write_text,
    compact,
    read_records,
    record_key,
    to_csv,
)
from extractor.screen import listed_entries, screen_record


class ExtractProgress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, file: str, record: dict[str, Any]) -> None: ...


@dataclass
class ExtractReport:
    backend: str
    backend_reason: str
    model: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # already in the output from an earlier (interrupted) run
    skipped_inputs: list[tuple[str, str]] = field(default_factory=list)  # (path, why) not documents
    seconds: float = 0.0
    out: Path | None = None
    csv: Path | None = None

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("errors")]

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "restricted_us_tech" in (r.get("flags") or [])]

    def totals(self) -> dict[str, Any]:
        keys = ("calls", "failed_calls", "cached_calls", "prompt_tokens", "completion_tokens", "retries",
                "unpriced_calls")
        tot: dict[str, Any] = {k: 0 for k in keys}
        cost: float | None = 0.0
        for r in self.records:
            u = r.get("usage") or {}
            for k in keys:
                tot[k] += int(u.get(k) or 0)
            c = u.get("cost_usd")
            if u.get("calls") and c is None:
                cost = None
            elif cost is not None and c:
                cost += float(c)
        tot["cost_usd"] = cost
        # parties named on a list (exact/subunit), each counted once per document however many lists name it
        tot["listed_parties"] = sum(len({e.get("party") for e in listed_entries(r)}) for r in self.records)
        tot["documents"] = len(self.records)
        tot["failures"] = len(self.failures)
        tot["suspicious"] = sum(1 for r in self.records if r.get("suspicious_text"))
        tot["disputed"] = sum(1 for r in self.records if any(f.startswith("disputed:") for f in r.get("flags", ())))
        return tot


def _flags(fields: dict[str, FieldValue]) -> list[str]:
    flags = []
    r = fields.get("restricted_us_tech")
    if r is not None and r.value is True:
        flags.append("restricted_us_tech")
    for name, fv in fields.items():
        if fv.value not in (None, [], "") and fv.verified is False:
            flags.append(f"unverified:{name}")
        if fv.disputed:
            flags.append(f"disputed:{name}")
    return flags


def _mark_ocr_sources(doc: Document, fields: dict[str, FieldValue]) -> None:
    """Evidence quoted from an OCR'd page says so (``source: "ocr"``): its text was recognised."""
    ocr_pages = {p.number for p in doc.pages if p.ocr is not None}
    for fv in fields.values():
        if fv.page in ocr_pages and fv.value not in (None, [], ""):
            fv.source = "ocr"


def make_record(
    doc_file: str,
    sha256: str,
    schema: Schema,
    backend: str,
    model: str | None,
    fields: dict[str, FieldValue] | None,
    errors: list[str],
    usage: dict[str, Any] | None = None,
    extra_flags: Sequence[str] = (),
    doc: Document | None = None,
    lots: Sequence[Lot] = (),
) -> dict[str, Any]:
    """One JSONL record. ``file`` is printable (undecodable name bytes as ``\\xNN``); when that
    changed the name, ``file_bytes_b64`` holds its exact bytes. ``doc`` adds how it was read."""
    from extractor.core.paths import display_path, path_bytes_b64

    fields = fields or {}
    full = {f.name: fields.get(f.name, FieldValue(None)) for f in schema.fields}
    rec: dict[str, Any] = {"file": display_path(doc_file)}
    raw_name = path_bytes_b64(doc_file)
    if raw_name is not None:
        rec["file_bytes_b64"] = raw_name
    rec.update({
        "sha256": sha256,
        "schema": schema.name,
        "schema_version": schema.version,
        "backend": backend,
        "model": model,
        "fields": {n: fv.to_json() for n, fv in full.items()},
        "flags": [*_flags(full), *extra_flags],
        "errors": errors,
        "usage": usage or {},
    })
    if lots:  # an addition to schema v1: present only for a notice with a lot table
        rec["lots"] = [lot.to_json() for lot in lots]
    if doc is not None and doc.metadata:
        rec["source"] = dict(doc.metadata)  # format, encoding, the notice's own publication time
    if doc is not None and doc.warnings:
        rec["warnings"] = list(doc.warnings)
    rec["screening"] = screen_record(rec)  # buyer/agency/suppliers vs the US lists (extractor.screen)
    if doc is not None and doc.pages:
        values = rec["fields"]
        rec["intermediaries"] = find_intermediaries(doc, (values.get("suppliers") or {}).get("value"),
                                                    (values.get("cloud_providers") or {}).get("value"))
        rec["ocr_pages"] = sum(1 for p in doc.pages if p.ocr is not None)
        rec["content_sketch"] = content_sketch(doc)  # finds the same notice in another file (duplicates)
    return rec




def document_retriever(doc: Document, store_dir: Path | None) -> Retriever:
    """Chunks of this document most relevant to a query.

    Uses the store's hybrid search (filtered to this document) when the
    document was ingested; otherwise BM25 over the document's own chunks, so
    `extract` works without an ingest and without embedding anything. Built
    on first use: short notices go to the LLM whole and never need it.
    """
    built: list[Retriever] = []
    lock = threading.Lock()

    def lazy(query: str, k: int) -> list[Chunk]:
        with lock:
            if not built:
                built.append(_build_retriever(doc, store_dir))
        return built[0](query, k)

    return lazy


def _build_retriever(doc: Document, store_dir: Path | None) -> Retriever:
    from extractor.pipeline.chunking import chunk_document
    from extractor.store.store import store_exists

    if store_dir is not None and store_exists(store_dir):
        try:
            from extractor.search.hybrid import search
            from extractor.store.store import open_store

            store = open_store(Path(store_dir))
            if store.has_document(doc.sha256):
                by_id = {c.id: c.to_chunk() for c in store.chunks_for(doc.sha256)}

                def from_store(query: str, k: int) -> list[Chunk]:
                    hits = search(store, query, k=k, where={"doc_sha256": doc.sha256})
                    return [by_id[h.chunk_id] for h in hits if h.chunk_id in by_id]

                return from_store
        except Exception:  # noqa: BLE001 — a broken store must not stop extraction
            pass

    from extractor.search.lexical import BM25Index

    chunks = chunk_document(doc)
    index = BM25Index.build(chunks)

    def lexical(query: str, k: int) -> list[Chunk]:
        return [chunks[i] for i, _ in index.search(query, k)]

    return lexical


class _Runner:
    """Holds what every document of one run shares (backend, cache, client)."""

    def __init__(self, schema: Schema, backend: str, settings: LLMSettings, store_dir: Path | None,
                 cache_path: Path | None, cache_only: bool = False) -> None:
        self.schema = schema
        self.settings = settings
        self.store_dir = store_dir
        self.engine: Backend = get_backend(backend, BackendOptions(settings, cache_path, store_dir, cache_only))
        self.backend = self.engine.name
        self.reader: GuardedReader | None = None  # bounded reader workers while a run is on
        self.on_ocr: Callable[[Path, int, int], None] | None = None  # OCR page progress, if shown

    @property
    def model(self) -> str | None:
        return self.engine.model

    def one(self, path: Path) -> dict[str, Any]:
        return self.finish(path, self.load(path))

    def load(self, path: Path) -> Document | dict[str, Any]:
        """The document read through the bounded reader, or the failure record."""
        from extractor.core.errors import ReadError
        from extractor.read.formats import read_document
        from extractor.read.pdf import file_sha256

        hook = self.on_ocr
        try:
            if self.reader is None:
                doc = read_document(path)
            else:
                doc = self.reader.read(path, on_ocr=(lambda done, total: hook(path, done, total)) if hook else None)
            doc.path = display_path(path)  # printable: prompts, chunks and records are UTF-8
            return doc
        except ReadError as e:
            sha = ""
            with contextlib.suppress(OSError):
                sha = file_sha256(path)
            return make_record(str(path), sha, self.schema, self.backend, self.model, None, [f"{e.kind}: {e}"])

    def finish(self, path: Path, doc: Document | dict[str, Any]) -> dict[str, Any]:
        """Extract one loaded document into its record."""
        if isinstance(doc, dict):
            return doc
        model = self.model
        if doc.needs_ocr:
            return make_record(str(path), doc.sha256, self.schema, self.backend, model, None,
                               ["needs_ocr: no usable text layer (scanned, or a font without a ToUnicode map) "
                                "and OCR is off (--no-ocr)"], extra_flags=["needs_ocr"], doc=doc)
        usage: dict[str, Any] = {}
        disputes: dict[str, Any] = {}
        raised: list[str] = []
        try:
            suspicious = find_instructions(doc)
            result = self.engine.extract(doc, self.schema, retriever=document_retriever(doc, self.store_dir))
            fields, usage = result.fields, result.usage.to_json()
            types = {f.name: f.type for f in self.schema.fields}
            if self.engine.needs_grounding:  # values an LLM was steered to invent: check against the rules
                reference = get_backend("rules").extract(doc, self.schema).fields
                verify_fields(doc, reference, types, suspicious=suspicious, schema=self.schema)
                names = mark_disputes(fields, reference, types)
                disputes = rules_readings(names, reference)
                raised = ["restricted_us_tech"] if still_raised(names, reference) else []
            verify_fields(doc, fields, types, grounding=self.engine.needs_grounding, suspicious=suspicious,
                          schema=self.schema)
            _mark_ocr_sources(doc, fields)
            truncated = bound_values(fields)
        except Exception as e:
            if isinstance(e, (LLMAuthError, LLMConfigError)):
                raise
            spent = getattr(e, "usage_so_far", None)
            return make_record(str(path), doc.sha256, self.schema, self.backend, model, None,
                               [f"{type(e).__name__}: {_one_line(e)}"], spent.to_json() if spent else usage,
                               doc=doc)
        record = make_record(str(path), doc.sha256, self.schema, self.backend, model, fields, [], usage,
                             extra_flags=[*raised, *(["suspicious_text"] if suspicious else []),
                                          *(f"truncated:{name}" for name in truncated)], doc=doc,
                             lots=result.lots)
        if suspicious:
            record["suspicious_text"] = [span.to_json() for span in suspicious]
        if disputes:
            record["disputes"] = disputes
        return record


def _run_pipelined(runner: _Runner, todo: list[Path], jobs: int, emit: Callable[[str, dict[str, Any]], None]) -> None:
    """Extract ``jobs`` documents at a time while the next ones are read ahead.

    PDF parsing (CPU) then overlaps the LLM's latency instead of adding to it.
    At most ``2 * jobs`` documents are read but not yet finished, so memory
    stays bounded on batches of thousands. The first fatal error (a rejected
    key, an unknown model) stops the submission of further documents and is
    re-raised.
    """
    ahead = threading.Semaphore(2 * jobs)
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(path: Path, loading: Future) -> None:
        try:
            if not stop.is_set():
                emit(display_path(path), runner.finish(path, loading.result()))
        except BaseException as e:  # noqa: BLE001 — handed to the submitting thread
            errors.append(e)
            stop.set()
        finally:
            ahead.release()

    readers = ThreadPoolExecutor(max_workers=min(jobs, 4), thread_name_prefix="tenderx-read")
    workers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tenderx-extract")
    try:
        for f in todo:
            while not ahead.acquire(timeout=0.2):
                if stop.is_set():
                    break
            if stop.is_set():
                break
            workers.submit(work, f, readers.submit(runner.load, f))
    finally:
        workers.shutdown(wait=True)
        readers.shutdown(wait=True, cancel_futures=True)
    if errors:
        raise errors[0]


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0][:300] if s else type(e).__name__


def extract_documents(
    paths: Sequence[str | Path],
    backend: str = "auto",
    schema: str | Path | Schema = "tender",
    out: Path | None = None,
    csv: Path | None = None,
    jobs: int = 4,
    settings: LLMSettings | None = None,
    store_dir: Path | None = DEFAULT_STORE,
    cache_path: Path | None = None,
    progress: ExtractProgress | None = None,
    resume: bool = True,
    cache_only: bool = False,
    ocr: bool | None = None,
    csv_evidence: bool = False,
    use_cache: bool = True,
    roots: Sequence[str | Path] | None = None,
) -> ExtractReport:
    """Extract every document (PDF, HTML, DOCX, TXT) under ``paths``; returns the records
    (also written to ``out``).

    ``csv_evidence`` writes the CSV with evidence columns and a BOM (see ``records.to_csv``).
    ``ocr`` False skips OCR of pages without a usable text layer (``--no-ocr``; they are then
    ``needs_ocr`` failures); None follows TENDERX_OCR (on by default).

    With ``resume`` (the default) documents already recorded in ``out`` without
    errors are not extracted again; documents that failed are retried. Paths are
    canonical (absolute, resolved), so a document is one record however it was named.
    With ``cache_only`` an LLM backend answers only from the response cache (collected
    Batch API results) and sends nothing; with ``use_cache`` False (``--no-cache``) it neither
    reads nor writes the cache: every question is asked again.
    """
    from extractor.read.formats import is_failure, iter_input_paths
    from extractor.read.pdf import file_sha256

    t0 = time.monotonic()
    settings = settings or LLMSettings.from_env()
    sch = schema if isinstance(schema, Schema) else load_schema(schema)
    used, reason = resolve_backend(backend, settings)
    if cache_path is None and used == "llm":
        cache_path = Path(store_dir or DEFAULT_STORE) / "llm-cache.sqlite"
    if not use_cache:
        if cache_only:
            raise UsageError("answers only from the cache (collected batch results) cannot be read without the cache")
        cache_path = None
    report = ExtractReport(backend=used, backend_reason=reason,
                           model=settings.model if used == "llm" else None, out=out, csv=csv)

    files, skipped = iter_input_paths([Path(p) for p in paths])
    path_errors = [(p, e) for p, e in skipped if is_failure(e)]
    report.skipped_inputs = [(display_path(p), e.message) for p, e in skipped if not is_failure(e)]
    done: dict[str, dict[str, Any]] = {}
    if out is not None and resume:
        for rec in read_records(out):
            if not rec.get("errors") and rec.get("backend") == used and rec.get("schema") == sch.name:
                done[record_key(rec)] = rec

    from extractor.read.guard import GuardedReader

    runner = _Runner(sch, used, settings, store_dir, cache_path, cache_only)
    runner.reader = GuardedReader.from_env(workers=min(max(1, jobs), 4), ocr=ocr)
    runner.on_ocr = getattr(progress, "ocr_page", None)
    writer = JsonlWriter(out) if out is not None else None
    results: dict[str, dict[str, Any]] = {}
    order: list[str] = []

    def emit(path_str: str, rec: dict[str, Any]) -> None:
        results[path_str] = rec
        if writer is not None:
            writer.write(rec)
        if progress is not None:
            progress.advance(path_str, rec)

    todo: list[Path] = []
    for f in files:
        key = display_path(f)
        order.append(key)
        prev = done.get(key)
        try:
            unchanged = prev is not None and prev.get("sha256") == file_sha256(f)
        except OSError:
            unchanged = False
        if unchanged and prev is not None:
            results[key] = prev
            report.skipped += 1
        else:
            todo.append(f)

    if progress is not None:
        progress.start(len(todo) + len(path_errors))
    try:
        for p, err in path_errors:
            emit(display_path(p), make_record(str(p), "", sch, used, report.model, None, [f"{err.kind}: {err}"]))
            order.append(display_path(p))
        if jobs <= 1 or len(todo) <= 1:
            for f in todo:
                emit(display_path(f), runner.one(f))
        else:
            _run_pipelined(runner, todo, jobs, emit)
    finally:
        runner.reader.close()
        if writer is not None:
            writer.close()

    if out is not None:
        wanted = set(order)
        kept = compact(out, order)
        report.records = [r for r in kept if record_key(r) in wanted]
    else:
        kept = report.records = [results[k] for k in order if k in results]
    roots_ = [Path(p) for p in (roots if roots is not None else paths)]  # the folders named, not a shard's files
    for rec in report.records:
        rec["relpath"] = relative_name(rec.get("file", ""), roots_)  # what exports publish, not the local path
    link_duplicates(report.records)  # the same notice in two files: duplicate_of (counted once in cases)
    if out is not None:
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    if csv is not None:
        atomic_write_text(csv, to_csv(report.records, [f.name for f in sch.fields], evidence=csv_evidence))
    report.seconds = time.monotonic() - t0
    return report
