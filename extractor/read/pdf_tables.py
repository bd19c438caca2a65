"""Tables of a PDF page: ruling lines from pdfium, cells by pdfplumber's table algorithm, cell text
from pdfium.

pypdf gives a table's cells one per line, so rows and columns are gone from the page text. A ruled
table is found from its lines: pdfium (C, already used for OCR rendering) lists the page's path
objects, thin ones are the ruling lines and rectangles give their four edges; pdfplumber's table
algorithm (``merge_edges`` → ``edges_to_intersections`` → ``intersections_to_cells`` →
``cells_to_tables``, the code behind its ``find_tables``) turns them into cells; pdfium reads each
cell's text inside its box. pdfplumber's own page parsing (pdfminer, pure Python) found the same
tables at 1.8 pages/s against 37 (benchmarks/results.md). The cells are then located in pypdf's
page text (whitespace-insensitive), so a value read from a cell is still quoted from the page text
evidence is checked against. Only pages whose text has a table word (``data/table_cues.yaml``) are
looked at.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.structure import Cell, Table, locate_cells

CUES_PATH = Path(__file__).resolve().parents[1] / "data" / "table_cues.yaml"
_CJK_END = re.compile(r"[\u3000-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u9fff\uff00-\uffef]")
_THIN = 2.0  # points: a path this thin is a ruling line
_SNAP = 3.0  # points: pdfplumber's default snap/join/intersection tolerance


@lru_cache(maxsize=1)
def _cues() -> tuple[re.Pattern[str], int]:
    with CUES_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    words = sorted(data["pdf_table_words"], key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words)), int(data["pdf_table_max_pages"])


def table_pages(texts: list[str]) -> list[int]:
    """0-based pages whose text has a table word (at most the configured number, first ones)."""
    pattern, limit = _cues()
    return [i for i, t in enumerate(texts) if t and pattern.search(t)][:limit]


def _join_lines(text: str) -> str:
    """A cell's wrapped lines as one string: CJK joined directly, other text with a space."""
    out = ""
    for line in (ln.strip() for ln in text.replace("\r", "\n").split("\n")):
        if not line:
            continue
        if out and not (_CJK_END.search(out) or _CJK_START.match(line)):
            out += " "
        out += line
    return out


def _edge(x0: float, x1: float, top: float, bottom: float, orientation: str) -> dict[str, Any]:
    return {"x0": x0, "x1": x1, "top": top, "bottom": bottom, "width": x1 - x0, "height": bottom - top,
            "orientation": orientation, "object_type": "line"}


def _edges(page: Any) -> list[dict[str, Any]]:
    """Ruling lines of a pdfium page in pdfplumber's edge form (top-left origin, points)."""
    import pypdfium2.raw as c

    height = page.get_height()
    edges: list[dict[str, Any]] = []
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_PATH], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        y0, y1 = height - top, height - bottom
        w, h = right - left, top - bottom
        if h < _THIN and w > _THIN:
            edges.append(_edge(left, right, (y0 + y1) / 2, (y0 + y1) / 2, "h"))
        elif w < _THIN and h > _THIN:
            edges.append(_edge((left + right) / 2, (left + right) / 2, y0, y1, "v"))
        elif w > _THIN and h > _THIN:  # a rectangle: its four sides
            edges += [_edge(left, right, y0, y0, "h"), _edge(left, right, y1, y1, "h"),
                      _edge(left, left, y0, y1, "v"), _edge(right, right, y0, y1, "v")]
    return edges


def _cell_boxes(page: Any) -> list[list[tuple[float, float, float, float]]]:
    """Each table's cell boxes (x0, top, x1, bottom), by pdfplumber's table algorithm."""
    from pdfplumber import table as algo

    edges = _edges(page)
    if len(edges) < 4:
        return []
    edges = algo.merge_edges(edges, _SNAP, _SNAP, _SNAP, _SNAP)
    edges = [e for e in edges if (e["width"] if e["orientation"] == "h" else e["height"]) >= _SNAP]
    cells = algo.intersections_to_cells(algo.edges_to_intersections(edges, _SNAP, _SNAP))
    return [list(t) for t in algo.cells_to_tables(cells)]


def _table(boxes: list[tuple[float, float, float, float]], textpage: Any, height: float, table_id: str,
           page: int) -> Table:
    """Cells with their grid slot and spans: grid lines are the cells' distinct top and left edges."""
    tops = sorted({round(b[1], 1) for b in boxes})
    lefts = sorted({round(b[0], 1) for b in boxes})
    cells: list[Cell] = []
    for x0, top, x1, bottom in sorted(boxes, key=lambda b: (round(b[1], 1), b[0])):
        row = bisect.bisect_left(tops, round(top, 1))
        col = bisect.bisect_left(lefts, round(x0, 1))
        rowspan = max(1, bisect.bisect_left(tops, bottom - 0.5) - row)
        colspan = max(1, bisect.bisect_left(lefts, x1 - 0.5) - col)
        text = textpage.get_text_bounded(left=x0, bottom=height - bottom, right=x1, top=height - top)
        cells.append(Cell(_join_lines(text or ""), row, col, rowspan, colspan, bbox=(x0, top, x1, bottom)))
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return Table(table_id, page, cells, len(tops), len(lefts), bbox)


def read_tables(path: str | Path, texts: list[str]) -> dict[int, list[Table]]:
    """0-based page -> its tables, for the pages ``table_pages`` picks; cells located in ``texts``.

    A page (or file) pdfium cannot read is left without tables; its text is unaffected."""
    wanted = table_pages(texts)
    if not wanted:
        return {}
    import pypdfium2 as pdfium

    out: dict[int, list[Table]] = {}
    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception:  # noqa: BLE001 — pypdf read the file; pdfium refusing it loses only the tables
        return {}
    try:
        for i in wanted:
            try:
                page = pdf[i]
                found = _cell_boxes(page)
                if not found:
                    continue
                textpage = page.get_textpage()
                height = page.get_height()
                tables = [_table(boxes, textpage, height, f"p{i + 1}t{n}", i + 1)
                          for n, boxes in enumerate(found, 1) if len(boxes) >= 2]
            except Exception:  # noqa: BLE001 — one odd page must not lose the document
                continue
            pos = 0
            for table in tables:
                pos = locate_cells(table, texts[i], pos)
            if tables:
                out[i] = tables
    finally:
        pdf.close()
    return out
