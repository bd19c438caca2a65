"""Peak memory (RSS) of `tenderx ingest` and `tenderx extract` on the scaled corpus.

Each stage runs as the real CLI in a subprocess; a psutil poller (20 Hz) sums
the RSS of that process and all its children (the PDF guard's worker
processes) and keeps the peak. Extract (rules backend) runs on the whole
corpus. Ingest embeds every chunk, which on 2 cores takes far too long for
1,000 documents inside `make bench`, so it runs on two smaller slices and the
1,000-document figure is a labelled linear extrapolation from them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.generate import ROOT


def _tree_rss(proc) -> int:  # type: ignore[no-untyped-def]
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # a worker may exit between listing and reading
            total += p.memory_info().rss
    return total


def peak_rss_mb(args: list[str], cwd: Path, timeout: float = 1800) -> tuple[float, float, int]:
    """Run ``python -m extractor ARGS``; return (peak tree RSS MB, seconds, exit code)."""
    import psutil

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    if "TENDERX_CACHE_DIR" in os.environ:  # keep FastE5's dequantised-weights cache
        env["TENDERX_CACHE_DIR"] = os.environ["TENDERX_CACHE_DIR"]
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "extractor", *args], cwd=cwd, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = psutil.Process(child.pid)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc))
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        _, err = child.communicate(timeout=timeout)
    finally:
        done.set()
        poller.join()
    if child.returncode not in (0, 1):
        raise RuntimeError(f"tenderx {args[0]} exited {child.returncode}: {err.decode(errors='replace')[-500:]}")
    return peak / 2**20, time.perf_counter() - t0, child.returncode


def run(pdfs: list[Path], ingest_sizes: tuple[int, int], target_docs: int = 1000,
        big_store: Path | None = None) -> dict:
    """Peak RSS of extract (rules) on all ``pdfs`` and of ingest on two slices, extrapolated;
    with ``big_store``, also of ingesting the small slice into a copy of that (large) store."""
    work = Path(tempfile.mkdtemp(prefix="tenderx-bench-mem-"))
    try:
        folder = work / "corpus"
        folder.mkdir()
        for pdf in pdfs:  # a folder of just the PDFs (the corpus folder also holds sources)
            os.symlink(pdf.resolve(), folder / pdf.name)
        extract_mb, extract_s, _ = peak_rss_mb(
            ["extract", str(folder), "--backend", "rules", "--out", str(work / "records.jsonl"),
             "--store", str(work / "no-store")], cwd=work)
        ingest = []
        for n in ingest_sizes:
            mb, seconds, _ = peak_rss_mb(["ingest", *[str(p) for p in pdfs[:n]], "--store",
                                          str(work / f"store-{n}")], cwd=work)
            ingest.append({"documents": n, "peak_mb": mb, "seconds": seconds})
        (a, b) = ingest
        # small slices are dominated by fixed costs (model, Chroma) and batch-size noise: a negative
        # slope means no growth was measurable, so it is clamped at zero
        slope = max(0.0, (b["peak_mb"] - a["peak_mb"]) / max(1, b["documents"] - a["documents"]))
        extrapolated = max(a["peak_mb"], b["peak_mb"]) + slope * (target_docs - b["documents"])
        out = {"extract": {"documents": len(pdfs), "peak_mb": extract_mb, "seconds": extract_s},
               "ingest": ingest, "ingest_extrapolated_mb": extrapolated, "target_docs": target_docs,
               "mb_per_doc": slope}
        if big_store is not None and (big_store / "complete").exists():
            copy = work / "big-store"
            shutil.copytree(big_store, copy)
            n = ingest_sizes[0]
            mb, seconds, _ = peak_rss_mb(["ingest", *[str(p) for p in pdfs[:n]], "--store", str(copy)], cwd=work)
            out["big_store"] = {"documents": n, "peak_mb": mb, "seconds": seconds, "store": big_store.name}
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - manual use
    print(run(sorted((ROOT / "samples").glob("*.pdf")), (5, 10), target_docs=30))
