"""The chunk store: ChromaDB for vectors + chunk text, a small SQLite file for
per-document metadata and a change counter, and a lock file for writers.

Layout of a store directory::

    chroma/             Chroma persistent data (unless TENDERX_CHROMA_HOST is set)
    documents.sqlite    one row per ingested path (sha256, pages, chunks, ...)
    bm25.pkl            lexical index cache (see lexical.py), rebuilt when stale
    .lock               flock'ed by the process that writes (holds its pid)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractor.core import config as _config
from extractor.core.document import Chunk, Document
from extractor.core.errors import EmbedderMismatch, StoreError, StoreLocked
from extractor.index.embeddings import compatible

_config.apply_offline_defaults()

COLLECTION = "tenderx_chunks"
EMBEDDER_KEY = "tenderx_embedder"
DIM_KEY = "tenderx_dim"
_PAGE_SIZE = 2000




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


@dataclass
class StoredChunk:
    """A chunk as the store holds it: Chroma id, text and flat metadata."""

    id: str
    text: str
    metadata: dict[str, Any]

    @property
    def file(self) -> str:
        return str(self.metadata.get("file", ""))

    @property
    def page(self) -> int:
        return int(self.metadata.get("page_start", 0))

    @property
    def sha256(self) -> str:
        return str(self.metadata.get("doc_sha256", ""))

    # the Chunk fields, so a StoredChunk can stand in where a Chunk is read
    @property
    def doc_sha256(self) -> str:
        return self.sha256

    @property
    def page_start(self) -> int:
        return int(self.metadata.get("page_start", 0))

    @property
    def page_end(self) -> int:
        return int(self.metadata.get("page_end", self.page_start))

    @property
    def char_start(self) -> int:
        return int(self.metadata.get("char_start", 0))

    @property
    def char_end(self) -> int:
        return int(self.metadata.get("char_end", 0))

    @property
    def index(self) -> int:
        return int(self.metadata.get("index", 0))

    @property
    def tokens(self) -> int:
        return int(self.metadata.get("tokens", 0))

    def to_chunk(self) -> Chunk:
        return Chunk(id=self.id, doc_sha256=self.sha256, file=self.file, text=self.text,
                     page_start=self.page_start, page_end=self.page_end, char_start=self.char_start,
                     char_end=self.char_end, index=self.index, tokens=self.tokens)


def path_key(path: str | Path) -> str:
    """The canonical form a document path is stored under (absolute, resolved, printable:
    undecodable name bytes as ``\\xNN`` so SQLite and Chroma can hold it)."""
    from extractor.core.paths import canonical, display_path

    return display_path(canonical(path))


def chunk_id(path: str, sha256: str, index: int) -> str:
    """Stable per (path, content, position): copies at two paths never collide."""
    where = hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]
    return f"{sha256[:16]}-{where}-{index:05d}"


def _client_from_env(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    host = os.environ.get("TENDERX_CHROMA_HOST")
    if host:
        port = int(os.environ.get("TENDERX_CHROMA_PORT", "8000"))
        return chromadb.HttpClient(host=host, port=port, settings=settings)
    return chromadb.PersistentClient(path=str(path / "chroma"), settings=settings)


@contextlib.contextmanager
def _opening(path: Path) -> Iterator[None]:
    """Serialise store opening across processes (a short blocking lock, not the writer lock)."""
    fd = os.open(path / ".open.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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
INSERT OR IGNORE INTO meta(key, value) VALUES ('version', '0');
"""


class Store:
    """Vectors and chunk text in Chroma, document rows in SQLite.

    Reading is always allowed. Every write takes an exclusive non-blocking lock
    on ``path/.lock``; hold it across a batch with ``with store.writing():``.
    """

    def __init__(self, path: str | Path = _config.DEFAULT_STORE, client: Any | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        with _opening(self.path):  # two processes creating one new store race in Chroma's schema setup
            self._client = client if client is not None else _client_from_env(self.path)
            self._db = sqlite3.connect(self.path / "documents.sqlite", timeout=30)
            self._db.executescript(_SCHEMA)
            self._db.commit()
        self._collection: Any | None = None
        self._lock_fd: int | None = None
        self._counted: tuple[int, int] | None = None  # (version, chunk count): Chroma's count() costs ms

    # --- embedder identity -------------------------------------------------
    def _existing_collection(self) -> Any | None:
        if self._collection is None:
            try:
                self._collection = self._client.get_collection(COLLECTION, embedding_function=None)
            except Exception:  # noqa: BLE001 — chromadb raises NotFoundError / ValueError depending on backend
                return None
        return self._collection

    @property
    def embedder_name(self) -> str | None:
        """Name of the embedder the vectors came from (None for an empty store)."""
        coll = self._existing_collection()
        return None if coll is None else (coll.metadata or {}).get(EMBEDDER_KEY)

    @property
    def embedder_dim(self) -> int | None:
        coll = self._existing_collection()
        dim = None if coll is None else (coll.metadata or {}).get(DIM_KEY)
        return int(dim) if dim is not None else None

    def use_embedder(self, name: str, dim: int) -> None:
        """Bind the store to one embedder; refuse if it was built with another."""
        coll = self._existing_collection()
        if coll is None:
            self._collection = self._client.get_or_create_collection(
                COLLECTION,
                metadata={"hnsw:space": "cosine", EMBEDDER_KEY: name, DIM_KEY: int(dim)},
                embedding_function=None,
            )
            coll = self._collection
        self.check_embedder(name, dim)

    def check_embedder(self, name: str, dim: int | None = None) -> None:
        have, have_dim = self.embedder_name, self.embedder_dim
        if have is None:
            return
        if not compatible(have, name) or (dim is not None and have_dim is not None and have_dim != dim):
            raise EmbedderMismatch(
                f"store {self.path} was built with embedder {have!r} (dim {have_dim}); "
                f"refusing to mix in {name!r} (dim {dim}). Use another --store, or the same "
                "embedder (TENDERX_EMBED_BASE_URL / TENDERX_EMBED_MODEL / TENDERX_EMBED_ENGINE)."
            )

    # --- lock -----------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Store]:
        """Hold the writer lock for the block; raise StoreLocked if someone else has it."""
        if self._lock_fd is not None:  # re-entrant within one Store
            yield self
            return
        lock_path = self.path / ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise
            pid = _read_pid(fd)
            os.close(fd)
            raise StoreLocked(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd
        try:
            yield self
        finally:
            self._lock_fd = None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # --- documents ----------------------------------------------------------
    def documents(self) -> list[StoredDocument]:
        rows = self._db.execute(
            "SELECT path, sha256, pages, chunks, title, ingested_at, needs_ocr FROM documents ORDER BY path"
        ).fetchall()
        return [_doc_row(r) for r in rows]

    def has_document(self, sha256: str) -> bool:
        return self._db.execute("SELECT 1 FROM documents WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None

    def document_for_path(self, path: str | Path) -> StoredDocument | None:
        row = self._db.execute(
            "SELECT path, sha256, pages, chunks, title, ingested_at, needs_ocr FROM documents WHERE path = ?",
            (path_key(path),),
        ).fetchone()
        return _doc_row(row) if row else None

    def documents_for_sha(self, sha256: str) -> list[StoredDocument]:
        rows = self._db.execute(
            "SELECT path, sha256, pages, chunks, title, ingested_at, needs_ocr FROM documents WHERE sha256 = ?",
            (sha256,),
        ).fetchall()
        return [_doc_row(r) for r in rows]

    @property
    def version(self) -> int:
        """Bumped on every write; the BM25 cache compares against it."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])

    def _bump_version(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")

    def replace_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray | None) -> int:
        """Make the store hold exactly these chunks for ``doc.path`` (idempotent).

        Old chunks of that path (any earlier content) are deleted first. Returns
        the number of chunks written. A document with no chunks (e.g. needs OCR)
        is still recorded so re-ingesting it is a no-op.
        """
        with self.writing():
            key = path_key(doc.path)
            n = len(chunks)
            if n:
                if vectors is None or len(vectors) != n:
                    raise StoreError(f"{n} chunks but {0 if vectors is None else len(vectors)} vectors")
                vectors = np.asarray(vectors, dtype=np.float32)
                if self.embedder_dim is None:
                    raise StoreError("call store.use_embedder(name, dim) before adding vectors")
                if vectors.shape[1] != self.embedder_dim:
                    raise EmbedderMismatch(
                        f"vectors have dim {vectors.shape[1]} but store {self.path} holds dim {self.embedder_dim}"
                    )
            coll = self._existing_collection()
            if coll is not None:
                coll.delete(where={"file": key})
            if n and vectors is not None:
                assert coll is not None
                ids, metas, texts = [], [], []
                for c in chunks:
                    meta = c.metadata()
                    meta.update(file=key, doc_sha256=doc.sha256, page=c.page_start)
                    ids.append(chunk_id(key, doc.sha256, c.index))
                    metas.append(meta)
                    texts.append(c.text)
                for s in range(0, n, _PAGE_SIZE):
                    coll.upsert(ids=ids[s : s + _PAGE_SIZE], embeddings=vectors[s : s + _PAGE_SIZE],
                                documents=texts[s : s + _PAGE_SIZE], metadatas=metas[s : s + _PAGE_SIZE])
            self._db.execute("DELETE FROM documents WHERE path = ?", (key,))
            self._db.execute(
                "INSERT INTO documents(path, sha256, pages, chunks, title, ingested_at, needs_ocr) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, doc.sha256, len(doc.pages), n, doc.title, time.time(), int(doc.needs_ocr)),
            )
            self._bump_version()
            self._db.commit()
            return n

    def remove_path(self, path: str | Path) -> bool:
        """Forget one path (its chunks and its row). True when something was removed."""
        with self.writing():
            key = path_key(path)
            coll = self._existing_collection()
            if coll is not None:
                coll.delete(where={"file": key})
            cur = self._db.execute("DELETE FROM documents WHERE path = ?", (key,))
            self._bump_version()
            self._db.commit()
            return cur.rowcount > 0

    # --- chunks ---------------------------------------------------------------
    def count(self) -> int:
        """Number of chunks; re-counted only when the version counter moved (every write bumps it)."""
        coll = self._existing_collection()
        if coll is None:
            return 0
        version = self.version
        if self._counted is None or self._counted[0] != version:
            self._counted = (version, int(coll.count()))
        return self._counted[1]

    def _get(self, where: dict[str, Any] | None, with_vectors: bool = False) -> list[tuple[StoredChunk, Any]]:
        coll = self._existing_collection()
        if coll is None:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        out: list[tuple[StoredChunk, Any]] = []
        offset = 0
        while True:
            got = coll.get(where=where, include=include, limit=_PAGE_SIZE, offset=offset)
            ids = got["ids"]
            embs = got.get("embeddings") if with_vectors else None
            for i, cid in enumerate(ids):
                vec = None if embs is None else np.asarray(embs[i], dtype=np.float32)
                out.append((StoredChunk(cid, got["documents"][i] or "", dict(got["metadatas"][i] or {})), vec))
            if len(ids) < _PAGE_SIZE:
                break
            offset += _PAGE_SIZE
        return out

    def chunks_for(self, sha256: str, path: str | Path | None = None) -> list[StoredChunk]:
        """The chunks of one document in reading order (one path's copy when several share the sha)."""
        where: dict[str, Any] = {"doc_sha256": sha256}
        if path is not None:
            where = {"$and": [where, {"file": path_key(path)}]}
        items = [c for c, _ in self._get(where)]
        if path is None and items:  # identical copies: keep the first path's chunks only
            first = min(c.file for c in items)
            items = [c for c in items if c.file == first]
        return sorted(items, key=lambda c: int(c.metadata.get("index", 0)))

    def vectors_for(self, sha256: str) -> tuple[list[StoredChunk], np.ndarray] | None:
        """Chunks + vectors of one stored copy of this content (lets copies skip re-embedding)."""
        pairs = self._get({"doc_sha256": sha256}, with_vectors=True)
        if not pairs:
            return None
        first = min(c.file for c, _ in pairs)
        pairs = sorted((p for p in pairs if p[0].file == first), key=lambda p: int(p[0].metadata.get("index", 0)))
        return [c for c, _ in pairs], np.stack([v for _, v in pairs])

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk (for building the lexical index), ordered by file then position."""
        items = [c for c, _ in self._get(None)]
        return sorted(items, key=lambda c: (c.file, int(c.metadata.get("index", 0))))

    def dense_query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
                    ) -> list[tuple[StoredChunk, float]]:
        """Top-k chunks by cosine similarity (returned as similarity, higher is better)."""
        coll = self._existing_collection()
        total = self.count()
        if coll is None or total == 0 or k <= 0:
            return []
        got = coll.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, total),
                         where=where, include=["documents", "metadatas", "distances"])
        out = []
        for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                         got["distances"][0], strict=True):
            out.append((StoredChunk(cid, text or "", dict(meta or {})), 1.0 - float(dist)))
        return out

    def dense_ids(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
                  ) -> list[tuple[str, float]]:
        """Like ``dense_query`` but ids only: Chroma skips reading texts and metadata from
        SQLite (search takes them from the BM25 index, which already holds them)."""
        coll = self._existing_collection()
        total = self.count()
        if coll is None or total == 0 or k <= 0:
            return []
        got = coll.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, total),
                         where=where, include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True)]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The stored chunks with these ids (missing ids are left out)."""
        coll = self._existing_collection()
        if coll is None or not ids:
            return {}
        got = coll.get(ids=list(ids), include=["documents", "metadatas"])
        return {cid: StoredChunk(cid, text or "", dict(meta or {}))
                for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    def vectors_by_id(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The stored vectors of these ids, in the given order (ids not stored are left out)."""
        coll = self._existing_collection()
        if coll is None or not ids:
            return [], np.empty((0, self.embedder_dim or 0), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        for s in range(0, len(ids), _PAGE_SIZE):
            got = coll.get(ids=list(ids[s : s + _PAGE_SIZE]), include=["embeddings"])
            found.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
        kept = [cid for cid in ids if cid in found]
        matrix = np.stack([found[cid] for cid in kept]) if kept else np.empty((0, self.embedder_dim or 0),
                                                                                dtype=np.float32)
        return kept, matrix

    def close(self) -> None:
        self._db.close()


def _doc_row(row: tuple) -> StoredDocument:
    path, sha, pages, chunks, title, at, ocr = row
    return StoredDocument(path, sha, int(pages), int(chunks), title, float(at), bool(ocr))


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode().strip()
        return int(raw) if raw else None
    except (OSError, ValueError):
        return None
