"""First search in a new process vs a warm search in the same process, code before vs after,
on the same stores, alternately in one run (issue 28: "first search after ingest within 2× a
warm search").

    python -m benchmarks.search.bench_first_search --before /tmp/tenderx-a7b01c3 \\
        --store /tmp/samples-store --store /tmp/store-30k --rounds 3
    python -m benchmarks.search.bench_first_search --cli samples/ --rounds 3

``--cli DOCS`` is what a user sees: `tenderx ingest DOCS` into a new store (not timed), then
`tenderx search Q` run as a command right away (the first search after ingest) and again
``--repeats`` times (warm: the file in the page cache), each a new process; wall seconds and the
command's CPU seconds (user + sys of the child).

``--before`` is a checkout of the older code (``git archive COMMIT | tar -x -C DIR``). Each
variant first makes the store's search file current in its own format (outside the timing);
the two files are then swapped into place by rename (so a file's stamp stays valid) before
each probe. A probe is a new process, as `tenderx search` is: it loads the query model (not
timed), opens the store and times its first search, then ``--repeats`` rounds of the ten
queries warm (query-vector cache cleared each time; the first query's own warm time is reported
apart, since it names a model number and costs more than the median query). "analyser warm" is the same first search
after one query was analysed without a store, which takes the store-independent one-off work
(watchlist patterns, glossary, English lexicon) out of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INDEX_FILE = "search-index.npz"
STAMP = INDEX_FILE + ".checked"
QUERIES = ["英伟达 A100 GPU 服务器", "华为昇腾910B 算力服务器", "海光 DCU 国产算力服务器", "物业管理服务 中标",
           "预算金额 采购人 联系方式", "恒温恒湿试验箱", "云服务租用 一年", "课桌椅 采购 项目", "终止公告 原因",
           "供应商 地址 成交金额"]

# Run in the variant's own tree (cwd), so `extractor` is that variant's code.
PREPARE = """
import sys
from extractor.search.lexical import prepare_index
from extractor.store.store import Store
store = Store(sys.argv[1]); prepare_index(store); store.close()
"""
PROBE = """
import json, resource, statistics, sys, time
from extractor.search.hybrid import clear_query_cache, open_store, search
folder, mode, repeats, warm_analyser, queries = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", \\
    json.loads(sys.argv[5])
try:  # what `tenderx search` uses: one thread, so no idle BLAS/onnxruntime threads spin on the clock
    from extractor.search.hybrid import query_embedder
    embedder = query_embedder()
except ImportError:  # an older tree
    from extractor.embed.registry import get_embedder
    embedder = get_embedder()
embedder.embed_query("预热")
if warm_analyser:
    from extractor.search.query import analyse
    analyse("GPU server 服务器 bid bond")
c0, t0 = time.process_time(), time.perf_counter()
store = open_store(folder)
search(store, queries[0], k=10, mode=mode, embedder=embedder)
first_cpu, first_s = time.process_time() - c0, time.perf_counter() - t0
cpu, wall, same = [], [], []
for _ in range(repeats):
    for q in queries:
        clear_query_cache()
        c, t = time.process_time(), time.perf_counter()
        search(store, q, k=10, mode=mode, embedder=embedder)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
        if q == queries[0]:
            same.append(cpu[-1])
print(json.dumps({"first_cpu_s": first_cpu, "first_s": first_s, "warm_cpu_ms": 1000 * statistics.median(cpu),
                  "warm_ms": 1000 * statistics.median(wall), "warm_same_cpu_ms": 1000 * statistics.median(same),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(tree: Path, code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""


def _aside(store: Path, variant: str) -> None:
    for name in (INDEX_FILE, STAMP):
        if (store / name).exists():
            os.replace(store / name, store / f"{name}.{variant}")


def _back(store: Path, variant: str) -> None:
    for name in (INDEX_FILE, STAMP):
        if (store / f"{name}.{variant}").exists():
            os.replace(store / f"{name}.{variant}", store / name)


def run(stores: list[Path], before: Path, rounds: int, repeats: int, mode: str) -> dict[str, Any]:
    trees = {"before": before, "after": ROOT}
    out: dict[str, Any] = {}
    for store in stores:
        for variant in ("after", "before"):  # each variant's file, current, in its own format
            tree = trees[variant]
            _run(tree, PREPARE, str(store))
            _aside(store, variant)
        rows: dict[str, list[dict[str, Any]]] = {f"{v}{w}": [] for v in trees for w in ("", "+analyser")}
        try:
            for _ in range(rounds):
                for variant, tree in trees.items():
                    _back(store, variant)
                    try:
                        for warm in ("", "+analyser"):
                            row = json.loads(_run(tree, PROBE, str(store), mode, str(repeats),
                                                  "1" if warm else "0", json.dumps(QUERIES, ensure_ascii=False)))
                            rows[variant + warm].append(row)
                            print(json.dumps({"store": store.name, "variant": variant + warm, **row}),
                                  file=sys.stderr, flush=True)
                    finally:
                        _aside(store, variant)
        finally:
            _back(store, "after")
        out[str(store)] = {name: {key: statistics.median(r[key] for r in got) for key in got[0]}
                           for name, got in rows.items() if got}
        for summary in out[str(store)].values():
            summary["first_over_warm_cpu"] = summary["first_cpu_s"] * 1000 / summary["warm_cpu_ms"]
            summary["first_over_same_query_warm_cpu"] = summary["first_cpu_s"] * 1000 / summary["warm_same_cpu_ms"]
            summary["first_over_warm_wall"] = summary["first_s"] * 1000 / summary["warm_ms"]
    return out


def _timed_cli(args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "extractor", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode not in ok:
        raise RuntimeError(res.stderr[-3000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_cli(docs: Path, rounds: int, repeats: int) -> dict[str, Any]:
    """`tenderx search` as a command right after `tenderx ingest`, then the same command again."""
    work = Path(tempfile.mkdtemp(prefix="tenderx-first-search-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"TENDERX_CACHE_DIR": str(work / "cache")}
    rows: dict[str, list[float]] = {"first_s": [], "first_cpu_s": [], "again_s": [], "again_cpu_s": []}
    try:
        for r in range(rounds):
            store = work / f"store-{r}"
            _timed_cli(["ingest", str(docs), "--store", str(store)], env, ok=(0, 1))  # 1: some files failed
            query = QUERIES[r % len(QUERIES)]
            wall, cpu = _timed_cli(["search", query, "--store", str(store)], env)
            rows["first_s"].append(wall)
            rows["first_cpu_s"].append(cpu)
            for _ in range(repeats):
                wall, cpu = _timed_cli(["search", query, "--store", str(store)], env)
                rows["again_s"].append(wall)
                rows["again_cpu_s"].append(cpu)
            print(json.dumps({"round": r, **{k: v[-1] for k, v in rows.items()}}), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {k: statistics.median(v) for k, v in rows.items()}
    out["first_over_again_wall"] = out["first_s"] / out["again_s"]
    out["first_over_again_cpu"] = out["first_cpu_s"] / out["again_cpu_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, action="append")
    ap.add_argument("--before", type=Path, help="a checkout of the older code")
    ap.add_argument("--cli", type=Path, help="a folder to ingest, then time `tenderx search` commands on it")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mode", default="hybrid", choices=["dense", "lexical", "hybrid"])
    args = ap.parse_args()
    if args.cli:
        print(json.dumps(run_cli(args.cli.resolve(), args.rounds, args.repeats), indent=2))
    elif args.store and args.before:
        print(json.dumps(run(args.store, args.before.resolve(), args.rounds, args.repeats, args.mode), indent=2))
    else:
        ap.error("give --cli DOCS, or --store STORE (repeatable) with --before TREE")


if __name__ == "__main__":
    main()
