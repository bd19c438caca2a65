"""Shared fixtures. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


# --- the order test files are handed to xdist workers -------------------------------------------------
# `make test` gives each worker whole files (--dist loadfile) in collection order (--no-loadscope-reorder);
# the slowest files, measured with --durations, go first so that no long file starts last while the other
# worker idles (longest job first). Files not listed follow in their usual order.
SLOWEST_FILES = (
    "test_benchmarks_smoke.py", "test_store_integrity.py", "test_chroma_server.py", "test_batch.py",
    "test_findings.py", "test_search_cli.py", "test_ingest_cli.py", "test_search.py", "test_batch_faults.py",
    "test_ocr_cache.py", "test_search_ready.py", "test_interrupt.py", "test_extract_cli.py", "test_desk_browser.py",
    "test_formats_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FILES)))  # stable: order within a file kept


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def e5_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One e5 cache (dequantised weights, the int8 graph) for the whole run (per xdist worker): the engines'
    tests build it once instead of once per module. Tests of the cache itself use their own tmp_path."""
    return tmp_path_factory.mktemp("e5cache")


# One cache folder (OCR'd pages, the e5 files, the lexicon) for the CLI runs and the in-process calls of
# the whole session, shared by the xdist workers: a scanned sample is OCR'd once per session, not once per
# test, and the user's own cache is never read or written. The session fixture below names it in the
# environment (this module is also imported as ``tests.conftest``, so a module global would not do), as
# TENDERX_CACHE_DIR too for the library called in-process (a test that sets its own still wins).
_SESSION_CACHE_ENV = "PYTEST_TENDERX_CACHE_DIR"


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tenderx-cache`` beside the xdist workers' folders (their common parent), else in this run's
    own temporary folder: a fresh cache each run either way."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "tenderx-cache"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[_SESSION_CACHE_ENV] = str(folder)
    os.environ["TENDERX_CACHE_DIR"] = str(folder)
    return folder


def shared_once(name: str, build: Callable[[Path], None]) -> Path:
    """A folder built once per test session and shared, read-only, by every test and xdist worker that asks
    for ``name``: the first asker builds it under a file lock (the store's cross-platform lock) while the
    others wait, then everyone reuses it. ``build(folder)`` fills the empty folder; a build that failed
    leaves no ``.built`` mark, so the next asker starts again from an empty folder (and fails the same way)."""
    from extractor.store.locks import lock, unlock

    session_cache = os.environ.get(_SESSION_CACHE_ENV)
    assert session_cache, "shared_once needs the session_cache_dir fixture (autouse)"
    folder = Path(session_cache).parent / "shared" / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder.parent / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        lock(fd)
        try:
            if not (folder / ".built").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                (folder / ".built").touch()
        finally:
            unlock(fd)
    finally:
        os.close(fd)
    return folder


def _extract_samples(home: Path) -> None:
    root = home / "tenders"
    shutil.copytree(SAMPLES, root / "samples", ignore=shutil.ignore_patterns("src", "*.py", "*.md", "broken-*"))
    res = run_cli("extract", str(root / "samples"), "-b", "rules", "-o", str(root / "out" / "records.jsonl"),
                  "--store", str(root / "store"), "-j", "2", timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    (root / "extract.log").write_text(res.stdout, encoding="utf-8")


@pytest.fixture(scope="session")
def extracted_samples() -> Path:
    """samples/ (without sources, scripts and the broken PDF) copied to ``tenders/samples`` in a private
    folder and extracted there with the rules engine through the CLI, once per session for every worker:
    ``tenders/out/records.jsonl`` and the command's output in ``tenders/extract.log``. Read-only."""
    return shared_once("extracted-samples", _extract_samples) / "tenders"


@pytest.fixture(scope="session")
def samples_scans_ocrd(extracted_samples: Path) -> Path:
    """The session cache once it holds the OCR of every scanned sample (the shared extraction read them):
    an in-process read of samples/ then takes its scans from the cache, as the CLI runs do, instead of
    OCR-ing them again. The OCR itself is tested where it must run (test_ocr, test_ocr_cache)."""
    return Path(os.environ[_SESSION_CACHE_ENV])


# A browser test waits longer than the desk's page workers may take (TENDERX_PDF_TIMEOUT, 60 s): on a loaded machine a
# slow render must end in the desk's own answer (the image, or a note saying why not), not in the test's wait.
BROWSER_WAIT_MS = 75_000


def new_page(browser: Any, **options: Any) -> Any:
    """A Playwright page of ``browser`` that waits BROWSER_WAIT_MS for anything it is asked to wait for."""
    page = browser.new_page(**options)
    page.set_default_timeout(BROWSER_WAIT_MS)
    return page


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `tenderx` CLI in a subprocess (as a user would). It caches in the session's
    cache folder; a test that passes its own TENDERX_CACHE_DIR or HOME OCRs for itself unless it also
    sets TENDERX_OCR_CACHE, and a test that must OCR passes TENDERX_OCR_CACHE=0."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("OPENAI_", "TENDERX_")) and k != _SESSION_CACHE_ENV}
    full_env["COLUMNS"] = "200"
    env = env or {}
    session_cache = os.environ.get(_SESSION_CACHE_ENV)
    if "TENDERX_CACHE_DIR" in env or "HOME" in env or not session_cache:  # the test chose where caches go
        full_env["TENDERX_OCR_CACHE"] = "0"
    else:
        full_env["TENDERX_CACHE_DIR"] = session_cache
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "extractor", *args],
        cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, input=input,
    )


# --- a real Chroma server for the tests marked `server` (started once per session) ---
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_server(argv: list[str], ready_url: str, what: str, log_path: Path) -> Iterator[None]:
    """Run ``argv`` (a server on 127.0.0.1), wait until ``ready_url`` answers 200, stop it afterwards."""
    import time
    import urllib.request

    log = log_path.open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """`chroma run --path TMP --host 127.0.0.1 --port P`: start, wait for the heartbeat, yield the URL, stop."""

    exe = Path(sys.executable).with_name("chroma")
    chroma = str(exe) if exe.exists() else shutil.which("chroma")
    assert chroma, "the `chroma` command (installed by chromadb) is missing"
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with local_server([chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                      f"{url}/api/v2/heartbeat", "chroma server", data / "server.log"):
        yield url
