"""The pdfium and pypdf work behind the desk's pages, run inside bounded worker processes.

Each function takes a path the desk resolved (a known document, never a request's path) and
returns plain data (bytes, numbers, tuples), which crosses the pipe back to the server. A worker
keeps a few documents open between calls; it is single-threaded, so pdfium (not thread-safe)
needs no lock here.
"""

from __future__ import annotations

import ctypes
import io
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractor.core.errors import ReadError
from extractor.core.evidence import squash

__all__ = ["MAX_PAGE_PIXELS", "line_bands", "page_count", "page_size", "page_text", "quote_boxes", "render_png"]

# A4 at the desk's 2 px/pt is 2.0 MP; a poster page 0.3 m wide at that scale ~12 MP. Past this the
# page is drawn smaller (its quote boxes are fractions, so they still fit): a 14,400-pt page at 2x
# would be 829 MP, 3.3 GB of bitmap.
MAX_PAGE_PIXELS = 16_000_000
MIN_SCALE = 0.02  # below this nothing on the page is legible: refuse rather than draw a smear
_OPEN_DOCS = 8  # PdfDocument handles kept open per worker
_VIRTUAL = 10000  # device size used to turn page coordinates into fractions (rotation-aware)
_docs: OrderedDict[str, pdfium.PdfDocument] = OrderedDict()
_readers: OrderedDict[str, Any] = OrderedDict()  # pypdf readers for one-page text


def _doc(path: str) -> pdfium.PdfDocument:
    doc = _docs.get(path)
    if doc is None:
        try:
            doc = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as e:
            raise ReadError("unreadable", f"{Path(path).name}: pdfium cannot open it ({e})") from e
        _docs[path] = doc
        while len(_docs) > _OPEN_DOCS:
            _, old = _docs.popitem(last=False)
            old.close()
    else:
        _docs.move_to_end(path)
    return doc


def _page(path: str, number: int) -> pdfium.PdfPage:
    doc = _doc(path)
    if not 1 <= number <= len(doc):
        raise ReadError("no_page", f"{Path(path).name} has no page {number}")
    return doc[number - 1]


def page_count(path: str) -> int:
    return len(_doc(path))


def page_size(path: str, number: int) -> tuple[float, float]:
    """The page's (width, height) in points as drawn (rotation applied): a cell's box in points
    becomes fractions of the page image with it."""
    width, height = _page(path, number).get_size()
    return float(width), float(height)


def capped_scale(width_pt: float, height_pt: float, scale: float) -> float:
    """``scale``, lowered so the rendered page stays within MAX_PAGE_PIXELS."""
    area = max(width_pt, 1.0) * max(height_pt, 1.0)
    if area * scale * scale <= MAX_PAGE_PIXELS:
        return scale
    return math.sqrt(MAX_PAGE_PIXELS / area)


def render_png(path: str, number: int, scale: float) -> bytes:
    """The page as a PNG at ``scale`` pixels per point, or smaller for a page past the pixel cap."""
    page = _page(path, number)
    width, height = page.get_size()
    fitted = capped_scale(width, height, scale)
    if fitted < MIN_SCALE:
        raise ReadError("too_large", f"page {number} is {width:.0f} x {height:.0f} pt: too large to draw "
                        f"(the desk draws at most {MAX_PAGE_PIXELS // 1_000_000} MP a page)")
    image = page.render(scale=fitted).to_pil()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def quote_boxes(path: str, number: int, quote: str) -> list[tuple[float, float, float, float]]:
    """Rectangles (fractions of the page) over the characters of ``quote``; empty when not found."""
    q = squash(quote or "")
    page = _page(path, number)
    textpage = page.get_textpage()
    try:
        indices = _char_indices(textpage, q)
        return [b for i in indices if (b := _char_box(page, textpage, i)) is not None]
    finally:
        textpage.close()


def line_bands(path: str, number: int) -> list[tuple[float, float]]:
    """The vertical extents (top, bottom as page fractions) of the page's text lines, top to bottom: a
    crop cut between them never halves a line."""
    page = _page(path, number)
    textpage = page.get_textpage()
    try:
        boxes = [b for i in range(textpage.count_chars()) if (b := _char_box(page, textpage, i)) is not None]
    finally:
        textpage.close()
    bands: list[tuple[float, float]] = []
    for top, bottom in sorted((b[1], b[3]) for b in boxes):
        if bands and top < bands[-1][1]:  # overlaps the band above: the same line
            bands[-1] = (bands[-1][0], max(bands[-1][1], bottom))
        else:
            bands.append((top, bottom))
    return bands


def page_text(path: str, number: int) -> str | None:
    """One page's pypdf text, the call read_pdf makes per page (None: no such page)."""
    reader = _readers.get(path)
    if reader is None:
        from pypdf import PdfReader

        reader = _readers[path] = PdfReader(path)
        while len(_readers) > _OPEN_DOCS:
            _readers.popitem(last=False)
    if not 1 <= number <= len(reader.pages):
        return None
    return reader.pages[number - 1].extract_text() or ""


def _char_indices(textpage: pdfium.PdfTextPage, squashed_quote: str) -> list[int]:
    """pdfium character indices of the first occurrence of the quote, in the squashed form."""
    n = textpage.count_chars()
    chars: list[str] = []
    owners: list[int] = []
    for i in range(n):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        for c in squash(chr(code)) if code else "":
            chars.append(c)
            owners.append(i)
    text = "".join(chars)
    at = text.find(squashed_quote)
    if at < 0:
        return []
    return sorted(set(owners[at:at + len(squashed_quote)]))


def _char_box(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, index: int) -> tuple[float, float, float, float] | None:
    left, bottom, right, top = textpage.get_charbox(index, loose=True)  # font height: even boxes, punctuation too
    if right <= left or top <= bottom:
        return None
    xs, ys = [], []
    for px, py in ((left, top), (right, bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, _VIRTUAL, _VIRTUAL, 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value / _VIRTUAL)
        ys.append(dy.value / _VIRTUAL)
    return (min(xs), min(ys), max(xs), max(ys))
