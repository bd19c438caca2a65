"""A perfect reader: a local OpenAI-protocol server that answers every extraction request with the
gold labels of the document the prompt is about, quoted as a careful reader would quote them.

Run the LLM or hybrid backend against it and anything short of the gold is the pipeline's loss
(context selection, reply parsing, normalisation, evidence checks, the hybrid's merge), not the
model's. The reader sees only what the prompt shows:

- the document is recognised by the lines of the prompt's ``<document>`` block that occur in one
  gold document only (chunks of a long package included; between a scan and its original, the one
  more of whose own lines the block shows as lines);
- each requested field gets the gold value, with as its quote the line of the shown text that
  states it (a string by its text, an amount or date by its parsed printed forms —
  ``core.normalize.iter_amounts`` / ``iter_dates`` —, a count by a figure with a counting unit), a
  line carrying the field's label first, else a table cell under a labelled header (cited by its
  cell id), two lines where a name wraps, and the page from the page marker above it;
- a value the document states nowhere (a sum of lots, an enum only implied) is answered with no
  quote; a value the document states but the prompt does not show is answered as not found
  (``context-cut``): a reader cannot give what it was not shown.

Every answer is logged (``PerfectReader.answers``), so a benchmark can say why a value was lost.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.backends.llm.prompts import render_document
from extractor.core.document import Document
from extractor.core.evidence import enum_stated, squash
from extractor.core.normalize import iter_amounts, iter_dates, parse_count
from extractor.core.schema import Field, Schema, load_schema
from extractor.core.shape import checks_for_schema
from extractor.core.watchlist import default_watchlist
from extractor.evaluate.gold import GoldDoc, load_gold, schema_spec
from extractor.read.guard import GuardedReader
from extractor.search.context import TABLES_HEADING
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, error_reply

_MARKER = re.compile(r"^\[page (\d+)(?:-(\d+))?\]$")
_CELL = re.compile(r"\[(p(\d+)t\d+r(\d+)c(\d+))\]\s*([^|]*)")
# a count as printed: a figure or numeral followed by what it counts (8台, 十二块, 4000万 tokens), not
# a code, a model number, a measurement, a duration or a heading number (A4, 12.2, 6个月, 八、)
_COUNT_TEXT = re.compile(r"(?<![A-Za-z0-9.-])(\d[\d,]*|[零〇一二两三四五六七八九十百千]+)\s*(?:亿|千万|百万|万|千)?"
                         r"(?=\s*(?:台|块|张|卡|个(?!月)|套|颗|片|节点|组|路|tokens?|Tokens?|TOKENS?))")
_MIN_LINE = 6  # shorter lines (包号 1, 2, 3 …) say nothing about which document this is
_CLAUSE = re.compile(r"(?<=[。；;])")
_LONG_LINE = 120  # a longer line (a paragraph of cleaned chunk text) is quoted by the clause


@dataclass(frozen=True)
class Spot:
    """A place of the shown text that may state a value: a text line, two lines (a name wrapped
    at the line's end), or one table cell."""

    page: int
    text: str
    before: str  # the two lines above a text line; a cell's column header and row label
    cell: str | None = None  # the cell id, for a table cell
    unit: str = "元"  # a cell's amount unit, from its column header (万元)
    wrapped: bool = False  # two lines: quoted only when no single line states the value


@dataclass(frozen=True)
class Answer:
    """What the reader answered for one field of one document, and why."""

    document: str
    field: str
    value: Any
    page: int | None
    quote: str | None
    how: str  # quoted | cell | unquoted (stated nowhere) | context-cut (stated, not shown)


# --- the prompt's document, as spots -----------------------------------------------------------
def document_block(req: Recorded) -> str:
    """The text between the user message's ``<document>`` delimiters."""
    user = next((str(m.get("content") or "") for m in reversed(req.messages) if m.get("role") == "user"
                 and "<document>" in str(m.get("content") or "")), "")
    start, end = user.rfind("<document>"), user.rfind("</document>")
    return user[start + len("<document>"):end] if 0 <= start < end else ""


def spots(block: str, doc: Document | None = None) -> list[Spot]:
    """Every text line and table cell of a rendered document block, with its page (for an excerpt
    spanning pages, the page of ``doc`` holding the line)."""
    out: list[Spot] = []
    first = last = 1
    headers: dict[tuple[str, str], str] = {}  # (table id, column) → header text
    previous: list[str] = []
    previous_page = 0
    for raw in block.splitlines():
        line = raw.strip()
        m = _MARKER.match(line)
        if m:
            first = int(m.group(1))
            last = int(m.group(2) or first)
            continue  # the lines above stay: a label at a page's foot labels the next page's head
        if not line or line == TABLES_HEADING or set(line) <= set("|-"):
            continue
        cells = _CELL.findall(line) if line.startswith("|") else []
        if cells:
            row_label = left = ""
            for cell_id, page, row, col, text in cells:
                table, text = cell_id.split("r")[0], text.strip()
                if row == "0":
                    headers[(table, col)] = text
                header = headers.get((table, col), "")
                # what labels a cell: its column's header, its row's first cell, the cell on its left
                # (a key-value grid: 中标价（万元） | 1,862.35), which also give an amount's unit
                beside = f"{header} {row_label} {left}"
                unit = next((u for u in ("亿元", "万元") if u in (left or header)), "元")
                out.append(Spot(int(page), text, beside, cell_id, unit))
                row_label, left = row_label or text, text
            continue
        page = _page_of(line, first, last, doc)
        clauses = [c for c in _CLAUSE.split(line) if c.strip()] if len(line) > _LONG_LINE else [line]
        for k, clause in enumerate(clauses):
            out.append(Spot(page, clause.strip(), "\n".join([*previous[-2:], *clauses[:k]])))
        if previous and previous_page == page:
            out.append(Spot(page, f"{previous[-1]}\n{line}", "\n".join(previous[-3:-1]), wrapped=True))
        previous.append(line)
        previous_page = page
    return out


def _page_of(line: str, first: int, last: int, doc: Document | None) -> int:
    if first == last or doc is None:
        return first
    sq = squash(line)
    return next((p.number for p in doc.pages if first <= p.number <= last and sq in squash(p.text)), first)


# --- does a spot state a value ------------------------------------------------------------------
def strength(field: Field, value: Any, spot: Spot) -> int:
    """2: the spot states ``value`` as printed; 1: as the sum or product of what it prints
    (lot budgets, servers × cards); 0: not at all."""
    text = spot.text
    if field.type == "string":
        return 2 * _names(str(value), text)
    if field.type == "list":
        return 2 * any(_names(str(item), text) or _canonical_named(str(item), text) for item in value)
    if field.type == "number":
        amounts = iter_amounts(text, spot.unit)
        if any(abs(a.value - float(value)) < 0.5 for a in amounts):
            return 2
        written = [a.value for a in amounts if a.explicit_unit]  # 包1 280万元: the 1 is no amount
        return int(len(written) > 1 and abs(sum(written) - float(value)) < 0.5)
    if field.type == "date":
        return 2 * (str(value) in {h.iso for h in iter_dates(text)})
    if field.type == "integer":
        counts = [c for c in (parse_count(m.group()) for m in _COUNT_TEXT.finditer(text)) if c is not None]
        if spot.cell is not None and not counts:  # a bare figure in a 数量 column
            counts = [c for c in [parse_count(text)] if c is not None and text.strip().isdigit()]
        if int(value) in counts:
            return 2
        return int(any(a * b == int(value) for i, a in enumerate(counts) for b in counts[i + 1:]))
    if field.type == "boolean":
        wl = default_watchlist()
        return 2 * (value is True and any(wl.by_canonical[m.canonical].restricted
                                          for m in wl.find_mentions(text, use_context=False)))
    if field.type == "enum":
        return 2 * (not enum_stated(str(value), "", field.name) and enum_stated(str(value), text, field.name))
    return 0


def _names(value: str, text: str) -> bool:
    v = squash(value).casefold()
    return bool(v) and v in squash(text).casefold()


def _canonical_named(item: str, text: str) -> bool:
    return any(m.canonical.upper() == item.strip().upper()
               for m in default_watchlist().find_mentions(text, use_context=False))


def best_spot(field: Field, value: Any, shown: Sequence[Spot], labels: Sequence[str]) -> Spot | None:
    """The spot a careful reader quotes: one stating the value, a labelled text line first, then a
    cell under a labelled header, a line below a label, any cell, any line; printed before derived,
    one line before two."""
    labels_sq = [squash(lab) for lab in labels if squash(lab)]

    def labelled(text: str) -> bool:
        sq = squash(text)
        return any(lab in sq for lab in labels_sq)

    def rank(spot: Spot) -> tuple[int, bool, int]:
        if spot.cell is None:
            place = 0 if labelled(spot.text) else 2 if labelled(spot.before) else 4
        else:
            place = 1 if labelled(spot.before) else 3
        return (-strength(field, value, spot), spot.wrapped, place)

    stating = [s for s in shown if strength(field, value, s)]
    return min(stating, key=rank) if stating else None


# --- the reader ----------------------------------------------------------------------------------
@dataclass
class _Known:
    gold: GoldDoc
    doc: Document
    spots: list[Spot]  # the whole document as the backend renders it


class PerfectReader:
    """Answers extraction requests from the gold labels of ``gold_dir``'s documents."""

    def __init__(self, gold_dir: Path, schema: str = "tender") -> None:
        self.schema: Schema = load_schema(schema)
        checks = checks_for_schema(self.schema.name)
        self.labels = {f.name: (*f.labels, *checks.of(f.name).extra_labels) for f in self.schema.fields}
        self.known: list[_Known] = []
        self._texts: list[str] = []  # each document squashed: page text, cleaned text, tables
        files = GuardedReader.from_env()  # the pipeline's reader: OCR text for scans, as extraction reads it
        try:
            for gold in load_gold(gold_dir, schema_spec(self.schema)):
                doc = files.read(gold.pdf)
                rendered = render_document(doc.pages)
                self.known.append(_Known(gold, doc, spots(rendered, doc)))
                self._texts.append(squash(rendered + "\n".join(p.clean for p in doc.pages)))
        finally:
            files.close()
        self.answers: dict[tuple[str, str], Answer] = {}
        self.unrecognised = 0
        self._lock = threading.Lock()

    def document(self, name: str) -> Document | None:
        """The document of gold file ``name`` as the reader (and the pipeline) read it."""
        return next((k.doc for k in self.known if k.gold.name == name), None)

    def recognise(self, block: str) -> _Known | None:
        """The gold document whose distinctive lines the block shows most of (longer lines and
        lines fewer documents share weigh more; page markers and table scaffolding weigh nothing)."""
        weight: dict[int, float] = {}
        for line in {squash(x) for x in block.splitlines() if not _MARKER.match(x.strip()) and x != TABLES_HEADING}:
            if len(line.strip("|-")) < _MIN_LINE:
                continue
            docs = [i for i, text in enumerate(self._texts) if line in text]
            for i in docs:
                weight[i] = weight.get(i, 0.0) + len(line) / len(docs)
        if not weight:
            return None
        top = max(weight.values())
        tied = [i for i, w in weight.items() if w >= 0.99 * top]
        if len(tied) > 1:  # a scan and its original: the one more of whose own lines the block shows as lines
            shown = {squash(x) for x in block.splitlines()}
            return self.known[max(tied, key=lambda i: _share_shown(self.known[i].spots, shown))]
        return self.known[tied[0]]

    def handle(self, req: Recorded) -> Reply:
        block = document_block(req)
        known = self.recognise(block)
        if known is None:
            with self._lock:
                self.unrecognised += 1
            return error_reply(400, "perfect reader: the prompt shows no document it knows")
        shown = spots(block, known.doc)
        fields = {}
        for name in requested_fields(req.body or {}):
            answer = self.answer(known, self.schema.field(name), shown)
            with self._lock:
                self.answers[(known.gold.name, name)] = answer
            fields[name] = {"value": answer.value, "page": answer.page, "quote": answer.quote}
        return chat_reply(json.dumps({"fields": fields}, ensure_ascii=False))

    def answer(self, known: _Known, field: Field, shown: Sequence[Spot]) -> Answer:
        """The gold value of ``field`` as far as ``shown`` gives it, with its quote."""
        name, labels = known.gold.name, self.labels[field.name]
        gold = known.gold.labels.get(field.name, _empty(field))
        if field.type == "list":
            items = [item for item in gold if _given(field, item, shown, known.spots)]
            cut = len(items) < len(gold)
            value: Any = items
        else:
            cut = gold not in (None, False) and not _given(field, gold, shown, known.spots)
            value = _empty(field) if cut and field.type != "enum" else gold
            cut = cut and field.type != "enum"
        if value in (None, [], False):
            return Answer(name, field.name, value, None, None, "context-cut" if cut else "unquoted")
        spot = best_spot(field, value, shown, labels)
        if spot is None:
            return Answer(name, field.name, value, None, None, "context-cut" if cut else "unquoted")
        how = "context-cut" if cut else "cell" if spot.cell else "quoted"
        return Answer(name, field.name, value, spot.page, spot.cell or spot.text, how)


def _share_shown(own: Sequence[Spot], shown: set[str]) -> float:
    lines = [squash(s.text) for s in own if s.cell is None and len(squash(s.text)) >= _MIN_LINE]
    return sum(line in shown for line in lines) / max(1, len(lines))


def _given(field: Field, value: Any, shown: Sequence[Spot], whole: Sequence[Spot]) -> bool:
    """The prompt shows the value, or the document states it nowhere (so nothing was withheld)."""
    probe = [value] if field.type == "list" else value
    return (any(strength(field, probe, s) for s in shown)
            or not any(strength(field, probe, s) for s in whole))


def _empty(field: Field) -> Any:
    if field.type == "list":
        return []
    if field.nullable:
        return None
    return {"boolean": False, "enum": (field.enum or ("other",))[-1]}.get(field.type)


def requested_fields(body: dict[str, Any]) -> list[str]:
    """The fields a request asks for: its strict JSON Schema's, else the prompt's field list."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return list(fmt["json_schema"]["schema"]["properties"]["fields"]["required"])
    user = next((str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "user"), "")
    return [ln[2:].split(" ", 1)[0] for ln in user.split("<document>")[0].splitlines() if ln.startswith("- ")]


@contextmanager
def perfect_reader_server(gold_dir: Path, schema: str = "tender") -> Iterator[tuple[OpenAIServer, PerfectReader]]:
    """A running local server whose every chat request the perfect reader of ``gold_dir`` answers."""
    reader = PerfectReader(gold_dir, schema)
    with OpenAIServer() as server:
        server.handler = reader.handle
        yield server, reader
