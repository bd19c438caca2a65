"""Strings kept as one UTF-8 byte array plus offsets, decoded only when asked for.

Why: the search file holds every chunk's id, text and metadata; a search needs a few dozen of
them (its hits), so decoding all of them at open was most of a new process's first search.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

_SEEN_MAX = 100_000  # vocabulary look-ups remembered per open file


def encode(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data): value i is ``data[offsets[i]:offsets[i + 1]]`` in UTF-8."""
    parts = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts)), out=offsets[1:])
    return offsets, np.frombuffer(b"".join(parts), dtype=np.uint8)


def well_formed(offsets: np.ndarray, data: np.ndarray) -> bool:
    """Offsets start at 0, never decrease and end at the data's length."""
    return (offsets.ndim == 1 and len(offsets) >= 1 and int(offsets[0]) == 0
            and int(offsets[-1]) == len(data) and bool(np.all(np.diff(offsets) >= 0)))


class TextColumn(Sequence[str]):
    """A read-only list of strings over (offsets, data)."""

    def __init__(self, offsets: np.ndarray, data: np.ndarray) -> None:
        self.offsets, self.data = offsets, data

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self.data[int(self.offsets[i]):int(self.offsets[i + 1])].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        blob = self.data.tobytes()
        bounds = self.offsets.tolist()
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            yield blob[lo:hi].decode("utf-8")


class JsonColumn(Sequence[dict[str, Any]]):
    """A read-only list of JSON objects (chunk metadata) over (offsets, data); a full pass
    (a ``where`` filter) decodes them all once and keeps them."""

    def __init__(self, offsets: np.ndarray, data: np.ndarray) -> None:
        self.text = TextColumn(offsets, data)
        self._all: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.text)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if self._all is not None:
            return self._all[i]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return _as_dict(json.loads(self.text[i]))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._all is None:
            self._all = [_as_dict(json.loads(s)) for s in self.text]
        return iter(self._all)


def _as_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("chunk metadata is not an object")
    return value


class SortedTerms(Mapping[str, int]):
    """term -> its position, over a column of terms in sorted order (binary search, with the
    terms already looked up remembered): the vocabulary is not turned into a dict at open."""

    def __init__(self, terms: TextColumn) -> None:
        self.terms = terms
        self._seen: dict[str, int | None] = {}

    def get(self, term: str, default: Any = None) -> Any:
        found = self._seen.get(term, -1)
        if found == -1:
            i = bisect.bisect_left(self.terms, term)
            found = i if i < len(self.terms) and self.terms[i] == term else None
            if len(self._seen) >= _SEEN_MAX:  # a long-running desk: start over rather than grow
                self._seen.clear()
            self._seen[term] = found
        return default if found is None else found

    def __getitem__(self, term: str) -> int:
        found = self.get(term)
        if found is None:
            raise KeyError(term)
        return int(found)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)
