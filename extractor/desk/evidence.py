"""What the desk shows for one value: the page, the quote's span in the page text, its boxes on the image.

Text is returned as segments (``{"text", "mark"}``) and never as HTML, so every template and
script inserts it as text: document content cannot become markup.
"""

from __future__ import annotations

import re
from typing import Any

from extractor.core.document import Document
from extractor.core.errors import ReadError
from extractor.core.evidence import locate
from extractor.desk.catalog import Catalog
from extractor.desk.pages import Box, PageImages

__all__ = ["mark_span", "mark_terms", "window", "highlight_terms", "page_evidence", "field_evidence"]


def mark_span(text: str, start: int | None, end: int | None) -> list[dict[str, Any]]:
    """``text`` as segments with ``[start, end)`` marked."""
    if start is None or end is None or not 0 <= start < end <= len(text):
        return [{"text": text, "mark": False}]
    return [s for s in ({"text": text[:start], "mark": False}, {"text": text[start:end], "mark": True},
                        {"text": text[end:], "mark": False}) if s["text"]]


def mark_terms(text: str, terms: list[str]) -> list[dict[str, Any]]:
    """``text`` as segments with every occurrence of the terms (case-insensitive) marked."""
    terms = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not terms:
        return [{"text": text, "mark": False}]
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, at = [], 0
    for m in pattern.finditer(text):
        if m.start() > at:
            out.append({"text": text[at:m.start()], "mark": False})
        out.append({"text": m.group(0), "mark": True})
        at = m.end()
    if at < len(text):
        out.append({"text": text[at:], "mark": False})
    return out


def window(segments: list[dict[str, Any]], before: int = 80, total: int = 360) -> list[dict[str, Any]]:
    """A snippet: from ``before`` characters ahead of the first mark, ``total`` characters long."""
    text_len = 0
    first = None
    for s in segments:
        if s["mark"] and first is None:
            first = text_len
        text_len += len(s["text"])
    start = max(0, (first or 0) - before)
    end = start + total
    out, at = [], 0
    for s in segments:
        a, b = at, at + len(s["text"])
        at = b
        lo, hi = max(a, start), min(b, end)
        if lo < hi:
            out.append({"text": s["text"][lo - a:hi - a], "mark": s["mark"]})
    if out and start > 0:
        out.insert(0, {"text": "…", "mark": False})
    if out and end < text_len:
        out.append({"text": "…", "mark": False})
    return out


def highlight_terms(query: str) -> list[str]:
    """What to mark in a search hit: the query's words (jieba) and its watchlist aliases, whole.

    The BM25 side also matches character bigrams, but marking every 服务 or 项目 in a snippet
    would hide the words the analyst asked for.
    """
    import logging

    import jieba

    from extractor.search.hybrid import expand_query

    jieba.setLogLevel(logging.WARNING)
    terms: list[str] = []
    query_text, *aliases = expand_query(query)
    for part in query_text.split():
        terms.append(part)
        if not re.fullmatch(r"[\x00-\x7f]+", part):
            terms.extend(w for w in jieba.lcut(part) if len(w) > 1 and w.strip())
    terms.extend(a.strip() for a in aliases)  # whole: "Amazon Web Services", never "Web"
    return [t for t in dict.fromkeys(terms) if len(t) > 1]


def _page_of(doc: Document, number: int) -> Any:
    for p in doc.pages:
        if p.number == number:
            return p
    return None


def page_evidence(catalog: Catalog, images: PageImages, doc_id: str, page: int | None,
                  quote: str | None) -> dict[str, Any]:
    """The evidence panel for a quote said to be on ``page``: where it really is, marked text, boxes.

    The named page is read alone (fast); only when the quote is not on it is the whole document
    read to find the page it is on (then ``moved`` says so). Not found anywhere: the named page,
    unmarked, with a note.
    """
    desk_doc = catalog.get(doc_id)
    shown = page if page is not None and page >= 1 else None
    pg = catalog.page(doc_id, shown) if shown is not None else None
    span: tuple[int, int] | None = None
    if quote and pg is not None:
        hit = locate(Document(desk_doc.name, doc_id, [pg]), quote)
        span = (hit[1], hit[2]) if hit else None
    moved = False
    if not quote and pg is None:  # nothing to look for and no such page: the first page
        shown, pg = 1, catalog.page(doc_id, 1)
    elif quote and span is None:  # the whole document, to find the page the quote is on
        doc = catalog.text(doc_id)
        hit = locate(doc, quote)
        if hit is not None:
            moved = pg is not None
            shown, span = hit[0], (hit[1], hit[2])
            pg = _page_of(doc, shown)
        elif pg is None:
            shown, pg = 1, _page_of(doc, 1)
    shown = shown or 1
    text = pg.text if pg is not None else ""
    boxes: list[dict[str, float]] = []
    note = ""
    if desk_doc.is_pdf and quote and span is not None and pg is not None and pg.ocr is not None:
        # a scan: the boxes of the OCR runs that hold the quote, as the recogniser found them on the image
        boxes = [Box(*b).to_json() for b in pg.ocr.boxes(*span)]
        note = "read by OCR: the boxes are the recognised lines that hold the quote"
    elif desk_doc.is_pdf and quote and span is not None:
        try:
            boxes = [b.to_json() for b in images.quote_boxes(desk_doc.path, shown, quote)]  # type: ignore[arg-type]
        except ReadError as e:
            note = str(e)
        if not boxes and not note:
            note = "the quote is in the text but its characters could not be placed on the page image"
    elif quote and span is None:
        note = "the quote was not found in the document text"
    if desk_doc.is_pdf and not text.strip():
        note = (note + "; " if note else "") + "no text layer on this page (a scan?): nothing to mark"
    pages = desk_doc.pages or (images.page_count(desk_doc.path) if desk_doc.is_pdf else None)  # type: ignore[arg-type]
    return {
        "doc": doc_id,
        "page": shown,
        "asked_page": page,
        "moved": moved,
        "pages": pages,
        "found": span is not None,
        "segments": mark_span(text, *(span or (None, None))),
        "image": f"/api/documents/{doc_id}/pages/{shown}.png" if desk_doc.is_pdf else None,
        "boxes": boxes,
        "note": note,
    }


def field_evidence(catalog: Catalog, images: PageImages, doc_id: str, field: str) -> dict[str, Any]:
    """The evidence panel for one extracted field of the document's record."""
    rec = catalog.get(doc_id).record or {}
    fv = (rec.get("fields") or {}).get(field)
    if not isinstance(fv, dict):
        raise KeyError(field)
    out = page_evidence(catalog, images, doc_id, fv.get("page"), fv.get("quote"))
    if not fv.get("quote"):
        out["note"] = "this value has no quote" if fv.get("value") not in (None, [], "") else "not extracted"
    out.update(field=field, value=fv.get("value"), quote=fv.get("quote"), verified=fv.get("verified"))
    out["cell_box"] = cell_box(catalog, images, doc_id, fv, out["page"])
    return out


def cell_box(catalog: Catalog, images: PageImages, doc_id: str, fv: dict[str, Any], shown: int
             ) -> dict[str, float] | None:
    """The box of the table cell a value was read from (its ``cell.bbox``, PDF points from the page's
    top-left, a PDF's ruled cell or a scan's OCR cell) as fractions of the page image, when the page
    shown is the value's page; None otherwise (no cell, no box, not a PDF, an unreadable page)."""
    cell = fv.get("cell")
    bbox = cell.get("bbox") if isinstance(cell, dict) else None
    desk_doc = catalog.get(doc_id)
    if not desk_doc.is_pdf or fv.get("page") != shown or not isinstance(bbox, list) or len(bbox) != 4:
        return None
    try:
        width, height = images.page_size(desk_doc.path, shown)  # type: ignore[arg-type]
        x0, top, x1, bottom = (float(v) for v in bbox)
    except (ReadError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    fit = [min(1.0, max(0.0, v)) for v in (x0 / width, top / height, x1 / width, bottom / height)]
    return Box(*fit).to_json() if fit[0] < fit[2] and fit[1] < fit[3] else None
