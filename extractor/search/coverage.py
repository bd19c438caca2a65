"""What a chunk covers of a query: which of its concepts (model numbers, codes, words) a hit really
contains, and in which sense (an NVIDIA A100 vs an analyser named A100), so a hit is judged good or not."""

from __future__ import annotations

from typing import Any

import numpy as np

from extractor.search.lexical import BM25Index
from extractor.search.query import Query
from extractor.search.terms import tokenize
from extractor.store.store import StoredChunk


class Judge:
    """Coverage of the query's concepts per chunk, and the watchlist sense of its model numbers."""

    def __init__(self, index: BM25Index, q: Query) -> None:
        self.index, self.q = index, q
        self._idf: dict[str, float] = {}
        self._watchlist = _watchlist() if (q.sense or q.anti_sense) else None

    def idf(self, term: str) -> float:
        if term not in self._idf:
            self._idf[term] = self.index.idf(term)
        return self._idf[term]

    def terms_in(self, chunk: StoredChunk) -> set[str]:
        pos = self.index.position_of(chunk.id)
        wanted = {t for c in self.q.concepts for a in c.alternatives for t in a}
        if pos is None:  # not in the index (a write after it was loaded): tokenise the text
            return wanted & set(tokenize(chunk.text))
        return {t for t in wanted if t in self.index.postings and _contains(self.index.postings[t][0], pos)}

    def wrong_sense(self, chunk: StoredChunk) -> bool:
        """The query means a watched item (英伟达 A100) and the chunk's mention is another thing,
        or the query means the other thing (H100型 试验箱) and the chunk names the watched item."""
        if self._watchlist is None:
            return False
        try:
            loose = {m.canonical for m in self._watchlist.find_mentions(chunk.text, use_context=False)}
            if not loose & (self.q.sense | self.q.anti_sense):
                return False
            strict = {m.canonical for m in self._watchlist.find_mentions(chunk.text, use_context=True)}
        except Exception:  # noqa: BLE001
            return False
        named = loose & self.q.sense
        if named and not named & strict:
            return True
        anti = loose & self.q.anti_sense
        return bool(anti) and anti <= strict

    def head_covered(self, present: set[str]) -> bool | None:
        """Whether the chunk holds half of some spelling of a concept naming the thing bought (one
        before the query's for/in/at…); None when the query does not set that thing apart."""
        if not self.q.has_head:
            return None
        return any(self._share(c.alternatives, present) >= 0.5 for c in self.q.concepts if not c.tail)

    def _share(self, alternatives: list[dict[str, float]], present: set[str]) -> float:
        """The largest idf-weighted share of one spelling's terms the chunk holds."""
        best = 0.0
        for alt in alternatives:
            idfs = {t: self.idf(t) for t in ({t: w for t, w in alt.items() if w >= 1.0} or alt)}
            if idfs:
                best = max(best, sum(v for t, v in idfs.items() if t in present) / max(sum(idfs.values()), 1e-9))
        return best

    def coverage(self, present: set[str], wrong: bool, by_spelling: bool = True) -> tuple[float, bool]:
        """(idf-weighted share of concepts matched, every identifier concept matched).

        ``by_spelling`` (the relevance floor): a concept weighs what its main spelling weighs (as
        typed; for a translated word its first Chinese: services -> 服务, not the rare English word
        SERVICES of one AWS page), and a chunk earns the weight of the spelling it holds, so a page
        that only says the everyday 开展 and 服务 does not cover "satellite launch services".
        Without it (ranking), a concept weighs as its rarest spelling and any spelling earns it all:
        an English word reaches Chinese text through several translations, and which one a right
        page uses says little about the page."""
        total = got = 0.0
        identifiers_ok = True
        for c in self.q.concepts:
            best = 0.0
            credit = 0.0  # the best (share of a spelling the chunk holds) x (that spelling's weight)
            weights: list[float] = []
            for alt in c.alternatives:
                typed = {t: w for t, w in alt.items() if w >= 1.0} or alt
                idfs = {t: self.idf(t) for t in typed}
                known = [v for t, v in idfs.items() if t in self.index.postings]
                weights.append(max(known) if known else 0.0)
                if not idfs:
                    continue
                share = sum(v for t, v in idfs.items() if t in present) / max(sum(idfs.values()), 1e-9)
                best = max(best, share)
                credit = max(credit, weights[-1] * share)
            main = weights[1 if c.translated and len(weights) > 1 else 0] if weights else 0.0
            weight = (main if by_spelling else 0.0) or max(weights, default=0.0)
            if not weight and c.alternatives:  # no spelling of it is in the index: it weighs as a rare term
                weight = max((self.idf(t) for t in c.alternatives[0]), default=0.0)
            credit = min(credit, weight) if by_spelling else weight * best
            if c.identifier:
                matched = best >= 0.999 and not wrong
                identifiers_ok = identifiers_ok and matched
                credit = weight * best if matched else 0.0
            total += weight
            got += credit
        return (got / total if total else 0.0), identifiers_ok


def _contains(sorted_positions: np.ndarray, pos: int) -> bool:
    i = int(np.searchsorted(sorted_positions, pos))
    return i < len(sorted_positions) and int(sorted_positions[i]) == pos


def _watchlist() -> Any:
    try:
        from extractor.core.watchlist import default_watchlist

        return default_watchlist()
    except Exception:  # noqa: BLE001
        return None


