"""Tables read as structure: key–value rows and column tables → field values and lots.

A reader's ``Table`` keeps rows and columns (``core/structure``). A cell is a key when its text
(numbering, colon and a bracketed unit dropped) is one of a field's label words — the schema's
labels (``schemas/tender.yaml``) and the kv keys of ``rules_cues.yaml`` — or a lot-column word.
A key followed by a non-key cell in its row is a key–value pair (one value per cell, so
``建设单位 | X | 工程类别 | 施工`` gives X). A row of two or more keys is a column header: each row
below it is a record whose cells take their column's field, the unit in the header (``万元``), and
a row starting with 合计 is the total. A header cell is never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from extractor.backends.rules.cues import cues, kv_keys
from extractor.core.document import FieldValue, Page
from extractor.core.normalize import parse_amount, to_halfwidth
from extractor.core.schema import load_schema
from extractor.core.structure import Cell, Table
from extractor.read.layout import is_label

_NUMBERING = re.compile(r"^\s*(?:[\d一二三四五六七八九十]+[、.．)）]|[（(][\d一二三四五六七八九十]+[)）])\s*")
_UNIT = re.compile(r"^(.+?)[（(]\s*([^）)]{1,8})\s*[)）]$")
_EMPTY = re.compile(r"^[\s/／\\—\-_无空]*$")
_ORG_FIELDS = ("buyer", "agency", "suppliers")
_TABLE_FIELDS = ("project_name", "project_code", "buyer", "agency", "suppliers", "award_amount_cny",
                 "budget_cny", "publish_date", "procurement_method")


@dataclass(frozen=True)
class Key:
    """What a key cell names: a schema field, a lot column (``lot_id``/``lot_name``/``status``) or
    ``other`` (a known key of no field), and the unit in its brackets."""

    field: str
    unit: str | None


@lru_cache(maxsize=1)
def _keys() -> tuple[dict[str, str], dict[str, str]]:
    """(field keys, lot-column keys): every label word (spaces removed) → its field."""
    fields: dict[str, str] = {}
    schema = load_schema("tender")
    for name in _TABLE_FIELDS:
        for word in schema.field(name).labels:
            fields.setdefault(_squash(word), name)
    for name, words in kv_keys().items():
        for word in words:
            fields.setdefault(_squash(word), name)
    lots: dict[str, str] = {}
    for name, words in cues()["lot_columns"].items():
        for word in words:
            lots.setdefault(_squash(word), name)
    return fields, lots


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", to_halfwidth(text)).replace("(", "（").replace(")", "）")


def key_of(text: str, column: bool = False) -> Key | None:
    """The key a cell's text names, or None for a value. In a column header (``column``) lot-column
    words win (``包名称`` is the lot's name there, the project's name in a key–value row)."""
    squashed = _squash(_NUMBERING.sub("", text)).rstrip(":：")
    if not squashed or len(squashed) > 20:
        return None
    fields, lots = _keys()
    unit = None
    m = _UNIT.match(squashed.replace("（", "(").replace("）", ")"))
    candidates = [squashed]
    if m:
        candidates.append(_squash(m.group(1)))
        unit = m.group(2)
    for word in candidates:
        tables = (lots, fields) if column else (fields, lots)
        for table in tables:
            if word in table:
                return Key(table[word], unit if word != squashed else _bracket_unit(squashed))
    return None


def _bracket_unit(squashed: str) -> str | None:
    m = re.search(r"（([^（）]{1,8})）$", squashed)
    return m.group(1) if m and ("元" in m.group(1)) else None


@dataclass
class Found:
    """A value read from a cell: the field, the value as printed, its cell and what labels it."""

    field: str
    text: str
    cell: Cell
    table: Table
    unit: str | None
    column: str | None = None  # the column header or the key cell's text
    row: str | None = None  # the row's label (its first cell, the lot id)

    def evidence(self, page: Page, value: object) -> FieldValue:
        """A FieldValue quoting the cell's text from the page, the cell's place beside it."""
        quote = page.text[self.cell.start:self.cell.end] if self.cell.start is not None else self.cell.text
        info: dict[str, object] = {"cell": self.table.cell_id(self.cell)}
        if self.column:
            info["column"] = self.column
        if self.row:
            info["row"] = self.row
        if self.cell.bbox is not None:
            info["bbox"] = [round(x, 1) for x in self.cell.bbox]
        return FieldValue(value, page=page.number, quote=quote.strip() or None, cell=info)


@dataclass
class LotRow:
    """One row of a lot table: its cells by field (lot_id, lot_name, budget_cny, suppliers …)."""

    values: dict[str, Found]
    failed: bool = False


@dataclass
class TableFacts:
    """What a document's tables say: key–value pairs in order, lot rows and totals per field."""

    pairs: list[tuple[Page, Found]] = field(default_factory=list)
    lots: list[tuple[Page, LotRow]] = field(default_factory=list)
    totals: dict[str, tuple[Page, Found]] = field(default_factory=dict)
    empty_failed_tables: int = 0


def _unique_row(grid_row: list[Cell | None]) -> list[Cell]:
    out: list[Cell] = []
    for c in grid_row:
        if c is not None and (not out or out[-1] is not c) and c not in out:
            out.append(c)
    return out


def _is_total(cells: list[Cell]) -> bool:
    words = cues()["total_rows"]
    return any(_squash(c.text).strip("：:") in words for c in cells[:2])


def _failed_words() -> list[str]:
    words: list[str] = cues()["failed_lot_words"]
    return words


def read_facts(pages: list[Page]) -> TableFacts:
    """Every key–value pair, lot row and total of the pages' tables."""
    facts = TableFacts()
    for page in pages:
        for table in page.tables:
            _read_table(page, table, facts)
    return facts


def _read_table(page: Page, table: Table, facts: TableFacts) -> None:
    header: list[tuple[Cell, Key | None]] | None = None
    failed_table = False
    data_rows = 0
    empty_rows = 0
    for r, grid_row in enumerate(table.grid()):
        cells = _unique_row(grid_row)
        if not cells or (header is not None and grid_row[0] is not None and grid_row[0].row < r):
            continue  # empty, or a lot's second line under its spanned first cell (包1 over two items)
        keys = [key_of(c.text, column=True) for c in cells]
        if _is_header(cells, keys):
            header = [(c, k) for c, k in zip(cells, keys, strict=True)]
            failed_table = failed_table or any(w in c.text for c in cells for w in _failed_words())
            for c in cells:
                c.header = True
            continue
        if header is not None and len(grid_row) >= len(header):
            data_rows += 1
            if all(_EMPTY.match(c.text) for c in cells):
                empty_rows += 1
                continue
            _column_row(page, table, header, grid_row, facts, failed_table)
            continue
        _pairs(page, table, cells, facts)
    if failed_table and data_rows == empty_rows:
        facts.empty_failed_tables += 1


_ORG_END = re.compile(r"(?:公司|大学|学院|医院|中心|局|委员会|研究院|研究所|政府|办公室|站|厂|所)$")


def _value_like(text: str) -> bool:
    """A cell that reads as a value, not a column name: a number, an organisation, a long text."""
    return bool(re.search(r"\d", text) or _ORG_END.search(text.strip()) or len(text.strip()) > 20)


def _is_header(cells: list[Cell], keys: list[Key | None]) -> bool:
    """A column-header row: two or more keys, at least half the cells; no key ends with a colon and
    none is followed by a value (that is a key–value row: ``招标人: | X | 建设地点 | Y``)."""
    named = sum(k is not None for k in keys)
    if named < 2:
        return False
    if all(k is not None or is_label(c.text) for c, k in zip(cells, keys, strict=True)):
        return True
    if named * 2 < len(cells) or any(k is not None and c.text.rstrip().endswith((":", "："))
                                     for c, k in zip(cells, keys, strict=True)):
        return False
    return not any(k is not None and nk is None and _value_like(nc.text)
                   for c, k, nc, nk in zip(cells, keys, cells[1:], keys[1:], strict=False))


def _header_cells(header: list[tuple[Cell, Key | None]], grid_row: list[Cell | None]
                  ) -> list[tuple[Cell, Key | None, Cell | None]]:
    """Each header cell with the cell below it in this row (same first grid column)."""
    out = []
    for hcell, key in header:
        below = grid_row[hcell.col] if hcell.col < len(grid_row) else None
        out.append((hcell, key, below))
    return out


def _column_row(page: Page, table: Table, header: list[tuple[Cell, Key | None]],
                grid_row: list[Cell | None], facts: TableFacts, failed_table: bool) -> None:
    cells = _unique_row(grid_row)
    row_label = cells[0].text if cells else None
    if _is_total(cells):
        for hcell, key, below in _header_cells(header, grid_row):
            if key and below is not None and key.field in ("budget_cny", "award_amount_cny") \
                    and not _is_total([below]) and not _EMPTY.match(below.text):
                facts.totals.setdefault(key.field, (page, Found(key.field, below.text, below, table, key.unit,
                                                                hcell.text, row_label)))
        return
    values: dict[str, Found] = {}
    for hcell, key, below in _header_cells(header, grid_row):
        if key is None or below is None or below.header or _EMPTY.match(below.text):
            continue
        if key_of(below.text) is not None:
            continue  # a header word in a data row is never a value
        values.setdefault(key.field, Found(key.field, below.text, below, table, key.unit, hcell.text, row_label))
    if not values:
        return
    failed = failed_table or any(w in c.text for c in cells for w in _failed_words())
    lot_id = values.get("lot_id")
    row = LotRow(values, failed)
    if lot_id is not None:
        for f in values.values():
            f.row = lot_id.text
    facts.lots.append((page, row))


def _pairs(page: Page, table: Table, cells: list[Cell], facts: TableFacts) -> None:
    """Key–value pairs of one row: a key cell followed by a value cell."""
    for a, b in zip(cells, cells[1:], strict=False):
        key = key_of(a.text)
        if key is None or key.field in ("other", "lot_id", "lot_name", "status"):
            continue
        if key_of(b.text) is not None or _EMPTY.match(b.text):
            continue
        facts.pairs.append((page, Found(key.field, b.text, b, table, key.unit, a.text.rstrip(":："))))


# --- values ---------------------------------------------------------------------------------------

_ORG_CUT = re.compile(r"[；;，,。]|\s{2,}|\s*(?:地址|联系人|联系方式|电话)[:：]")


def org_text(text: str) -> str | None:
    """An organisation's name from a cell: up to the first note, the next inline label or a comma."""
    value = _ORG_CUT.split(text.strip(), maxsplit=1)[0].strip(" ：:")
    value = cut_at_next_label(value)
    value = re.sub(r"[（(](?:盖章|公章|签章|牵头人|成员)[)）]$", "", value)
    if not (2 <= len(value) <= 60) or not re.search(r"[\u4e00-\u9fff]", value) or re.search(r"\d{5,}", value):
        return None
    return value


def cut_at_next_label(value: str) -> str:
    """``X招标代理机构：Y`` → ``X``: a value ends where another field's label and colon start (an
    inline ``招标人：X招标代理机构：Y`` is two values, not one buyer)."""
    for m in re.finditer(r"[:：]", value):
        before = value[: m.start()]
        for n in range(min(12, len(before)), 1, -1):
            if key_of(before[-n:]) is not None:
                return before[:-n].strip()
    return value


def code_text(text: str) -> str | None:
    value = re.split(r"[（；;，,。\s]|\((?=[\u4e00-\u9fff])", text.strip(), maxsplit=1)[0].strip(" ：:")
    return value if re.search(r"[A-Za-z0-9]", value) and not re.fullmatch(r"[\d\-/.年月日]+", value) else None


def name_text(text: str) -> str | None:
    value = cut_at_next_label(text.strip(" ：:"))
    if len(value) < 4 or re.fullmatch(r"[\d,.\s]+|\d{4}[-年/.]\d{1,2}[-月/.]\d{1,2}日?.{0,12}", value):
        return None
    return value


_NOT_A_SUM = re.compile(r"%|下浮|费率|折扣|元\s*/|单价")


def not_a_sum(found: Found) -> bool:
    """The money cell states a rate (下浮率1.8%) or a unit price (元/公顷), not an amount."""
    return bool(_NOT_A_SUM.search(found.text))


def amount_of(found: Found) -> float | None:
    """A money cell's amount in yuan, the header's unit applied; a rate or a unit price is no amount."""
    if not_a_sum(found):
        return None
    unit = "万元" if found.unit and "万" in found.unit else "元"
    return parse_amount(found.text, default_unit=unit)


def suppliers_of(found: Found) -> list[str]:
    """A winner cell's organisations: a consortium's members split on 、/；."""
    names = [_CONSORTIUM.sub("", n).strip() for n in (org_text(p) for p in re.split(r"[、；;]", found.text)) if n]
    return [n for n in names if len(n) >= 2]


_CONSORTIUM = re.compile(r"[（(]?(?:牵头人|成员|主办方)[)）]?|联合体$")


def consortium_members(name: str) -> list[str]:
    """``A、B联合体`` → [A, B]: each member of a consortium is a winning party (evals/real convention);
    any other name as it is."""
    if not name.endswith("联合体") and "、" not in name:
        return [name]
    parts = [_CONSORTIUM.sub("", p).strip() for p in re.split(r"[、；;]", name)]
    parts = [p for p in parts if len(p) >= 4]
    return parts if name.endswith("联合体") and parts else [name]
