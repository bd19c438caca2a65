"""Cold `tenderx search` on a real store: CPU and wall time of a new process per query (issue 26).

Each run is a fresh ``python -m extractor search QUERY --store S --json`` process (interpreter
start, imports, the search file, the query embedder, the lexicon for an English query, the
search, the output). With ``--before DIR`` (an unpacked older tree: ``git archive REV | tar -x
-C DIR``) the two trees run interleaved, query by query, so both see the same machine; the
figures to compare are medians of the child's user+sys CPU (on a shared machine the wall time
also measures the wait for a core). Bytecode is cached (an install has .pyc files) and one
warm-up run per tree and query precedes the timed ones.

    python -m benchmarks.search.bench_cold_search --store S [--before DIR] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.generate import ROOT

QUERIES = {"en": "diesel generator for a middle school", "zh": "英伟达 A100 云服务器"}
TARGET_S = 0.5


def run_once(tree: Path, store: Path, query: str) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one cold search with ``tree`` on the import path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "extractor", "search", query, "--store", str(store), "--json"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"search failed in {tree} ({proc.returncode}): {proc.stderr[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(store: Path, trees: dict[str, Path], repeats: int) -> dict[str, dict[str, dict[str, float]]]:
    """{tree name: {query language: {"cpu_median", "wall_median", "n"}}}, runs interleaved."""
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {t: {q: [] for q in QUERIES} for t in trees}
    for lang, query in QUERIES.items():
        for tree in trees.values():
            run_once(tree, store, query)  # warm-up: bytecode written, files in the page cache
        for _ in range(repeats):
            for name, tree in trees.items():
                runs[name][lang].append(run_once(tree, store, query))
    return {name: {lang: {"cpu_median": statistics.median(c for _, c in rs),
                          "wall_median": statistics.median(w for w, _ in rs), "n": float(len(rs))}
                   for lang, rs in by_lang.items()} for name, by_lang in runs.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a store made by `tenderx ingest`")
    parser.add_argument("--before", type=Path, help="an older source tree to run interleaved with this one")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve()} if args.before else {}
    trees["after" if args.before else "this"] = ROOT
    result = compare(args.store.resolve(), trees, args.repeats)
    print(f"load average {os.getloadavg()[0]:.1f}; target <= {TARGET_S} s on a quiet 2-core machine")
    for name, by_lang in result.items():
        for lang, m in by_lang.items():
            print(f"  {name:>6} {lang}: CPU median {m['cpu_median']:.3f} s, wall median {m['wall_median']:.3f} s "
                  f"({int(m['n'])} runs)")
    if args.before:
        for lang in QUERIES:
            ratio = result["after"][lang]["cpu_median"] / result["before"][lang]["cpu_median"]
            print(f"  after / before CPU, {lang}: {ratio:.2f}")


if __name__ == "__main__":
    main()
