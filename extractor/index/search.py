"""Retrieval over the store: dense (e5 vectors in Chroma), lexical (BM25) or
hybrid (reciprocal rank fusion of both, plus a bonus for chunks that contain
the exact model numbers the query names).

The lexical side also searches the watchlist aliases of what the query names
(``英伟达 A100`` finds ``NVIDIA A100``); the dense side embeds the query as
typed, because e5 already maps aliases close together and extra words would
blur the vector.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from extractor.core.config import EmbeddingSettings
from extractor.index.embeddings import Embedder, get_embedder
from extractor.index.lexical import (
    BM25Index,
    held_index,
    index_for_store,
    latin_terms,
    matches_where,
    tokenize,
)
from extractor.index.store import Store, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")
RRF_K = 60
CANDIDATES = 50
ALIAS_WEIGHT = 0.5
QUERY_VECTOR_CACHE = 512  # query vectors kept per embedder (extraction asks the same field queries per document)
EXACT_DENSE_MAX = 2048  # a filter keeping at most this many chunks is searched exactly, in numpy
_FILTERED_VECTORS = 8  # vector sets of filtered searches kept per store


@dataclass
class Hit:
    rank: int
    file: str
    page: int
    score: float
    text: str
    chunk_id: str
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def expand_query(query: str) -> list[str]:
    """The query plus the watchlist aliases it names."""
    from extractor.core.watchlist import expand_query as watchlist_expand

    try:
        extra = list(watchlist_expand(query))
    except Exception:  # noqa: BLE001 — an alias table problem must not break search
        extra = []
    out = [query]
    for alias in extra:
        if alias and alias not in out:
            out.append(alias)
    return out


def query_terms(query: str) -> dict[str, float]:
    """Lexical terms of the query (weight 1) and of its watchlist aliases (weight
    ALIAS_WEIGHT, so an alias never outweighs what the user typed)."""
    expansions = expand_query(query)
    terms = dict.fromkeys(tokenize(query), 1.0)
    for text in expansions[1:]:
        for term in tokenize(text):
            terms.setdefault(term, ALIAS_WEIGHT)
    return terms


def file_filter(store: Store, file: str) -> list[str]:
    """Stored paths matching ``file``: the exact path, or every path containing it."""
    paths = [d.path for d in store.documents()]
    exact = str(Path(file).expanduser().resolve())
    if exact in paths:
        return [exact]
    return [p for p in paths if file in p]


def _combine_where(where: dict[str, Any] | None, files: list[str] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if files is not None:
        clauses.append({"file": {"$in": files}})
    if where:
        clauses.append(where)
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@lru_cache(maxsize=4)
def _default_embedder(settings_key: tuple) -> Embedder:
    return get_embedder(EmbeddingSettings(*settings_key))


def _embedder_for(store: Store, embedder: Embedder | None) -> Embedder:
    if embedder is None:  # loaded once per process per settings, not once per query
        s = EmbeddingSettings.from_env()
        embedder = _default_embedder((s.base_url, s.api_key, s.model, s.engine))
    store.check_embedder(embedder.name)
    return embedder


_query_vectors: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_query_vectors_lock = threading.Lock()


def clear_query_cache() -> None:
    """Forget remembered query vectors (benchmarks time the embedding of every query)."""
    with _query_vectors_lock:
        _query_vectors.clear()


def query_vector(embedder: Embedder, query: str) -> np.ndarray:
    """``embedder.embed_query(query)``, remembered per embedder object (LRU, read-only arrays):
    a repeated query costs a dict lookup instead of a forward pass."""
    try:
        with _query_vectors_lock:
            cache = _query_vectors.setdefault(embedder, OrderedDict())
            vector = cache.get(query)
            if vector is not None:
                cache.move_to_end(query)
                return vector
    except TypeError:  # an embedder that cannot be weak-referenced or hashed: no cache
        return embedder.embed_query(query)
    vector = np.asarray(embedder.embed_query(query), dtype=np.float32)
    vector.setflags(write=False)
    with _query_vectors_lock:
        cache[query] = vector
        while len(cache) > QUERY_VECTOR_CACHE:
            cache.popitem(last=False)
    return vector


def _chunks_from_index(store: Store, index: BM25Index, scored: list[tuple[str, float]]
                       ) -> list[tuple[StoredChunk, float]]:
    """Dense (id, similarity) pairs as chunks, text and metadata taken from the BM25 index;
    ids it lacks (a write landed after it was loaded) are read from the store."""
    positions = {cid: index.position_of(cid) for cid, _ in scored}
    missing = [cid for cid, pos in positions.items() if pos is None]
    fetched = store.chunks_by_id(missing) if missing else {}
    out = []
    for cid, sim in scored:
        pos = positions[cid]
        if pos is not None:
            out.append((StoredChunk(cid, index.texts[pos], index.metadatas[pos]), sim))
        elif cid in fetched:
            out.append((fetched[cid], sim))
    return out


def _exact_dense(store: Store, index: BM25Index, allowed: np.ndarray, vector: np.ndarray, n: int
                 ) -> list[tuple[str, float]]:
    """Cosine top-n over a few allowed chunks. Chroma answers a filtered query by scanning
    its metadata table (70-300 ms at 100k chunks); a document's vectors are read once
    and kept, so the next query on the same filter is one small matmul."""
    cache: OrderedDict[tuple[int, bytes], tuple[list[str], np.ndarray]] = \
        store.__dict__.setdefault("_filtered_vectors", OrderedDict())
    key = (index.version, allowed.tobytes())
    entry = cache.get(key)
    if entry is None:
        entry = cache[key] = store.vectors_by_id([index.ids[p] for p in allowed.tolist()])
        while len(cache) > _FILTERED_VECTORS:
            cache.popitem(last=False)
    ids, matrix = entry
    if not ids:
        return []
    distances = (1.0 - matrix @ np.asarray(vector, dtype=np.float32)).astype(np.float32)
    order = np.argsort(distances, kind="stable")[:n]
    return [(ids[i], 1.0 - float(distances[i])) for i in order.tolist()]


def dense_candidates(store: Store, query: str, n: int, where: dict[str, Any] | None,
                     embedder: Embedder | None, index: BM25Index | None = None
                     ) -> list[tuple[StoredChunk, float]]:
    """Top-n chunks by cosine. With ``index`` (the store's current BM25 index, or one this
    store already holds) Chroma returns ids and distances only, which is ~3x faster, and
    a filter keeping few chunks (one document) is searched exactly without Chroma."""
    if store.count() == 0:
        return []
    emb = _embedder_for(store, embedder)
    vector = query_vector(emb, query)
    index = index if index is not None else held_index(store)
    if index is None:
        return store.dense_query(vector, n, where=where)
    allowed = index.allowed_positions(where) if where else None
    if allowed is not None and len(allowed) <= EXACT_DENSE_MAX:
        return _chunks_from_index(store, index, _exact_dense(store, index, allowed, vector, n))
    return _chunks_from_index(store, index, store.dense_ids(vector, n, where=where))


def lexical_candidates(store: Store, query: str, n: int, where: dict[str, Any] | None,
                       index: BM25Index | None = None) -> list[tuple[StoredChunk, float]]:
    index = index if index is not None else index_for_store(store)
    allowed = index.allowed_positions(where) if where else None
    if allowed is not None:
        hits = index.search(query_terms(query), k=n, positions=allowed)
    else:
        hits = index.search(query_terms(query), k=n, allow=(lambda m: matches_where(m, where)) if where else None)
    return [(StoredChunk(index.ids[h.position], index.texts[h.position], index.metadatas[h.position]), h.score)
            for h in hits]


def reciprocal_rank_fusion(*rankings: list[tuple[StoredChunk, float]], k: int = RRF_K
                           ) -> list[tuple[StoredChunk, float]]:
    """Sum of 1/(k + rank) over the rankings a chunk appears in (rank from 1)."""
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    for ranking in rankings:
        for rank, (chunk, _) in enumerate(ranking, start=1):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(chunk.id, chunk)
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return [(chunks[cid], scores[cid]) for cid in order]


_MODEL_NUMBER = re.compile(r"[A-Z]+[0-9][A-Z0-9]*|[0-9]+[A-Z][A-Z0-9]*")


def model_numbers(query: str) -> set[str]:
    """Identifier-like query terms (H20, A800, 910B, MLU370): letters and digits mixed."""
    return {t for t in tokenize(query) if _MODEL_NUMBER.fullmatch(t)}


def boost_exact_models(ranked: list[tuple[StoredChunk, float]], query: str, k: int = RRF_K
                       ) -> list[tuple[StoredChunk, float]]:
    """Add one top-rank RRF share (1/(k+1)) to chunks that contain every model number
    of the query. e5 vectors barely tell H20 from H200 or A100 from A800, so without
    this a chunk that BM25 ranks first on the exact model can lose to near-misses
    that sit mid-list on both sides."""
    wanted = model_numbers(query)
    if not wanted:
        return ranked
    # model numbers are Latin terms, so the chunk's Latin terms suffice (no jieba per candidate)
    boosted = [(c, s + (1.0 / (k + 1) if wanted <= set(latin_terms(c.text)) else 0.0)) for c, s in ranked]
    return sorted(boosted, key=lambda cs: (-cs[1], cs[0].id))


def search(store: Store, query: str, k: int = 10, mode: Mode | str = "hybrid", file: str | None = None,
           where: dict[str, Any] | None = None, embedder: Embedder | None = None) -> list[Hit]:
    """Top-k chunks for a query. ``file`` keeps one document (exact path or a
    substring of it); ``where`` is a Chroma metadata filter, applied to both sides."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not query.strip():
        return []
    files = file_filter(store, file) if file else None
    if files == []:
        return []
    flt = _combine_where(where, files)
    if mode == "dense":
        ranked = dense_candidates(store, query, k, flt, embedder)
    elif mode == "lexical":
        ranked = lexical_candidates(store, query, k, flt)
    else:
        index = index_for_store(store)
        ranked = reciprocal_rank_fusion(dense_candidates(store, query, CANDIDATES, flt, embedder, index),
                                        lexical_candidates(store, query, CANDIDATES, flt, index))
        ranked = boost_exact_models(ranked, query)
    return [Hit(rank=i, file=c.file, page=c.page, score=round(float(s), 6), text=c.text, chunk_id=c.id,
                sha256=c.sha256)
            for i, (c, s) in enumerate(ranked[:k], start=1)]
