"""Evidence crops: the strip of the printed page around a quote, highlighted, as a data URI.

A dossier must stand alone (sent by mail, printed to PDF), so each crop is embedded, not linked. The
quote is boxed with the desk's renderer (``extractor.desk.pages``); pages without a text layer
(scans read by OCR) and non-PDF notices (HTML, DOCX) get no crop, and the dossier says so.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from extractor.core.errors import TenderxError
from extractor.desk.pages import Box, PageImages

SCALE = 1.6  # pixels per PDF point: readable Chinese at print size, ~20 KB a crop as JPEG
MARGIN = 0.03  # of the page height, above and below the quote's lines (the line before and after)
HIGHLIGHT = (255, 214, 0, 90)


class Cropper:
    """Crops of quotes on local PDF pages, cached per (file, page, quote)."""

    def __init__(self) -> None:
        self.pages = PageImages()
        self._cache: dict[tuple[str, int, str], str | None] = {}

    def crop(self, path: str | None, page: int | None, quote: str | None) -> str | None:
        """A ``data:image/jpeg;base64,…`` URI of the quote on its page, or None when it cannot be boxed."""
        if not path or not page or not quote or Path(path).suffix.lower() != ".pdf" or not Path(path).is_file():
            return None
        key = (path, page, quote)
        if key not in self._cache:
            try:
                self._cache[key] = self._render(Path(path), page, quote)
            except (TenderxError, OSError, ValueError):
                self._cache[key] = None
        return self._cache[key]

    def _render(self, path: Path, page: int, quote: str) -> str | None:
        from PIL import Image, ImageDraw

        boxes = self.pages.quote_boxes(path, page, quote)
        if not boxes:
            return None
        image = self.pages.render_image(path, page, scale=SCALE).convert("RGBA")
        w, h = image.size
        top = max(0.0, min(b.y0 for b in boxes) - MARGIN)
        bottom = min(1.0, max(b.y1 for b in boxes) + MARGIN)
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))  # drawn apart, then blended: the text stays legible
        draw = ImageDraw.Draw(layer)
        for b in boxes:
            draw.rectangle(_pixels(b, w, h), fill=HIGHLIGHT, outline=(200, 120, 0, 255))
        strip = Image.alpha_composite(image, layer).crop((0, int(top * h), w, int(bottom * h) + 1)).convert("RGB")
        buf = io.BytesIO()
        strip.save(buf, format="JPEG", quality=72, optimize=True)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def close(self) -> None:
        self.pages.close()


def _pixels(b: Box, w: int, h: int) -> tuple[int, int, int, int]:
    return int(b.x0 * w) - 2, int(b.y0 * h) - 2, int(b.x1 * w) + 2, int(b.y1 * h) + 2
