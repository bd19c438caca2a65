"""BM25 over Chinese tender text, and the store's search file.

Dense e5 vectors blur exact identifiers (``A100`` vs ``A800``, project codes),
so a lexical index sits next to them; terms come from ``terms.py``.

The index is cached in the store as ``search-index.npz``: numpy arrays only,
no pickles (a store is something teams copy and share, so nothing read back
from it may run code), each member with a SHA-256 in the manifest. The file
also holds the chunk vectors, so a search answers without opening Chroma. It
is mapped, not read (``search_file.py``: what is checked at open and when), and
chunk texts and metadata are decoded only for the hits (``columns.py``), so a
new process's first search costs about what a warm one does. It is rebuilt
when missing, corrupt, from another format, or stale (the store's version
counter moved); a read-only store searches with an index rebuilt in memory.
"""

from __future__ import annotations

import contextlib
import json
import math
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from extractor.search import search_file
from extractor.search.columns import JsonColumn, SortedTerms, TextColumn, encode, well_formed
from extractor.search.search_file import SearchFileError, json_value
from extractor.search.terms import latin_terms, query_tokens, tokenize

__all__ = ["BM25Index", "LexicalHit", "held_index", "index_for_store", "latin_terms", "matches_where",
           "prepare_index", "tokenize"]

K1 = 1.5
B = 0.75
INDEX_FILE = "search-index.npz"
LEGACY_FILES = ("bm25.pkl",)  # never read (pickle); removed when the new file is written
_FORMAT = 3  # 3: strings as offsets + UTF-8 bytes, terms sorted, members 64-byte aligned for mapping
_ALLOWED_CACHE = 64  # where filters remembered per index
_UNSEEN = object()
_SEEN_IDS = 10_000  # hit ids remembered for position_of
MAX_VECTORS = 300_000  # above this many chunks the dense side stays in Chroma (HNSW) instead of the file


class _Postings(Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """term -> (chunk positions, term frequencies), as views into three flat arrays
    (one file member each; no per-term objects to rebuild when the file is read).
    Terms are in sorted order, so a mapped file's vocabulary is searched, not loaded;
    ``chunks`` (set for a file) bounds the positions a term's slice may hold."""

    def __init__(self, terms: Sequence[str], offsets: np.ndarray, docs: np.ndarray, tfs: np.ndarray,
                 chunks: int | None = None) -> None:
        self.terms = terms
        self.where: Mapping[str, int] = SortedTerms(terms) if isinstance(terms, TextColumn) else \
            dict(zip(terms, range(len(terms)), strict=True))
        self.offsets, self.docs, self.tfs = offsets, docs, tfs
        self.chunks = chunks

    @classmethod
    def from_lists(cls, plists: dict[str, tuple[list[int], list[int]]]) -> _Postings:
        terms = sorted(plists)
        lengths = np.fromiter((len(plists[t][0]) for t in terms), dtype=np.int64, count=len(terms))
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        docs = np.fromiter((d for t in terms for d in plists[t][0]), dtype=np.int32, count=int(offsets[-1]))
        tfs = np.fromiter((f for t in terms for f in plists[t][1]), dtype=np.float32, count=int(offsets[-1]))
        return cls(terms, offsets, docs, tfs)

    def __getitem__(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.where[term]
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        docs = self.docs[lo:hi]
        if self.chunks is not None and len(docs) and (int(docs.min()) < 0 or int(docs.max()) >= self.chunks):
            from extractor.core.errors import StoreError

            raise StoreError(f"the search file is damaged (term {term!r} points past the chunks); "
                             "run `tenderx store check --repair`")
        return docs, self.tfs[lo:hi]

    def __contains__(self, term: object) -> bool:
        return term in self.where

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def df(self, term: str) -> int:
        i = self.where.get(term)
        return 0 if i is None else int(self.offsets[i + 1] - self.offsets[i])


def _where_key(where: dict[str, Any]) -> str:
    return json.dumps(where, sort_keys=True, ensure_ascii=False, default=repr)


def _intersect(parts: list[np.ndarray]) -> np.ndarray | None:
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = np.intersect1d(out, part, assume_unique=True)
    return out


def _union(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


class LexicalHit(NamedTuple):
    """A match; unpacks as ``(position, score)``. ``position`` indexes ``BM25Index.ids``."""

    position: int
    score: float


@dataclass
class BM25Index:
    """Inverted index over chunks, with their text, metadata and (optionally) vectors."""

    ids: Sequence[str]
    texts: Sequence[str]
    metadatas: Sequence[dict[str, Any]]
    doc_len: np.ndarray
    postings: Mapping[str, tuple[np.ndarray, np.ndarray]]
    version: Any = -1
    k1: float = K1
    b: float = B
    vectors: np.ndarray | None = None  # row i = vector of ids[i] (unit length), when the file holds them
    embedder: str | None = None  # name of the embedder the vectors came from
    _avgdl: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._avgdl = float(self.doc_len.mean()) if len(self.doc_len) else 0.0
        if not isinstance(self.postings, _Postings):
            self.postings = _Postings.from_lists({t: (list(d), list(f)) for t, (d, f) in self.postings.items()})

    def _norm(self) -> np.ndarray:
        """BM25 length normalisation per chunk (the same for every query)."""
        norm = self.__dict__.get("_norm_cache")
        if norm is None:
            norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / max(self._avgdl, 1e-9))
            self.__dict__["_norm_cache"] = norm
        return norm

    def query_terms(self, query: str) -> dict[str, float]:
        """Weighted terms of a query, CJK words looked up in this index's vocabulary."""
        return query_tokens(query, self.postings)

    def id_at(self, pos: int) -> str:
        """The chunk id at ``pos``, remembered so ``position_of`` answers a hit's id without
        decoding every id of a mapped file."""
        chunk_id = self.ids[pos]
        seen: dict[str, int] = self.__dict__.setdefault("_seen_positions", {})
        if len(seen) >= _SEEN_IDS:
            seen.clear()
        seen[chunk_id] = pos
        return chunk_id

    def position_of(self, chunk_id: str) -> int | None:
        """Position of a chunk id in ``ids`` (None when not indexed)."""
        seen = self.__dict__.get("_seen_positions")
        if seen is not None and chunk_id in seen:
            return seen[chunk_id]
        positions = self.__dict__.get("_positions_cache")
        if positions is None:
            positions = {cid: pos for pos, cid in enumerate(self.ids)}
            self.__dict__["_positions_cache"] = positions
        return positions.get(chunk_id)

    def allowed_positions(self, where: dict[str, Any] | None) -> np.ndarray | None:
        """Sorted positions of the chunks a ``where`` filter keeps, or None when the filter
        has no equality / ``$in`` clause to narrow by (callers then test chunks one by one).

        Equality and ``$in`` clauses are looked up in per-key value lists (built once per
        key); every narrowed chunk is then checked with ``matches_where``, so the answer is
        exactly the filter's. Remembered per filter: extraction repeats one per document."""
        if not where:
            return None
        key = _where_key(where)
        cache: OrderedDict[str, np.ndarray | None] = self.__dict__.setdefault("_allowed_cache", OrderedDict())
        found = cache.get(key, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        narrowed = self._narrow(where)
        allowed = None if narrowed is None else np.asarray(
            [p for p in narrowed.tolist() if matches_where(self.metadatas[p], where)], dtype=np.int64)
        cache[key] = allowed
        while len(cache) > _ALLOWED_CACHE:  # oldest first (filters come per document, in turn)
            cache.popitem(last=False)
        return allowed

    def _narrow(self, where: dict[str, Any]) -> np.ndarray | None:
        """A sorted superset of the positions ``where`` keeps (None: cannot narrow)."""
        narrowed: np.ndarray | None = None
        for key, cond in where.items():
            part: np.ndarray | None
            if key == "$and":
                subs = [self._narrow(c) for c in cond]
                part = _intersect([x for x in subs if x is not None])
            elif key == "$or":
                subs = [self._narrow(c) for c in cond]
                part = None if not subs or any(x is None for x in subs) else _union([x for x in subs if x is not None])
            elif isinstance(cond, dict):
                part = None
                if len(cond) == 1 and "$eq" in cond:
                    part = self._with_value(key, [cond["$eq"]])
                elif len(cond) == 1 and "$in" in cond and isinstance(cond["$in"], (list, tuple)):
                    part = self._with_value(key, list(cond["$in"]))
            else:
                part = self._with_value(key, [cond])
            if part is not None:
                narrowed = part if narrowed is None else np.intersect1d(narrowed, part, assume_unique=True)
        return narrowed

    def _with_value(self, key: str, values: list[Any]) -> np.ndarray | None:
        """Positions whose metadata ``key`` equals one of ``values`` (None: unhashable values)."""
        by_key: dict[str, dict[Any, np.ndarray] | None] = self.__dict__.setdefault("_values_cache", {})
        if key not in by_key:
            groups: dict[Any, list[int]] = {}
            try:
                for pos, meta in enumerate(self.metadatas):
                    groups.setdefault(meta.get(key), []).append(pos)
                by_key[key] = {v: np.asarray(ps, dtype=np.int64) for v, ps in groups.items()}
            except TypeError:  # a list-valued metadata field: no lookup table for it
                by_key[key] = None
        table = by_key[key]
        if table is None:
            return None
        try:
            found = [table[v] for v in values if v in table]
        except TypeError:
            return None
        return _union(found) if found else np.empty(0, dtype=np.int64)

    @classmethod
    def build(cls, chunks: Iterable[Any], version: Any = -1) -> BM25Index:
        """Index chunks: anything with ``id``, ``text`` and ``metadata`` (``StoredChunk``)
        or a ``Chunk`` (its ``metadata()`` method is called)."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        lengths: list[int] = []
        plists: dict[str, tuple[list[int], list[int]]] = {}
        for pos, chunk in enumerate(chunks):
            meta = chunk.metadata() if callable(chunk.metadata) else chunk.metadata
            ids.append(chunk.id)
            texts.append(chunk.text)
            metas.append(dict(meta))
            counts = Counter(tokenize(chunk.text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                docs, tfs = plists.setdefault(term, ([], []))
                docs.append(pos)
                tfs.append(tf)
        return cls(ids, texts, metas, np.asarray(lengths, dtype=np.float32), _Postings.from_lists(plists), version)

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        postings = self.postings
        n = postings.df(term) if isinstance(postings, _Postings) else len(postings.get(term, ((),))[0])
        return math.log(1.0 + (len(self.ids) - n + 0.5) / (n + 0.5))

    def scores(self, query: str | Sequence[str] | Mapping[str, float]) -> np.ndarray:
        """BM25 score of every indexed chunk. Query terms count once each; a mapping
        gives per-term weights (search uses it to rank alias terms below typed ones)."""
        if isinstance(query, Mapping):
            terms = dict(query)
        else:
            terms = self.query_terms(query) if isinstance(query, str) else dict.fromkeys(query, 1.0)
        total = np.zeros(len(self.ids), dtype=np.float32)
        if not len(self.ids):
            return total
        norm = self._norm()
        for term, weight in terms.items():
            if term not in self.postings:
                continue
            docs, tfs = self.postings[term]
            total[docs] += weight * self.idf(term) * tfs * (self.k1 + 1.0) / (tfs + norm[docs])
        return total

    def search(self, query: str | Sequence[str] | Mapping[str, float], k: int = 10,
               allow: Callable[[dict[str, Any]], bool] | None = None,
               positions: np.ndarray | None = None) -> list[LexicalHit]:
        """Top-k positive-scoring chunks (ties by position); ``allow`` filters on chunk
        metadata, ``positions`` (sorted, e.g. from ``allowed_positions``) limits the chunks."""
        scores = self.scores(query)
        if k <= 0:
            return []
        if positions is None:
            candidates = np.flatnonzero(scores > 0)
        else:
            positions = np.asarray(positions, dtype=np.int64)
            candidates = positions[scores[positions] > 0]
        if allow is None and len(candidates) > k:
            # Only what can reach the top k gets sorted: every chunk scoring at least the
            # k-th best score (ties at the cut kept, so the order equals a full stable sort).
            cut = len(candidates) - k
            kth = np.partition(scores[candidates], cut)[cut]
            candidates = candidates[scores[candidates] >= kth]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        hits: list[LexicalHit] = []
        for pos in order:
            score = float(scores[pos])
            if score <= 0 or len(hits) >= k:
                break
            if allow is None or allow(self.metadatas[pos]):
                hits.append(LexicalHit(int(pos), score))
        return hits

    # --- persistence ----------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index atomically (``search_file.write``: arrays, a SHA-256 per member)."""
        postings = self.postings
        assert isinstance(postings, _Postings)
        members: dict[str, np.ndarray] = {"doc_len": np.asarray(self.doc_len, dtype=np.float32),
                                          "offsets": postings.offsets, "docs": postings.docs, "tfs": postings.tfs}
        for name, values in (("ids", self.ids), ("texts", self.texts), ("terms", postings.terms),
                             ("metas", [json.dumps(m, ensure_ascii=False) for m in self.metadatas])):
            members[f"{name}_offsets"], members[f"{name}_data"] = encode(values)
        if self.vectors is not None:
            members["vectors"] = np.ascontiguousarray(self.vectors, dtype=np.float32)
        search_file.write(path, members, {"format": _FORMAT, "version": self.version, "k1": self.k1, "b": self.b,
                                          "embedder": self.embedder})
        for name in LEGACY_FILES:
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()

    @classmethod
    def load(cls, path: Path, version: Any = _UNSEEN, full: bool = False) -> BM25Index | None:
        """The saved index, or None when missing, corrupt, of another format or (with
        ``version``) stale: callers rebuild. ``full`` checks every digest even when the file's
        stamp vouches for it (see ``search_file``). Nothing in the file can run code."""
        try:
            return cls.open(path, version, full)
        except _READ_ERRORS:  # zip errors, truncation, a bit flip caught by a checksum, an object array refused
            return None

    @classmethod
    def open(cls, path: Path, version: Any = _UNSEEN, full: bool = False) -> BM25Index | None:
        """``load`` raising what is wrong (``SearchFileError`` or what reading raised), so
        ``tenderx store check`` can say it; None only when stale or of another format."""
        mapped = search_file.MappedFile(path, full=full)
        manifest = mapped.manifest
        if manifest.get("format") != _FORMAT or (version is not _UNSEEN and manifest.get("version") != version):
            return None
        mapped.open_checked()
        m = mapped.members
        columns = {name: (m[f"{name}_offsets"], m[f"{name}_data"]) for name in ("ids", "texts", "terms", "metas")}
        if not all(well_formed(*pair) for pair in columns.values()):
            raise SearchFileError("a string column's offsets do not fit its data")
        n = len(columns["ids"][0]) - 1
        postings = _Postings(TextColumn(*columns["terms"]), m["offsets"], m["docs"], m["tfs"], chunks=n)
        vectors = m.get("vectors")
        if not len(columns["texts"][0]) == len(columns["metas"][0]) == len(m["doc_len"]) + 1 == n + 1:
            raise SearchFileError("columns of different lengths")
        if not well_formed(postings.offsets, postings.docs) or len(postings.tfs) != len(postings.docs) \
                or len(postings.offsets) != len(postings) + 1:
            raise SearchFileError("postings offsets do not fit the postings")
        if vectors is not None and (vectors.ndim != 2 or len(vectors) != n):
            raise SearchFileError("vectors do not match the chunks")
        return cls(TextColumn(*columns["ids"]), TextColumn(*columns["texts"]), JsonColumn(*columns["metas"]),
                   m["doc_len"], postings, manifest.get("version"), float(manifest.get("k1", K1)),
                   float(manifest.get("b", B)), vectors=vectors, embedder=manifest.get("embedder"))


_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError,
                zipfile.BadZipFile, UnicodeDecodeError, RuntimeError)


def search_file_problem(path: Path) -> str | None:
    """What is wrong with a store's search file, every digest checked (``tenderx store check``);
    None when it is sound, missing (the next ingest or search builds it) or of an older format."""
    if not path.exists():
        return None
    try:
        BM25Index.open(path, full=True)
    except _READ_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def held_index(store: Any) -> BM25Index | None:
    """The index this Store object already loaded, if still current (never loads or builds)."""
    held = getattr(store, "_bm25_index", None)
    return held if isinstance(held, BM25Index) and held.version == store.version else None


def index_for_store(store: Any, with_vectors: bool = True) -> BM25Index:
    """The store's index: ``search-index.npz`` if it matches the store's version counter,
    else rebuilt from ``store.all_chunks()`` (and the vectors) and re-written. A store that
    cannot be written (read-only copy) searches with the index rebuilt in memory."""
    version = store.version
    held = getattr(store, "_bm25_index", None)  # one load per Store object, not one per query
    if isinstance(held, BM25Index) and held.version == version:
        return held
    path = Path(store.path) / INDEX_FILE
    index = BM25Index.load(path, version=version)
    if index is None:
        index = BM25Index.build(store.all_chunks(), version=version)
        if not len(index) and _expected_chunks(store):
            from extractor.core.errors import StoreError

            raise StoreError(
                f"cannot read the chunks of store {store.path} (read-only, or its chroma/ folder is damaged), "
                f"and its search file {path.name} is missing or out of date; search a writable copy, "
                "or re-run `tenderx ingest` on it")
        if with_vectors:
            _attach_vectors(store, index)
        with contextlib.suppress(OSError):  # a read-only store still searches, it just rebuilds each time
            index.save(path)
    store._bm25_index = index
    return index


def prepare_index(store: Any) -> bool:
    """Make the store's search file current now (the end of an ingest), so the first search
    after it costs what the others cost. Reads only the file's manifest when it is current
    already; returns True when it had to be (re)built."""
    path = Path(store.path) / INDEX_FILE
    try:
        with np.load(path, allow_pickle=False) as npz:
            manifest = json_value(npz["manifest"])
        if isinstance(manifest, dict) and manifest.get("format") == _FORMAT and manifest.get("version") == store.version:
            return False
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        pass
    index_for_store(store)
    return True


def _expected_chunks(store: Any) -> int:
    try:
        return sum(int(d.chunks) for d in store.documents())
    except Exception:  # noqa: BLE001 — only a hint for the error message above
        return 0


def _attach_vectors(store: Any, index: BM25Index) -> None:
    """Copy the chunk vectors from the store into the index (skipped for very large stores)."""
    if not index.ids or len(index.ids) > MAX_VECTORS:
        return
    name = store.embedder_name
    if name is None:
        return
    ids, matrix = store.vectors_by_id(index.ids)
    if ids != index.ids:  # a write raced the read: leave the dense side to Chroma this time
        return
    index.vectors, index.embedder = np.ascontiguousarray(matrix, dtype=np.float32), name


# --- Chroma-style `where` filters applied to BM25 candidates ----------------
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: a in b,
    "$nin": lambda a, b: a not in b,
}


def matches_where(meta: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """Evaluate a Chroma metadata ``where`` filter on one metadata dict, so the
    lexical side honours exactly the filter the dense side sends to Chroma."""
    if not where:
        return True
    for key, cond in where.items():
        if key == "$and":
            if not all(matches_where(meta, c) for c in cond):
                return False
        elif key == "$or":
            if not any(matches_where(meta, c) for c in cond):
                return False
        elif isinstance(cond, dict):
            for op, arg in cond.items():
                if op not in _OPS:
                    raise ValueError(f"unsupported where operator {op!r}")
                if not _OPS[op](meta.get(key), arg):
                    return False
        elif meta.get(key) != cond:
            return False
    return True
