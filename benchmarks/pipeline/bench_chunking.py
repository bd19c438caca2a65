"""Chunk size and overlap: what they cost at ingest and what they buy in search quality (issue 16).

For each (chunk_tokens, overlap) setting: the real ``ingest()`` of samples/ plus the real
packages in ../shared/corpus/tender-packages into a fresh store, then the search evaluation
exactly as ``tenderx eval-search`` runs it (``evaluate_search`` over evals/search_queries.yaml,
hybrid, k from the query file). Cost is the e5 tokens embedded (``token_count`` of every chunk,
prefix and specials included) and the embed seconds.

Vectors of identical chunk texts are cached across settings (identical text, identical vector),
so only the texts a setting has not seen before are embedded; its embed seconds are those
measured seconds scaled by its total tokens / the tokens actually embedded (its own per-token
rate, so the attention term of its chunk length is kept). Run pinned to one core
(``taskset -c 1``) and FastE5 uses one thread: the seconds are single-threaded.

The relevance floors (``Hit.good``: COVERAGE_FLOOR, DENSE_FLOOR ... in extractor/search/hybrid.py)
are left as they are; ``floor_hidden`` counts the queries whose relevant page was among the
raw top-k hits but not shown (below the floor), ``floor_leaks`` the no-answer queries that
showed something, so a setting that would need other floors is visible.

    taskset -c 1 .venv/bin/python -m benchmarks.pipeline.bench_chunking [--out chunking.json] [--minutes 40]
    taskset -c 1 .venv/bin/python -m benchmarks.pipeline.bench_chunking --rate --only 200/0 400/60 800/0 --out rate.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT.parent / "shared" / "corpus" / "tender-packages"
if not PACKAGES.is_dir():  # a worktree under /work/wt/<name>: the corpus sits beside the main checkout
    PACKAGES = Path("/work/shared/corpus/tender-packages")
DEFAULT = (400, 60)
# Most informative first (every setting costs about the same to embed, so a cut-off run keeps
# the reference, overlap 0 and a larger chunk): the default, then the corners, then the rest.
ORDER = [(400, 60), (400, 0), (800, 0), (600, 60), (200, 0), (300, 60), (600, 0), (800, 120), (300, 0),
         (400, 120), (200, 30), (800, 60), (400, 30), (600, 120), (600, 30), (300, 30), (300, 120),
         (200, 60), (800, 30)]
GRID = [(c, o) for c in (200, 300, 400, 600, 800) for o in (0, 30, 60, 120) if o < c / 2]
assert sorted(ORDER) == sorted(GRID)


class CachingEmbedder:
    """The real embedder with a text → vector cache; counts what it actually embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.passages: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        self.asked_tokens = 0  # every passage ingest asked for
        self.embedded_tokens = 0  # the ones not cached, actually embedded
        self.embed_seconds = 0.0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.asked_tokens += sum(self.inner.token_count(t) for t in texts)
        new = list(dict.fromkeys(t for t in texts if t not in self.passages))
        if new:
            t0 = time.perf_counter()
            vectors = np.asarray(self.inner.embed_passages(new), dtype=np.float32)
            self.embed_seconds += time.perf_counter() - t0
            self.embedded_tokens += sum(self.inner.token_count(t) for t in new)
            self.passages.update(zip(new, vectors, strict=True))
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.passages[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]


def _evaluate(store: Any, embedder: CachingEmbedder) -> tuple[dict[str, Any], dict[str, int], list[dict[str, Any]]]:
    """The eval-search path of extractor/cli/search.py, plus the floor diagnostics."""
    from extractor.evaluate.search_eval import evaluate_search, load_queries
    from extractor.search.hybrid import search

    file_k, labelled = load_queries()
    paths = {Path(d.path).stem: d.path for d in store.documents()}
    has_packages = any(s.startswith("public-") for s in paths)
    raw: dict[str, list[Any]] = {}

    def run(q: str, within: list[str] | None) -> list[Any]:
        where = None if not within else {"file": {"$in": [paths[s] for s in within]}}
        hits = search(store, q, k=10, embedder=embedder, where=where)
        raw[q] = hits
        return hits

    result = evaluate_search(run, labelled, set(paths), k=file_k, mode="hybrid", has_packages=has_packages)
    by_query = {q.query: q for q in labelled}
    hidden = leaks = 0
    for o in result.outcomes:
        q = by_query[o.query]
        if q.type == "no_answer":
            leaks += not o.no_answer_right
        elif o.recall is not None and o.recall < 1.0:
            anywhere = sum(any(g.matches(h) for h in raw[o.query][:file_k]) for g in q.relevant)
            hidden += anywhere / min(file_k, len(q.relevant)) > o.recall
    outcomes = [dict(o.__dict__) for o in result.outcomes]
    return result.by_type(), {"floor_hidden": hidden, "floor_leaks": leaks,
                              "queries": len(result.outcomes), "skipped": len(result.skipped)}, outcomes


def run_setting(chunk_tokens: int, overlap: int, inputs: list[Path], embedder: CachingEmbedder) -> dict[str, Any]:
    from extractor.pipeline.ingest import ingest
    from extractor.store.store import Store

    store_dir = Path(tempfile.mkdtemp(prefix=f"tenderx-bench-chunk-{chunk_tokens}-{overlap}-"))
    try:
        embedder.reset()
        t0 = time.perf_counter()
        store = Store(store_dir)
        report = ingest(inputs, store=store, embedder=embedder, chunk_tokens=chunk_tokens, overlap=overlap)
        ingest_seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        types, floors, outcomes = _evaluate(store, embedder)
        eval_seconds = time.perf_counter() - t1
        store.close()
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)
    rate = embedder.embed_seconds / embedder.embedded_tokens if embedder.embedded_tokens else None
    return {"chunk_tokens": chunk_tokens, "overlap": overlap, "documents": len(report.added),
            "failed": len(report.failed), "pages": report.pages, "chunks": report.chunks,
            "e5_tokens": embedder.asked_tokens, "embedded_tokens": embedder.embedded_tokens,
            "measured_embed_seconds": round(embedder.embed_seconds, 2),
            "embed_seconds": round(rate * embedder.asked_tokens, 1) if rate else None,
            "ingest_wall_seconds": round(ingest_seconds, 1), "eval_seconds": round(eval_seconds, 1),
            "types": types, **floors, "outcomes": outcomes}


def per_token_rate(settings: list[tuple[int, int]], repeats: int = 2) -> list[dict[str, Any]]:
    """Embed seconds per e5 token of each setting's chunks of one real package, timed back to back
    (interleaved, best of ``repeats``, no cache): the length (attention) term without the drift
    of a long run on a shared machine."""
    from extractor.embed.registry import get_embedder
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import read_pdf

    doc = read_pdf(PACKAGES / "public-01-beijing-landscape-lighting-2024.pdf")
    embedder = get_embedder()
    embedder.embed_passages(["预热：采购人"])
    texts = {s: [c.text for c in chunk_document(doc, *s)] for s in settings}
    best: dict[tuple[int, int], float] = {}
    for _ in range(repeats):
        for s in settings:
            t0 = time.perf_counter()
            embedder.embed_passages(texts[s])
            best[s] = min(best.get(s, 1e9), time.perf_counter() - t0)
    rows = []
    for s in settings:
        tokens = sum(embedder.token_count(t) for t in texts[s])  # type: ignore[attr-defined]
        rows.append({"chunk_tokens": s[0], "overlap": s[1], "chunks": len(texts[s]), "e5_tokens": tokens,
                     "seconds": round(best[s], 2), "ms_per_token": round(best[s] / tokens * 1000, 3)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("chunking.json"))
    parser.add_argument("--minutes", type=float, default=40.0, help="start no new setting after this long")
    parser.add_argument("--only", nargs="*", default=None, help="settings as C/O, e.g. 400/60 800/0")
    parser.add_argument("--rate", action="store_true", help="only time the per-token cost of --only settings")
    args = parser.parse_args()
    from extractor.embed.registry import get_embedder

    if args.rate:
        rate_settings = [tuple(int(x) for x in s.split("/")) for s in args.only or ["200/0", "400/60", "800/0"]]
        rows = per_token_rate(rate_settings)  # type: ignore[arg-type]
        args.out.write_text(json.dumps({"per_token_rate": rows}, indent=1) + "\n", encoding="utf-8")
        return

    settings = [tuple(int(x) for x in s.split("/")) for s in args.only] if args.only else ORDER
    inputs = [ROOT / "samples"] + ([PACKAGES] if PACKAGES.is_dir() else [])
    inner = get_embedder()
    inner.embed_passages(["预热：采购人"])  # load the weights outside the timings
    embedder = CachingEmbedder(inner)
    began = time.monotonic()
    results: list[dict[str, Any]] = []
    for chunk_tokens, overlap in settings:
        if results and time.monotonic() - began > args.minutes * 60:
            print(f"time is up: {chunk_tokens}/{overlap} and after not run", flush=True)
            break
        row = run_setting(chunk_tokens, overlap, inputs, embedder)
        results.append(row)
        a = row["types"]["all"]
        print(f"{chunk_tokens}/{overlap}: {row['chunks']} chunks, {row['e5_tokens']} e5 tokens, "
              f"embed {row['embed_seconds']} s (measured {row['measured_embed_seconds']} s on "
              f"{row['embedded_tokens']} new tokens), recall@3 {a['recall_at_3']}, MRR {a['mrr']}, "
              f"hidden {row['floor_hidden']} leaks {row['floor_leaks']}", flush=True)
        args.out.write_text(json.dumps({"embedder": inner.name, "threads": getattr(inner, "threads", None),
                                        "inputs": [str(p) for p in inputs], "settings": results},
                                       ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
