"""Per-document leases on a Chroma server, so writers on different machines never
write or replace the same document at once.

Chroma has no compare-and-set, but ``add`` keeps the first record of an id and
ignores later ones: a writer adds ``{owner: me}`` under the document's hash and
then reads the record back; whoever's owner is stored holds the lease. A lease
older than its TTL (a writer that died) is taken over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from extractor.core.errors import StoreError

LEASE_COLLECTION = "tenderx_leases"
LEASE_TTL = 900.0  # seconds: longer than any one document's read + embed


class LeaseHeld(StoreError):
    """Another writer holds this document's lease."""

    def __init__(self, sha256: str, owner: str) -> None:
        self.owner = owner
        super().__init__(f"document {sha256[:12]} is being written by {owner}")


class Leases:
    """Take and release leases in one server collection."""

    def __init__(self, client: Any, ttl: float = LEASE_TTL) -> None:
        self._coll = client.get_or_create_collection(LEASE_COLLECTION, embedding_function=None)
        self.ttl = ttl
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _holder(self, sha256: str) -> dict[str, Any] | None:
        got = self._coll.get(ids=[sha256], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def try_take(self, sha256: str) -> bool:
        """True when this writer now holds the lease (raises nothing; False: someone else's)."""
        for _ in range(3):
            now = time.time()
            self._coll.add(ids=[sha256], embeddings=[[1.0]],
                           metadatas=[{"owner": self.me, "expires": now + self.ttl}])
            holder = self._holder(sha256)
            if holder is None:
                continue  # released between our add and get: try again
            if holder.get("owner") == self.me:
                return True
            if float(holder.get("expires", 0)) >= now:
                return False
            self._coll.delete(ids=[sha256])  # a dead writer's lease
        return False

    def take(self, sha256: str, wait: float | None = None) -> None:
        """Take the lease, waiting up to ``wait`` seconds (default: the TTL) for its holder."""
        deadline = time.monotonic() + (self.ttl if wait is None else wait)
        delay = 0.05
        while not self.try_take(sha256):
            if time.monotonic() > deadline:
                holder = self._holder(sha256) or {}
                raise LeaseHeld(sha256, str(holder.get("owner", "another writer")))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def owner(self, sha256: str) -> str | None:
        """Who holds a live lease on this document (None when nobody does)."""
        holder = self._holder(sha256)
        if holder is None or float(holder.get("expires", 0)) < time.time():
            return None
        return str(holder.get("owner"))

    def release(self, sha256: str) -> None:
        holder = self._holder(sha256)
        if holder is not None and holder.get("owner") == self.me:
            self._coll.delete(ids=[sha256])
