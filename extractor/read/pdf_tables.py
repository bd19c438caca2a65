"""Tables of a PDF page, read with pdfplumber's table finder (ruling lines → cells → text).

pypdf gives a table's cells one per line, so rows and columns are gone from the page text.
pdfplumber finds the ruled grid and returns each cell's text and box; the cells are then located
in pypdf's page text (whitespace-insensitive), so a value read from a cell is still quoted from
the page text evidence is checked against. The finder parses the page's layout in Python (50-150
ms a page, measured in benchmarks/results.md), so it runs only on pages whose text has a table
word (``extractor/data/table_cues.yaml``) and whose drawing has lines or rectangles.
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
    for line in (ln.strip() for ln in text.split("\n")):
        if not line:
            continue
        if out and not (_CJK_END.search(out) or _CJK_START.match(line)):
            out += " "
        out += line
    return out


def _table(found: Any, table_id: str, page: int) -> Table | None:
    """pdfplumber's table as a ``Table``: grid lines from the cells' edges, spans from the boxes."""
    boxes = [c for row in found.rows for c in row.cells if c is not None]
    if not boxes:
        return None
    tops = sorted({round(b[1], 1) for b in boxes})
    lefts = sorted({round(b[0], 1) for b in boxes})
    texts = found.extract()
    cells: list[Cell] = []
    for r, row in enumerate(found.rows):
        for k, box in enumerate(row.cells):
            if box is None:
                continue
            x0, top, x1, bottom = box
            gr = bisect.bisect_left(tops, round(top, 1))
            gc = bisect.bisect_left(lefts, round(x0, 1))
            rowspan = max(1, bisect.bisect_left(tops, bottom - 0.5) - gr)
            colspan = max(1, bisect.bisect_left(lefts, x1 - 0.5) - gc)
            raw = texts[r][k] if r < len(texts) and k < len(texts[r]) else None
            cells.append(Cell(_join_lines(raw or ""), gr, gc, rowspan, colspan, bbox=(x0, top, x1, bottom)))
    return Table(table_id, page, cells, len(tops), len(lefts), tuple(found.bbox))


def read_tables(path: str | Path, texts: list[str]) -> dict[int, list[Table]]:
    """0-based page -> its tables, for the pages ``table_pages`` picks; cells located in ``texts``.

    A page the finder cannot read is left without tables (its text is unaffected)."""
    wanted = table_pages(texts)
    if not wanted:
        return {}
    import pdfplumber

    out: dict[int, list[Table]] = {}
    try:
        pdf = pdfplumber.open(str(path))
    except Exception:  # noqa: BLE001 — pypdf read the file; a table finder refusing it loses only tables
        return {}
    with pdf:
        for i in wanted:
            try:
                page = pdf.pages[i]
                if not (page.lines or page.rects):
                    continue  # no ruling lines: the finder would only guess from text alignment
                found = page.find_tables()
            except Exception:  # noqa: BLE001 — one odd page must not lose the document
                continue
            tables: list[Table] = []
            pos = 0
            for t in found:
                table = _table(t, f"p{i + 1}t{len(tables) + 1}", i + 1)
                if table is not None and len(table.cells) >= 2:
                    pos = locate_cells(table, texts[i], pos)
                    tables.append(table)
            if tables:
                out[i] = tables
    return out
