"""Index terms of tender text, and the terms of a query.

Chunks are indexed with jieba search-mode words plus CJK character bigrams
(robust to jieba's segmentation mistakes) and Latin/number words upper-cased
(``a100`` == ``A100``, full-width folded by NFKC).

Model numbers and codes stay whole: ``A100``, ``RTX4090D``, ``HFACC-2024-ZB-0031``
are one term each. Their letter parts (``RTX``, ``HFACC``) and model-like
segments (``A100`` in ``A100-SXM4``) are terms too, and a letters word followed
by a model word (``RTX 4090D``) is also indexed joined (``RTX4090D``), so the
spaced and unspaced spellings meet. A *bare number inside* a word (``100`` in
``100KVA`` or ``A100``) is indexed only as the part term ``#100``: a query
for ``A100`` never matches ``100KVA`` through ``100``, and only a query that
is itself a bare number (``4090``) reaches those parts, at a low weight.

Queries are cut without jieba (it costs ~0.5 s to load): CJK bigrams plus every
longer substring the index vocabulary holds, which covers what jieba's search
mode would have produced on the indexed text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Container
from typing import Any, TypeVar

T = TypeVar("T")

PART = "#"  # prefix of a number that is part of a longer word
PART_WEIGHT = 0.3  # weight of part terms for a bare-number query
MAX_WORD = 8  # longest CJK vocabulary word looked up for a query

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z0-9]+(?:[.\-_][A-Za-z0-9]+)*")
_PARTS = re.compile(r"[A-Za-z]+|[0-9]+")
# words of a text with what separates them (to join "RTX 4090D" only when nothing else is between)
_LATIN_SPAN = re.compile(r"[A-Za-z0-9]+(?:[.\-_][A-Za-z0-9]+)*|\S")
_LETTERS = re.compile(r"[A-Z]{2,6}")
_MIXED = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]+")


def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary ships in the wheel; only the log is noisy
    return jieba


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def is_model_number(term: str) -> bool:
    """Letters and digits mixed in one word (H20, A800, 910B, MLU370, RTX4090D)."""
    return bool(_MIXED.fullmatch(term))


def is_code(term: str) -> bool:
    """A project/tender code: separated segments, at least one with a digit and one with a letter
    (HFACC-2024-ZB-0031, SZU-XJ-2024-0186); a plain date or decimal is not a code."""
    segs = re.split(r"[.\-_]", term)
    return len(segs) >= 3 and any(c.isdigit() for c in term) and any(c.isalpha() for c in term)


def _word_terms(word: str, out: list[str]) -> None:
    """Terms of one Latin word (already upper-cased)."""
    out.append(word)
    segments = re.split(r"[.\-_]", word)
    if len(segments) > 1:
        for seg in segments:
            if not seg or seg == word:
                continue
            if seg.isdigit():
                out.append(PART + seg)
            elif len(seg) > 1:
                _word_terms(seg, out)
        return
    parts = _PARTS.findall(word)
    if len(parts) < 2:
        return
    for p in parts:
        if p.isdigit():
            out.append(PART + p)
        elif len(p) > 1:
            out.append(p)
    if parts[0].isalpha() and len(parts) > 2:  # RTX4090D -> 4090D (the model after its family letters)
        out.append(word[len(parts[0]):])


def latin_terms(text: str) -> list[str]:
    """The Latin/number terms of a text (identifiers like ``H20`` are only ever Latin terms;
    jieba is ~100x slower, so candidates are checked with this)."""
    return _latin_terms(normalize(text))


def _latin_terms(normalized: str, wholes: list[bool] | None = None) -> list[str]:
    """Latin terms in order; ``wholes`` (if given) gets True for each term that is a word as
    written (or two joined), False for the parts derived from one."""
    terms: list[str] = []
    prev: str | None = None
    for m in _LATIN_SPAN.finditer(normalized):
        word = m.group()
        if not (word[0].isascii() and word[0].isalnum()):
            prev = None
            continue
        upper = word.upper()
        start = len(terms)
        _word_terms(upper, terms)
        if prev is not None and _LETTERS.fullmatch(prev) and upper[0].isdigit() and len(upper) >= 2:
            terms.append(prev + upper)  # RTX 4090D -> RTX4090D, RTX 4090 -> RTX4090
        if wholes is not None:
            wholes.extend(i == start or (i == len(terms) - 1 and terms[i] == (prev or "") + upper)
                          for i in range(start, len(terms)))
        prev = upper
    return terms


def tokenize(text: str) -> list[str]:
    """Index terms of a text (repeats kept: BM25 needs term frequencies)."""
    text = normalize(text)
    tokens: list[str] = []
    jieba = None
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
            continue
        jieba = jieba or _jieba()
        tokens.extend(w for w in jieba.lcut_for_search(run) if len(w) > 1)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(_latin_terms(text))
    return tokens


def cjk_query_terms(run: str, vocabulary: Container[str] | None) -> list[str]:
    """Terms of one CJK run of a query: bigrams, and longer substrings the index holds
    (all substrings up to MAX_WORD when there is no vocabulary to check against)."""
    if len(run) == 1:
        return [run]
    terms = [run[i : i + 2] for i in range(len(run) - 1)]
    for size in range(3, min(len(run), MAX_WORD) + 1):
        for i in range(len(run) - size + 1):
            word = run[i : i + size]
            if vocabulary is None or word in vocabulary:
                terms.append(word)
    return terms


def query_tokens(text: str, vocabulary: Container[str] | None = None) -> dict[str, float]:
    """Terms of query text with weights: words as typed 1, their letter/model parts PART_WEIGHT
    (``HFACC`` of a typed code must not rank another HFACC code first); a typed bare number
    also reaches the numbers inside longer words (``#4090`` in ``RTX4090``) at PART_WEIGHT.
    The number parts of typed model numbers are never searched (``A100`` must not find
    ``100KVA``)."""
    text = normalize(text)
    out: dict[str, float] = {}
    for run in _CJK_RUN.findall(text):
        for t in cjk_query_terms(run, vocabulary):
            out.setdefault(t, 1.0)
    wholes: list[bool] = []
    for term, whole in zip(_latin_terms(text, wholes), wholes, strict=True):
        if term.startswith(PART):
            continue
        out[term] = max(out.get(term, 0.0), 1.0 if whole else PART_WEIGHT)
        if whole and term.isdigit():
            out.setdefault(PART + term, PART_WEIGHT)
    return out


def longest_runs(n: int, longest: int, find: Callable[[int, int], T | None]) -> list[tuple[int, int, T]]:
    """Greedy longest match over ``n`` words: at each position the longest span (at most ``longest``
    words) that ``find(start, size)`` accepts, then on after it; (start, end, found) per span. The
    glossary and the dictionary phrase look-ups both walk a query this way."""
    out: list[tuple[int, int, T]] = []
    i = 0
    while i < n:
        for size in range(min(longest, n - i), 0, -1):
            found = find(i, size)
            if found:
                out.append((i, i + size, found))
                i += size
                break
        else:
            i += 1
    return out
