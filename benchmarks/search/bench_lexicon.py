"""What the CC-CEDICT lexicon costs (issue 26): building its index once, loading the cached
index in a new process, and a cold `tenderx search` typed in English beside one typed in Chinese.

Target: cold CLI search <= 0.5 s median on a quiet 2-core machine. Each figure is measured in
this one run, so the English/Chinese ratio holds on a busy machine even when the seconds do not.

    python -m benchmarks.search.bench_lexicon                 # the store of bench_search_cli (3,000 chunks)
    python -m benchmarks.search.bench_lexicon --store S       # a real store (e.g. samples/ ingested)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import ROOT
from benchmarks.search.bench_search_cli import _run

ENGLISH = ("diesel generator for a county hospital", "security guards and cleaning for a courthouse",
           "paper books for a university library")
CHINESE = ("柴油发电机 县医院", "法院办公楼 保洁 安保 物业", "纸质图书采购 社科类")
TARGET_S = 0.5


def _in_new_process(code: str, cache: str) -> float:
    env = {**os.environ, "TENDERX_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def lexicon_costs(repeats: int = 5) -> dict[str, float]:
    """CPU seconds to build the index (empty cache) and to load the cached one, each in a fresh
    process, imports excluded (CPU time: wall time on a shared machine measures the queue)."""
    code = ("import time; import extractor.search.lexicon as m; t=time.process_time(); "
            "n=len(m.default_lexicon().entries); print(time.process_time()-t)")
    with tempfile.TemporaryDirectory() as cache:
        build = _in_new_process(code, cache)
        loads = [_in_new_process(code, cache) for _ in range(repeats)]
        size = sum(p.stat().st_size for p in Path(cache).glob("cedict-lexicon-*"))
    return {"build_s": build, "load_median_s": statistics.median(loads), "cache_mb": size / 1e6}


def cold_search(store: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    out = {}
    for name, queries in (("en", ENGLISH), ("zh", CHINESE)):
        _run(store, queries[0], "hybrid")  # warm-up: bytecode, page cache, lexicon cache
        runs = [_run(store, queries[i % len(queries)], "hybrid") for i in range(repeats)]
        out[name] = {"median": statistics.median(w for w, _ in runs), "cpu_median": statistics.median(c for _, c in runs)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store to search (default: bench_search_cli's synthetic one)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    costs = lexicon_costs(args.repeats)
    print(f"lexicon: build {costs['build_s']:.2f} s CPU once, cached index {costs['cache_mb']:.1f} MB, "
          f"load median {costs['load_median_s']:.3f} s CPU (new process)")
    store = args.store
    if store is None:
        from benchmarks.search.bench_search import latency_store
        from extractor.embed.registry import get_embedder

        embedder = get_embedder()
        store = latency_store(3000, embedder.name, embedder.dim)
    cold = cold_search(store, args.repeats)
    for name, m in cold.items():
        print(f"cold `tenderx search` ({name}, hybrid): median {m['median']:.2f} s wall, "
              f"CPU median {m['cpu_median']:.2f} s (target <= {TARGET_S} s)")
    print(f"en / zh wall ratio: {cold['en']['median'] / cold['zh']['median']:.2f}  "
          f"({time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
