"""The lexicon's cache file: sorted ``key TAB value`` lines, looked up in place.

A cold English search needs a few dozen of the lexicon's ~89,000 keys. Reading them all into a
dict cost ~60 ms CPU a process; reading the file's bytes and finding each key by binary search
over its sorted lines costs ~2 ms, and only the values asked for are decoded. The file is plain
UTF-8 text (no pickle): a header line with the format, the entry count and the length of what
follows (a truncated file is rebuilt), then one entry a line, sorted by the key's UTF-8 bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path


class SortedLines(Mapping[str, str]):
    """A read-only mapping over the sorted lines of a cache file's bytes."""

    def __init__(self, data: bytes, body: int, count: int) -> None:
        self._data, self._body, self._count = data, body, count

    def _line(self, key: bytes) -> tuple[int, int] | None:
        """(start, end) of the value on the line whose key is ``key``: binary search between
        line starts (``lo``, and ``hi`` = a line start or the end of the data)."""
        data, lo, hi = self._data, self._body, len(self._data)
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", lo, mid) + 1 or lo
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            tab = data.find(b"\t", start, end)
            found = data[start:tab] if tab >= 0 else data[start:end]
            if found == key:
                return (tab + 1, end) if tab >= 0 else (end, end)
            if found < key:
                lo = end + 1
            else:
                hi = start
        return None

    def __getitem__(self, key: str) -> str:
        span = self._line(key.encode("utf-8"))
        if span is None:
            raise KeyError(key)
        return self._data[span[0] : span[1]].decode("utf-8", errors="replace")

    def __iter__(self) -> Iterator[str]:
        for line in self._data[self._body :].split(b"\n"):
            if line:
                yield line.split(b"\t", 1)[0].decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return self._count


def read(path: Path, header: str) -> SortedLines | None:
    """The cached entries, or None when the file is missing, of another format or truncated."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    first, sep, _ = data.partition(b"\n")
    try:
        name, count, size = first.decode("ascii").rsplit(" ", 2)
        body = len(first) + 1
        if name != header or not sep or int(size) != len(data) - body:
            return None
        return SortedLines(data, body, int(count))
    except (UnicodeDecodeError, ValueError):
        return None


def write(path: Path, header: str, entries: Mapping[str, str]) -> None:
    """Write the entries sorted by key, atomically (keys and values hold no tab or newline)."""
    body = b"".join(sorted(f"{k}\t{v}\n".encode() for k, v in entries.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(f"{header} {len(entries)} {len(body)}\n".encode("ascii") + body)
    os.replace(tmp, path)
