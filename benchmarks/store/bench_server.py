"""The store through a Chroma server (`chroma run` on loopback) against the embedded
store: write throughput, query latency, store opening and the lexical rebuild read,
plus disk per chunk (what a 1,000,000-chunk corpus needs is worked out from these).

Vectors are random unit vectors of the bundled model's dimension (384) and texts
~700 characters of tender-like Chinese, so the figures are the store's own cost:
embedding is the same whichever store the vectors go to.

    python -m benchmarks.store.bench_server [--chunks 4000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
PER_DOC = 50
_WORDS = ["采购人", "预算金额", "GPU服务器", "英伟达", "A100", "昇腾", "910B", "智算中心", "云服务", "项目编号",
          "招标代理", "中标", "合同", "交货期", "技术参数", "算力", "租赁", "万元", "人民币", "评标委员会"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """`chroma run` on 127.0.0.1 with ``data`` as its path, stopped on exit."""
    with chroma_server_process(data) as (url, _proc):
        yield url


@contextlib.contextmanager
def chroma_server_process(data: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The same, also giving the server's process (benchmarks read its CPU time)."""
    exe = Path(sys.executable).with_name("chroma")
    chroma = str(exe) if exe.exists() else (shutil.which("chroma") or "chroma")
    port = _free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chroma server did not start") from None
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def _corpus(chunks: int, seed: int = 7) -> list[tuple[Any, list[Any], np.ndarray]]:
    from extractor.core.document import Chunk, Document, Page

    rng = np.random.default_rng(seed)
    docs = []
    for d in range(chunks // PER_DOC):
        sha = f"{d:08x}" + "ab" * 28
        path = f"/bench/doc-{d:05d}.pdf"
        texts = ["".join(rng.choice(_WORDS, size=140)) for _ in range(PER_DOC)]
        doc = Document(path=path, sha256=sha, pages=[Page(i + 1, t, clean=t) for i, t in enumerate(texts)])
        cs = [Chunk(id=f"c{i}", doc_sha256=sha, file=path, text=t, page_start=i + 1, page_end=i + 1, char_start=0,
                    char_end=len(t), index=i, tokens=len(t)) for i, t in enumerate(texts)]
        vecs = rng.normal(size=(PER_DOC, DIM)).astype(np.float32)
        docs.append((doc, cs, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)))
    return docs


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(make_store: Any, corpus: list[tuple[Any, list[Any], np.ndarray]], queries: np.ndarray
            ) -> dict[str, float]:
    """Write the corpus, then time opening, dense queries, document listing and the full read."""
    t0 = time.perf_counter()
    store = make_store()
    open_s = time.perf_counter() - t0
    store.use_embedder("bench/random-384", DIM)
    t0 = time.perf_counter()
    with store.writing():
        for doc, chunks, vecs in corpus:
            store.replace_document(doc, chunks, vecs)
    write_s = time.perf_counter() - t0
    n = sum(len(c) for _, c, _ in corpus)
    store.dense_ids(queries[0], 50)  # first query loads the index
    lat = []
    for q in queries[1:]:
        t = time.perf_counter()
        store.dense_ids(q, 50)
        lat.append(time.perf_counter() - t)
    filtered = []
    for q in queries[1:11]:
        t = time.perf_counter()
        store.dense_ids(q, 10, where={"doc_sha256": corpus[0][0].sha256})
        filtered.append(time.perf_counter() - t)
    t = time.perf_counter()
    store.documents()
    docs_s = time.perf_counter() - t
    t = time.perf_counter()
    all_chunks = store.all_chunks()
    read_s = time.perf_counter() - t
    assert len(all_chunks) == n
    t = time.perf_counter()
    version = store.version
    version_s = time.perf_counter() - t
    assert version > 0
    reopen = time.perf_counter()
    make_store().count()
    reopen_s = time.perf_counter() - reopen
    return {"chunks": n, "open_s": open_s, "reopen_s": reopen_s, "write_chunks_per_s": n / write_s,
            "write_s": write_s, "dense_k50_ms_median": 1000 * statistics.median(lat),
            "dense_k50_ms_p95": 1000 * sorted(lat)[int(0.95 * (len(lat) - 1))],
            "dense_filtered_ms_median": 1000 * statistics.median(filtered),
            "documents_ms": 1000 * docs_s, "read_all_chunks_s": read_s, "version_ms": 1000 * version_s}


def run(chunks: int = 4000, queries: int = 60) -> dict[str, Any]:
    from extractor.store.remote import ChromaServer
    from extractor.store.store import Store

    corpus = _corpus(chunks)
    rng = np.random.default_rng(11)
    qs = rng.normal(size=(queries + 1, DIM)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    work = Path(tempfile.mkdtemp(prefix="tenderx-bench-server-"))
    try:
        embedded = measure(lambda: _local(work / "embedded"), corpus, qs)
        embedded["disk_bytes_per_chunk"] = _du(work / "embedded") / embedded["chunks"]
        with chroma_server(work / "server-data") as url:
            server = measure(lambda: Store(work / "cache", server=ChromaServer(url)), corpus, qs)
        server["disk_bytes_per_chunk"] = _du(work / "server-data") / server["chunks"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"embedded": embedded, "server": server}


def _local(path: Path) -> Any:
    import os

    from extractor.store.store import Store

    saved = {k: os.environ.pop(k) for k in ("TENDERX_CHROMA_URL", "TENDERX_CHROMA_HOST") if k in os.environ}
    try:
        return Store(path)
    finally:
        os.environ.update(saved)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=4000)
    args = parser.parse_args()
    print(json.dumps(run(args.chunks), indent=1))
