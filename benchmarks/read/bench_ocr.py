"""OCR: seconds per A4 page, character error rate against the born-digital originals, and the
extraction score of the scans against the originals' (samples/scanned-*.pdf, samples/make_scans.py).

    python -m benchmarks.read.bench_ocr                 # the chosen scale, 2 threads
    python -m benchmarks.read.bench_ocr --scale 1.5     # another resolution (72 dpi × scale)

Speed: wall and CPU seconds per page, OCR only (the engine is loaded before the clock starts;
load time is reported apart), through the same bounded reader the pipeline uses. CPU seconds
are the worker's own (user + sys), so they stay meaningful on a busy machine where wall time
is inflated by other processes.
CER: Levenshtein distance between the OCR text and the original's pypdf text layer, both NFKC'd
with all whitespace removed, divided by the original's length ("ordered"); and the same with the
characters' order ignored (multiset difference, "bag"): table cells that wrap over several lines
are read row by row by OCR but cell by cell by pypdf, which the ordered figure counts as errors.
Extraction: rules-engine micro-F1 over the scans' gold vs the originals' (the same labels).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert/delete/substitute), O(len(a)·len(b)) time, O(len(b)) memory."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(reference: str, hypothesis: str) -> tuple[float, float]:
    """(ordered, bag) character error rates of ``hypothesis`` against ``reference``."""
    ref, hyp = _norm(reference), _norm(hypothesis)
    if not ref:
        return 0.0, 0.0
    ordered = levenshtein(ref, hyp) / len(ref)
    r, h = Counter(ref), Counter(hyp)
    bag = max(sum((r - h).values()), sum((h - r).values())) / len(ref)
    return ordered, bag


def scans() -> list[tuple[Path, Path]]:
    """(scan, born-digital original) pairs shipped in samples/."""
    out = []
    for scan in sorted(SAMPLES.glob("scanned-*.pdf")):
        original = SAMPLES / (scan.name.removeprefix("scanned-"))
        if original.exists():
            out.append((scan, original))
    return out


def _worker_cpu(reader: Any) -> float:
    import psutil

    from extractor.read.guard import worker_pids

    total = 0.0
    for pid in worker_pids(reader):
        t = psutil.Process(pid).cpu_times()
        total += t.user + t.system
    return total


def run(pairs: list[tuple[Path, Path]] | None = None, scale: float | None = None, threads: int = 2,
        extraction: bool = True) -> dict[str, Any]:
    from pypdf import PdfReader

    from extractor.read.guard import GuardedReader
    from extractor.read.ocr import DEFAULT_SCALE, OcrSettings, model_name

    pairs = pairs if pairs is not None else scans()
    scale = scale or DEFAULT_SCALE
    settings = OcrSettings(scale=scale, threads=threads)
    per_page_wall: list[float] = []
    per_page_cpu: list[float] = []
    docs: list[dict[str, Any]] = []
    with GuardedReader(workers=1, timeout=600, max_memory_mb=None, ocr=settings) as reader:
        t0 = time.perf_counter()  # warm-up: start the worker and load the models on a 1-page scan
        reader.read(SAMPLES / "scanned-notice-image-only.pdf")
        load_s = time.perf_counter() - t0
        for scan, original in pairs:
            marks: list[tuple[float, float]] = []

            def on_ocr(done: int, total: int, marks: list[tuple[float, float]] = marks) -> None:
                marks.append((time.perf_counter(), _worker_cpu(reader)))

            doc = reader.read(scan, on_ocr=on_ocr)
            walls = [b[0] - a[0] for a, b in zip(marks, marks[1:], strict=False)]
            cpus = [b[1] - a[1] for a, b in zip(marks, marks[1:], strict=False)]
            per_page_wall += walls
            per_page_cpu += cpus
            reference = [p.extract_text() or "" for p in PdfReader(str(original)).pages]
            rates = [cer(ref, page.text) for ref, page in zip(reference, doc.pages, strict=False)]
            ref_chars = sum(len(_norm(r)) for r in reference)
            docs.append({
                "scan": scan.name, "pages": len(doc.pages), "chars": ref_chars,
                "cer": sum(o * len(_norm(r)) for (o, _), r in zip(rates, reference, strict=False)) / ref_chars,
                "cer_bag": sum(b * len(_norm(r)) for (_, b), r in zip(rates, reference, strict=False)) / ref_chars,
                "confidence": statistics.mean(p.ocr.confidence for p in doc.pages if p.ocr),
                "wall_s": sum(walls), "cpu_s": sum(cpus),
            })
    chars = sum(d["chars"] for d in docs) or 1
    out: dict[str, Any] = {
        "engine": "rapidocr", "model": model_name(), "scale": scale, "dpi": round(72 * scale), "threads": threads,
        "pages": len(per_page_wall), "load_s": load_s,
        "wall_per_page": statistics.median(per_page_wall) if per_page_wall else 0.0,
        "cpu_per_page": statistics.median(per_page_cpu) if per_page_cpu else 0.0,
        "cer": sum(d["cer"] * d["chars"] for d in docs) / chars,
        "cer_bag": sum(d["cer_bag"] * d["chars"] for d in docs) / chars,
        "docs": docs,
    }
    if extraction:
        out.update(_extraction(pairs, scale))
    return out


def _extraction(pairs: list[tuple[Path, Path]], scale: float) -> dict[str, Any]:
    """Rules-engine micro-F1 on the scans and on their originals (same gold labels), OCR'd at the
    same scale (so the reads above are reused) and one document at a time."""
    from extractor.evaluate.scoring import evaluate_folder

    scores = {}
    saved = os.environ.get("TENDERX_OCR_SCALE")
    os.environ["TENDERX_OCR_SCALE"] = str(scale)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("scan", "original"):
            folder = Path(tmp) / kind
            folder.mkdir()
            for scan, original in pairs:
                pdf = scan if kind == "scan" else original
                shutil.copy(pdf, folder / pdf.name)
                shutil.copy(pdf.with_name(pdf.stem + ".gold.json"), folder / (pdf.stem + ".gold.json"))
            result = evaluate_folder(folder, backend="rules", store_dir=None, jobs=1).to_json()
            scores[kind] = result["micro_f1"]
    if saved is None:
        os.environ.pop("TENDERX_OCR_SCALE", None)
    else:
        os.environ["TENDERX_OCR_SCALE"] = saved
    return {"f1_scan": scores["scan"], "f1_original": scores["original"],
            "f1_gap": scores["original"] - scores["scan"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-extraction", action="store_true")
    args = ap.parse_args()
    r = run(scale=args.scale, threads=args.threads, extraction=not args.no_extraction)
    print(json.dumps(r, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
