"""Per-document rows and the store's version: in ``documents.sqlite`` for a local
store, in two small Chroma collections when the store lives on a Chroma server
(so a second machine with an empty working folder sees the same documents).

The version is monotonic across a lost or zeroed table: every bump is at least
the wall clock in nanoseconds, so a recreated table never re-issues a version
that a cached lexical index was built at.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from extractor.core.errors import StoreError

DOCUMENTS_FILE = "documents.sqlite"
DOC_COLLECTION = "tenderx_documents"
META_COLLECTION = "tenderx_meta"
_VERSION_ID = "version"
_PAGE = 1000


@dataclass
class StoredDocument:
    path: str
    sha256: str
    pages: int
    chunks: int
    title: str | None
    ingested_at: float
    needs_ocr: bool

    @property
    def name(self) -> str:
        return Path(self.path).name


def next_version(current: int) -> int:
    """Strictly above ``current`` and never below the clock (random low digits keep two
    writers that bump in the same nanosecond apart)."""
    return max(current + 1, time.time_ns() + random.randrange(1000))


class DocumentTable(Protocol):
    """What the Store needs from its document rows (local SQLite or a Chroma server)."""

    def all(self) -> list[StoredDocument]: ...

    def for_path(self, key: str) -> StoredDocument | None: ...

    def for_sha(self, sha256: str) -> list[StoredDocument]: ...

    def put(self, doc: StoredDocument) -> None: ...

    def delete_path(self, key: str) -> int: ...

    def delete_sha(self, sha256: str) -> int: ...

    @property
    def version(self) -> int: ...

    @property
    def store_id(self) -> str: ...

    def bump(self) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    title TEXT,
    ingested_at REAL NOT NULL,
    needs_ocr INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_path_sha ON documents(path, sha256);
CREATE INDEX IF NOT EXISTS documents_sha ON documents(sha256);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = "path, sha256, pages, chunks, title, ingested_at, needs_ocr"


def corrupt_message(db: Path, exc: BaseException) -> str:
    return (f"{db} is not a readable SQLite database ({exc}); run `tenderx store check --repair "
            f"--store {db.parent}` to move it aside and rebuild it from the stored chunks")


class SqliteDocuments:
    """``documents.sqlite``: one row per ingested path, plus the version and a random store id."""

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        self.file = folder / DOCUMENTS_FILE
        try:
            if read_only:
                self._db = sqlite3.connect(f"file:{self.file}?mode=ro", uri=True, timeout=30)
                self._db.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
            else:
                self._db = sqlite3.connect(self.file, timeout=30)
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('version', ?)",
                                 (str(next_version(0)),))
                self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?)",
                                 (uuid.uuid4().hex,))
                self._db.commit()
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise StoreError(f"{self.file} is read-only and the store needs writing ({exc})") from None
            raise StoreError(corrupt_message(self.file, exc)) from None

    def _rows(self, sql: str, args: tuple = ()) -> list[StoredDocument]:
        try:
            return [_doc_row(r) for r in self._db.execute(sql, args).fetchall()]
        except sqlite3.DatabaseError as exc:
            raise StoreError(corrupt_message(self.file, exc)) from None

    def all(self) -> list[StoredDocument]:
        return self._rows(f"SELECT {_COLUMNS} FROM documents ORDER BY path")

    def for_path(self, key: str) -> StoredDocument | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM documents WHERE path = ?", (key,))
        return rows[0] if rows else None

    def for_sha(self, sha256: str) -> list[StoredDocument]:
        return self._rows(f"SELECT {_COLUMNS} FROM documents WHERE sha256 = ? ORDER BY path", (sha256,))

    def put(self, doc: StoredDocument) -> None:
        self._db.execute("DELETE FROM documents WHERE path = ?", (doc.path,))
        self._db.execute(f"INSERT INTO documents({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (doc.path, doc.sha256, doc.pages, doc.chunks, doc.title, doc.ingested_at,
                          int(doc.needs_ocr)))

    def delete_path(self, key: str) -> int:
        return self._db.execute("DELETE FROM documents WHERE path = ?", (key,)).rowcount

    def delete_sha(self, sha256: str) -> int:
        return self._db.execute("DELETE FROM documents WHERE sha256 = ?", (sha256,)).rowcount

    def _meta(self, key: str) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(corrupt_message(self.file, exc)) from None
        return None if row is None else str(row[0])

    @property
    def version(self) -> int:
        return int(self._meta("version") or 0)

    @property
    def store_id(self) -> str:
        return self._meta("store_id") or ""

    def bump(self) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('version', ?)",
                         (str(next_version(self.version)),))

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def _doc_row(row: tuple) -> StoredDocument:
    path, sha, pages, chunks, title, at, ocr = row
    return StoredDocument(path, sha, int(pages), int(chunks), title, float(at), bool(ocr))


class ChromaDocuments:
    """Document rows on a Chroma server: one record per content hash (id = sha256), so
    two machines ingesting the same file write the same record. Chroma needs a vector
    per record; these carry a constant 1-d one."""

    def __init__(self, client: Any) -> None:
        self._docs = client.get_or_create_collection(DOC_COLLECTION, embedding_function=None)
        self._meta = client.get_or_create_collection(META_COLLECTION, embedding_function=None)
        # `add` keeps the first record of an id, so concurrent first openings agree on the id
        self._meta.add(ids=[_VERSION_ID], embeddings=[[1.0]],
                       metadatas=[{"version": next_version(0), "store_id": uuid.uuid4().hex}])

    def _find(self, **kw: Any) -> list[StoredDocument]:
        out: list[StoredDocument] = []
        offset = 0
        while True:
            got = self._docs.get(include=["metadatas"], limit=_PAGE, offset=offset, **kw)
            out.extend(_doc_meta(m) for m in got["metadatas"])
            if len(got["ids"]) < _PAGE or "ids" in kw:
                return sorted(out, key=lambda d: d.path)
            offset += _PAGE

    def all(self) -> list[StoredDocument]:
        return self._find()

    def for_path(self, key: str) -> StoredDocument | None:
        rows = self._find(where={"path": key})
        return rows[0] if rows else None

    def for_sha(self, sha256: str) -> list[StoredDocument]:
        return self._find(ids=[sha256])

    def put(self, doc: StoredDocument) -> None:
        meta: dict[str, Any] = {"path": doc.path, "sha256": doc.sha256, "pages": doc.pages, "chunks": doc.chunks,
                                "ingested_at": doc.ingested_at, "needs_ocr": bool(doc.needs_ocr)}
        if doc.title:
            meta["title"] = doc.title
        self._docs.upsert(ids=[doc.sha256], embeddings=[[1.0]], metadatas=[meta])

    def delete_path(self, key: str) -> int:
        ids = self._docs.get(where={"path": key}, include=[])["ids"]
        if ids:
            self._docs.delete(ids=ids)
        return len(ids)

    def delete_sha(self, sha256: str) -> int:
        found = self._docs.get(ids=[sha256], include=[])["ids"]
        if found:
            self._docs.delete(ids=found)
        return len(found)

    def _meta_record(self) -> dict[str, Any]:
        got = self._meta.get(ids=[_VERSION_ID], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else {}

    @property
    def version(self) -> int:
        return int(self._meta_record().get("version", 0))

    @property
    def store_id(self) -> str:
        return str(self._meta_record().get("store_id", ""))

    def bump(self) -> None:
        record = self._meta_record()
        record["version"] = next_version(int(record.get("version", 0)))
        self._meta.upsert(ids=[_VERSION_ID], embeddings=[[1.0]], metadatas=[record])

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


def _doc_meta(meta: dict[str, Any]) -> StoredDocument:
    return StoredDocument(str(meta["path"]), str(meta["sha256"]), int(meta["pages"]), int(meta["chunks"]),
                          meta.get("title"), float(meta["ingested_at"]), bool(meta.get("needs_ocr", False)))
