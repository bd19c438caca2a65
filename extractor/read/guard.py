"""A bounded PDF reader: pypdf runs in persistent worker processes with a time
and memory limit per file.

Why: one pathological PDF (a 50 MB content stream, a decompression bomb, a
parser loop or crash inside pypdf) must not hang or kill a batch of thousands.
Each worker is a separate process with ``RLIMIT_AS`` set; a file that takes
longer than ``timeout`` gets its worker killed and replaced, a worker that
dies (MemoryError, segfault) costs only that file. Workers are reused across
files, so the per-file cost is one pipe round-trip, not a new interpreter.

    with GuardedReader(workers=2, timeout=60, max_memory_mb=1024) as reader:
        doc = reader.read("notice.pdf")   # Document, or raises PdfError
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import resource
import signal
import threading
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from extractor.core.document import Document
from extractor.read.pdf import PdfError, read_pdf

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_MEMORY_MB = 1024
DEFAULT_MAX_FILE_MB = 1024
_JOIN_SECONDS = 2.0
log = logging.getLogger("tenderx.guard")
_PAGE_FAILED = "text extraction failed"

# forkserver: workers start from a clean, single-threaded process with pypdf already imported
# (forking the multi-threaded CLI process itself could inherit held locks).
_context: Any = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if _context.get_start_method() == "forkserver":
    _context.set_forkserver_preload(["extractor.read.pdf"])


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return " ".join(lines[0].split())[:200] if lines else ""


def pypdf_failure(e: BaseException) -> PdfError:
    """An unexpected exception from inside pypdf as a one-line ``unreadable`` error."""
    if isinstance(e, MemoryError):
        return PdfError("memory", "PDF needs too much memory to parse")
    first = _one_line(e)
    return PdfError("unreadable", f"text extraction failed inside pypdf: {type(e).__name__}"
                    + (f": {first}" if first else ""))


def _vm_size_bytes() -> int:
    """This process's current virtual size (the base the address-space limit is added to)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit_memory(max_memory_mb: int | None) -> None:
    if not max_memory_mb:
        return
    limit = _vm_size_bytes() + max_memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def read_checked(path: str | Path) -> Document:
    """``read_pdf`` plus the rule that a document whose every page failed in pypdf is unreadable."""
    doc = read_pdf(path)
    failed = [w for w in doc.warnings if _PAGE_FAILED in w]
    if doc.pages and len(failed) >= len(doc.pages):
        raise _first_page_failure(path)
    return doc


def _first_page_failure(path: str | Path) -> PdfError:
    """read_pdf keeps only the message of a page failure; redo page 1 to name the exception too."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        reader.pages[0].extract_text()
    except Exception as e:  # noqa: BLE001 — this is the failure we want to describe
        error = pypdf_failure(e)
        error.detail = traceback.format_exc()  # type: ignore[attr-defined]
        return error
    return PdfError("unreadable", "text extraction failed inside pypdf on every page")


def _worker_main(conn: Connection, max_memory_mb: int | None) -> None:
    """Worker loop: read a path, send back ('ok', Document) or ('error', kind, message, traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory(max_memory_mb)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent went away; skip interpreter teardown (it may be out of memory)
        if path is None:
            os._exit(0)
        try:
            reply: tuple[Any, ...] = ("ok", read_checked(path))
        except PdfError as e:
            reply = ("error", e.kind, e.message, getattr(e, "detail", ""))
        except MemoryError:
            reply = ("error", "memory", "", "")
        except RecursionError as e:
            err = pypdf_failure(e)
            reply = ("error", err.kind, err.message, "")
        except Exception as e:  # noqa: BLE001 — anything pypdf raises becomes one line
            err = pypdf_failure(e)
            reply = ("error", err.kind, err.message, traceback.format_exc())
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", "memory", "", ""))
        except (BrokenPipeError, OSError):
            os._exit(0)
        del reply


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """Start workers without re-running the caller's script in them.

    multiprocessing re-imports ``__main__`` in every forkserver/spawn child; for a
    user's script without an ``if __name__ == "__main__"`` guard (or code piped on
    stdin) that re-runs the caller or fails. The worker needs only this module.
    """
    import sys

    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    with _START_LOCK:
        if "__file__" in saved:
            delattr(main, "__file__")
        if "__spec__" in saved and main is not None:
            main.__spec__ = None
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(main, k, v)


class _Worker:
    def __init__(self, max_memory_mb: int | None) -> None:
        self.conn, child = _context.Pipe(duplex=True)
        self.process = _context.Process(target=_worker_main, args=(child, max_memory_mb),
                                        name="tenderx-pdf", daemon=True)
        with _without_main_module():
            self.process.start()
        child.close()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(_JOIN_SECONDS)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        with contextlib.suppress(Exception):
            self.process.join(_JOIN_SECONDS)
        if self.process.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class GuardedReader:
    """``read(path) -> Document`` through a pool of bounded worker processes (thread-safe).

    Raises ``PdfError`` with kind ``timeout`` (took longer than ``timeout`` seconds),
    ``memory`` (the worker hit ``max_memory_mb`` or was SIGKILLed), ``unreadable`` (pypdf
    raised, or the worker crashed), ``too_large`` (file bigger than ``max_file_mb``), or
    the worker's own PdfError kind (empty, not_pdf, encrypted, ...).
    """

    def __init__(self, workers: int = 1, timeout: float = DEFAULT_TIMEOUT,
                 max_memory_mb: int | None = DEFAULT_MAX_MEMORY_MB,
                 max_file_mb: float | None = DEFAULT_MAX_FILE_MB) -> None:
        self.workers = max(1, int(workers))
        self.timeout = float(timeout)
        self.max_memory_mb = max_memory_mb
        self.max_file_mb = max_file_mb
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = 0
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  # workers killed or lost (timeouts, crashes); for tests and benchmarks

    @classmethod
    def from_env(cls, workers: int = 1) -> GuardedReader:
        """Bounds from TENDERX_PDF_TIMEOUT (s), TENDERX_PDF_MEMORY_MB and TENDERX_PDF_MAX_FILE_MB."""
        def number(name: str, default: float | None) -> float | None:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                return default
            return value if value > 0 else None

        timeout = number("TENDERX_PDF_TIMEOUT", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
        memory = number("TENDERX_PDF_MEMORY_MB", DEFAULT_MAX_MEMORY_MB)
        max_file = number("TENDERX_PDF_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)
        return cls(workers=workers, timeout=timeout, max_memory_mb=int(memory) if memory else None,
                   max_file_mb=max_file)

    # --- pool -----------------------------------------------------------------------------------
    def _acquire(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("GuardedReader is closed")
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = None
                if self._started < self.workers:
                    self._started += 1
                    try:
                        worker = _Worker(self.max_memory_mb)
                    except BaseException:
                        self._started -= 1
                        raise
        if worker is None:
            worker = self._idle.get()
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if healthy and not self._closed:
                self._idle.put(worker)
                return
            self._started -= 1
            if not healthy:
                self.replaced += 1
        if healthy:
            worker.stop()
        else:
            worker.kill()
        # a worker waiting in _acquire's blocking get needs a live worker: start the replacement now
        with self._lock:
            if self._closed or self._started >= self.workers:
                return
            self._started += 1
        try:
            self._idle.put(_Worker(self.max_memory_mb))
        except BaseException:
            with self._lock:
                self._started -= 1
            raise

    # --- reading --------------------------------------------------------------------------------
    def read(self, path: str | Path) -> Document:
        """The document at ``path``, read by a worker within the time and memory bounds."""
        p = Path(path)
        if self.max_file_mb is not None:
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                if size > self.max_file_mb * 1024 * 1024:
                    raise PdfError("too_large", f"file too large ({size / 1024 / 1024:.0f} MB > "
                                   f"{self.max_file_mb:g} MB limit)")
        worker = self._acquire()
        healthy = False
        try:
            try:
                worker.conn.send(str(p))
                ready = worker.conn.poll(self.timeout)
            except (BrokenPipeError, EOFError, OSError):
                raise self._died(worker) from None
            if not ready:
                raise PdfError("timeout", f"gave up after {self.timeout:g}s: PDF too slow to parse "
                               "(pathological content stream?)")
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError):
                raise self._died(worker) from None
            healthy = reply[0] == "ok" or reply[1] != "memory"  # a worker that ran out is recycled
        finally:
            self._release(worker, healthy)
        if reply[0] == "ok":
            return reply[1]
        _, kind, message, detail = reply
        error = PdfError("memory", self._memory_message()) if kind == "memory" else PdfError(kind, message)
        error.detail = detail  # type: ignore[attr-defined]
        if detail:
            log.debug("%s: %s\n%s", p, error.message, detail.rstrip())
        raise error

    def _memory_message(self) -> str:
        limit = f" ({self.max_memory_mb} MB limit)" if self.max_memory_mb else ""
        return f"PDF needs too much memory to parse{limit}"

    def _died(self, worker: _Worker) -> PdfError:
        with contextlib.suppress(Exception):
            worker.process.join(_JOIN_SECONDS)
        code = worker.process.exitcode
        if code is not None and code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
                what = "crashed" if sig != signal.SIGKILL else "was killed (out of memory?)"
                return PdfError("memory" if sig == signal.SIGKILL else "unreadable",
                                f"the PDF reader {what} ({name}) on this file")
            return PdfError("unreadable", f"the PDF reader died ({name}) on this file")
        if code == 0 or code is None:
            return PdfError("unreadable", "the PDF reader stopped unexpectedly on this file")
        return PdfError("memory", f"{self._memory_message()}; the reader exited with code {code}")

    # --- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every worker (idle ones now; busy ones when their file finishes or times out)."""
        with self._lock:
            self._closed = True
            idle = []
            while True:
                try:
                    idle.append(self._idle.get_nowait())
                except queue.Empty:
                    break
            self._started -= len(idle)
        for w in idle:
            w.stop()

    def __enter__(self) -> GuardedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def worker_pids(reader: GuardedReader) -> list[int]:
    """Process ids of the reader's live workers (tests check replacement and clean-up)."""
    with reader._lock:
        workers = list(reader._idle.queue) + list(reader._busy)
    return [w.process.pid for w in workers if w.process.pid is not None and w.process.is_alive()]


__all__ = ["GuardedReader", "pypdf_failure", "read_checked", "worker_pids", "DEFAULT_TIMEOUT",
           "DEFAULT_MAX_MEMORY_MB"]
