"""Pages as printed: a PDF page rendered with pypdfium2 and a quote's characters boxed on it.

The quote of a field comes from pypdf's text; pdfium has its own text for the same page (other
spacing, other line breaks). Both are compared in the evidence matcher's squashed form (NFKC, no
whitespace), so a quote pypdf verified is found among pdfium's characters, whose boxes then give
the rectangles to highlight. pdfium is not thread-safe: every call holds one lock.
"""

from __future__ import annotations

import ctypes
import io
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractor.core.errors import ReadError
from extractor.core.evidence import squash

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Box", "PageImages", "merge_boxes", "widen_to_lines"]

_LOCK = threading.RLock()
_OPEN_DOCS = 8  # PdfDocument handles kept open
_VIRTUAL = 10000  # device size used to turn page coordinates into fractions (rotation-aware)


@dataclass(frozen=True)
class Box:
    """A rectangle as fractions of the rendered page (origin top-left), so it scales with the image."""

    x0: float
    y0: float
    x1: float
    y1: float

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 5) for k, v in asdict(self).items()}


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Consecutive character boxes on one line become one rectangle (a line break starts another)."""
    out: list[Box] = []
    for b in boxes:
        if out:
            last = out[-1]
            height = max(last.y1 - last.y0, b.y1 - b.y0, 1e-6)
            overlap = min(last.y1, b.y1) - max(last.y0, b.y0)
            near = b.x0 - last.x1 < 3 * height and b.x1 > last.x0 - height
            if overlap > 0.5 * height and near:
                out[-1] = Box(min(last.x0, b.x0), min(last.y0, b.y0), max(last.x1, b.x1), max(last.y1, b.y1))
                continue
        out.append(b)
    return out


def widen_to_lines(top: float, bottom: float, bands: list[tuple[float, float]], pad: float = 0.004
                   ) -> tuple[float, float]:
    """Move a crop's edges out of any text line they would cut, into the gap beside that line (at most
    ``pad`` of the page from it, never into the next line)."""
    for i, (band_top, band_bottom) in enumerate(bands):
        if band_top < top < band_bottom:
            above = bands[i - 1][1] if i > 0 else 0.0
            top = max(band_top - pad, (above + band_top) / 2)
        if band_top < bottom < band_bottom:
            below = bands[i + 1][0] if i + 1 < len(bands) else 1.0
            bottom = min(band_bottom + pad, (band_bottom + below) / 2)
    return max(0.0, top), min(1.0, bottom)


class PageImages:
    """Rendering and quote boxes for the PDFs the desk knows (callers pass only known paths)."""

    def __init__(self) -> None:
        self._docs: OrderedDict[str, pdfium.PdfDocument] = OrderedDict()

    def _doc(self, path: Path) -> pdfium.PdfDocument:
        key = str(path)
        doc = self._docs.get(key)
        if doc is None:
            try:
                doc = pdfium.PdfDocument(key)
            except pdfium.PdfiumError as e:
                raise ReadError("unreadable", f"{path.name}: pdfium cannot open it ({e})") from e
            self._docs[key] = doc
            while len(self._docs) > _OPEN_DOCS:
                _, old = self._docs.popitem(last=False)
                old.close()
        else:
            self._docs.move_to_end(key)
        return doc

    def page_count(self, path: Path) -> int:
        with _LOCK:
            return len(self._doc(path))

    def _page(self, path: Path, number: int) -> pdfium.PdfPage:
        doc = self._doc(path)
        if not 1 <= number <= len(doc):
            raise ReadError("no_page", f"{path.name} has no page {number}")
        return doc[number - 1]

    def render(self, path: Path, number: int, scale: float = 2.0) -> bytes:
        """The page as a PNG, ``scale`` pixels per PDF point."""
        with _LOCK:
            image = self._page(path, number).render(scale=scale).to_pil()
        buf = io.BytesIO()
        image.save(buf, format="PNG", optimize=False)
        return buf.getvalue()

    def render_image(self, path: Path, number: int, scale: float = 2.0) -> Image.Image:
        with _LOCK:
            return self._page(path, number).render(scale=scale).to_pil()

    def quote_boxes(self, path: Path, number: int, quote: str | None) -> list[Box]:
        """Rectangles over the characters of ``quote`` on page ``number`` (empty when not found)."""
        q = squash(quote or "")
        if not q:
            return []
        with _LOCK:
            page = self._page(path, number)
            textpage = page.get_textpage()
            try:
                indices = _char_indices(textpage, q)
                if not indices:
                    return []
                return merge_boxes([b for i in indices if (b := _char_box(page, textpage, i)) is not None])
            finally:
                textpage.close()

    def line_bands(self, path: Path, number: int) -> list[tuple[float, float]]:
        """The vertical extents (top, bottom as page fractions) of the page's text lines, top to bottom: a crop
        cut between them never halves a line."""
        with _LOCK:
            page = self._page(path, number)
            textpage = page.get_textpage()
            try:
                boxes = [b for i in range(textpage.count_chars()) if (b := _char_box(page, textpage, i)) is not None]
            finally:
                textpage.close()
        bands: list[tuple[float, float]] = []
        for top, bottom in sorted((b.y0, b.y1) for b in boxes):
            if bands and top < bands[-1][1]:  # overlaps the band above: the same line
                bands[-1] = (bands[-1][0], max(bands[-1][1], bottom))
            else:
                bands.append((top, bottom))
        return bands

    def close(self) -> None:
        with _LOCK:
            for doc in self._docs.values():
                doc.close()
            self._docs.clear()


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


def _char_box(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, index: int) -> Box | None:
    left, bottom, right, top = textpage.get_charbox(index, loose=True)  # font height: even boxes, punctuation too
    if right <= left or top <= bottom:
        return None
    xs, ys = [], []
    for px, py in ((left, top), (right, bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, _VIRTUAL, _VIRTUAL, 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value / _VIRTUAL)
        ys.append(dy.value / _VIRTUAL)
    return Box(min(xs), min(ys), max(xs), max(ys))
