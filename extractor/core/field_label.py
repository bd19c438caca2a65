"""Which field's label a value stands under.

A quote can hold a value and some label without the label being the value's: in
``招标人：X 招标代理机构：Y`` the agency Y has the buyer's label 40 characters before it, and in a
table the header row names every column at once. A value counts as stated *for its field* only
when the label it stands under is that field's: in a table cell, the label cell left of it or its
column's header; in running text, the nearest label before it — a label word of any field of the
schema, or any other ``词：`` label (联系人：, 工程类别：, 第一中标候选人：). Neutral labels that name no
field (``名称：`` under ``采购人信息``) are passed over. The words are the schema's labels and the
checks file's ``labels`` section; none is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from extractor.core.document import Page
from extractor.core.structure import Cell, Table
from extractor.core.textform import squash

__all__ = ["LabelWords", "label_problem", "cell_labels"]

# a label in the comparison form (whitespace gone, full-width colon and brackets made half-width)
_COLON_LABEL = re.compile(r"([\u4e00-\u9fff()]{2,12}):")


@dataclass(frozen=True)
class LabelWords:
    """Every field's label words, and the labels that name no field (both in comparison form)."""

    by_field: Mapping[str, tuple[str, ...]]
    neutral: tuple[str, ...] = ()

    @classmethod
    def build(cls, by_field: Mapping[str, tuple[str, ...]], neutral: tuple[str, ...] = ()) -> LabelWords:
        return cls({f: tuple(squash(w) for w in ws if w) for f, ws in by_field.items()},
                   tuple(squash(w) for w in neutral if w))

    def owners(self, text: str) -> set[str]:
        """The fields whose label words ``text`` holds."""
        return {f for f, words in self.by_field.items() if any(w in text for w in words)}


def label_problem(field: str, before: str, words: LabelWords, window: int,
                  cell: tuple[bool, list[str]] | None = None) -> str | None:
    """Why the value does not stand under a label of ``field``, or None.

    ``before``: the page text just before the value (any width; the last ``window`` characters of
    its comparison form count). ``cell``: for a value in a table cell, whether the cell is a header
    and the texts of its label cells (``cell_labels``)."""
    if cell is not None:
        is_header, cell_texts = cell
        if is_header:
            return "label: the value is a table header cell"
        owners = [words.owners(squash(t)) for t in cell_texts]
        if any(field in o for o in owners):
            return None
        named = sorted({f for o in owners for f in o})
        if named:
            return f"label: the value's cell sits under the {'/'.join(named)} label, not {field}'s"
        # a cell with no labelled header: the label may still stand in the text before it
    text = squash(before)[-window:]
    best_end, best, word = -1, set[str](), ""  # the nearest label's end, the fields it names, its words
    for f, field_words in words.by_field.items():
        for w in field_words:
            i = text.rfind(w) if w else -1
            if i >= 0:
                end = i + len(w)
                if end > best_end:
                    best_end, best, word = end, {f}, w
                elif end == best_end:  # labels ending together (供应商名称 in 中标供应商名称): all count
                    best.add(f)
                    word = max(word, w, key=len)
    for m in _COLON_LABEL.finditer(text):
        label = m.group(1)
        if m.end() <= best_end or label.endswith(words.neutral):
            continue
        best_end, best, word = m.end(), words.owners(label), label
    if best_end < 0:
        return f"label: no {field} label in or before the quote"
    if field in best:
        return None
    owner = f" (the {'/'.join(sorted(best))} label)" if best else ""
    return f"label: the value stands under {word!r}{owner}, not a {field} label"


def cell_labels(page: Page, offset: int) -> tuple[bool, list[str]] | None:
    """For a value at raw ``offset`` of ``page``'s text inside a table cell: whether that cell is a
    header, and the texts of the cells that label it (the nearest non-empty cell left of it in its
    row, and its column's header cells above it). None when the offset is in no located cell."""
    for table in page.tables:
        cell = _cell_at(table, offset)
        if cell is None:
            continue
        grid = table.grid()
        labels: list[str] = []
        row = grid[cell.row] if cell.row < len(grid) else []
        left = next((c for c in reversed(row[:cell.col]) if c is not None and c is not cell and c.text.strip()), None)
        if left is not None:
            labels.append(left.text)
        for r in range(cell.row):
            above = grid[r][cell.col] if cell.col < len(grid[r]) else None
            if above is not None and above is not cell and (above.header or r == 0) and above.text.strip():
                labels.append(above.text)
        # a value sharing its cell with its label (中标人：A公司 in one cell)
        head = page.text[cell.start or 0:offset]  # the cell's own text before the value: an inline label
        return cell.header and not _COLON_LABEL.search(squash(head)), [*labels, head]
    return None


def _cell_at(table: Table, offset: int) -> Cell | None:
    return next((c for c in table.cells if c.start is not None and c.end is not None
                 and c.start <= offset < c.end), None)
