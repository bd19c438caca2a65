"""A page's structure beside its text: headings and tables (rows × cells, header cells, spans).

Readers flatten a table into page text (a PDF gives one cell per line, a web page one line per
row), so rows and columns are gone before the rules engine starts. A ``Table`` keeps them. Each
cell carries its offsets in the page's raw text, so a value read from a cell is quoted from the
page verbatim and still verifies; where the format has geometry (PDF) it also carries its box.
Key–value rows (``建设单位 | X | 工程类别 | 施工``) are tables too: which cells are keys is the
rules engine's reading (through the schema's label words), not the reader's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WS = re.compile(r"\s+")


@dataclass
class Cell:
    """One cell. ``row``/``col`` are its top-left slot in the table grid; a spanned cell appears
    once in ``Table.cells`` and in every slot it covers of ``Table.grid()``. ``start``/``end`` are
    offsets in the page's raw text (None when the text could not be found there, e.g. cut by the
    text cap); ``bbox`` is (x0, top, x1, bottom) in PDF points from the page's top-left."""

    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    start: int | None = None
    end: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "row": self.row, "col": self.col}
        if self.rowspan > 1:
            d["rowspan"] = self.rowspan
        if self.colspan > 1:
            d["colspan"] = self.colspan
        if self.header:
            d["header"] = True
        if self.start is not None:
            d["start"], d["end"] = self.start, self.end
        if self.bbox is not None:
            d["bbox"] = [round(x, 1) for x in self.bbox]
        return d


@dataclass
class Table:
    """A table of one page: its cells in reading order and its grid size. ``id`` is unique in the
    document (``p1t2``: page 1, second table); a cell's id is ``{table id}r{row}c{col}``."""

    id: str
    page: int
    cells: list[Cell]
    n_rows: int
    n_cols: int
    bbox: tuple[float, float, float, float] | None = None

    def grid(self) -> list[list[Cell | None]]:
        """Rows × columns; a spanned cell fills every slot it covers, an empty slot is None."""
        out: list[list[Cell | None]] = [[None] * self.n_cols for _ in range(self.n_rows)]
        for c in self.cells:
            for r in range(c.row, min(c.row + c.rowspan, self.n_rows)):
                for k in range(c.col, min(c.col + c.colspan, self.n_cols)):
                    out[r][k] = c
        return out

    def cell_id(self, cell: Cell) -> str:
        return f"{self.id}r{cell.row}c{cell.col}"

    def find(self, cell_id: str) -> Cell | None:
        """The cell with that id (``p1t1r2c3``), or None."""
        for c in self.cells:
            if self.cell_id(c) == cell_id:
                return c
        return None

    def to_markdown(self, max_cell: int = 80) -> str:
        """The table as Markdown, each non-empty cell prefixed with its id (``[p1t1r2c3] 某公司``), so
        a model can cite a cell instead of copying its text."""
        lines = []
        for r, row in enumerate(self.grid()):
            parts = []
            for k, c in enumerate(row):
                if c is None or not c.text:
                    parts.append("")
                elif (c.row, c.col) != (r, k):
                    parts.append("〃")  # the slot of a spanned cell shown once
                else:
                    text = _WS.sub(" ", c.text).replace("|", "/")[:max_cell]
                    parts.append(f"[{self.cell_id(c)}] {text}")
            lines.append("| " + " | ".join(parts) + " |")
            if r == 0:
                lines.append("|" + "---|" * self.n_cols)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "page": self.page, "rows": self.n_rows, "cols": self.n_cols,
                             "cells": [c.to_json() for c in self.cells]}
        if self.bbox is not None:
            d["bbox"] = [round(x, 1) for x in self.bbox]
        return d


@dataclass
class Heading:
    """A heading line of the page (``<h1>``-``<h3>`` in HTML) and its offsets in the page text."""

    text: str
    level: int
    start: int | None = None
    end: int | None = None


Block = Table | Heading


def build_table(table_id: str, page: int, rows: list[list[tuple[str, int, int, bool]]],
                bbox: tuple[float, float, float, float] | None = None) -> Table:
    """A Table from rows of (text, rowspan, colspan, header) as HTML and Word give them: each cell
    takes the first grid slot of its row not already covered by a rowspan from above."""
    taken: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    n_cols = 0
    for r, row in enumerate(rows):
        k = 0
        for text, rowspan, colspan, header in row:
            while (r, k) in taken:
                k += 1
            rowspan, colspan = max(1, min(rowspan, len(rows) - r)), max(1, colspan)
            cells.append(Cell(text, r, k, rowspan, colspan, header))
            for dr in range(rowspan):
                for dk in range(colspan):
                    taken.add((r + dr, k + dk))
            k += colspan
        n_cols = max(n_cols, k, max((c for rr, c in taken if rr == r), default=-1) + 1)
    return Table(table_id, page, cells, len(rows), n_cols, bbox)


def locate_cells(table: Table, text: str, start: int = 0) -> int:
    """Set each cell's offsets in the page's raw ``text``, searching forward from ``start`` in
    reading order and ignoring whitespace (a PDF wraps a cell over lines). Returns where the
    search stopped, so the next table continues after this one. Only the table's first cells are
    looked for anywhere ahead; the others a window ahead of the last one found, so a page of many
    cells that are not in its text (cut by the text cap) stays linear."""
    pos = start
    anchored = False  # a cell of this table was found: look only a window ahead of it
    for i, cell in enumerate(table.cells):
        unbounded = not anchored and i < _FIRST_CELLS
        found = _find_loose(text, cell.text, pos, None if unbounded else _LOOSE_WINDOW)
        if found is None and cell.text and anchored:  # out of reading order (a spanned cell)
            at = text.find(cell.text, start, pos + len(cell.text))
            found = (at, at + len(cell.text)) if at >= 0 else None
        if found is not None:
            cell.start, cell.end = found
            pos = max(pos, found[1])
            anchored = True
    return pos


_LOOSE_WINDOW = 4000  # characters after the last found cell where the next cell is looked for
_FIRST_CELLS = 4  # a table's first cells are looked for anywhere ahead (the table's place in the text)


def _find_loose(text: str, needle: str, start: int, window: int | None) -> tuple[int, int] | None:
    """(start, end) of ``needle`` in ``text`` from ``start``, whitespace in either ignored: the
    exact text anywhere ahead (``window`` None) or within ``window`` characters; the
    whitespace-insensitive search always within the window (a regex scan per unfound cell of a
    long page would not stay linear)."""
    squeezed = _WS.sub("", needle)
    if not squeezed:
        return None
    near = min(len(text), start + _LOOSE_WINDOW + 2 * len(needle))
    exact = text.find(needle, start, len(text) if window is None else near)
    if exact >= 0:
        return exact, exact + len(needle)
    pattern = r"\s*".join(re.escape(ch) for ch in squeezed)
    m = re.compile(pattern).search(text, start, near)
    return (m.start(), m.end()) if m else None
