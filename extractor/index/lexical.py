"""BM25 over Chinese tender text.

Dense e5 vectors blur exact identifiers (``A100`` vs ``A800``, project codes),
so a lexical index sits next to them. Tokens: jieba search-mode words plus
CJK character bigrams (robust to jieba's segmentation mistakes), and Latin /
number runs upper-cased (``a100`` == ``A100``), with letter/digit parts
(``RTX4090`` also yields ``RTX`` and ``4090``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import pickle
import re
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

K1 = 1.5
B = 0.75
INDEX_FILE = "bm25.pkl"
_FORMAT = 1
_ALLOWED_CACHE = 64  # where filters remembered per index
_UNSEEN = object()

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z0-9]+(?:[.\-_][A-Za-z0-9]+)*")
_PARTS = re.compile(r"[A-Za-z]+|[0-9]+")


def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary ships in the wheel; only the log is noisy
    return jieba


def tokenize(text: str) -> list[str]:
    """Index terms of a text (repeats kept: BM25 needs term frequencies)."""
    text = unicodedata.normalize("NFKC", text)
    tokens: list[str] = []
    jieba = None
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
            continue
        jieba = jieba or _jieba()
        tokens.extend(w for w in jieba.lcut_for_search(run) if len(w) > 1)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(_latin_tokens(text))
    return tokens


def latin_terms(text: str) -> list[str]:
    """The Latin/number terms ``tokenize`` gives for a text, without running jieba
    (identifiers like ``H20`` are only ever Latin terms; jieba is ~100x slower)."""
    return _latin_tokens(unicodedata.normalize("NFKC", text))


def _latin_tokens(normalized: str) -> list[str]:
    tokens: list[str] = []
    for word in _LATIN.findall(normalized):
        upper = word.upper()
        tokens.append(upper)
        parts = _PARTS.findall(upper)
        if len(parts) > 1:
            tokens.extend(p for p in parts if len(p) > 1)
    return tokens


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
    """Inverted index: term -> (doc positions, term frequencies) as numpy arrays."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    doc_len: np.ndarray
    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    version: int = -1
    k1: float = K1
    b: float = B
    _avgdl: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._avgdl = float(self.doc_len.mean()) if len(self.doc_len) else 0.0

    # Per-process caches, derived from the fields, never pickled (bm25.pkl keeps its format;
    # indexes pickled before they existed load fine and compute them on first use).
    _CACHES = ("_norm_cache", "_positions_cache", "_values_cache", "_allowed_cache")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._CACHES}

    def _norm(self) -> np.ndarray:
        """BM25 length normalisation per chunk (the same for every query)."""
        norm = self.__dict__.get("_norm_cache")
        if norm is None:
            norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / max(self._avgdl, 1e-9))
            self.__dict__["_norm_cache"] = norm
        return norm

    def position_of(self, chunk_id: str) -> int | None:
        """Position of a chunk id in ``ids`` (None when not indexed)."""
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
    def build(cls, chunks: Iterable[Any], version: int = -1) -> BM25Index:
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
        postings = {t: (np.asarray(d, dtype=np.int32), np.asarray(f, dtype=np.float32))
                    for t, (d, f) in plists.items()}
        return cls(ids, texts, metas, np.asarray(lengths, dtype=np.float32), postings, version)

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        n = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1.0 + (len(self.ids) - n + 0.5) / (n + 0.5))

    def scores(self, query: str | Sequence[str] | Mapping[str, float]) -> np.ndarray:
        """BM25 score of every indexed chunk. Query terms count once each; a mapping
        gives per-term weights (search uses it to rank alias terms below typed ones)."""
        if isinstance(query, Mapping):
            terms = dict(query)
        else:
            terms = dict.fromkeys(tokenize(query) if isinstance(query, str) else query, 1.0)
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
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"format": _FORMAT, "index": self}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        """The pickled index, or None when missing/corrupt/old (callers rebuild)."""
        try:
            with path.open("rb") as fh:
                data = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        index = data.get("index")
        return index if isinstance(index, cls) else None


def held_index(store: Any) -> BM25Index | None:
    """The index this Store object already loaded, if still current (never loads or builds)."""
    held = getattr(store, "_bm25_index", None)
    return held if isinstance(held, BM25Index) and held.version == store.version else None


def index_for_store(store: Any) -> BM25Index:
    """The store's BM25 index: the cached ``bm25.pkl`` if it matches the store's
    version counter, else rebuilt from ``store.all_chunks()`` and re-cached."""
    version = store.version
    held = getattr(store, "_bm25_index", None)  # one load per Store object, not one per query
    if isinstance(held, BM25Index) and held.version == version:
        return held
    path = Path(store.path) / INDEX_FILE
    index = BM25Index.load(path)
    if index is None or index.version != version:
        index = BM25Index.build(store.all_chunks(), version=version)
        with contextlib.suppress(OSError):  # a read-only store still searches, it just rebuilds each time
            index.save(path)
    store._bm25_index = index
    return index


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
