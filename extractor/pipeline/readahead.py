"""Read the next file or two while the current one is embedded.

Why: reading (pypdf, OCR in the guarded worker process) and embedding use
different resources; done strictly one after the other, a remote embedding
server idles while the client parses and the client idles while the server
embeds. One background thread reads (and chunks) files in the order given,
at most ``depth`` ahead of the one being stored. It never touches the store:
ingest still claims each document, checks it is not already stored, and only
then takes the prepared result, so nothing is stored early and a document
another writer holds is still put off. A read that failed raises its error when
its file's turn comes, so it lands in the report for that file.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
OcrHook = Callable[[Path, int, int], None]


class ReadAhead(Generic[T]):
    """``prepare(path, sha)`` run ahead in one thread for up to ``depth`` files beyond the current one."""

    def __init__(self, prepare: Callable[[Path, str], T], depth: int) -> None:
        self._prepare = prepare
        self.depth = max(0, depth)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="tenderx-read") if self.depth else None
        self._pending: OrderedDict[tuple[Path, str], Future[T]] = OrderedDict()

    def offer(self, path: Path, sha: str) -> bool:
        """Start preparing ``path`` (True) unless the window (current + depth files) is full (False)."""
        key = (path, sha)
        if key in self._pending:
            return True
        if self._pool is None or len(self._pending) > self.depth:
            return False
        self._pending[key] = self._pool.submit(self._prepare, path, sha)
        return True

    def get(self, path: Path, sha: str) -> T:
        """The prepared result (re-raising the read's error), prepared now if it was not read ahead."""
        future = self._pending.pop((path, sha), None)
        if future is None or future.cancelled():
            return self._prepare(path, sha)
        return future.result()

    def discard(self, path: Path, sha: str | None) -> None:
        """Forget a result that was not used (the file was unchanged, deferred or failed first)."""
        if sha is not None and (future := self._pending.pop((path, sha), None)) is not None:
            future.cancel()

    def close(self) -> None:
        """Cancel reads not yet started; one under way finishes in the background (its worker is bounded)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class OcrGate:
    """An ``ocr_page(path, done, total)`` hook passed on only for the file being ingested; a file
    still ahead has its latest OCR progress held and replayed when its turn comes, so a progress
    bar never jumps between files. May be called from the read-ahead thread."""

    def __init__(self, hook: OcrHook) -> None:
        self._hook = hook
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._held: dict[Path, tuple[int, int]] = {}

    def __call__(self, path: Path, done: int, total: int) -> None:
        with self._lock:
            if path != self._current:
                self._held[path] = (done, total)
                return
        self._hook(path, done, total)

    def begin(self, path: Path) -> None:
        """``path`` is now the file being ingested: replay what was held for it, pass on the rest."""
        with self._lock:
            self._current = path
            held = self._held.pop(path, None)
        if held is not None:
            self._hook(path, *held)
