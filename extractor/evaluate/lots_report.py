"""The lot figures (``Scores.lots``, from `evaluate.lots`) as a terminal table, Markdown and HTML.

Shown beside the v1 report, never mixed into it: the contract's micro-F1 does not count lots.
"""

from __future__ import annotations

import html
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def lots_headline(lots: dict[str, Any]) -> str:
    """One line: lots found of the gold lots, and of the predicted lots."""
    return (f"lots (scored apart from v1, {lots['documents']} labelled documents): found "
            f"{lots['found']}/{lots['gold_lots']} gold lots (recall {_fmt(lots['recall'])}), "
            f"{lots['predicted_lots']} predicted (precision {_fmt(lots['precision'])})")


def _rows(lots: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(name, _fmt(f["precision"]), _fmt(f["recall"]), _fmt(f["f1"]), _fmt(f["accuracy"]),
             str(f["support"])) for name, f in lots["fields"].items()]


_COLUMNS = ("lot field", "P", "R", "F1", "acc", "n lots")


def lots_terminal(lots: dict[str, Any]) -> Group:
    """The headline line (unwrapped by the table's width), the per-field table, the documents with a wrong lot."""
    t = Table(title="Lots")
    for col in _COLUMNS:
        t.add_column(col, justify="left" if col == "lot field" else "right", no_wrap=col == "lot field")
    for row in _rows(lots):
        t.add_row(*row)
    wrong = f"lots wrong in: {', '.join(lots['wrong_documents'])}" if lots["wrong_documents"] else ""
    return Group(t, Text(lots_headline(lots)), *([Text(wrong)] if wrong else []))


def lots_markdown(lots: dict[str, Any]) -> list[str]:
    out = ["", "## Lots", "", html.escape(lots_headline(lots), quote=False), "",
           "| " + " | ".join(_COLUMNS) + " |", "|---|---:|---:|---:|---:|---:|"]
    return out + ["| " + " | ".join(row) + " |" for row in _rows(lots)]


def lots_html(lots: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
    body = "".join("<tr><td>" + html.escape(row[0]) + "</td>"
                   + "".join(f'<td class="n">{html.escape(c)}</td>' for c in row[1:]) + "</tr>"
                   for row in _rows(lots))
    wrong = "".join(f"<li>{html.escape(d)}</li>" for d in lots["wrong_documents"])
    return (f"<h2>Lots</h2><p>{html.escape(lots_headline(lots))}</p><table><tr>{head}</tr>{body}</table>"
            + (f"<p>Lots not all right in:</p><ul>{wrong}</ul>" if wrong else ""))
