"""`tenderx review --html`: the document/evidence view as one self-contained HTML file.

Made to be mailed to an editor: no server, no network, no external file. Each value with a quote
carries a crop of its page as printed, the quote's characters boxed, embedded as a data: PNG, and
the quote's context from the page text with the span marked. Flagged documents come first; a few
lines of inline script filter them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from extractor.core.errors import ReadError
from extractor.desk.app import Desk, DeskConfig, document_view, overview, templates_env
from extractor.desk.evidence import page_evidence
from extractor.desk.pages import Box, widen_to_lines

__all__ = ["render_review_html", "write_review_html"]

CROP_SCALE = 1.5  # pixels per point: legible, and a page band costs ~20-40 KB as PNG
CROP_MARGIN = 0.04  # of the page height above and below the quote
CONTEXT_CHARS = 60  # page text shown either side of the quote (the crop shows the rest)


def _crop_png(desk: Desk, path: Path, page: int, boxes: list[Box]) -> str:
    image = desk.images.render_image(path, page, CROP_SCALE).convert("RGB")
    w, h = image.size
    top, bottom = widen_to_lines(min(b.y0 for b in boxes) - CROP_MARGIN, max(b.y1 for b in boxes) + CROP_MARGIN,
                                 desk.images.line_bands(path, page))  # edges between lines, never through one
    draw = ImageDraw.Draw(image, "RGBA")
    for b in boxes:
        rect = (b.x0 * w - 2, b.y0 * h - 2, b.x1 * w + 2, b.y1 * h + 2)
        draw.rectangle(rect, fill=(255, 200, 0, 90), outline=(220, 40, 0, 230), width=2)
    crop = image.crop((0, int(top * h), w, int(bottom * h) + 1))
    buf = io.BytesIO()
    crop.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _context(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The marked span with CONTEXT_CHARS either side (the whole page would bury it)."""
    if not any(s["mark"] for s in segments):
        return []
    out = []
    seen_mark = False
    for s in segments:
        if s["mark"]:
            seen_mark = True
            out.append(s)
        elif not seen_mark:
            out.append({"text": ("…" if len(s["text"]) > CONTEXT_CHARS else "") + s["text"][-CONTEXT_CHARS:], "mark": False})
        else:
            out.append({"text": s["text"][:CONTEXT_CHARS] + ("…" if len(s["text"]) > CONTEXT_CHARS else ""), "mark": False})
    return out


def _field_evidence(desk: Desk, doc_id: str, f: dict[str, Any], crops: dict[tuple[int, str], str | None]
                    ) -> dict[str, Any]:
    empty: dict[str, Any] = {"page": None, "moved": False, "crop": None, "context": [], "note": ""}
    quote = (f.get("decision") or {}).get("quote") or f.get("quote")
    page = (f.get("decision") or {}).get("page") or f.get("page")
    if not quote:
        return empty
    try:
        ev = page_evidence(desk.catalog, desk.images, doc_id, page, quote)
    except (ReadError, KeyError) as e:
        return {**empty, "note": str(e)}
    key = (ev["page"], quote)
    if key not in crops:
        crops[key] = None
        if ev["boxes"]:
            doc = desk.catalog.get(doc_id)
            try:
                crops[key] = _crop_png(desk, doc.path, ev["page"], [Box(**b) for b in ev["boxes"]])  # type: ignore[arg-type]
            except ReadError:
                crops[key] = None
    return {"page": ev["page"], "moved": ev["moved"], "crop": crops[key], "context": _context(ev["segments"]),
            "note": ev["note"]}


def render_review_html(records: Path, store: Path | None = None, review: Path | None = None) -> str:
    """The whole review file as one HTML string."""
    desk = Desk(DeskConfig(records=records, store=store, review=review))
    data = overview(desk)
    docs = []
    try:
        for row in data["rows"]:
            if not row["has_record"]:
                continue
            view = document_view(desk, row["id"])
            crops: dict[tuple[int, str], str | None] = {}
            for f in view["fields"]:
                f["evidence"] = _field_evidence(desk, row["id"], f, crops)
            docs.append({"row": row, "view": view})
    finally:
        desk.close()  # the worker processes
    css = (Path(__file__).resolve().parent / "static" / "desk.css").read_text(encoding="utf-8")
    generated = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return templates_env().get_template("review.html").render(
        docs=docs, counts=data["counts"], css=css, records=str(records), generated=generated)


def write_review_html(records: Path, out: Path, store: Path | None = None, review: Path | None = None) -> int:
    """Write the review file; returns its size in bytes."""
    from extractor.pipeline.records import atomic_write_text

    html = render_review_html(records, store=store, review=review)
    atomic_write_text(out, html)
    return len(html.encode("utf-8"))
