"""Calls into one module's functions, run in worker processes with the reader's time and memory bound.

Why: the desk renders pages and reads single pages on request. One hostile file (a 14,400-pt page,
a content stream that loops) must cost one worker — killed at the time limit or stopped by its
address-space limit — not gigabytes in the server and every other request blocked. The workers
are the same kind ``GuardedReader`` uses for ingest (forkserver, ``RLIMIT_AS``, same environment
bounds); this pool runs named functions instead of whole-document reads, and keeps each worker's
module state (open documents) between calls.

    calls = BoundedCalls("extractor.desk.page_work", workers=2)
    png = calls.call("render_png", "/docs/a.pdf", 1, 2.0)   # or raises ReadError
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from extractor.core.errors import ReadError
from extractor.read.guard import (
    DEFAULT_MAX_MEMORY_MB,
    DEFAULT_TIMEOUT,
    _context,
    _limit_memory,
    _without_main_module,
)

__all__ = ["BoundedCalls"]

_JOIN_SECONDS = 2.0


def _call_worker(conn: Connection, module_name: str, max_memory_mb: int | None) -> None:
    """Worker loop: receive (function name, args), send ('ok', result) or ('error', kind, message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory(max_memory_mb)
    module = importlib.import_module(module_name)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if request is None:
            os._exit(0)
        name, args = request
        try:
            reply: tuple[Any, ...] = ("ok", getattr(module, name)(*args))
        except ReadError as e:
            reply = ("error", e.kind, e.message)
        except MemoryError:
            reply = ("error", "memory", "")
        except Exception as e:  # noqa: BLE001 — a library failing on a hostile file is one line for the user
            reply = ("error", "unreadable", f"{type(e).__name__}: {str(e).strip()[:200]}")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", "memory", ""))
        except (BrokenPipeError, OSError):
            os._exit(0)
        del reply


class _Worker:
    def __init__(self, module: str, max_memory_mb: int | None) -> None:
        self.conn, child = _context.Pipe(duplex=True)
        self.process = _context.Process(target=_call_worker, args=(child, module, max_memory_mb),
                                        name="tenderx-bounded", daemon=True)
        with _without_main_module():
            self.process.start()
        child.close()

    def stop(self, kill: bool = False) -> None:
        if not kill:
            with contextlib.suppress(Exception):
                self.conn.send(None)
            with contextlib.suppress(Exception):
                self.process.join(_JOIN_SECONDS)
        with contextlib.suppress(Exception):
            if self.process.is_alive():
                self.process.kill()
                self.process.join(_JOIN_SECONDS)
        with contextlib.suppress(Exception):
            self.conn.close()


class BoundedCalls:
    """``call(name, *args)`` on ``module`` in a pool of bounded worker processes (thread-safe).

    Raises ``ReadError`` with kind ``timeout`` (the worker is killed and replaced), ``memory``
    (it hit ``max_memory_mb`` or died), or the kind of the ReadError the function raised.
    Arguments and results must pickle; a worker is started on first use.
    """

    def __init__(self, module: str, workers: int = 1, timeout: float = DEFAULT_TIMEOUT,
                 max_memory_mb: int | None = DEFAULT_MAX_MEMORY_MB) -> None:
        self.module = module
        self.timeout = float(timeout)
        self.max_memory_mb = max_memory_mb
        self._slots = threading.BoundedSemaphore(max(1, int(workers)))
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        self.replaced = 0  # workers killed (timeouts, memory); for tests

    @classmethod
    def from_env(cls, module: str, workers: int = 1) -> BoundedCalls:
        """The bounds ingest reads files with: TENDERX_PDF_TIMEOUT (s), TENDERX_PDF_MEMORY_MB."""
        from extractor.read.guard import GuardedReader

        reader = GuardedReader.from_env(workers=1, ocr=False)  # parses the variables; starts no process
        return cls(module, workers=workers, timeout=reader.timeout, max_memory_mb=reader.max_memory_mb)

    def call(self, name: str, *args: Any) -> Any:
        with self._slots:
            worker = self._take()
            healthy = False
            try:
                reply = self._exchange(worker, name, args)
                healthy = reply[0] == "ok" or reply[1] != "memory"
            finally:
                self._give_back(worker, healthy)
        if reply[0] == "ok":
            return reply[1]
        _, kind, message = reply
        if kind == "memory":
            limit = f" ({self.max_memory_mb} MB limit, TENDERX_PDF_MEMORY_MB)" if self.max_memory_mb else ""
            message = f"needs more memory than allowed{limit}"
        raise ReadError(kind, message)

    def _exchange(self, worker: _Worker, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        try:
            worker.conn.send((name, args))
            if not worker.conn.poll(self.timeout):
                return ("error", "timeout", f"gave up after {self.timeout:g}s (TENDERX_PDF_TIMEOUT): "
                        "too slow to render or read")
            reply: tuple[Any, ...] = worker.conn.recv()
            return reply
        except (BrokenPipeError, EOFError, OSError):
            with contextlib.suppress(Exception):
                worker.process.join(_JOIN_SECONDS)
            code = worker.process.exitcode
            what = f"killed (signal {-code})" if code is not None and code < 0 else "stopped"
            return ("error", "memory", f"the worker was {what}")

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise ReadError("closed", "the desk is shutting down")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            worker = _Worker(self.module, self.max_memory_mb)
            with self._lock:
                self._all.add(worker)
            return worker

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        """An answered worker goes back to the pool; one that timed out or ran out is killed
        (its replacement starts on the next call)."""
        with self._lock:
            closed = self._closed
            if not healthy or closed:
                self._all.discard(worker)
                self.replaced += not healthy
        if healthy and not closed:
            self._idle.put(worker)
        else:
            worker.stop(kill=not healthy)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None and w.process.is_alive()]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        deadline = time.monotonic() + _JOIN_SECONDS
        for w in workers:
            w.stop(kill=time.monotonic() > deadline)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
