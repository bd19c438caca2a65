"""Do the store's parts agree? Document rows ↔ chunks (texts + vectors in Chroma) ↔
embedder, and what ``tenderx store check --repair`` does when they do not.

Ingest repairs one document at a time (a row whose chunks are gone is re-ingested);
this module looks at the whole store, including what ingest cannot see: chunks no
row owns, and a documents.sqlite that is no longer a database.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from extractor.core.errors import StoreError, UsageError
from extractor.store.docmeta import DOCUMENTS_FILE, StoredDocument
from extractor.store.store import Store


@dataclass
class StoreCheck:
    """What a check found (and, after a repair, what it did)."""

    location: str
    documents: int = 0
    chunks: int = 0
    missing: list[tuple[str, int, int]] = field(default_factory=list)  # (path, chunks in the row, chunks found)
    orphans: int = 0  # chunks no document row owns
    corrupt: str | None = None  # documents.sqlite could not be read
    moved_aside: str | None = None
    rebuilt_rows: int = 0
    dropped_rows: int = 0
    deleted_orphans: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphans or self.corrupt)

    def lines(self) -> list[str]:
        out = [f"store {self.location}: {self.documents} documents, {self.chunks} chunks"]
        if self.corrupt:
            out.append(f"corrupt: {self.corrupt}")
        for path, want, have in self.missing:
            out.append(f"missing chunks: {path}: the row says {want}, the store holds {have}")
        if self.orphans:
            out.append(f"orphan chunks: {self.orphans} chunk(s) belong to no document row")
        if self.moved_aside:
            out.append(f"repaired: moved the unreadable table to {self.moved_aside}")
        if self.rebuilt_rows:
            out.append(f"repaired: rebuilt {self.rebuilt_rows} document row(s) from their chunks (titles unknown "
                       "until the files are re-ingested)")
        if self.dropped_rows:
            out.append(f"repaired: dropped {self.dropped_rows} row(s) whose chunks were missing; re-ingest those "
                       "files (`tenderx ingest PATH`, or --reingest PATH here)")
        if self.deleted_orphans:
            out.append(f"repaired: deleted {self.deleted_orphans} orphan chunk(s)")
        if self.ok and not (self.rebuilt_rows or self.dropped_rows or self.deleted_orphans or self.moved_aside):
            out.append("consistent: every document row has its chunks and every chunk a row")
        return out


def _owner_key(store: Store, meta: dict) -> str:
    return str(meta.get("doc_sha256" if store.remote else "file", ""))


def _doc_key(store: Store, doc: StoredDocument) -> str:
    return doc.sha256 if store.remote else doc.path


def _inspect(store: Store) -> tuple[StoreCheck, list[StoredDocument], list[str]]:
    """The check, the rows with missing chunks, and the orphan chunk ids."""
    report = StoreCheck(store.location)
    docs = store.documents()
    metas = store.chunk_metadata()
    per_owner = Counter(_owner_key(store, m) for _, m in metas)
    owners = {_doc_key(store, d) for d in docs}
    report.documents, report.chunks = len(docs), len(metas)
    broken = []
    for d in docs:
        have = per_owner.get(_doc_key(store, d), 0)
        if have != d.chunks:
            report.missing.append((d.path, d.chunks, have))
            broken.append(d)
    orphans = [cid for cid, m in metas if _owner_key(store, m) not in owners
               and not (store.remote and store.claim_owner(str(m.get("doc_sha256", ""))))]
    report.orphans = len(orphans)
    return report, broken, orphans


def require_store(path: str | Path) -> None:
    """Raise UsageError if there is no local store at ``path`` (a check must not create one on the way);
    with a Chroma server configured the folder only holds caches, so the server is checked instead."""
    from extractor.store.remote import server_from_env

    folder = Path(path)
    if server_from_env() is None and not ((folder / DOCUMENTS_FILE).is_file() or (folder / "chroma").is_dir()):
        raise UsageError(f"no store at {folder}: nothing to check (`tenderx ingest` makes one; "
                         "--store names another)")


def check_store(path: str | Path) -> StoreCheck:
    """Check the store at ``path`` (or on the configured server); changes nothing."""
    require_store(path)
    try:
        store = Store(path)
    except StoreError as exc:
        if not _corrupt_table(Path(path), exc):
            raise
        report = StoreCheck(str(path), corrupt=str(exc))
        return report
    try:
        return _inspect(store)[0]
    finally:
        store.close()


def _corrupt_table(path: Path, exc: StoreError) -> bool:
    return DOCUMENTS_FILE in str(exc) and "not a readable SQLite database" in str(exc)


def repair_store(path: str | Path) -> StoreCheck:
    """Make the parts agree again; returns what was found and done."""
    require_store(path)
    folder = Path(path)
    moved = None
    corrupt = None
    try:
        store = Store(folder)
    except StoreError as exc:
        if not _corrupt_table(folder, exc):
            raise
        corrupt = str(exc)
        moved = folder / f"{DOCUMENTS_FILE}.corrupt-{int(time.time())}"
        (folder / DOCUMENTS_FILE).replace(moved)
        store = Store(folder)
    try:
        with store.writing():
            report, broken, orphans = _inspect(store)
            report.corrupt, report.moved_aside = corrupt, (str(moved) if moved else None)
            if orphans and not store.remote:
                report.rebuilt_rows = _rebuild_rows(store)
                report, broken, orphans = _rescan(store, report)
            for doc in broken:
                store.remove_document(doc)
            report.dropped_rows = len(broken)
            if orphans:
                store.delete_chunk_ids(orphans)
            report.deleted_orphans = len(orphans)
        return report
    finally:
        store.close()


def _rescan(store: Store, before: StoreCheck) -> tuple[StoreCheck, list[StoredDocument], list[str]]:
    report, broken, orphans = _inspect(store)
    report.corrupt, report.moved_aside, report.rebuilt_rows = before.corrupt, before.moved_aside, before.rebuilt_rows
    return report, broken, orphans


def _rebuild_rows(store: Store) -> int:
    """Rows for chunks that have none, from the chunks' own metadata (a lost or zeroed
    documents.sqlite): the path, content hash, chunk count and last page survive."""
    rows = {d.path for d in store.documents()}
    found: dict[str, dict] = {}
    for _, meta in store.chunk_metadata():
        file = str(meta.get("file", ""))
        if not file or file in rows:
            continue
        entry = found.setdefault(file, {"sha": str(meta.get("doc_sha256", "")), "chunks": 0, "pages": 0})
        entry["chunks"] += 1
        entry["pages"] = max(entry["pages"], int(meta.get("page_end", meta.get("page_start", 0)) or 0))
    for file, e in found.items():
        store.put_document_row(StoredDocument(file, e["sha"], e["pages"], e["chunks"], None, time.time(), False))
    return len(found)
