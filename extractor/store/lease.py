"""Per-document leases on a Chroma server, so writers on different machines never
write or replace the same document at once.

Chroma has no compare-and-set, but ``add`` keeps the first record of an id and
ignores later ones: a writer adds ``{owner: me}`` under the document's hash and
then reads the record back; whoever's owner is stored holds the lease.

A holder renews its leases every few seconds (a heartbeat thread), each renewal good for
``stale`` seconds; a writer that was killed stops renewing, and its lease is taken over once
the window passes — a minute, not the quarter of an hour a whole document may take. A waiting
writer says whom it waits for and how long it may wait.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from extractor.core.errors import StoreError

LEASE_COLLECTION = "tenderx_leases"
LEASE_TTL = 900.0  # seconds: the longest a writer waits for a live holder (any one document's read + embed)
LEASE_STALE = 60.0  # seconds: a lease not renewed within this is a dead writer's (TENDERX_LEASE_STALE)
WaitNotice = Callable[[str], None]


def stale_window() -> float:
    """LEASE_STALE, or TENDERX_LEASE_STALE seconds (at least 1)."""
    raw = os.environ.get("TENDERX_LEASE_STALE", "").strip()
    try:
        return max(1.0, float(raw)) if raw else LEASE_STALE
    except ValueError:
        return LEASE_STALE


class LeaseHeld(StoreError):
    """Another writer holds this document's lease."""

    def __init__(self, sha256: str, owner: str) -> None:
        self.owner = owner
        super().__init__(f"document {sha256[:12]} is being written by {owner}")


class Leases:
    """Take and release leases in one server collection."""

    def __init__(self, client: Any, ttl: float = LEASE_TTL, stale: float | None = None) -> None:
        self._coll = client.get_or_create_collection(LEASE_COLLECTION, embedding_function=None)
        self.ttl = ttl
        self.stale = stale if stale is not None else stale_window()
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: set[str] = set()
        self._io = threading.Lock()  # one request at a time from the heartbeat and the writer
        self._beating: threading.Thread | None = None
        self._stop = threading.Event()

    def _mine(self, now: float) -> dict[str, Any]:
        return {"owner": self.me, "expires": now + self.stale, "renewed": now}

    def _heartbeat(self) -> None:
        """Renew every held lease each quarter of the stale window while this process lives."""
        while not self._stop.wait(self.stale / 4):
            for sha in list(self._held):
                with contextlib.suppress(Exception), self._io:  # a missed beat is retried; 4 fit in the window
                    holder = self._holder(sha)
                    if holder is not None and holder.get("owner") == self.me:
                        self._coll.update(ids=[sha], metadatas=[self._mine(time.time())])

    def _start_heartbeat(self) -> None:
        if self._beating is None or not self._beating.is_alive():
            self._beating = threading.Thread(target=self._heartbeat, name="tenderx-lease-heartbeat", daemon=True)
            self._beating.start()

    def _holder(self, sha256: str) -> dict[str, Any] | None:
        got = self._coll.get(ids=[sha256], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def try_take(self, sha256: str) -> bool:
        """True when this writer now holds the lease (raises nothing; False: someone else's)."""
        for _ in range(3):
            now = time.time()
            with self._io:
                self._coll.add(ids=[sha256], embeddings=[[1.0]], metadatas=[self._mine(now)])
                holder = self._holder(sha256)
                if holder is None:
                    continue  # released between our add and get: try again
                if holder.get("owner") == self.me:
                    self._held.add(sha256)
                    self._start_heartbeat()
                    return True
                if float(holder.get("expires", 0)) >= now:
                    return False
                self._coll.delete(ids=[sha256])  # a dead writer's lease: not renewed in time
        return False

    def take(self, sha256: str, wait: float | None = None, on_wait: WaitNotice | None = None) -> None:
        """Take the lease, waiting up to ``wait`` seconds (default: the TTL) for its holder;
        ``on_wait`` is told once, in a sentence, whom this writer waits for and how long."""
        limit = self.ttl if wait is None else wait
        deadline = time.monotonic() + limit
        delay = 0.05
        told = False
        while not self.try_take(sha256):
            if not told and on_wait is not None and limit > 0:
                told = True
                on_wait(self.waiting_for(sha256, limit))
            if time.monotonic() > deadline:
                holder = self._holder(sha256) or {}
                raise LeaseHeld(sha256, str(holder.get("owner", "another writer")))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def owner(self, sha256: str) -> str | None:
        """Who holds a live lease on this document (None when nobody does)."""
        with self._io:
            holder = self._holder(sha256)
        if holder is None or float(holder.get("expires", 0)) < time.time():
            return None
        return str(holder.get("owner"))

    def waiting_for(self, sha256: str, limit: float) -> str:
        """What a writer waiting for this document's lease is waiting for, and for how long."""
        with self._io:
            holder = self._holder(sha256) or {}
        now = time.time()
        expires = float(holder.get("expires", now))
        renewed = holder.get("renewed")
        ago = f", last renewed {now - float(renewed):.0f}s ago" if renewed is not None else ""
        return (f"document {sha256[:12]} is being written by {holder.get('owner', 'another writer')}{ago}: "
                f"waiting for it to finish; taken over if its lease is not renewed within "
                f"{max(0.0, expires - now):.0f}s (a writer that died stops renewing); giving up after {limit:.0f}s")

    def release(self, sha256: str) -> None:
        self._held.discard(sha256)
        with self._io:
            holder = self._holder(sha256)
            if holder is not None and holder.get("owner") == self.me:
                self._coll.delete(ids=[sha256])

    def close(self) -> None:
        """Stop renewing (the leases still held then lapse after the stale window)."""
        self._stop.set()
