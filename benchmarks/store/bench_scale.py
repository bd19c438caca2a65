"""The store at 10k / 30k / 100k chunks: write time, search-file build, first search after ingest
(search file built by ingest vs built lazily by the first search), warm search p50/p95, peak memory
of the writing and of the searching process, store size on disk, and the growth exponents.

    python -m benchmarks.store.bench_scale                     # 10k, 30k, 100k, embedded store
    python -m benchmarks.store.bench_scale --sizes 10000 --server   # also through `chroma run`

Texts are real-layout chunk texts: the sample PDFs' chunks with names and numbers varied
(benchmarks/generate.vary_lines, the same generator as bench_search.py), 100 chunks a document.
The dense side has RANDOM unit vectors: embedding 100,000 chunks with the bundled model would take
hours on 2 cores. Queries are embedded with the real model (its load is outside every timing).
"Write" is the store stage of ingest (chunks + vectors into Chroma and the document table) plus
its last step (the search file); reading, chunking and embedding scale per file and are measured
in benchmarks/pipeline/.

Each phase runs in its own process, so peak memory (ru_maxrss) is that phase's alone and the
first search is really cold (a new process opening the store, as `tenderx search` does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PER_DOC = 100
QUERIES = ["英伟达 A100 GPU 服务器", "华为昇腾910B 算力服务器", "海光 DCU 国产算力服务器", "物业管理服务 中标",
           "预算金额 采购人 联系方式", "恒温恒湿试验箱", "云服务租用 一年", "课桌椅 采购 项目", "终止公告 原因",
           "供应商 地址 成交金额"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write(folder: Path, n: int, seed: int = 0) -> dict[str, Any]:
    """Phase 1 (its own process): write ``n`` chunks, then the ingest's last step (the search file)."""
    from benchmarks.generate import vary_lines
    from benchmarks.search.bench_search import base_chunks
    from extractor.core.document import Chunk, Document
    from extractor.embed.registry import get_embedder
    from extractor.search.lexical import prepare_index
    from extractor.store.store import Store

    embedder = get_embedder()
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    base = base_chunks()
    store = Store(folder)
    store.use_embedder(embedder.name, embedder.dim)
    t0 = time.perf_counter()
    c0 = time.process_time()
    with store.writing():
        for start in range(0, n, PER_DOC):
            doc_no = start // PER_DOC
            sha = hashlib.sha256(f"bench-scale-{doc_no}".encode()).hexdigest()  # a server keys chunks by its prefix
            path = str(folder / "docs" / f"doc-{doc_no:05d}.pdf")
            chunks = []
            for i in range(min(PER_DOC, n - start)):
                text = "\n".join(vary_lines(base[(start + i * 7 + doc_no) % len(base)].splitlines(), rng))
                chunks.append(Chunk(id="", doc_sha256=sha, file=path, text=text, page_start=i // 2 + 1,
                                    page_end=i // 2 + 1, char_start=0, char_end=len(text), index=i))
            vectors = np_rng.standard_normal((len(chunks), embedder.dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.replace_document(Document(path=path, sha256=sha, pages=[]), chunks, vectors)
    write_s, write_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    prepare_index(store)
    index_s, index_cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return {"chunks": n, "write_s": write_s, "write_cpu_s": write_cpu, "index_s": index_s,
            "index_cpu_s": index_cpu, "write_peak_mb": _peak_mb()}


def probe(folder: Path, mode: str, repeats: int) -> dict[str, Any]:
    """Phase 2 (its own process, as `tenderx search`): load the query model, then time the first
    search (cold: opens the store and its search file, or builds it) and ``repeats`` warm ones."""
    from extractor.search.hybrid import clear_query_cache, open_store, query_embedder, search

    embedder = query_embedder()  # what `tenderx search` uses (one thread: no idle threads spinning)
    embedder.embed_query("预热")  # the model's load is not a search cost
    base_mb = _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    store = open_store(folder)  # as `tenderx search` opens it (Chroma only when needed)
    search(store, QUERIES[0], k=10, mode=mode, embedder=embedder)
    first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    warm, warm_cpu = [], []
    for _ in range(repeats):
        for q in QUERIES:
            clear_query_cache()
            t, c = time.perf_counter(), time.process_time()
            search(store, q, k=10, mode=mode, embedder=embedder)
            warm.append(time.perf_counter() - t)
            warm_cpu.append(time.process_time() - c)
    warm_ms = np.asarray(warm) * 1000
    return {"first_s": first_s, "first_cpu_s": first_cpu, "warm_cpu_p50_ms": 1000 * statistics.median(warm_cpu),
            "warm_p50_ms": float(np.percentile(warm_ms, 50)),
            "warm_p95_ms": float(np.percentile(warm_ms, 95)), "warm_n": len(warm), "search_peak_mb": _peak_mb(),
            "model_peak_mb": base_mb}


def _child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-m", "benchmarks.store.bench_scale", *args], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=6 * 3600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def _proc_cpu_s(pid: int) -> float:
    """user + sys CPU seconds of a process and its waited-for children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def one_size(n: int, work: Path, mode: str, repeats: int, env: dict[str, str] | None = None,
             server: tuple[int, Path] | None = None) -> dict[str, Any]:
    """One store size; ``server`` = (the Chroma server's pid, its data folder) for a server store,
    whose CPU time and disk growth are then counted too (the client's alone would flatter it)."""
    from extractor.search.lexical import INDEX_FILE

    folder = work / f"store-{n}"
    cpu0, du0 = (_proc_cpu_s(server[0]), _du(server[1])) if server else (0.0, 0)
    out = _child("--write", str(folder), "--n", str(n), env=env)
    if server:
        out["server_write_cpu_s"] = _proc_cpu_s(server[0]) - cpu0
        out["server_disk_mb"] = (_du(server[1]) - du0) / 1e6
    out["disk_mb"] = _du(folder) / 1e6 + out.get("server_disk_mb", 0.0)
    out["index_mb"] = (folder / INDEX_FILE).stat().st_size / 1e6
    # first search after ingest, today (search file built by ingest) and before (built lazily)
    cpu0 = _proc_cpu_s(server[0]) if server else 0.0
    ready = _child("--probe", str(folder), "--mode", mode, "--repeats", str(repeats), env=env)
    if server:
        out["server_search_cpu_s"] = _proc_cpu_s(server[0]) - cpu0
    saved = folder / (INDEX_FILE + ".saved")
    shutil.copy(folder / INDEX_FILE, saved)
    (folder / INDEX_FILE).unlink()
    lazy = _child("--probe", str(folder), "--mode", mode, "--repeats", "1", env=env)
    shutil.move(saved, folder / INDEX_FILE)
    out.update({f"ready_{k}": v for k, v in ready.items()})
    out.update({"lazy_first_s": lazy["first_s"], "lazy_first_cpu_s": lazy["first_cpu_s"],
                "lazy_search_peak_mb": lazy["search_peak_mb"]})
    return out


def exponents(rows: dict[int, dict[str, Any]], keys: list[str]) -> dict[str, float]:
    """Least-squares slope of log(value) on log(chunks): 1.0 is linear growth, 0 is flat."""
    sizes = sorted(rows)
    out = {}
    for key in keys:
        xs = [math.log(n) for n in sizes if rows[n].get(key, 0) > 0]
        ys = [math.log(rows[n][key]) for n in sizes if rows[n].get(key, 0) > 0]
        if len(xs) >= 2:
            mx, my = statistics.mean(xs), statistics.mean(ys)
            out[key] = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return out


GROWTH_KEYS = ["write_s", "write_cpu_s", "index_s", "index_cpu_s", "write_peak_mb", "disk_mb", "index_mb",
               "ready_first_s", "ready_first_cpu_s", "ready_warm_cpu_p50_ms", "ready_warm_p50_ms", "ready_warm_p95_ms",
               "ready_search_peak_mb", "lazy_first_s", "lazy_first_cpu_s", "server_write_cpu_s", "server_disk_mb"]


def run(sizes: list[int], mode: str = "hybrid", repeats: int = 2, server: bool = False) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tenderx-bench-scale-"))
    result: dict[str, Any] = {"mode": mode, "embedded": {}, "server": {}}
    try:
        for n in sizes:
            result["embedded"][n] = one_size(n, work / "embedded", mode, repeats)
            print(json.dumps({"embedded": n, **result["embedded"][n]}), file=sys.stderr, flush=True)
        if server:
            from benchmarks.store.bench_server import chroma_server_process

            with chroma_server_process(work / "server-data") as (url, proc):
                for n in sizes:
                    env = {"TENDERX_CHROMA_URL": url, "TENDERX_CHROMA_DATABASE": f"scale{n}"}
                    result["server"][n] = one_size(n, work / "server", mode, repeats, env,
                                                   (proc.pid, work / "server-data"))
                    print(json.dumps({"server": n, **result["server"][n]}), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for kind in ("embedded", "server"):
        if len(result[kind]) >= 2:
            result[f"{kind}_exponents"] = exponents(result[kind], GROWTH_KEYS)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 30_000, 100_000])
    ap.add_argument("--mode", default="hybrid", choices=["dense", "lexical", "hybrid"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--server", action="store_true", help="also through a Chroma server (`chroma run`)")
    ap.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        print(json.dumps(write(args.write, args.n)))
    elif args.probe:
        print(json.dumps(probe(args.probe, args.mode, args.repeats)))
    else:
        print(json.dumps(run(args.sizes, args.mode, args.repeats, args.server), indent=2))


if __name__ == "__main__":
    main()
