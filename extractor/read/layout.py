"""Table rows → text lines the rules engine reads like printed ``label：value`` lines.

Web pages and Word files hold their key facts in tables (``采购人 | 某某大学``).
Each row becomes one line; a label cell followed by its value cell is joined
with a full-width colon (``采购人：某某大学``) and other cells with a tab, which
the rules engine treats as a cell break. So a value never runs into the next
cell, and a label is never separated from its value by a line break. In a
table with a column-header row (ccgp's ``序号 | 中标供应商名称 | …``), the header
line is kept and each data row below it is written as ``header：cell`` pairs,
so every value still sits beside its label on one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CELL_SEP = "\t"
LABEL_SEP = "："
_WS = re.compile(r"[ \t\r\n\u00a0\u3000\u2000-\u200b]+")
# A label cell: short, no digits, and ending like a field name (名称, 编号, 采购人, 金额（元）...).
_LABEL_END = re.compile(
    r"(?:名称|编号|代码|人|方|供应商|单位|机构|金额|预算|限价|价格?|报价|日期|时间|期限|方式|地址|电话|联系人|联系方式|"
    r"邮箱|传真|邮编|类型|类别|数量|内容|范围|地点|要求|标准|说明|备注|信息|情况|规格|型号|品牌|资质|账号|开户行)"
    r"\s*(?:[（(][^()（）]{1,8}[)）])?\s*$")
_LABEL_MAX = 16


def cell_text(text: str) -> str:
    """A cell's text on one line, runs of whitespace folded to one space."""
    return _WS.sub(" ", text).strip()


def is_label(cell: str) -> bool:
    """True for a cell that names a field rather than holding a value."""
    if not cell or len(cell) > _LABEL_MAX or re.search(r"\d", cell.split("（")[0].split("(")[0]):
        return False
    return cell.endswith((":", "：")) or bool(_LABEL_END.search(cell))


def join_row(cells: Sequence[str]) -> str:
    """One table row as one line: ``label：value`` pairs, other cells tab-separated.

    A row with two label cells side by side is a column-header row (``序号 单位名称 项目名称…``):
    its cells are never paired with each other.
    """
    cells = [c for c in (cell_text(c) for c in cells) if c]
    labels = [is_label(c) for c in cells]
    if any(a and b for a, b in zip(labels, labels[1:], strict=False)):
        return CELL_SEP.join(cells)
    out = ""
    i = 0
    while i < len(cells):
        cell = cells[i]
        if out:
            out += CELL_SEP
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is not None and is_label(cell) and not is_label(nxt):
            sep = "" if cell.endswith((":", "：")) else LABEL_SEP
            out += cell + sep + nxt
            i += 2
            continue
        out += cell
        i += 1
    return out


def is_header_row(cells: Sequence[str], all_th: bool = False) -> bool:
    """A column-header row: ``<th>`` cells, or two label cells side by side and most cells labels."""
    cells = [c for c in (cell_text(c) for c in cells) if c]
    if len(cells) < 2:
        return False
    if all_th:
        return True
    labels = [is_label(c) for c in cells]
    return any(a and b for a, b in zip(labels, labels[1:], strict=False)) and sum(labels) * 2 >= len(cells)


def table_lines(rows: Sequence[Sequence[str]], th_rows: Sequence[bool] = ()) -> list[str]:
    """A table's lines: one per row, data rows under a header row as ``header：cell`` pairs."""
    lines: list[str] = []
    header: list[str] | None = None
    for i, row in enumerate(rows):
        cells = [cell_text(c) for c in row]
        if is_header_row(cells, bool(th_rows[i]) if i < len(th_rows) else False):
            header = cells
            lines.append(CELL_SEP.join(c for c in cells if c))
            continue
        if header is not None and len(cells) == len(header) and not is_label(cells[0]):
            pairs = [f"{h}{'' if h.endswith((':', '：')) else LABEL_SEP}{c}" if h else c
                     for h, c in zip(header, cells, strict=True) if c]
            line = CELL_SEP.join(pairs)
        else:
            header = None if header is not None and len(cells) != len(header) else header
            line = join_row(cells)
        if line:
            lines.append(line)
    return lines
