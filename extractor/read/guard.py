"""A bounded document reader: every reader (pypdf and OCR, lxml, python-docx) runs in
persistent worker processes with a time and memory limit per file.

Why: one pathological PDF (a 50 MB content stream, a decompression bomb, a
parser loop or crash inside pypdf) must not hang or kill a batch of thousands.
Each worker is a separate process with ``RLIMIT_AS`` set; a file that takes
longer than ``timeout`` gets its worker killed and replaced, a worker that
dies (MemoryError, segfault) costs only that file. Workers are reused across
files, so the per-file cost is one pipe round-trip, not a new interpreter.

    with GuardedReader(workers=2, timeout=60, max_memory_mb=1024) as reader:
        doc = reader.read("notice.pdf")   # Document, or raises ReadError (PdfError for PDFs)
"""

from __future__ import annotations

import contextlib
import copy
import logging
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from extractor.core.document import Document
from extractor.core.errors import ReadError
from extractor.read.errors import ERROR_KINDS, PdfError
from extractor.read.formats import detect_format, read_document
from extractor.read.ocr import MODEL_LOAD_ALLOWANCE, OcrSettings, ocr_workers
from extractor.read.pdf import OcrProgress, read_pdf

# The memory bound is an address-space limit (``RLIMIT_AS``), which only POSIX systems have. On Windows
# there is no such limit: a file's worker is still bounded in time, and one that exhausts memory dies
# with a MemoryError that costs only that file (README: "Supported systems").
try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_MEMORY_MB = 1024
# OCR of an A4 page at 144 dpi takes a worker's address space ~1,040 MB above its start (onnxruntime
# arenas and thread stacks; peak RSS ~600 MB, measured): with OCR on, the default bound is twice that.
DEFAULT_OCR_MAX_MEMORY_MB = 2048
DEFAULT_MAX_FILE_MB = 1024
_JOIN_SECONDS = 2.0
_OCR_CACHE_DOCS = 32  # OCR'd documents kept per process, so `run` (ingest, then extract) OCRs once
_ocr_cache: OrderedDict[tuple[str, str], Document] = OrderedDict()
_ocr_cache_lock = threading.Lock()
log = logging.getLogger("tenderx.guard")
_PAGE_FAILED = "text extraction failed"
# signals a dying worker may report; SIGKILL and SIGBUS do not exist on Windows
_SIGKILL = getattr(signal, "SIGKILL", None)
_CRASH_SIGNALS = tuple(getattr(signal, name) for name in ("SIGSEGV", "SIGABRT", "SIGBUS") if hasattr(signal, name))

# forkserver: workers start from a clean, single-threaded process with pypdf already imported
# (forking the multi-threaded CLI process itself could inherit held locks).
_context: Any = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if _context.get_start_method() == "forkserver":
    _context.set_forkserver_preload(["extractor.read.pdf", "extractor.read.formats", "extractor.read.html",
                                     "extractor.read.word", "extractor.read.plaintext"])


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
    if not max_memory_mb or resource is None:
        return
    limit = _vm_size_bytes() + max_memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def read_checked(path: str | Path, ocr: OcrSettings | None = None, on_ocr: OcrProgress | None = None) -> Document:
    """``read_document`` (with OCR for PDFs) plus the rule that a PDF whose every page failed in pypdf
    is unreadable."""
    if detect_format(path) != "pdf":
        return read_document(path)
    doc = read_pdf(path, ocr=ocr, on_ocr=on_ocr)
    doc.metadata.setdefault("format", "pdf")
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
    """Worker loop: read (path, OcrSettings | None), send ('ocr', done, total) while OCR runs, then
    ('ok', Document) or ('error', kind, message, traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory(max_memory_mb)

    def on_ocr(done: int, total: int) -> None:
        conn.send(("ocr", done, total))

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent went away; skip interpreter teardown (it may be out of memory)
        if request is None:
            os._exit(0)
        path, ocr = request if isinstance(request, tuple) else (request, None)
        try:
            reply: tuple[Any, ...] = ("ok", read_checked(path, ocr=ocr, on_ocr=on_ocr))
        except ReadError as e:
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


def _what(path: Path | None) -> str:
    """'PDF', 'web page', 'Word file' or 'file', for messages about a read that went wrong."""
    if path is None:
        return "PDF"
    try:
        fmt = detect_format(path)
    except ReadError:
        return "file"
    return {"pdf": "PDF", "html": "web page", "docx": "Word file", "txt": "text file"}.get(fmt, "file")


class _Worker:
    def __init__(self, max_memory_mb: int | None) -> None:
        self.ocr_loaded = False  # the OCR models are loaded in this worker (its first OCR'd page is slower)
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
                 max_file_mb: float | None = DEFAULT_MAX_FILE_MB, ocr: OcrSettings | None = None) -> None:
        self.workers = ocr_workers(max(1, int(workers))) if ocr is not None and ocr.enabled else max(1, int(workers))
        self.timeout = float(timeout)
        self.max_memory_mb = max_memory_mb
        self.max_file_mb = max_file_mb
        self.ocr = _share_cores(ocr, self.workers) if ocr is not None and ocr.enabled else ocr
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = 0
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  # workers killed or lost (timeouts, crashes); for tests and benchmarks

    @classmethod
    def from_env(cls, workers: int = 1, ocr: OcrSettings | bool | None = None) -> GuardedReader:
        """Bounds from TENDERX_PDF_TIMEOUT (s), TENDERX_PDF_MEMORY_MB and TENDERX_PDF_MAX_FILE_MB;
        OCR settings from ``ocr`` (a bool is the --no-ocr flag's answer) or TENDERX_OCR*."""
        if not isinstance(ocr, OcrSettings):
            ocr = OcrSettings.from_env(enabled=ocr)
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
        memory = number("TENDERX_PDF_MEMORY_MB", DEFAULT_OCR_MAX_MEMORY_MB if ocr.enabled else DEFAULT_MAX_MEMORY_MB)
        max_file = number("TENDERX_PDF_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)
        return cls(workers=workers, timeout=timeout, max_memory_mb=int(memory) if memory else None,
                   max_file_mb=max_file, ocr=ocr)

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
    def read(self, path: str | Path, on_ocr: Callable[[int, int], None] | None = None) -> Document:
        """The document at ``path``, read by a worker within the time and memory bounds.

        With OCR on, each OCR'd page gets ``ocr.page_timeout`` more seconds (the bound is per
        page, so a long scan is not cut off, but one stuck page is); ``on_ocr(done, total)``
        reports the pages as they finish."""
        p = Path(path)
        if self.max_file_mb is not None:
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                if size > self.max_file_mb * 1024 * 1024:
                    raise PdfError("too_large", f"file too large ({size / 1024 / 1024:.0f} MB > "
                                   f"{self.max_file_mb:g} MB limit)")
        key = _cache_key(p, self.ocr)
        if key is not None:
            with _ocr_cache_lock:
                cached = _ocr_cache.get(key)
                if cached is not None:
                    _ocr_cache.move_to_end(key)
            if cached is not None:
                doc = copy.deepcopy(cached)
                doc.path = str(path)
                return doc
        worker = self._acquire()
        healthy = False
        try:
            reply, ocr_started = self._exchange(worker, p, on_ocr)
            healthy = reply[0] == "ok" or reply[1] != "memory"  # a worker that ran out is recycled
        finally:
            self._release(worker, healthy)
        if reply[0] == "ok":
            doc = reply[1]
            if key is not None and any(pg.ocr is not None for pg in doc.pages):
                with _ocr_cache_lock:
                    _ocr_cache[key] = copy.deepcopy(doc)
                    while len(_ocr_cache) > _OCR_CACHE_DOCS:
                        _ocr_cache.popitem(last=False)
            return doc
        _, kind, message, detail = reply
        if kind == "memory":
            error: ReadError = PdfError("memory", self._memory_message(ocr_started, p))
        else:
            error = PdfError(kind, message) if kind in ERROR_KINDS else ReadError(kind, message)
        error.detail = detail  # type: ignore[attr-defined]
        if detail:
            log.debug("%s: %s\n%s", p, error.message, detail.rstrip())
        raise error

    def _exchange(self, worker: _Worker, p: Path, on_ocr: Callable[[int, int], None] | None
                  ) -> tuple[tuple[Any, ...], bool]:
        """Send the request and wait for the answer (and whether OCR started), passing OCR progress
        on and moving the deadline."""
        deadline = time.monotonic() + self.timeout
        ocr_pages = 0
        try:
            worker.conn.send((str(p), self.ocr))
            while True:
                ready = worker.conn.poll(max(0.0, deadline - time.monotonic()))
                if not ready:
                    if ocr_pages:
                        raise PdfError("timeout", f"gave up: OCR of one page took longer than "
                                       f"{self.ocr.page_timeout:g}s (TENDERX_OCR_PAGE_TIMEOUT)")  # type: ignore[union-attr]
                    hint = " (pathological content stream?)" if _what(p) == "PDF" else ""
                    raise PdfError("timeout", f"gave up after {self.timeout:g}s: {_what(p)} too slow to parse{hint}")
                reply = worker.conn.recv()
                if reply[0] != "ocr":
                    return reply, bool(ocr_pages)
                _, done, total = reply
                ocr_pages = total
                if done < total:  # the next page's allowance (the first page of a fresh worker loads the models)
                    load = MODEL_LOAD_ALLOWANCE if done == 0 and not worker.ocr_loaded else 0.0
                    deadline = time.monotonic() + self.ocr.page_timeout + load  # type: ignore[union-attr]
                elif done:
                    worker.ocr_loaded = True
                else:  # the rest (cleaning, pickling) is quick: the ordinary bound again
                    deadline = time.monotonic() + self.timeout
                if on_ocr is not None:
                    with contextlib.suppress(Exception):
                        on_ocr(done, total)
        except (BrokenPipeError, EOFError, OSError):
            raise self._died(worker, bool(ocr_pages)) from None

    def _memory_message(self, ocr: bool = False, path: Path | None = None) -> str:
        limit = f" ({self.max_memory_mb} MB limit)" if self.max_memory_mb else ""
        if ocr:
            return f"OCR needs more memory than allowed{limit}; raise TENDERX_PDF_MEMORY_MB"
        return f"{_what(path)} needs too much memory to parse{limit}"

    def _died(self, worker: _Worker, ocr: bool = False) -> PdfError:
        with contextlib.suppress(Exception):
            worker.process.join(_JOIN_SECONDS)
        code = worker.process.exitcode
        if code is not None and code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if ocr and self.max_memory_mb and sig in _CRASH_SIGNALS:
                # onnxruntime does not survive a failed allocation under the address-space limit
                return PdfError("memory", f"the OCR engine crashed ({name}) on this file: "
                                f"{self._memory_message(ocr)}")
            if sig in (_SIGKILL, *_CRASH_SIGNALS):
                what = "crashed" if sig != _SIGKILL else "was killed (out of memory?)"
                return PdfError("memory" if sig == _SIGKILL else "unreadable",
                                f"the PDF reader {what} ({name}) on this file")
            return PdfError("unreadable", f"the PDF reader died ({name}) on this file")
        if code == 0 or code is None:
            return PdfError("unreadable", "the PDF reader stopped unexpectedly on this file")
        return PdfError("memory", f"{self._memory_message(ocr)}; the reader exited with code {code}")

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


def _cache_key(path: Path, ocr: OcrSettings | None) -> tuple[str, str] | None:
    """(sha256, OCR settings) of a file when OCR is on (the only reads worth remembering)."""
    if ocr is None or not ocr.enabled:
        return None
    from extractor.read.pdf import file_sha256

    try:
        return file_sha256(path), ocr.fingerprint()
    except OSError:
        return None


def _share_cores(ocr: OcrSettings, workers: int) -> OcrSettings:
    """OCR threads per worker: the cores divided among the workers (never oversubscribe)."""
    if ocr.threads > 0:
        return ocr
    from dataclasses import replace

    return replace(ocr, threads=max(1, (os.cpu_count() or 1) // workers))


def worker_pids(reader: GuardedReader) -> list[int]:
    """Process ids of the reader's live workers (tests check replacement and clean-up)."""
    with reader._lock:
        workers = list(reader._idle.queue) + list(reader._busy)
    return [w.process.pid for w in workers if w.process.pid is not None and w.process.is_alive()]


__all__ = ["GuardedReader", "pypdf_failure", "read_checked", "worker_pids", "DEFAULT_TIMEOUT",
           "DEFAULT_MAX_MEMORY_MB", "DEFAULT_OCR_MAX_MEMORY_MB"]
