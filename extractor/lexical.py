"""BM25 over Chinese tender text.

Dense e5 vectors blur exact identifiers (``A100`` vs ``A800``, project codes),
so a lexical index sits next to them. Tokens: jieba search-mode words plus
CJK character bigrams (robust to jieba's segmentation mistakes), and Latin /
number runs upper-cased (``a100`` == ``A100``), with letter/digit parts
(``RTX4090`` also yields ``RTX`` and ``4090``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

K1 = 1.5
B = 0.75
INDEX_FILE = "bm25.pkl"
_FORMAT = 1

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
    for word in _LATIN.findall(text):
        upper = word.upper()
        tokens.append(upper)
        parts = _PARTS.findall(upper)
        if len(parts) > 1:
            tokens.extend(p for p in parts if len(p) > 1)
    return tokens


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
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / max(self._avgdl, 1e-9))
        for term, weight in terms.items():
            if term not in self.postings:
                continue
            docs, tfs = self.postings[term]
            total[docs] += weight * self.idf(term) * tfs * (self.k1 + 1.0) / (tfs + norm[docs])
        return total

    def search(self, query: str | Sequence[str] | Mapping[str, float], k: int = 10,
               allow: Callable[[dict[str, Any]], bool] | None = None) -> list[LexicalHit]:
        """Top-k positive-scoring chunks; ``allow`` filters on chunk metadata."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
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
