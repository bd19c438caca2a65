"""Files → PDF text → chunks → embeddings → store, one file at a time (the next read ahead),
then the store's search file, so the first search after an ingest is as quick as the others.

A bad file never stops the batch: it lands in ``IngestReport.failed`` with a
one-line reason. Files whose content (sha256) is unchanged are skipped; a
changed file has its old chunks replaced. The library stays quiet and reports
through an ``IngestProgress`` callback object; the CLI renders it with rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from extractor.core.config import DEFAULT_STORE
from extractor.core.document import Chunk, Document
from extractor.embed.base import Embedder
from extractor.embed.registry import get_embedder
from extractor.pipeline.chunking import CHUNK_TOKENS, OVERLAP_TOKENS
from extractor.pipeline.readahead import OcrGate, ReadAhead
from extractor.store.docmeta import StoredDocument
from extractor.store.shard import Shard, select
from extractor.store.store import Store, StoreError, path_key

if TYPE_CHECKING:
    from extractor.read.guard import GuardedReader

EMBED_BATCH = 64  # large enough for FastE5 to bucket by length; progress still moves every batch
Prepared = tuple[Document, list[Chunk]]  # a file read and chunked, not yet stored
LOCAL_READ_AHEAD = 2  # with the local engine too: two files ahead keep both cores busy (benchmarks/results.md, issue 16)


class IngestProgress(Protocol):
    """What ingest tells its caller while it works (all sizes known up front are bytes)."""

    def started(self, files: list[Path], total_bytes: int) -> None: ...

    def file_started(self, path: Path, size: int) -> None: ...

    def file_read(self, path: Path, pages: int, chunks: int) -> None: ...

    def embedded(self, path: Path, done: int, total: int) -> None: ...

    def file_finished(self, path: Path, status: str, message: str = "") -> None: ...


class QuietProgress:
    """An IngestProgress that ignores everything (subclass it to watch some events)."""

    def started(self, files: list[Path], total_bytes: int) -> None:
        pass

    def file_started(self, path: Path, size: int) -> None:
        pass

    def file_read(self, path: Path, pages: int, chunks: int) -> None:
        pass

    def embedded(self, path: Path, done: int, total: int) -> None:
        pass

    def file_finished(self, path: Path, status: str, message: str = "") -> None:
        pass


@dataclass
class IngestReport:
    """What one ingest run did. Paths are canonical (absolute, resolved) and printable."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    needs_ocr: list[str] = field(default_factory=list)  # not stored: no usable text and OCR off
    ocr_pages: int = 0  # pages whose text came from OCR
    ocr_cached: int = 0  # of those, pages whose OCR text came from the on-disk cache (not OCR'd again)
    indexed: bool = False  # the search file was (re)built at the end of this run
    repaired: list[str] = field(default_factory=list)  # recorded as ingested, but its chunks were missing
    skipped_shard: int = 0  # files that belong to another --shard
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (path, kind, message)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): in a folder, not a document
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, warning): e.g. text cut at a cap
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    store: str = ""
    embedder: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def files(self) -> int:
        return len(self.added) + len(self.replaced) + len(self.unchanged) + len(self.failed)


def _error_parts(error: object) -> tuple[str, str]:
    from extractor.store.remote import readable

    kind = getattr(error, "kind", None) or type(error).__name__
    message = getattr(error, "message", None)
    if not isinstance(message, str) or not message:  # ChromaError.message is a method, not the text
        message = readable(error) if isinstance(error, BaseException) else str(error)
    return str(kind), " ".join((message or str(kind)).split())


def _reuse_vectors(store: Store, sha256: str, chunks: list[Chunk]) -> np.ndarray | None:
    """Vectors of an identical copy already in the store (same texts in the same order)."""
    if not store.has_document(sha256):
        return None
    found = store.vectors_for(sha256)
    if found is None:
        return None
    stored, vectors = found
    if [c.text for c in stored] != [c.text for c in chunks]:
        return None
    return vectors


def _embed(embedder: Embedder, path: Path, chunks: list[Chunk], progress: IngestProgress) -> np.ndarray:
    """Step 4: passage vectors, a batch at a time (a remote embedder's batches in flight together)."""
    parts = []
    progress.embedded(path, 0, len(chunks))
    step = EMBED_BATCH * max(1, int(getattr(embedder, "concurrency", 1)))  # a remote embedder's batches in flight
    for start in range(0, len(chunks), step):
        batch = [c.text for c in chunks[start : start + step]]
        parts.append(np.asarray(embedder.embed_passages(batch), dtype=np.float32))
        progress.embedded(path, start + len(batch), len(chunks))
    return np.concatenate(parts) if parts else np.empty((0, embedder.dim), dtype=np.float32)


def ingest(paths: Iterable[str | Path], store_dir: str | Path = DEFAULT_STORE, embedder: Embedder | None = None,
           progress: IngestProgress | None = None, chunk_tokens: int = CHUNK_TOKENS, store: Store | None = None,
           ocr: bool | None = None, shard: Shard | None = None, overlap: int = OVERLAP_TOKENS,
           read_ahead: int | None = None) -> IngestReport:
    """Add PDFs (files or folders, searched recursively) to the store at ``store_dir``.

    ``chunk_tokens`` and ``overlap`` (cl100k tokens) go to ``chunk_document``. ``ocr`` False
    skips OCR (``--no-ocr``); None follows TENDERX_OCR (on by default). A progress object with an
    ``ocr_page(path, done, total)`` method hears about each OCR'd page.

    Raises ``StoreLocked`` when another process is writing the store and
    ``EmbedderMismatch`` when the store was built with another embedder;
    per-file problems go to the report instead. With ``shard`` only that share of the
    files (by content hash) is ingested. On a Chroma server, a file another writer is
    ingesting right now is put off to the end and then found done (or waited for).
    ``read_ahead`` files (0-2) are read and chunked while the current one is embedded
    (None: TENDERX_READ_AHEAD, else automatic); each is still claimed and checked before it is stored.
    """
    from functools import partial

    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import file_sha256

    chunker = partial(chunk_document, overlap=overlap)
    began = time.monotonic()
    progress = progress or QuietProgress()
    store = store or Store(store_dir)
    report = IngestReport(store=store.location)
    pdfs = _walk(paths, shard, report)

    from extractor.read.guard import GuardedReader

    with store.writing(), GuardedReader.from_env(ocr=ocr) as reader:
        embedder = embedder or get_embedder()
        store.check_embedder(embedder.name)
        report.embedder = embedder.name
        sizes = {p: _size(p) for p in pdfs}
        progress.started(list(pdfs), sum(sizes.values()))
        depth = _read_ahead_depth(embedder, read_ahead)
        hook = getattr(progress, "ocr_page", None)
        gate = OcrGate(hook) if hook is not None else None
        ahead: ReadAhead[Prepared] = ReadAhead(_preparing(reader, gate, chunker, chunk_tokens), depth)
        hashes = _Hashes(file_sha256)
        later: list[Path] = []
        try:
            looked: set[Path] = set()
            for i, path in enumerate(pdfs):
                for nxt in pdfs[i : i + 1 + depth] if depth else ():  # this file first, then `depth` more
                    if nxt not in looked and (not _worth_reading(store, nxt, hashes) or ahead.offer(nxt, hashes(nxt))):
                        looked.add(nxt)
                progress.file_started(path, sizes[path])
                if gate is not None:
                    gate.begin(path)
                status, message = _ingest_one(path, store, embedder, progress, report, ahead.get, hashes, wait=0.0)
                ahead.discard(path, hashes.known(path))
                if status == "deferred":
                    later.append(path)
                    continue
                progress.file_finished(path, status, message)
        finally:
            ahead.close()
        direct = _preparing(reader, hook, chunker, chunk_tokens)
        for path in later:  # another writer had these: by now they are done, or we wait for them
            status, message = _ingest_one(path, store, embedder, progress, report, direct, hashes, wait=None)
            progress.file_finished(path, status, message)
    _index(store, report)
    report.seconds = time.monotonic() - began
    return report


def _index(store: Store, report: IngestReport) -> None:
    """Step 6: the store's search file, built now rather than on the first search (also for a
    server store: the file sits in the local store folder of the machine that wrote), and the query
    analyser's caches on a machine that has none yet. A store whose chunks cannot be read back is
    reported, not fatal: search rebuilds or explains."""
    from extractor.core.errors import TenderxError
    from extractor.search.lexical import prepare_index
    from extractor.search.query import prepare_caches

    if store.read_only:
        return
    try:
        report.indexed = prepare_index(store)
    except (TenderxError, OSError) as e:
        report.warnings.append((store.location, f"search file not built: {e}"))
    try:
        prepare_caches()
    except Exception as e:  # noqa: BLE001 — a search builds them itself; ingest's work is done
        report.warnings.append((store.location, f"search caches not built: {e}"))


def _walk(paths: Iterable[str | Path], shard: Shard | None, report: IngestReport) -> list[Path]:
    """Step 1: the files to ingest (folders searched, non-documents skipped with a reason, this
    shard's share only)."""
    from extractor.core.paths import display_path
    from extractor.read.formats import is_failure, iter_input_paths

    files, skipped = iter_input_paths([Path(p) for p in paths])
    for bad, error in skipped:
        if is_failure(error):
            report.failed.append((display_path(bad), *_error_parts(error)))
        else:
            report.skipped.append((display_path(bad), error.message))
    if shard is not None:
        mine = select(files, shard)
        report.skipped_shard = len(files) - len(mine)
        files = mine
    return list(files)


def _read_ahead_depth(embedder: Embedder, asked: int | None) -> int:
    """Files read ahead: as asked (argument, then TENDERX_READ_AHEAD), else 1 for a remote
    embedder (the server idles while we parse) and LOCAL_READ_AHEAD for the local engine."""
    from extractor.core.config import read_ahead_from_env

    if asked is None:
        asked = read_ahead_from_env()
    if asked is not None:
        return max(0, min(2, asked))
    return 1 if getattr(embedder, "concurrency", None) is not None else LOCAL_READ_AHEAD


class _Hashes:
    """file_sha256 once per path (the read-ahead check and the claim both need it)."""

    def __init__(self, file_sha256: Callable[[Path], str]) -> None:
        self._sha = file_sha256
        self._known: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        if path not in self._known:
            self._known[path] = self._sha(path)
        return self._known[path]

    def known(self, path: Path) -> str | None:
        return self._known.get(path)


def _worth_reading(store: Store, path: Path, hashes: _Hashes) -> bool:
    """False when the file is most likely stored already (re-checked under its claim later), or
    cannot even be hashed (its own turn reports that): such files are not read ahead."""
    try:
        sha = hashes(path)
    except OSError:
        return False
    _, same = _unchanged(store, path, sha)
    return same is None or same.needs_ocr


def _preparing(reader: GuardedReader, on_ocr: Callable[[Path, int, int], None] | None,
               chunk_document: Callable[..., list[Chunk]], chunk_tokens: int) -> Callable[[Path, str], Prepared]:
    """read + chunk one file (no store access: safe to run ahead in another thread)."""

    def prepare(path: Path, sha: str) -> Prepared:
        doc = _read(reader, path, sha, on_ocr)
        return doc, _chunk(doc, chunk_document, chunk_tokens)

    return prepare


def _read(reader: GuardedReader, path: Path, sha: str, on_ocr: Callable[[Path, int, int], None] | None) -> Document:
    """Step 2: the file's pages, in a bounded worker (OCR'd where there is no text layer)."""
    hook = (lambda done, total: on_ocr(path, done, total)) if on_ocr is not None else None
    doc = reader.read(path, on_ocr=hook)
    doc.path = path_key(path)
    doc.sha256 = doc.sha256 or sha
    return doc


def _chunk(doc: Document, chunk_document: Callable[..., list[Chunk]], chunk_tokens: int) -> list[Chunk]:
    """Step 3: overlapping chunks of the pages (none for a document that needs OCR it did not get)."""
    return [] if doc.needs_ocr else list(chunk_document(doc, chunk_tokens=chunk_tokens))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _ingest_one(path: Path, store: Store, embedder: Embedder, progress: IngestProgress, report: IngestReport,
                prepare: Callable[[Path, str], Prepared], file_sha256: Callable[[Path], str],
                wait: float | None = None) -> tuple[str, str]:
    """Ingest one file, record the outcome in ``report`` and return (status, message);
    status "deferred" (nothing recorded) when another writer holds the document."""
    from extractor.core.paths import display_path
    from extractor.store.lease import LeaseHeld
    from extractor.store.remote import lost_server

    name = display_path(path)
    try:
        sha = file_sha256(path)
        hook = getattr(progress, "waiting", None)  # optional: a progress that can show a sentence
        notice = (lambda message: hook(path, message)) if hook is not None else None
        with store.claim(sha, wait=wait, on_wait=notice):
            return _ingest_claimed(path, sha, store, embedder, progress, report, prepare)
    except LeaseHeld as held:
        if wait == 0.0:
            return "deferred", held.owner
        report.failed.append((name, "busy", str(held)))
        return "failed", str(held)
    except Exception as exc:  # one bad file must not stop the batch
        if isinstance(exc, StoreError):
            raise
        lost = lost_server(exc) if store.remote else None
        if lost is not None:
            raise lost from None
        kind, message = _error_parts(exc)
        report.failed.append((name, kind, message))
        return "failed", message


def _unchanged(store: Store, path: Path, sha: str) -> tuple[StoredDocument | None, StoredDocument | None]:
    """(the row this path had, the stored copy of this content if whole). On a server any
    writer's copy of the same content counts; locally, this path's row."""
    previous = store.document_for_path(path)
    if store.remote:
        same = next(iter(store.documents_for_sha(sha)), None)
    else:
        same = previous if previous is not None and previous.sha256 == sha else None
    return previous, same


def _ingest_claimed(path: Path, sha: str, store: Store, embedder: Embedder, progress: IngestProgress,
                    report: IngestReport, prepare: Callable[[Path, str], Prepared]) -> tuple[str, str]:
    from extractor.core.paths import display_path

    name = display_path(path)
    previous, same = _unchanged(store, path, sha)
    repairing = False
    if same is not None and not same.needs_ocr:  # one stored without text by an older version: read again
        if store.stored_chunk_count(same) == same.chunks:
            report.unchanged.append(name)
            return "unchanged", ""
        repairing = True  # the row says ingested but its chunks are gone (deleted chroma/, full disk)
        report.repaired.append(name)
    doc, chunks = prepare(path, sha)  # read ahead (claimed only now) or read here
    report.warnings.extend((name, w) for w in doc.warnings)
    if doc.needs_ocr:  # nothing usable was read: a failure to list, not an empty document to store
        report.needs_ocr.append(name)
        message = "no usable text layer (scanned, or a font without a ToUnicode map); OCR is off (--no-ocr)"
        report.failed.append((name, "needs_ocr", message))
        return "failed", message
    if not chunks:
        report.failed.append((name, "empty", "no text to index"))
        return "failed", "no text to index"
    progress.file_read(path, len(doc.pages), len(chunks))
    vectors = None if repairing or not chunks else _reuse_vectors(store, doc.sha256, chunks)
    if chunks and vectors is None:
        if store.embedder_name is None:
            store.use_embedder(embedder.name, embedder.dim)
        vectors = _embed(embedder, path, chunks, progress)
    elif chunks:
        progress.embedded(path, len(chunks), len(chunks))
    _store(store, doc, chunks, vectors, report, name, replaced=previous is not None)
    if repairing:
        return "replaced", "its chunks were missing from the store: re-ingested"
    return ("replaced" if previous is not None else "added"), ""


def _store(store: Store, doc: Document, chunks: list[Chunk], vectors: np.ndarray | None, report: IngestReport,
           name: str, replaced: bool) -> None:
    """Step 5: the document's chunks and vectors replace any older copy, and the report counts them."""
    store.replace_document(doc, chunks, vectors)
    report.pages += len(doc.pages)
    report.chunks += len(chunks)
    report.ocr_pages += sum(1 for pg in doc.pages if pg.ocr is not None)
    report.ocr_cached += int(doc.metadata.get("ocr_cached_pages", 0))
    (report.replaced if replaced else report.added).append(name)
