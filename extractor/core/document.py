"""The data every stage passes on: pages, documents, chunks and field values.

Kept in one small module so the stages (pdf, chunking, store, rules, llm,
evaluate) share types without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.core.structure import Block, Cell, Table


@dataclass(frozen=True)
class OcrInfo:
    """How a page's text was recognised: engine, model and the mean box confidence (0-1)."""

    engine: str
    model: str
    confidence: float
    # where each recognised run sits: (start, end) in the page text, box as fractions of the page (x0, y0, x1, y1)
    runs: tuple[tuple[int, int, float, float, float, float], ...] = field(default=(), repr=False, compare=False)

    def boxes(self, start: int, end: int) -> list[tuple[float, float, float, float]]:
        """The boxes of the runs that hold text ``[start, end)`` of the page (a quote's OCR lines)."""
        return [(x0, y0, x1, y1) for s, e, x0, y0, x1, y1 in self.runs if s < end and e > start]

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "model": self.model, "confidence": self.confidence}


@dataclass
class Page:
    """One PDF page. ``text`` is pypdf's text verbatim (evidence quotes come from it);
    ``clean`` is the view used for chunking/search/rules; ``clean_map[i]`` is the
    offset in ``text`` of ``clean[i]``."""

    number: int  # 1-based
    text: str
    clean: str = ""
    clean_map: list[int] = field(default_factory=list, repr=False)
    needs_ocr: bool = False
    ocr: OcrInfo | None = None  # set when ``text`` came from OCR, not the PDF's text layer
    blocks: list[Block] = field(default_factory=list, repr=False)  # headings and tables, in reading order

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


@dataclass
class Document:
    path: str
    sha256: str
    pages: list[Page]
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    # how it was read: format, encoding, the notice's own publication time ("published") ...
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.path).name

    @property
    def text(self) -> str:
        """Whole document raw text, pages separated by form feeds."""
        return "\f".join(p.text for p in self.pages)

    @property
    def needs_ocr(self) -> bool:
        return bool(self.pages) and all(p.needs_ocr for p in self.pages)

    def cell(self, cell_id: str) -> tuple[Page, Table, Cell] | None:
        """The page, table and cell of a cell id (``p1t1r2c3``), or None when there is none."""
        for page in self.pages:
            for table in page.tables:
                if cell_id.startswith(table.id + "r"):
                    found = table.find(cell_id)
                    if found is not None:
                        return page, table, found
        return None


@dataclass
class Chunk:
    """A piece of cleaned page text with the way back to its page and offsets."""

    id: str
    doc_sha256: str
    file: str
    text: str
    page_start: int
    page_end: int
    char_start: int  # offset in the first page's clean text
    char_end: int  # offset in the last page's clean text (exclusive)
    index: int
    tokens: int = 0

    def metadata(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("text")
        d.pop("id")
        return d


@dataclass
class FieldValue:
    """An extracted value with its evidence. ``located`` is True when the quote was found on the
    page it names, in the text the value came from (text layer or OCR; whitespace-insensitive);
    ``verified`` is True only when it is located *and* states this value for this field (its label
    beside it, the value whole, every shape check passed: ``core.evidence.verify_fields``).
    ``source`` is ``"ocr"`` when that page's text was recognised from its image."""

    value: Any
    page: int | None = None
    quote: str | None = None
    verified: bool | None = None
    located: bool | None = None
    source: str | None = None
    disputed: bool = False  # the engines disagree on this value: shown, never verified
    confidence: str | None = None  # "high" | "low": how far the engine trusts the value
    reason: str | None = None  # why the confidence is low (what to check by eye)
    engine: str | None = None  # which engine produced it (hybrid backend: "rules" | "llm")
    # a value read from a table cell: {"cell": id, "column": header, "row": row label, "bbox": [...]}
    cell: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The record form; the newer keys appear only when set, so old readers see the old format."""
        d: dict[str, Any] = {"value": self.value, "page": self.page, "quote": self.quote}
        if self.verified is not None:
            d["verified"] = self.verified
        if self.located is not None:
            d["located"] = self.located
        if self.source is not None:
            d["source"] = self.source
        if self.disputed:
            d["disputed"] = True
        for key in ("confidence", "reason", "engine", "cell"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    def low(self, reason: str) -> FieldValue:
        """Mark the value low-confidence with the reason (chainable)."""
        self.confidence, self.reason = "low", reason
        return self


Retriever = Callable[[str, int], list[Chunk]]
"""Chunks of one document most relevant to a query: ``(query, k) -> chunks``. Backends that need only
parts of a long document are given one."""



@dataclass
class Lot:
    """One lot (包/标段) of a notice, read from its table: each value a FieldValue with evidence.
    ``status``: ``awarded`` (a winner named), ``failed`` (废标/流标) or ``open`` (a tender's lot)."""

    id: FieldValue | None = None
    name: FieldValue | None = None
    budget_cny: FieldValue | None = None
    award_amount_cny: FieldValue | None = None
    suppliers: FieldValue | None = None
    status: str = "open"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for key in ("id", "name", "budget_cny", "award_amount_cny", "suppliers"):
            fv = getattr(self, key)
            if fv is not None:
                d[key] = fv.to_json()
        d["status"] = self.status
        return d
