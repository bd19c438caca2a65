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
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from extractor.config import EmbeddingSettings
from extractor.embeddings import Embedder, get_embedder
from extractor.lexical import index_for_store, matches_where, tokenize
from extractor.store import Store, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")
RRF_K = 60
CANDIDATES = 50
ALIAS_WEIGHT = 0.5


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
    """The query plus the watchlist aliases it names (none if watchlist is absent)."""
    try:
        from extractor.watchlist import expand_query as watchlist_expand  # type: ignore[attr-defined]
    except ImportError:
        return [query]
    try:
        extra = list(watchlist_expand(query))
    except Exception:  # an alias table problem must not break search
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


def dense_candidates(store: Store, query: str, n: int, where: dict[str, Any] | None,
                     embedder: Embedder | None) -> list[tuple[StoredChunk, float]]:
    if store.count() == 0:
        return []
    emb = _embedder_for(store, embedder)
    return store.dense_query(emb.embed_query(query), n, where=where)


def lexical_candidates(store: Store, query: str, n: int,
                       where: dict[str, Any] | None) -> list[tuple[StoredChunk, float]]:
    index = index_for_store(store)
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
    boosted = [(c, s + (1.0 / (k + 1) if wanted <= set(tokenize(c.text)) else 0.0)) for c, s in ranked]
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
        ranked = reciprocal_rank_fusion(dense_candidates(store, query, CANDIDATES, flt, embedder),
                                        lexical_candidates(store, query, CANDIDATES, flt))
        ranked = boost_exact_models(ranked, query)
    return [Hit(rank=i, file=c.file, page=c.page, score=round(float(s), 6), text=c.text, chunk_id=c.id,
                sha256=c.sha256)
            for i, (c, s) in enumerate(ranked[:k], start=1)]
