"""OCR: seconds per A4 page, character error rate against the born-digital originals, and the
extraction score of the scans against the originals' (samples/scanned-*.pdf, samples/make_scans.py).

    python -m benchmarks.read.bench_ocr                 # the chosen scale, 2 threads
    python -m benchmarks.read.bench_ocr --scale 1.5     # another resolution (72 dpi × scale)
    python -m benchmarks.read.bench_ocr --compare       # the old settings vs the defaults, alternately
    python -m benchmarks.read.bench_ocr --profile       # CPU seconds in detector / recogniser per setting
    python -m benchmarks.read.bench_ocr --memory        # peak RSS of all OCR workers at -j 4, old vs new
    python -m benchmarks.read.bench_ocr --stage-memory  # a worker's peak RSS after each stage, per detector size

--compare runs the old settings (the detector on the whole render, recogniser batches of 6,
onnxruntime threads spinning) and today's defaults one after the other, ``--rounds`` times, in one
process, and reports each one's CPU-s and wall-s a page, its worker's peak RSS (VmHWM), its CER and
its extraction F1 (the same settings through the pipeline): on a loaded machine the CPU seconds and
the ratios are what to read.

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


def _worker_peak_mb(reader: Any) -> float:
    """Sum of the workers' peak resident sets (VmHWM), in MB."""
    from extractor.read.guard import worker_pids

    total = 0
    for pid in worker_pids(reader):
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            total += next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    return total / 1024


def run(pairs: list[tuple[Path, Path]] | None = None, scale: float | None = None, threads: int = 2,
        extraction: bool = True, settings: Any = None) -> dict[str, Any]:
    from pypdf import PdfReader

    from extractor.read.guard import GuardedReader
    from extractor.read.ocr import DEFAULT_SCALE, OcrSettings, model_name

    pairs = pairs if pairs is not None else scans()
    scale = scale or (settings.scale if settings is not None else DEFAULT_SCALE)
    settings = settings or OcrSettings(scale=scale, threads=threads)
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
        peak_mb = _worker_peak_mb(reader)
    chars = sum(d["chars"] for d in docs) or 1
    out: dict[str, Any] = {
        "engine": "rapidocr", "model": model_name(), "scale": scale, "dpi": round(72 * scale),
        "threads": settings.threads, "det_side": settings.det_side, "rec_batch": settings.rec_batch,
        "spin": settings.spin, "pages": len(per_page_wall), "load_s": load_s, "worker_peak_mb": peak_mb,
        "cpu_total_s": sum(per_page_cpu), "wall_total_s": sum(per_page_wall),
        "wall_per_page": statistics.median(per_page_wall) if per_page_wall else 0.0,
        "cpu_per_page": statistics.median(per_page_cpu) if per_page_cpu else 0.0,
        "cer": sum(d["cer"] * d["chars"] for d in docs) / chars,
        "cer_bag": sum(d["cer_bag"] * d["chars"] for d in docs) / chars,
        "docs": docs,
    }
    if extraction:
        out.update(_extraction(pairs, scale, settings))
    return out


def compare(rounds: int = 2, threads: int = 2, extraction: bool = True) -> dict[str, Any]:
    """The old OCR settings against today's defaults, alternately in one process (see the module doc)."""
    from extractor.read.ocr import OcrSettings

    variants = {"before": OcrSettings(threads=threads, det_side=0, rec_batch=6, spin=True),
                "after": OcrSettings(threads=threads)}
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in variants}
    for r in range(rounds):
        for name, settings in variants.items():
            runs[name].append(run(settings=settings, extraction=extraction and r == 0))
    out: dict[str, Any] = {}
    for name, results in runs.items():
        pages = sum(x["pages"] for x in results)
        out[name] = {**{k: v for k, v in results[0].items() if k != "docs"},
                     "cpu_per_page": sum(x["cpu_total_s"] for x in results) / pages,
                     "wall_per_page": sum(x["wall_total_s"] for x in results) / pages,
                     "worker_peak_mb": max(x["worker_peak_mb"] for x in results), "rounds": rounds}
    out["ratio_cpu"] = out["before"]["cpu_per_page"] / out["after"]["cpu_per_page"]
    out["ratio_wall"] = out["before"]["wall_per_page"] / out["after"]["wall_per_page"]
    out["ratio_peak"] = out["before"]["worker_peak_mb"] / out["after"]["worker_peak_mb"]
    return out


PROFILE_VARIANTS: dict[str, dict[str, Any]] = {
    "old: det full render, rec batch 6, 1 thread": {"det_side": 0, "rec_batch": 6},
    "det 1280 px": {"det_side": 1280, "rec_batch": 6},
    "det 960 px": {"det_side": 960, "rec_batch": 6},
    "rec batch 1": {"det_side": 0, "rec_batch": 1},
    "new: det 1280 px, rec batch 1": {"det_side": 1280, "rec_batch": 1},
    "new, 108 dpi render": {"det_side": 1280, "rec_batch": 1, "scale": 1.5},
    "new, 2 threads, spinning": {"det_side": 1280, "rec_batch": 1, "threads": 2, "spin": True},
    "new, 2 threads, no spinning": {"det_side": 1280, "rec_batch": 1, "threads": 2},
}


def profile() -> dict[str, Any]:
    """Where a page's CPU time goes: process CPU seconds per page in the detector and the
    recogniser, per variant, on the rendered scans, in this process (no worker)."""
    import pypdfium2 as pdfium

    from extractor.read import ocr

    renders: dict[float, list[Any]] = {}
    out: dict[str, Any] = {}
    for name, v in PROFILE_VARIANTS.items():
        scale = v.get("scale", ocr.DEFAULT_SCALE)
        if scale not in renders:
            renders[scale] = []
            for scan, _ in scans():
                pdf = pdfium.PdfDocument(str(scan))
                renders[scale] += [ocr.drop_red(ocr.render(page, scale)) for page in pdf]
        engine = ocr.Recogniser(v.get("threads", 1), v["det_side"], v["rec_batch"], v.get("spin", False))._engine
        engine(renders[scale][0], use_cls=False)  # load
        spent = {"det": 0.0, "rec": 0.0}
        for part in ("det", "rec"):
            model = getattr(engine, f"text_{part}")
            call = type(model).__call__

            def timed(self: Any, *a: Any, _call: Any = call, _part: str = part, _spent: dict[str, float] = spent,
                      **k: Any) -> Any:
                t = time.process_time()
                try:
                    return _call(self, *a, **k)
                finally:
                    _spent[_part] += time.process_time() - t
            model.__class__ = type(type(model).__name__, (type(model),), {"__call__": timed})
        c0, w0 = time.process_time(), time.perf_counter()
        chars = sum(len("".join(engine(img, use_cls=False).txts or ())) for img in renders[scale])
        n = len(renders[scale])
        out[name] = {"cpu_per_page": (time.process_time() - c0) / n, "det_cpu": spent["det"] / n,
                     "rec_cpu": spent["rec"] / n, "wall_per_page": (time.perf_counter() - w0) / n, "chars": chars}
        print(name, {k: round(x, 3) for k, x in out[name].items()}, file=__import__("sys").stderr, flush=True)
    return out


def memory(requested: int = 4) -> dict[str, Any]:
    """Peak RSS of all OCR workers together (sum of their VmHWM) while ``requested`` threads read
    every scan at once, as `extract -j 4` does: the old settings with ``requested`` workers, and
    the defaults with the worker count the reader now chooses (cores, free memory)."""
    from concurrent.futures import ThreadPoolExecutor

    from extractor.read.guard import GuardedReader
    from extractor.read.ocr import OcrSettings

    files = [scan for scan, _ in scans()]
    out: dict[str, Any] = {}
    for name, settings in (("before", OcrSettings(det_side=0, rec_batch=6, spin=True)), ("after", OcrSettings())):
        with GuardedReader(workers=requested, timeout=1200, max_memory_mb=None, ocr=settings) as reader:
            if name == "before":
                reader.workers = requested  # the old pool: as many workers as asked for
            t0 = time.perf_counter()
            with ThreadPoolExecutor(requested) as pool:
                list(pool.map(reader.read, files * 2))
            out[name] = {"workers": reader.workers, "peak_mb_all_workers": _worker_peak_mb(reader),
                         "wall_s": time.perf_counter() - t0, "cpu_s": _worker_cpu(reader)}
    return out


STAGE_PROBE = """
import sys
import numpy as np
from extractor.read import ocr
def peak():
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
side, path = int(sys.argv[1]), sys.argv[2]
out = {"python + imports": peak()}
engine = ocr.Recogniser(threads=1, det_side=side)._engine
detector, recogniser = engine._load_det_model(), engine._load_rec_model()
out["models loaded"] = peak()
image = ocr.drop_red(ocr.render(ocr.open_pdfium(path)[0], ocr.DEFAULT_SCALE))
image = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image
out["page rendered"] = peak()
detector(image)
out["detector run"] = peak()
engine(image, use_cls=False)
out["recogniser run (whole page)"] = peak()
print(out)
"""


def stage_memory(sides: tuple[int, ...] = (0, 1280, 960, 640)) -> dict[str, Any]:
    """Peak RSS (VmHWM, MB) of a fresh process after each OCR stage on one dense scanned page, per
    detector input size (0 = the full render): which stage sets a worker's peak."""
    import ast
    import subprocess
    import sys

    page = str(SAMPLES / "scanned-award-hygon-dcu-servers.pdf")
    out: dict[str, Any] = {}
    for side in sides:
        res = subprocess.run([sys.executable, "-c", STAGE_PROBE, str(side), page], cwd=ROOT, capture_output=True,
                             text=True, timeout=600, check=True)
        out[f"det {side or 'full'}"] = ast.literal_eval(res.stdout.strip().splitlines()[-1])
        print(side, out[f"det {side or 'full'}"], file=sys.stderr, flush=True)
    return out


def _extraction(pairs: list[tuple[Path, Path]], scale: float, settings: Any = None) -> dict[str, Any]:
    """Rules-engine micro-F1 on the scans and on their originals (same gold labels), OCR'd at the
    same scale (so the reads above are reused) and one document at a time."""
    from extractor.evaluate.scoring import evaluate_folder

    scores = {}
    env = {"TENDERX_OCR_SCALE": str(scale), "TENDERX_OCR_CACHE": "0"}
    if settings is not None:
        env.update(TENDERX_OCR_DET_SIDE=str(settings.det_side), TENDERX_OCR_REC_BATCH=str(settings.rec_batch))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
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
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return {"f1_scan": scores["scan"], "f1_original": scores["original"],
            "f1_gap": scores["original"] - scores["scan"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-extraction", action="store_true")
    ap.add_argument("--compare", action="store_true", help="old settings vs the defaults, alternately")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="peak RSS of all OCR workers, -j 4, before/after")
    ap.add_argument("--profile", action="store_true", help="CPU seconds in detector/recogniser per variant")
    ap.add_argument("--stage-memory", action="store_true", help="a worker's peak RSS after each stage")
    args = ap.parse_args()
    if args.profile:
        r = profile()
    elif args.stage_memory:
        r = stage_memory()
    elif args.memory:
        r = memory()
    elif args.compare:
        r = compare(args.rounds, args.threads, extraction=not args.no_extraction)
    else:
        r = run(scale=args.scale, threads=args.threads, extraction=not args.no_extraction)
    print(json.dumps(r, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
