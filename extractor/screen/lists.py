"""The screening table: which US lists, what they say, as of when — built, written and loaded.

The table is a data file (``extractor/data/screening/us_lists.json``) produced by
``scripts/update_lists.py`` from the official eCFR XML (and, optionally, the other US lists), so
a user can always tell which text a screening result rests on and how old it is.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractor.core.errors import UsageError
from extractor.screen.ecfr import SUPPLEMENTS, parse_ecfr

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "screening"
TABLE_PATH = DATA_DIR / "us_lists.json"

ECFR_SOURCE = "eCFR, Title 15, Part 744 (https://www.ecfr.gov/current/title-15/subtitle-B/chapter-VII/subchapter-C/part-744)"
# list keys of the non-eCFR lists, by the `list` value they carry in the shared casslab CSVs
OTHER_LISTS = {
    "DoD-1260H": ("1260h", "DoD list of Chinese military companies (Section 1260H, NDAA FY2021)"),
    "DoD-1286": ("1286", "DoD Section 1286 list (foreign talent programs and institutions of concern, NDAA FY2019)"),
    "DHS-UFLPA": ("uflpa", "DHS UFLPA Entity List (Uyghur Forced Labor Prevention Act)"),
    "NS-CMIC": ("ns_cmic", "OFAC Non-SDN Chinese Military-Industrial Complex Companies List (NS-CMIC)"),
}
LIST_LABELS = {key: cite for key, cite in SUPPLEMENTS.values()} | {k: v for k, v in OTHER_LISTS.values()}

_FR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})")
_FR_CITE = re.compile(r"\d+ FR \d+,?\s*(?:\d{1,2}/\d{1,2}/\d{2,4}|[A-Z][a-z]+\.? \d{1,2}, \d{4})")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


@dataclass(frozen=True)
class ListedParty:
    """One row of the screening table."""

    id: str
    list: str
    name: str
    aliases: tuple[str, ...] = ()
    country: str = ""
    citation: str = ""
    parent: str = ""
    raw_text: str = ""
    license_review_policy: str = ""

    def citation_text(self) -> str:
        """The list's legal citation plus the Federal Register notices that put the party there."""
        label = LIST_LABELS.get(self.list, self.list)
        return f"{label}; {self.citation}" if self.citation else label


@dataclass
class ScreeningTable:
    """The loaded table: meta (as-of dates, sources) and the listed parties."""

    meta: dict[str, Any]
    parties: list[ListedParty] = field(default_factory=list)

    def as_of(self, list_key: str) -> str:
        return str(self.meta["lists"].get(list_key, {}).get("as_of", ""))

    def by_key(self) -> dict[tuple[str, str], list[ListedParty]]:
        out: dict[tuple[str, str], list[ListedParty]] = {}
        for p in self.parties:
            out.setdefault((p.list, p.name), []).append(p)
        return out


def _iso(date_text: str) -> str:
    m = _FR_DATE.search(date_text)
    if m:
        month, day, year = (int(x) for x in m.groups())
    else:
        w = re.search(r"([A-Z][a-z]+)\.? (\d{1,2}), (\d{4})", date_text)
        if not w or w.group(1)[:3].lower() not in _MONTHS:
            return ""
        month, day, year = _MONTHS[w.group(1)[:3].lower()], int(w.group(2)), int(w.group(3))
    if year < 100:
        year += 1900 if year > 50 else 2000
    return f"{year:04d}-{month:02d}-{day:02d}"


def newest_citation(citations: list[str]) -> str:
    """The latest-dated 'NN FR NNNNN, m/d/yy' notice among the citations (the list's freshness)."""
    best, best_date = "", ""
    for cit in citations:
        for piece in _FR_CITE.findall(cit):
            d = _iso(piece)
            if d and d > best_date:
                best, best_date = piece.strip().rstrip("."), d
    return best


def build_table(
    ecfr_xml: Path | str,
    as_of: str,
    source: str = ECFR_SOURCE,
    other_lists: list[Path] | None = None,
    other_as_of: str = "",
) -> dict[str, Any]:
    """The screening table as a JSON-ready dict: eCFR China entries plus any other-list CSV rows."""
    entries = parse_ecfr(ecfr_xml)
    rows: list[dict[str, Any]] = []
    lists: dict[str, dict[str, Any]] = {}
    for key, label in SUPPLEMENTS.values():
        mine = [e for e in entries if e.list == key]
        lists[key] = {
            "label": label,
            "as_of": as_of,
            "source": source,
            "rows": len(mine),
            "newest_citation": newest_citation([e.citation for e in mine]),
        }
        for i, e in enumerate(mine, 1):
            d = e.to_dict()
            d.pop("license_requirement")
            rows.append({"id": f"{key}-{i:04d}", **d})
    for path in other_lists or []:
        rows_in, lists_in = _other_rows(Path(path), other_as_of or as_of)
        rows.extend(rows_in)
        for key, info in lists_in.items():
            if key in lists:
                raise UsageError(f"{path}: list {key} already came from another file")
            lists[key] = info
    return {"schema": "tenderx-screening-table/1", "lists": lists, "entries": rows}


def _other_rows(path: Path, as_of: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Rows of a shared casslab-style CSV (name, aliases, list, source) for the non-eCFR lists."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            src = list(csv.DictReader(fh))
    except OSError as exc:
        raise UsageError(f"cannot read list CSV {path}: {exc}") from exc
    rows: list[dict[str, Any]] = []
    lists: dict[str, dict[str, Any]] = {}
    for r in src:
        if r.get("list") not in OTHER_LISTS:
            continue
        key, label = OTHER_LISTS[r["list"]]
        info = lists.setdefault(key, {"label": label, "as_of": as_of, "source": r.get("source", ""), "rows": 0})
        info["rows"] += 1
        aliases = [a.strip() for a in (r.get("aliases") or "").split(";") if a.strip()]
        name = r["name"].strip()
        if key == "1286" and " - " in name:  # 'Name - Alias - Alias' in the DoD 1286 source
            name, *more = (p.strip() for p in name.split(" - "))
            aliases = [re.sub(r"^(?:a\.k\.a\.|Formerly)\s+", "", a) for a in more] + aliases
        name = re.sub(r",? (select|and) affiliates:?$", r" (\1 affiliates)", name).strip()
        rows.append(
            {
                "id": f"{key}-{info['rows']:04d}",
                "list": key,
                "name": name,
                "aliases": aliases,
                "country": r.get("country", ""),
                "citation": r.get("federal_register_notice", "") or "",
                "license_review_policy": "",
                "parent": r.get("parent_entity", "") or "",
                "raw_text": r.get("raw_text", "") or r["name"].strip(),
            }
        )
    return rows, lists


def write_table(table: dict[str, Any], path: Path = TABLE_PATH) -> None:
    """One entry per line, so a list update shows as a readable diff."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in table.items() if k != "entries"}
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in table["entries"]]
    body = json.dumps(head, ensure_ascii=False, indent=1, sort_keys=True)[:-2]
    path.write_text(body + ',\n "entries": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


def table_from_dict(data: dict[str, Any]) -> ScreeningTable:
    parties = [
        ListedParty(
            id=e["id"],
            list=e["list"],
            name=e["name"],
            aliases=tuple(e.get("aliases", ())),
            country=e.get("country", ""),
            citation=e.get("citation", ""),
            parent=e.get("parent", ""),
            raw_text=e.get("raw_text", ""),
            license_review_policy=e.get("license_review_policy", ""),
        )
        for e in data["entries"]
    ]
    return ScreeningTable(meta={k: v for k, v in data.items() if k != "entries"}, parties=parties)


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE_PATH) -> ScreeningTable:
    """The committed screening table (cached)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read screening table {path}: {exc}") from exc
    return table_from_dict(data)
