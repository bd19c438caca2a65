"""The chunk store: ChromaDB for vectors + chunk text, document rows and a version
counter beside them, and a lock file for writers.

Local layout of a store directory::

    chroma/             Chroma persistent data
    documents.sqlite    one row per ingested path (sha256, pages, chunks, ...), version, store id
    bm25.pkl            lexical index cache (see lexical.py), rebuilt when stale
    .lock               flock'ed by the process that writes (holds its pid)

With a Chroma server (``--chroma-url`` / ``TENDERX_CHROMA_URL``) everything the store
holds lives on the server (chunks, vectors, document rows, version, embedder) and
the folder only keeps local caches. Documents there are keyed by content hash, and
a per-document lease on the server keeps writers on different machines apart.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from extractor.core import config as _config
from extractor.core.document import Chunk, Document
from extractor.core.errors import EmbedderMismatch, StoreError, StoreLocked
from extractor.embed.base import compatible
from extractor.store.docmeta import (
    DOCUMENTS_FILE,
    ChromaDocuments,
    DocumentTable,
    SqliteDocuments,
    StoredDocument,
)
from extractor.store.local import ensure_space, persistent_client, read_only_client, writable
from extractor.store.locks import opening, read_pid, try_lock, unlock, write_pid
from extractor.store.remote import ChromaServer, connect, readable, server_from_env
from extractor.store.stored import StoredChunk, chunk_id, path_key, shared_chunk_id

_config.apply_offline_defaults()

COLLECTION = "tenderx_chunks"
EMBEDDER_KEY = "tenderx_embedder"
DIM_KEY = "tenderx_dim"
_PAGE_SIZE = 2000

__all__ = ["Store", "StoredChunk", "StoredDocument", "StoreError", "StoreLocked", "EmbedderMismatch",
           "path_key", "chunk_id", "store_exists", "open_store"]


def store_exists(path: str | Path) -> bool:
    """True when a store can be read: a server is configured, or the folder holds one."""
    return server_from_env() is not None or (Path(path) / DOCUMENTS_FILE).exists()


_SHARED: dict[tuple[str, str, str], Store] = {}


def open_store(path: str | Path) -> Store:
    """A Store for reading: on a Chroma server one per process and server (connecting costs
    several requests; the HTTP client is thread-safe), locally a new one (SQLite
    connections stay in the thread that made them)."""
    server = server_from_env()
    if server is None:
        return Store(path)
    key = (str(Path(path).resolve()), server.url, server.database)
    if key not in _SHARED:
        _SHARED[key] = Store(path, server=server)
    return _SHARED[key]


class Store:
    """Vectors and chunk text in Chroma, document rows in SQLite (or all of it on a server).

    Reading is always allowed. Every write takes an exclusive non-blocking lock
    on ``path/.lock``; hold it across a batch with ``with store.writing():``.
    On a server each document is also written under its lease (``claim``).
    """

    def __init__(self, path: str | Path = _config.DEFAULT_STORE, client: Any | None = None,
                 server: ChromaServer | None = None) -> None:
        self.path = Path(path)
        self.server = server if server is not None or client is not None else server_from_env()
        self.read_only = False
        self._leases: Any | None = None
        if self.server is not None:
            from extractor.store.lease import Leases

            self.path.mkdir(parents=True, exist_ok=True)
            self._client = client if client is not None else connect(self.server)
            try:
                self._docs: DocumentTable = ChromaDocuments(self._client)
                self._leases = Leases(self._client)
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"Chroma server {self.server.url}: {readable(exc)}") from None
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self.read_only = (self.path / DOCUMENTS_FILE).exists() and not writable(self.path)
            with opening(self.path):  # two processes creating one new store race in Chroma's schema setup
                if client is None and self.read_only:
                    client = read_only_client(self.path)
                self._client = client if client is not None else persistent_client(self.path)
                self._docs = SqliteDocuments(self.path, read_only=self.read_only)
        self._collection: Any | None = None
        self._lock_fd: int | None = None
        self._counted: tuple[int, int] | None = None  # (version, chunk count): Chroma's count() costs ms
        self._held: dict[str, int] = {}  # leases this Store holds (claim is re-entrant)

    @property
    def remote(self) -> bool:
        """True when the store lives on a Chroma server."""
        return self.server is not None

    @property
    def location(self) -> str:
        """The server URL or the folder: what messages name."""
        return self.server.url if self.server is not None else str(self.path)

    def _chunk_id(self, key: str, sha256: str, index: int) -> str:
        return shared_chunk_id(sha256, index) if self.remote else chunk_id(key, sha256, index)

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
        self.check_embedder(name, dim)

    def check_embedder(self, name: str, dim: int | None = None) -> None:
        have, have_dim = self.embedder_name, self.embedder_dim
        if have is None:
            return
        if not compatible(have, name) or (dim is not None and have_dim is not None and have_dim != dim):
            raise EmbedderMismatch(
                f"store {self.location} was built with embedder {have!r} (dim {have_dim}); "
                f"refusing to mix in {name!r} (dim {dim}). Use another --store, or the same "
                "embedder (TENDERX_EMBED_BASE_URL / TENDERX_EMBED_MODEL / TENDERX_EMBED_ENGINE)."
            )

    # --- locks ----------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Store]:
        """Hold the writer lock for the block; raise StoreLocked if someone else has it."""
        if self._lock_fd is not None:  # re-entrant within one Store
            yield self
            return
        if self.read_only:
            raise StoreError(f"store {self.path} is read-only: it can be searched but not written")
        lock_path = self.path / ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            locked = try_lock(fd)
        except OSError:
            os.close(fd)
            raise
        if not locked:
            pid = read_pid(fd)
            os.close(fd)
            raise StoreLocked(self.path, pid)
        write_pid(fd)
        self._lock_fd = fd
        try:
            yield self
        finally:
            self._lock_fd = None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            with contextlib.suppress(OSError):
                unlock(fd)
            os.close(fd)

    def claim_owner(self, sha256: str) -> str | None:
        """Who else holds a live lease on this document (None: nobody, or a local store)."""
        if self._leases is None:
            return None
        owner = self._leases.owner(sha256)
        return None if owner == self._leases.me else owner

    @contextlib.contextmanager
    def claim(self, sha256: str, wait: float | None = None,
              on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold this document's server lease for the block, waiting up to ``wait`` seconds
        (default: the lease TTL) for another writer's to end (``on_wait`` hears whom it waits
        for and how long); ``LeaseHeld`` after that.
        Re-entrant; a no-op for a local store, which the writer lock already serialises."""
        if self._leases is None or self._held.get(sha256):
            self._held[sha256] = self._held.get(sha256, 0) + 1
            try:
                yield
            finally:
                self._held[sha256] -= 1
            return
        self._leases.take(sha256, wait=wait, on_wait=on_wait)
        self._held[sha256] = 1
        try:
            yield
        finally:
            self._held.pop(sha256, None)
            self._leases.release(sha256)

    # --- documents ----------------------------------------------------------
    def documents(self) -> list[StoredDocument]:
        return self._docs.all()

    def has_document(self, sha256: str) -> bool:
        return bool(self._docs.for_sha(sha256))

    def document_for_path(self, path: str | Path) -> StoredDocument | None:
        return self._docs.for_path(path_key(path))

    def documents_for_sha(self, sha256: str) -> list[StoredDocument]:
        return self._docs.for_sha(sha256)

    @property
    def version(self) -> int:
        """Changes on every write, never goes back (the lexical cache compares against it)."""
        return self._docs.version

    @property
    def store_id(self) -> str:
        """A random id made when the store was created (a cache may key on it with the version)."""
        return self._docs.store_id

    def replace_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray | None) -> int:
        """Make the store hold exactly these chunks for ``doc.path`` (idempotent).

        Old chunks of that path (any earlier content) are deleted first; on a server
        (documents keyed by content) the document's own chunks are upserted under their
        fixed ids and any beyond the new count removed. Returns the number of chunks
        written. A document with no chunks (e.g. needs OCR) is still recorded so
        re-ingesting it is a no-op.
        """
        with self.writing(), self.claim(doc.sha256):
            key = path_key(doc.path)
            n = len(chunks)
            vectors = self._checked_vectors(n, vectors)
            if not self.remote:
                ensure_space(self.path, n, int(vectors.shape[1]) if vectors is not None and n else 0,
                             sum(len(c.text) for c in chunks))
            coll = self._existing_collection()
            if self.remote:  # this path held other content before: that document is replaced
                old = self._docs.for_path(key)
                if old is not None and old.sha256 != doc.sha256:
                    self._drop_sha(old.sha256)
            elif coll is not None:
                coll.delete(where={"file": key})
            if n and vectors is not None:
                assert coll is not None
                ids, metas, texts = [], [], []
                for c in chunks:
                    meta = c.metadata()
                    meta.update(file=key, doc_sha256=doc.sha256, page=c.page_start)
                    ids.append(self._chunk_id(key, doc.sha256, c.index))
                    metas.append(meta)
                    texts.append(c.text)
                for s in range(0, n, _PAGE_SIZE):
                    coll.upsert(ids=ids[s : s + _PAGE_SIZE], embeddings=vectors[s : s + _PAGE_SIZE],
                                documents=texts[s : s + _PAGE_SIZE], metadatas=metas[s : s + _PAGE_SIZE])
            if self.remote and coll is not None:  # a shorter re-chunking leaves no tail behind
                coll.delete(where={"$and": [{"doc_sha256": doc.sha256}, {"index": {"$gte": n}}]})
            self._docs.put(StoredDocument(key, doc.sha256, len(doc.pages), n, doc.title, time.time(),
                                          bool(doc.needs_ocr)))
            self._docs.bump()
            self._docs.commit()
            return n

    def _checked_vectors(self, n: int, vectors: np.ndarray | None) -> np.ndarray | None:
        if not n:
            return None
        if vectors is None or len(vectors) != n:
            raise StoreError(f"{n} chunks but {0 if vectors is None else len(vectors)} vectors")
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.embedder_dim is None:
            raise StoreError("call store.use_embedder(name, dim) before adding vectors")
        if vectors.shape[1] != self.embedder_dim:
            raise EmbedderMismatch(
                f"vectors have dim {vectors.shape[1]} but store {self.location} holds dim {self.embedder_dim}")
        return vectors

    def _drop_sha(self, sha256: str) -> None:
        coll = self._existing_collection()
        if coll is not None:
            coll.delete(where={"doc_sha256": sha256})
        self._docs.delete_sha(sha256)

    def remove_path(self, path: str | Path) -> bool:
        """Forget one path (its chunks and its row). True when something was removed."""
        with self.writing():
            key = path_key(path)
            found = self._docs.for_path(key)
            coll = self._existing_collection()
            if self.remote:
                if found is not None:
                    with self.claim(found.sha256):
                        self._drop_sha(found.sha256)
            else:
                if coll is not None:
                    coll.delete(where={"file": key})
                self._docs.delete_path(key)
            self._docs.bump()
            self._docs.commit()
            return found is not None

    def remove_document(self, doc: StoredDocument) -> None:
        """Forget one stored document and its chunks (the integrity repair uses it)."""
        with self.writing():
            coll = self._existing_collection()
            if self.remote:
                self._drop_sha(doc.sha256)
            else:
                if coll is not None:
                    coll.delete(where={"file": doc.path})
                self._docs.delete_path(doc.path)
            self._docs.bump()
            self._docs.commit()

    def delete_chunk_ids(self, ids: Sequence[str]) -> None:
        """Delete chunks by id (orphans found by the integrity check)."""
        coll = self._existing_collection()
        if coll is None or not ids:
            return
        with self.writing():
            for s in range(0, len(ids), _PAGE_SIZE):
                coll.delete(ids=list(ids[s : s + _PAGE_SIZE]))
            self._docs.bump()
            self._docs.commit()

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

    def stored_chunk_count(self, doc: StoredDocument) -> int:
        """How many chunks the vector side holds for this document (ids only: cheap)."""
        coll = self._existing_collection()
        if coll is None:
            return 0
        where = {"doc_sha256": doc.sha256} if self.remote else {"file": doc.path}
        return len(coll.get(where=where, include=[])["ids"])

    def chunk_metadata(self) -> list[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every chunk, without texts (the integrity check reads these)."""
        coll = self._existing_collection()
        if coll is None:
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        offset = 0
        while True:
            got = coll.get(include=["metadatas"], limit=_PAGE_SIZE, offset=offset)
            out.extend((cid, dict(m or {})) for cid, m in zip(got["ids"], got["metadatas"], strict=True))
            if len(got["ids"]) < _PAGE_SIZE:
                return out
            offset += _PAGE_SIZE

    def put_document_row(self, doc: StoredDocument) -> None:
        """Write one document row as is (the repair rebuilds lost rows from chunk metadata)."""
        with self.writing():
            self._docs.put(doc)
            self._docs.bump()
            self._docs.commit()

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
        if self._leases is not None:
            self._leases.close()
        self._docs.close()
