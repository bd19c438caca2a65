"""Issue 16's ingest target, measured as the issue states it: end to end (read, chunk, embed,
store) on the real tender packages of ../shared/corpus, not normalised, on this machine's cores.

Before and after side by side in one run, alternating, each a fresh store: "before" is what
ingest did until issue 16 (fp32 FastE5, overlap 60, no read-ahead); "now" is the default
(``get_embedder()``: int8 e5, overlap 30, two files read ahead). The median of ``repeats`` runs.

    python -m benchmarks.pipeline.bench_ingest_real [--corpus DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "tender-packages"


def _once(pdfs: list[Path], embedder: Any, **kw: Any) -> dict[str, float]:
    from extractor.pipeline.ingest import ingest

    store = Path(tempfile.mkdtemp(prefix="tenderx-bench-real-"))
    try:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        report = ingest(pdfs, store, embedder=embedder, **kw)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        if report.failed:
            raise RuntimeError(f"ingest failed: {report.failed[:2]}")
        main_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        return {"seconds": wall, "pages": report.pages, "chunks": report.chunks, "main_cpu": main_cpu}
    finally:
        shutil.rmtree(store, ignore_errors=True)


def run(corpus: Path = DEFAULT_CORPUS, repeats: int = 3) -> dict[str, Any]:
    from extractor.embed.fast_e5 import FastE5Embedder
    from extractor.embed.registry import get_embedder

    pdfs = sorted(corpus.glob("*.pdf"))
    if not pdfs:
        raise SystemExit(f"no PDFs in {corpus}")
    before_embedder, now_embedder = FastE5Embedder(), get_embedder()
    for e in (before_embedder, now_embedder):
        e.embed_passages(["预热：采购人"])  # weights, graph and caches outside the timing
    configs = {"before": (before_embedder, {"overlap": 60, "read_ahead": 0}), "now": (now_embedder, {})}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
    for _ in range(repeats):
        for name, (embedder, kw) in configs.items():
            runs[name].append(_once(pdfs, embedder, **kw))
    out: dict[str, Any] = {"documents": len(pdfs), "cores": len(os.sched_getaffinity(0)),
                           "load_before": os.getloadavg()}
    for name, rows in runs.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        out[name] = {"embedder": configs[name][0].name, "pages": rows[0]["pages"], "chunks": rows[0]["chunks"],
                     "seconds": seconds, "pages_per_s": rows[0]["pages"] / seconds,
                     "all_pages_per_s": [round(r["pages"] / r["seconds"], 2) for r in rows]}
    out["speedup"] = out["before"]["seconds"] / out["now"]["seconds"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import json

    print(json.dumps(run(args.corpus, args.repeats), indent=1))


if __name__ == "__main__":
    main()
