"""Pages as printed: a PDF page rendered with pypdfium2 and a quote's characters boxed on it.

The quote of a field comes from pypdf's text; pdfium has its own text for the same page (other
spacing, other line breaks). Both are compared in the evidence matcher's squashed form (NFKC, no
whitespace), so a quote pypdf verified is found among pdfium's characters, whose boxes then give
the rectangles to highlight. The pdfium work itself is in ``page_work``, run in bounded workers.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from extractor.core.evidence import squash
from extractor.read.bounded import BoundedCalls

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Box", "PageImages", "merge_boxes", "widen_to_lines"]



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
    """Rendering and quote boxes for the PDFs the desk knows (callers pass only known paths).

    The pdfium work runs in bounded worker processes (``extractor.desk.page_work``): a page too
    big, too slow or too hungry costs one worker and comes back as a ReadError the desk shows,
    while other requests are served by the other worker."""

    def __init__(self, calls: BoundedCalls | None = None, workers: int = 2) -> None:
        self.calls = calls or BoundedCalls.from_env("extractor.desk.page_work", workers=workers)

    def page_count(self, path: Path) -> int:
        return int(self.calls.call("page_count", str(path)))

    def render(self, path: Path, number: int, scale: float = 2.0) -> bytes:
        """The page as a PNG, ``scale`` pixels per PDF point (less for a page past the pixel cap)."""
        return bytes(self.calls.call("render_png", str(path), number, scale))

    def render_image(self, path: Path, number: int, scale: float = 2.0) -> Image.Image:
        from PIL import Image

        return Image.open(io.BytesIO(self.render(path, number, scale)))

    def quote_boxes(self, path: Path, number: int, quote: str | None) -> list[Box]:
        """Rectangles over the characters of ``quote`` on page ``number`` (empty when not found)."""
        if not squash(quote or ""):
            return []
        found = self.calls.call("quote_boxes", str(path), number, quote)
        return merge_boxes([Box(*b) for b in found])

    def page_size(self, path: Path, number: int) -> tuple[float, float]:
        """Page ``number``'s (width, height) in points as drawn."""
        width, height = self.calls.call("page_size", str(path), number)
        return float(width), float(height)

    def line_bands(self, path: Path, number: int) -> list[tuple[float, float]]:
        """The vertical extents (top, bottom as page fractions) of the page's text lines, top to bottom:
        a crop cut between them never halves a line."""
        return [(float(a), float(b)) for a, b in self.calls.call("line_bands", str(path), number)]

    def close(self) -> None:
        self.calls.close()
