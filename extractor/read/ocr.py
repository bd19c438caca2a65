"""Offline OCR for pages without a usable text layer: render with pdfium, recognise with RapidOCR.

Why this engine: ``rapidocr`` ships its PP-OCRv6 (small) Chinese detection and recognition
models inside the wheel and runs them on onnxruntime, so OCR works on a machine with no
network; we load the bundled files by path so it can never fall back to a download.
Measured against ``rapidocr-onnxruntime`` 1.4.4 (PP-OCRv4) on the same pages it is about 25%
faster at the same accuracy (benchmarks/read/bench_ocr.py, benchmarks/results.md).

Reading order: boxes are grouped into lines by vertical overlap, sorted left to right, and
joined with a tab where there is a visible gap (a table cell break), so ``label：value`` stays on
one line, as the rules engine needs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractor.core.document import OcrInfo
from extractor.read.errors import PdfError

if TYPE_CHECKING:  # numpy is imported only where OCR runs: the reader's workers stay small without it
    import numpy as np

ENGINE = "rapidocr"
DEFAULT_SCALE = 2.0  # 144 dpi: the smallest that keeps 9-pt CJK text legible to the recogniser
# Where a page's CPU time went (benchmarks/results.md, issue 28): the detector ran on the whole 144-dpi
# render (1191×1684) and the recogniser padded every crop in a batch of 6 to the widest one (a table's
# short cells to 320+ px). The detector now sees the page shrunk to this longest side (boxes are mapped
# back and the crops are cut from the full render, so the recogniser's input is unchanged; 960 px lost
# a table's amount on the scanned samples, 1280 px loses nothing), and the recogniser reads one crop at
# a time (no padding). bench_ocr.py --compare measures both against the old settings.
DEFAULT_DET_SIDE = 1280
DEFAULT_REC_BATCH = 1
DEFAULT_PAGE_TIMEOUT = 120.0  # seconds a worker may spend on one page's OCR before it is killed
MODEL_LOAD_ALLOWANCE = 60.0  # extra seconds for a worker's first OCR'd page (it loads the models)
DEFAULT_MAX_PAGES = 500  # pages OCR'd per document at most (a warning names the rest)
CELL_GAP = 1.0  # a horizontal gap wider than this many line heights is a cell break (tab)
_BLANK_LEVEL = 250
_PAPER_LEVEL = 170.0  # grey (red channel) at or above this is paper  # a grey render whose darkest pixel is lighter than this is blank
# Peak RSS of one OCR worker at the default settings (VmHWM, bench_ocr.py --compare, results.md):
# the reader starts no more OCR workers than fit in OCR_MEMORY_SHARE of the memory available at start.
WORKER_PEAK_MB = 520
OCR_MEMORY_SHARE = 0.5
# glibc raises its mmap threshold after the first big free, so the detector's later activations land on
# the heap, which keeps its high-water mark: fixed at 4 MB, buffers that big are returned when freed.
# One worker's peak at the defaults, in-process over the 9 scanned sample pages (2026-12-07, results.md):
# ~570 MB → ~490 MB for ~+5% CPU (1 MB: 440 MB but +35% CPU in page faults; 16 MB: ~535 MB).
MMAP_THRESHOLD = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
_MODELS = {"det": "PP-OCRv6_det_small.onnx", "rec": "PP-OCRv6_rec_small.onnx"}


class OcrUnavailable(PdfError):
    """The OCR engine or its bundled models are not installed (an ``unreadable`` file error)."""


@dataclass(frozen=True)
class OcrSettings:
    """Whether and how to OCR; passed from the CLI/library down to the reader's workers."""

    enabled: bool = True
    scale: float = DEFAULT_SCALE
    threads: int = 0  # onnxruntime threads per worker; 0 = the machine's cores shared among workers
    page_timeout: float = DEFAULT_PAGE_TIMEOUT
    max_pages: int = DEFAULT_MAX_PAGES
    det_side: int = DEFAULT_DET_SIDE  # longest side of the detector's input; 0 = the full render
    rec_batch: int = DEFAULT_REC_BATCH  # crops per recogniser run
    spin: bool = False  # onnxruntime's idle threads busy-wait (burns CPU a loaded machine needs)
    cache_dir: str | None = None  # where OCR'd page text is kept on disk (None: not kept)

    def fingerprint(self) -> str:
        """What changes the text (model, resolution, detector input, batch): part of a cache key."""
        return f"{model_name()}|scale={self.scale:g}|det={self.det_side}|rec={self.rec_batch}"

    @classmethod
    def from_env(cls, enabled: bool | None = None) -> OcrSettings:
        """TENDERX_OCR (0/off disables), TENDERX_OCR_SCALE, TENDERX_OCR_THREADS,
        TENDERX_OCR_PAGE_TIMEOUT, TENDERX_OCR_MAX_PAGES, TENDERX_OCR_DET_SIDE (0 = full render),
        TENDERX_OCR_REC_BATCH; ``enabled`` (a flag) wins over the env. OCR'd pages are cached on
        disk (``cache_dir_from_env``)."""
        def num(name: str, default: float) -> float:
            try:
                value = float(os.environ.get(name, "").strip() or default)
            except ValueError:
                return default
            return value if value > 0 else default

        def side() -> int:
            raw = os.environ.get("TENDERX_OCR_DET_SIDE", "").strip()
            return int(raw) if raw.isdigit() and (raw == "0" or int(raw) >= 32) else DEFAULT_DET_SIDE

        if enabled is None:
            enabled = os.environ.get("TENDERX_OCR", "1").strip().lower() not in ("0", "off", "no", "false")
        return cls(enabled=enabled, scale=num("TENDERX_OCR_SCALE", DEFAULT_SCALE),
                   threads=int(num("TENDERX_OCR_THREADS", 0) if os.environ.get("TENDERX_OCR_THREADS") else 0),
                   page_timeout=num("TENDERX_OCR_PAGE_TIMEOUT", DEFAULT_PAGE_TIMEOUT),
                   max_pages=int(num("TENDERX_OCR_MAX_PAGES", DEFAULT_MAX_PAGES)),
                   det_side=side(), rec_batch=int(num("TENDERX_OCR_REC_BATCH", DEFAULT_REC_BATCH)),
                   cache_dir=cache_dir_from_env())


@dataclass
class OcrText:
    """One page's recognised text in reading order and the engine's mean confidence."""

    text: str
    confidence: float
    boxes: int
    # each recognised run: (start, end) in ``text`` and its box as fractions of the image (x0, y0, x1, y1)
    runs: tuple[tuple[int, int, float, float, float, float], ...] = ()


def ocr_workers(requested: int) -> int:
    """Reader workers for a run with OCR on: at most the cores (OCR is CPU-bound, so more workers
    only multiply memory: 4 workers on 2 cores peaked at 2.6 GB) and at most as many as fit in
    OCR_MEMORY_SHARE of the available memory at WORKER_PEAK_MB each; at least one."""
    import psutil

    fit = int(psutil.virtual_memory().available * OCR_MEMORY_SHARE // (WORKER_PEAK_MB * 1024 * 1024))
    return max(1, min(requested, os.cpu_count() or 1, fit))


def cache_dir_from_env() -> str | None:
    """The OCR page cache's folder (``ocr/`` in TENDERX_CACHE_DIR or ~/.cache/tenderx); None when
    TENDERX_OCR_CACHE is 0/off."""
    from extractor.read.ocr_cache import default_dir

    if os.environ.get("TENDERX_OCR_CACHE", "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    return str(default_dir())


def model_name() -> str:
    return "PP-OCRv6_det_small+PP-OCRv6_rec_small"


def _model_dir() -> Path:
    try:
        import rapidocr
    except ImportError as e:  # pragma: no cover - a hard dependency
        raise OcrUnavailable("unreadable", "OCR needs the 'rapidocr' package (pip install rapidocr)") from e
    return Path(rapidocr.__file__).resolve().parent / "models"


class Recogniser:
    """A loaded RapidOCR pipeline (det + rec, no angle classifier: scans are upright or
    tilted a few degrees, which the detector's boxes absorb)."""

    def __init__(self, threads: int = 0, det_side: int = DEFAULT_DET_SIDE, rec_batch: int = DEFAULT_REC_BATCH,
                 spin: bool = False) -> None:
        models = _model_dir()
        paths = {k: models / v for k, v in _MODELS.items()}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise OcrUnavailable("unreadable", f"OCR model files missing (reinstall rapidocr): {missing[0]}")
        from rapidocr import RapidOCR

        _return_big_buffers()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
        }
        if det_side > 0:
            params["Det.limit_type"] = "max"
            params["Det.limit_side_len"] = det_side
        if rec_batch > 0:
            params["Rec.rec_batch_num"] = rec_batch
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self._engine = RapidOCR(params=params)
        if threads > 1 and not spin:
            _stop_spinning(self._engine, threads)
        self.info = OcrInfo(engine=ENGINE, model=model_name(), confidence=0.0)

    def recognise(self, image: np.ndarray) -> OcrText:
        """Text of an RGB/grey image (H×W[×3] uint8), lines in reading order."""
        import numpy as np

        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        out: Any = self._engine(image, use_cls=False)  # a RapidOCROutput (boxes, txts, scores)
        if out.boxes is None or not out.txts:
            return OcrText("", 0.0, 0)
        boxes = [(np.asarray(b, dtype=float), t, float(s)) for b, t, s in zip(out.boxes, out.txts, out.scores or (),
                                                                               strict=False)]
        scores = [s for _, t, s in boxes if t.strip()]
        text, runs = join_lines_with_runs(boxes, width=image.shape[1], height=image.shape[0])
        return OcrText(text, float(np.mean(scores)) if scores else 0.0, len(scores), runs)


def _return_big_buffers() -> None:
    """Fix glibc malloc's mmap threshold at MMAP_THRESHOLD for this process (an OCR worker), so freed
    activations go back to the system instead of raising the heap's peak; other C libraries: nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _stop_spinning(engine: Any, threads: int) -> None:
    """Reopen the loaded det/rec sessions with onnxruntime's thread spinning off.

    rapidocr exposes no session option for it; with it on, a worker's idle threads busy-wait between
    operators, competing for the cores with the threads doing the work: on a loaded 2-core machine the
    same OCR took 1.6× the wall time (bench_ocr.py --profile, results.md). A rapidocr whose internals
    differ keeps its own sessions (slower, still correct).

    rapidocr loads each model on first use, the recogniser only once a page has text: both are loaded
    here first (a blank warm-up page left the recogniser spinning: 3.0 CPU-s a page instead of 2.0 with
    2 threads, bench_ocr.py --compare, results.md)."""
    import onnxruntime as ort

    parts = [load() for load in (getattr(engine, "_load_det_model", None), getattr(engine, "_load_rec_model", None))
             if callable(load)]
    for part in parts:
        holder: Any = getattr(part, "session", None)
        old = getattr(holder, "session", None)
        path = getattr(old, "_model_path", None)
        if not isinstance(old, ort.InferenceSession) or not path:
            continue
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        opts.enable_cpu_mem_arena = False
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        holder.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


_recognisers: dict[tuple[int, int, int, bool], Recogniser] = {}


def recogniser(threads: int = 0, det_side: int = DEFAULT_DET_SIDE, rec_batch: int = DEFAULT_REC_BATCH,
               spin: bool = False) -> Recogniser:
    """The process's recogniser, loaded on first use (workers are reused across files)."""
    key = (threads, det_side, rec_batch, spin)
    if key not in _recognisers:
        _recognisers[key] = Recogniser(*key)
    return _recognisers[key]


def join_lines(boxes: Sequence[tuple[np.ndarray, str, float]]) -> str:
    """Boxes (4×2 corner arrays, text, score) → text (``join_lines_with_runs`` without the runs)."""
    return join_lines_with_runs(boxes)[0]


def join_lines_with_runs(boxes: Sequence[tuple[np.ndarray, str, float]], width: float = 1.0, height: float = 1.0
                         ) -> tuple[str, tuple[tuple[int, int, float, float, float, float], ...]]:
    """Boxes (4×2 corner arrays, text, score) → text: a line per row of boxes, left to right; and
    where each box's text landed in it, with the box as fractions of a ``width`` × ``height`` image
    (the desk draws a quote's OCR boxes on the page image from them).

    A box joins a recent line when its vertical span overlaps the line's by at least half the
    smaller height (so a tilted scan's row, whose boxes drift a few pixels, stays one line) and
    it covers none of the line's columns (the next line of a wrapped table cell starts a line).
    Within a line, a gap wider than ``CELL_GAP`` line heights becomes a tab (a cell break),
    a smaller one a space between Latin/digits and nothing between CJK characters.
    """
    import numpy as np

    items = []
    for pts, text, _ in boxes:
        if not text.strip():
            continue
        ys, xs = pts[:, 1], pts[:, 0]
        items.append((float(ys.min()), float(ys.max()), float(xs.min()), float(xs.max()), text.strip()))
    items.sort(key=lambda it: ((it[0] + it[1]) / 2, it[2]))
    lines: list[list[tuple[float, float, float, float, str]]] = []
    for it in items:
        top, bottom, left, right = it[0], it[1], it[2], it[3]
        best, best_overlap = None, 0.0
        for line in lines[-4:]:  # the recent lines: a row's cells may be offset vertically
            l_top = float(np.median([b[0] for b in line]))
            l_bot = float(np.median([b[1] for b in line]))
            overlap = (min(bottom, l_bot) - max(top, l_top)) / max(1.0, min(bottom - top, l_bot - l_top))
            # two boxes over the same columns are never one line (a wrapped cell's next line)
            collides = any(min(right, b[3]) - max(left, b[2]) > 0 for b in line)
            if overlap >= 0.5 and not collides and overlap > best_overlap:
                best, best_overlap = line, overlap
        if best is not None:
            best.append(it)
        else:
            lines.append([it])
    lines.sort(key=lambda line: float(np.median([(b[0] + b[1]) / 2 for b in line])))
    out: list[str] = []
    runs: list[tuple[int, int, float, float, float, float]] = []
    at = 0  # offset of the current line in the joined text
    for line in lines:
        line.sort(key=lambda b: b[2])
        line_h = float(np.median([b[1] - b[0] for b in line])) or 1.0
        parts = [line[0][4]]
        spans = [(0, len(line[0][4]))]
        for prev, cur in zip(line, line[1:], strict=False):
            gap = cur[2] - prev[3]
            if gap > CELL_GAP * line_h:
                parts.append("\t")
            elif prev[4][-1:].isascii() and cur[4][:1].isascii():
                parts.append(" ")
            start = sum(map(len, parts))
            parts.append(cur[4])
            spans.append((start, start + len(cur[4])))
        for (start, end), b in zip(spans, line, strict=True):
            runs.append((at + start, at + end, b[2] / width, b[0] / height, b[3] / width, b[1] / height))
        joined = "".join(parts)
        out.append(joined)
        at += len(joined) + 1
    return "\n".join(out), tuple(runs)


# --- pdfium: what a page draws, and its picture ------------------------------------------------

@dataclass(frozen=True)
class PageDrawing:
    """What pdfium finds on a page: text and image objects (inline images included)."""

    objects: int
    text_objects: int
    image_objects: int


def open_pdfium(path: str | Path) -> Any:
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(str(path))


def page_drawing(page: Any) -> PageDrawing:
    import pypdfium2.raw as c

    total = texts = images = 0
    for obj in page.get_objects(max_depth=4):
        total += 1
        if obj.type == c.FPDF_PAGEOBJ_TEXT:
            texts += 1
        elif obj.type == c.FPDF_PAGEOBJ_IMAGE:
            images += 1
    return PageDrawing(total, texts, images)


def render(page: Any, scale: float, grey: bool = False) -> np.ndarray:
    import numpy as np

    bitmap = page.render(scale=scale, grayscale=grey)
    try:
        return np.array(bitmap.to_numpy(), copy=True)
    finally:
        with contextlib.suppress(Exception):
            bitmap.close()


def is_blank(page: Any) -> bool:
    """True when the page draws nothing visible (a quick low-resolution grey render)."""
    small = render(page, 0.25, grey=True)
    return small.size == 0 or int(small.min()) >= _BLANK_LEVEL


def drop_red(image: np.ndarray) -> np.ndarray:
    """The page as grey from its red channel, light greys lifted to white: a red seal stamped over
    the text turns white and is neither read into the text nor hides it, black print stays black.
    pdfium renders BGR(A), so red is channel 2."""
    import numpy as np

    grey = image if image.ndim == 2 else image[:, :, 2] if image.shape[2] >= 3 else image[:, :, 0]
    # levels: everything lighter than _PAPER_LEVEL is paper (a seal's red, grain, yellowed paper)
    red = np.clip(grey.astype(np.float32) * (255.0 / _PAPER_LEVEL), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.stack([red, red, red], axis=-1))


def ocr_page(page: Any, settings: OcrSettings) -> tuple[OcrText, OcrInfo]:
    """OCR one pdfium page at ``settings.scale``; the text and its provenance."""
    engine = recogniser(settings.threads, settings.det_side, settings.rec_batch, settings.spin)
    image = render(page, settings.scale)
    result = engine.recognise(drop_red(image))
    return result, OcrInfo(engine=ENGINE, model=model_name(), confidence=round(result.confidence, 4),
                           runs=result.runs)


__all__ = ["CELL_GAP", "DEFAULT_DET_SIDE", "DEFAULT_REC_BATCH", "DEFAULT_SCALE", "ENGINE", "OcrSettings", "OcrText",
           "OcrUnavailable", "PageDrawing", "Recogniser", "cache_dir_from_env", "is_blank", "join_lines",
           "join_lines_with_runs", "model_name", "ocr_page", "ocr_workers", "open_pdfium", "page_drawing",
           "recogniser", "render"]
