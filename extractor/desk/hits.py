"""Search hits as the desk shows them: each with what its document is (buyer, notice type, flags,
whether a party is on a US list), grouped by document, and filtered by notice type, flagged and
date — the questions an analyst asks of a result list before opening anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extractor.desk.catalog import DeskDoc, summary_row
from extractor.screen.api import listed_entries

__all__ = ["HitFilter", "document_facts", "group_hits"]


@dataclass(frozen=True)
class HitFilter:
    """What a search is narrowed to (all None/False: nothing)."""

    notice_type: str | None = None
    flagged: bool = False
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None

    @classmethod
    def from_params(cls, params: Any) -> HitFilter:
        def text(name: str) -> str | None:
            value = str(params.get(name) or "").strip()
            return value or None

        return cls(text("type"), str(params.get("flagged") or "") in ("1", "on", "true"), text("from"), text("to"))

    @property
    def active(self) -> bool:
        return bool(self.notice_type or self.flagged or self.date_from or self.date_to)

    def keeps(self, facts: dict[str, Any]) -> bool:
        if self.notice_type and facts.get("notice_type") != self.notice_type:
            return False
        if self.flagged and not facts.get("flagged"):
            return False
        date = str(facts.get("date") or "")
        if (self.date_from or self.date_to) and not date:
            return False  # a date filter keeps only documents with a known date
        if self.date_from and date < self.date_from:
            return False
        return not (self.date_to and date > self.date_to)


def document_facts(doc: DeskDoc | None) -> dict[str, Any]:
    """Buyer, notice type, date, flags and list status of a hit's document (empty without a record)."""
    if doc is None or doc.record is None:
        return {"buyer": None, "notice_type": None, "date": None, "flags": [], "flagged": False, "listed": [],
                "title": doc.title if doc else None}
    row = summary_row(doc)
    listed = [f"{e.get('party')} ({e.get('role')}): {e.get('list')}" + (" [subunit]" if e.get("match") == "subunit"
                                                                       else "")
              for e in listed_entries(doc.record)]
    return {"buyer": row["buyer"], "notice_type": row["notice_type"], "date": row["date"], "flags": row["flags"],
            "flagged": row["flagged"] or bool(listed), "listed": listed, "title": row["title"]}


def group_hits(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hits grouped by document, documents in the order of their best hit."""
    groups: dict[str, dict[str, Any]] = {}
    for h in hits:
        key = h.get("doc") or h["name"]
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"doc": h.get("doc"), "name": h["name"], "url": h.get("doc_url"),
                                   **h["facts"], "hits": []}
        group["hits"].append(h)
    return list(groups.values())
