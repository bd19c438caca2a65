"""What a chunk looks like as the store holds it, and the ids it is stored under."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.document import Chunk


@dataclass
class StoredChunk:
    """A chunk as the store holds it: Chroma id, text and flat metadata."""

    id: str
    text: str
    metadata: dict[str, Any]

    @property
    def file(self) -> str:
        return str(self.metadata.get("file", ""))

    @property
    def page(self) -> int:
        return int(self.metadata.get("page_start", 0))

    @property
    def sha256(self) -> str:
        return str(self.metadata.get("doc_sha256", ""))

    # the Chunk fields, so a StoredChunk can stand in where a Chunk is read
    @property
    def doc_sha256(self) -> str:
        return self.sha256

    @property
    def page_start(self) -> int:
        return int(self.metadata.get("page_start", 0))

    @property
    def page_end(self) -> int:
        return int(self.metadata.get("page_end", self.page_start))

    @property
    def char_start(self) -> int:
        return int(self.metadata.get("char_start", 0))

    @property
    def char_end(self) -> int:
        return int(self.metadata.get("char_end", 0))

    @property
    def index(self) -> int:
        return int(self.metadata.get("index", 0))

    @property
    def tokens(self) -> int:
        return int(self.metadata.get("tokens", 0))

    def to_chunk(self) -> Chunk:
        return Chunk(id=self.id, doc_sha256=self.sha256, file=self.file, text=self.text,
                     page_start=self.page_start, page_end=self.page_end, char_start=self.char_start,
                     char_end=self.char_end, index=self.index, tokens=self.tokens)


def path_key(path: str | Path) -> str:
    """The canonical form a document path is stored under (absolute, resolved, printable:
    undecodable name bytes as ``\\xNN`` so SQLite and Chroma can hold it)."""
    from extractor.core.paths import canonical, display_path

    return display_path(canonical(path))


def chunk_id(path: str, sha256: str, index: int) -> str:
    """Stable per (path, content, position): copies at two paths never collide."""
    where = hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]
    return f"{sha256[:16]}-{where}-{index:05d}"


def shared_chunk_id(sha256: str, index: int) -> str:
    """On a server documents are keyed by content: every writer of one writes the same ids."""
    return f"{sha256[:32]}-{index:05d}"
