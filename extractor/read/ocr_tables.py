"""Tables of an OCR'd page, rebuilt from the recogniser's boxes.

A scan has no ruling lines pdfium can list, but the OCR reader already joins a row of boxes into a
line with a tab at each visible gap (a cell break) and keeps every box (``OcrInfo.runs``). A table
is then a run of consecutive lines of several tab-separated cells whose cells line up in columns:
each cell of a following line overlaps, left to right, a distinct column of the lines above. Each
cell keeps its offsets in the OCR page text (so a value read from it is quoted verbatim) and its
box in PDF points, like a PDF table's cell. Only pages with a table word (``data/table_cues.yaml``,
the PDF path's list) are looked at.
"""

from __future__ import annotations

from collections.abc import Sequence

from extractor.core.structure import Cell, Table
from extractor.read.pdf_tables import table_pages

Run = tuple[int, int, float, float, float, float]  # (start, end) in the text, box as page fractions
_Box = tuple[float, float, float, float]
_Cell = tuple[int, int, _Box]  # (start, end) in the page text, box as page fractions
MIN_ROWS = 2  # a grid is at least two aligned lines


def _line_cells(text: str, runs: Sequence[Run]) -> list[list[_Cell]]:
    """Each line's tab-separated cells with their offsets and the union of their runs' boxes."""
    out: list[list[_Cell]] = []
    at = 0
    for line in text.split("\n"):
        cells: list[_Cell] = []
        pos = at
        for part in line.split("\t"):
            start, end = pos, pos + len(part)
            boxes = [r[2:] for r in runs if r[0] < end and r[1] > start]
            if part.strip() and boxes:
                cells.append((start, end, (min(b[0] for b in boxes), min(b[1] for b in boxes),
                                           max(b[2] for b in boxes), max(b[3] for b in boxes))))
            pos = end + 1
        out.append(cells)
        at += len(line) + 1
    return out


def _columns_of(cells: list[_Cell], columns: list[tuple[float, float]]) -> list[tuple[int, int]] | None:
    """(first column, colspan) of each cell, or None when the cells do not fall, left to right, on
    distinct columns (the line is not a row of this grid)."""
    placed: list[tuple[int, int]] = []
    last = -1
    for _, _, (x0, _, x1, _) in cells:
        hit = [k for k, (c0, c1) in enumerate(columns) if min(x1, c1) - max(x0, c0) > 0]
        if not hit or hit[0] <= last:
            return None
        placed.append((hit[0], hit[-1] - hit[0] + 1))
        last = hit[-1]
    return placed


def _grids(lines: list[list[_Cell]]) -> list[list[list[tuple[_Cell, int, int]]]]:
    """Runs of consecutive aligned lines: each row's cells with (column, colspan)."""
    grids: list[list[list[tuple[_Cell, int, int]]]] = []
    rows: list[list[tuple[_Cell, int, int]]] = []
    columns: list[tuple[float, float]] = []
    for cells in lines + [[]]:
        placed = _columns_of(cells, columns) if len(cells) >= 2 and columns else None
        if placed is not None:
            rows.append([(c, k, span) for c, (k, span) in zip(cells, placed, strict=True)])
            for c, (k, span) in zip(cells, placed, strict=True):
                if span == 1:  # a column widens to the cells it holds
                    columns[k] = (min(columns[k][0], c[2][0]), max(columns[k][1], c[2][2]))
            continue
        if len(rows) >= MIN_ROWS:
            grids.append(rows)
        rows, columns = [], []
        if len(cells) >= 2:  # a new grid may start here: its columns are this line's cells
            columns = [(c[2][0], c[2][2]) for c in cells]
            rows = [[(c, k, 1) for k, c in enumerate(cells)]]
    return grids


def read_ocr_tables(text: str, runs: Sequence[Run], page: int, size: tuple[float, float]) -> list[Table]:
    """The grids of one OCR'd page (1-based ``page``) as Tables; ``size`` is the page's (width,
    height) in PDF points, for the cells' boxes. A page without a table word has none."""
    if not runs or not table_pages([text]):
        return []
    width, height = size
    tables: list[Table] = []
    for n, rows in enumerate(_grids(_line_cells(text, runs)), 1):
        cells: list[Cell] = []
        for r, row in enumerate(rows):
            for (start, end, (x0, y0, x1, y1)), k, span in row:
                box = (x0 * width, y0 * height, x1 * width, y1 * height)
                cells.append(Cell(text[start:end].strip(), r, k, colspan=span, start=start, end=end, bbox=box))
        n_cols = max(c.col + c.colspan for c in cells)
        bbox = (min(c.bbox[0] for c in cells if c.bbox), min(c.bbox[1] for c in cells if c.bbox),
                max(c.bbox[2] for c in cells if c.bbox), max(c.bbox[3] for c in cells if c.bbox))
        tables.append(Table(f"p{page}t{n}", page, cells, len(rows), n_cols, bbox))
    return tables
