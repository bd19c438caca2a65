"""PDF text: pypdf (what tenderx uses) against pypdfium2, side by side in one run.

Speed is pages/s over the same files; fidelity is the character-level
similarity (difflib ratio after NFKC and whitespace removal) of each engine's
text to the source text the PDF was rendered from. Repeated headers/footers
are removed from the extracted text first (they are not in the source body),
and TOC dot leaders are dropped on both sides.
"""

from __future__ import annotations

import difflib
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

from benchmarks.generate import _render_module

Engine = Callable[[Path], list[str]]


def pypdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def pypdf_layout_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode="layout") or "" for page in PdfReader(str(path)).pages]


def pypdfium2_text(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_bounded() for i in range(len(pdf))]
    finally:
        pdf.close()


def tenderx_text(path: Path) -> list[str]:
    """tenderx's own reader (pypdf + cleaning + OCR detection): its cleaned page view."""
    from extractor.read.pdf import read_pdf

    return [p.clean for p in read_pdf(path).pages]


ENGINES: dict[str, Engine] = {
    "pypdf extract_text": pypdf_text,
    "pypdf layout mode": pypdf_layout_text,
    "pypdfium2 get_text_bounded": pypdfium2_text,
    "tenderx read_pdf (pypdf + clean)": tenderx_text,
}


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s…⋯·]+|\.{2,}", "", text)


def source_body_text(src_path: Path) -> tuple[str, str | None, str | None]:
    """(body text without markup, header, footer) of a samples-format source file."""
    render = _render_module()
    src = render.parse_source(src_path)
    out: list[str] = []
    for raw in src.body:
        s = raw.strip()
        if not s or s == "[[pagebreak]]":
            continue
        if s.startswith("[[vertical ") and s.endswith("]]"):
            out.append(s[len("[[vertical "):-2])
        elif s.startswith("[[toc ") and s.endswith("]]"):
            title, _, page = s[len("[[toc "):-2].rpartition("|")
            out.append(title + page)
        elif s.startswith("|") and s.endswith("|"):
            out.append("".join(c.strip() for c in s[1:-1].split("|")))
        else:
            out.append(s.lstrip("#").strip())
    return "\n".join(out), src.header, src.footer


def _strip_running(pages: list[str], header: str | None, footer: str | None) -> str:
    """Drop the header line and footer lines the renderer repeats on every page."""
    footer_re = None
    if footer:
        parts = [re.escape(_squash(p)) for p in re.split(r"\{pages?\}", footer)]
        footer_re = re.compile(r"\d+".join(parts))
    text = _squash("".join(pages))
    if header:
        text = text.replace(_squash(header), "")
    if footer_re is not None:
        text = footer_re.sub("", text)
    return text


def fidelity(pages: list[str], src_path: Path) -> float:
    body, header, footer = source_body_text(src_path)
    return difflib.SequenceMatcher(None, _squash(body), _strip_running(pages, header, footer),
                                   autojunk=False).ratio()


def run(pdfs: list[tuple[Path, Path]], repeats: int = 3) -> list[dict]:
    """``pdfs`` = (pdf, source it was rendered from). One row per engine."""
    from pypdf import PdfReader

    pages = sum(len(PdfReader(str(p)).pages) for p, _ in pdfs)
    rows: list[dict] = []
    speeds: dict[str, float] = {}
    for name, engine in ENGINES.items():
        texts = [engine(pdf) for pdf, _ in pdfs]  # warm-up, and the text scored for fidelity
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for pdf, _ in pdfs:
                engine(pdf)
            times.append(time.perf_counter() - t0)
        speeds[name] = pages / statistics.median(times)
        scores = [fidelity(t, src) for t, (_, src) in zip(texts, pdfs, strict=True)]
        rows.append({"engine": name, "pages": pages, "pages_per_s": speeds[name],
                     "fidelity_mean": statistics.mean(scores), "fidelity_min": min(scores)})
    base = speeds["pypdf extract_text"]
    for row in rows:
        row["x_pypdf"] = row["pages_per_s"] / base
    return rows
