"""``--shard I/N``: split a corpus between N machines (or CI jobs) by document hash.

The share a file falls in depends only on its content (sha256), never on its
name, the folder it was found in or the machine, so N runs over the same files
take disjoint shares that together are the whole corpus, and a file that was
renamed or copied stays in its share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extractor.core.errors import UsageError


@dataclass(frozen=True)
class Shard:
    """Share ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> Shard(2, 4); a UsageError names what is wrong."""
        left, sep, right = text.strip().partition("/")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise UsageError(f"--shard takes I/N (e.g. 1/4), got {text!r}")
        index, count = int(left), int(right)
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard {text}: I must be between 1 and N (shares are numbered 1..N)")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def takes(self, sha256: str) -> bool:
        """True when a document with this content hash belongs to this share."""
        return int(sha256[:16], 16) % self.count == self.index - 1

    def suffix(self) -> str:
        """What output files of this share are named with (records.shard-1-of-4.jsonl)."""
        return f"shard-{self.index}-of-{self.count}"

    def output_path(self, path: Path) -> Path:
        """``out/records.jsonl`` -> ``out/records.shard-I-of-N.jsonl`` (N shares can share a folder)."""
        return path.with_name(f"{path.stem}.{self.suffix()}{path.suffix}")


def content_key(path: Path) -> str:
    """The file's sha256; for a file that cannot be read, a hash of its path (still deterministic)."""
    from extractor.read.pdf import file_sha256

    try:
        return file_sha256(path)
    except Exception:  # noqa: BLE001 — the reader reports the failure; sharding only needs a key
        return hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()


def select(files: Iterable[Path], shard: Shard | None) -> list[Path]:
    """The files of this share, in the given order (all of them when ``shard`` is None)."""
    files = list(files)
    if shard is None or shard.count == 1:
        return files
    return [f for f in files if shard.takes(content_key(f))]
