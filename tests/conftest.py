"""Shared fixtures. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def e5_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One e5 cache (dequantised weights, the int8 graph) for the whole run (per xdist worker): the engines'
    tests build it once instead of once per module. Tests of the cache itself use their own tmp_path."""
    return tmp_path_factory.mktemp("e5cache")


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `tenderx` CLI in a subprocess (as a user would)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    full_env["COLUMNS"] = "200"
    full_env["TENDERX_OCR_CACHE"] = "0"  # each test OCRs for itself (and never writes the user's cache)
    full_env.update(env or {})
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
    import shutil

    exe = Path(sys.executable).with_name("chroma")
    chroma = str(exe) if exe.exists() else shutil.which("chroma")
    assert chroma, "the `chroma` command (installed by chromadb) is missing"
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with local_server([chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                      f"{url}/api/v2/heartbeat", "chroma server", data / "server.log"):
        yield url
