"""Screening names and extraction records: the library calls behind `tenderx screen` and the pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from extractor.screen.match import Screener, ScreenResult, default_screener

ROLES = ("buyer", "agency", "supplier")
RECORD_KEYS = ("party", "role", "list", "entry", "citation", "match", "score", "as_of",
               "matched_name", "confidence", "note")
LISTED = ("exact", "subunit")  # match types that put a party on a list; `similar` never does

_ROLE_MARK = re.compile(r"[(（]?(?:联合体)?(?:牵头人|牵头方|牵头单位|主办方|成员方|成员单位|成员|主体)[)）]?")
_CONSORTIUM = re.compile(r"[(（]?联合体[)）]?")
_SEPARATORS = re.compile(r"[、，,;；/]+")
_AND = re.compile(r"[与和及]")
_ORG_END = re.compile(r"(?:公司|院|所|大学|学院|中心|集团|厂|局|站|社|部|室|行|店)$")


def split_parties(name: str) -> list[str]:
    """A consortium 'A、B联合体' (or 'A与B联合体', '联合体：A（牵头人）、B（成员）') as its parties."""
    text = (name or "").strip()
    if "联合体" not in text:
        return [text] if text else []
    text = _CONSORTIUM.sub("、", _ROLE_MARK.sub("", text))
    parts = [p.strip(" ：:。") for p in _SEPARATORS.split(text)]
    parts = [p for p in parts if p]
    if len(parts) == 1 and _AND.search(parts[0]):
        pieces = [p.strip() for p in _AND.split(parts[0]) if p.strip()]
        if len(pieces) > 1 and all(_ORG_END.search(p) for p in pieces):
            parts = pieces
    return parts


def screen_names(names: Iterable[str], screener: Screener | None = None) -> list[ScreenResult]:
    """Results for each name (consortia split into parties); every party gets at least one result."""
    sc = screener or default_screener()
    out: list[ScreenResult] = []
    for name in names:
        for party in split_parties(name) or [name]:
            out.extend(sc.screen(party))
    return out


def _value(record: dict[str, Any], field: str) -> Any:
    fv = (record.get("fields") or {}).get(field)
    return fv.get("value") if isinstance(fv, dict) else fv


def record_parties(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, name) for the record's buyer, agency and suppliers, consortia split."""
    found: list[tuple[str, str]] = []
    for role, field in (("buyer", "buyer"), ("agency", "agency"), ("supplier", "suppliers")):
        v = _value(record, field)
        values = v if isinstance(v, list) else [v]
        for item in values:
            if isinstance(item, str) and item.strip():
                found.extend((role, p) for p in split_parties(item))
    return found


def screen_record(record: dict[str, Any], screener: Screener | None = None) -> list[dict[str, Any]]:
    """The record's `screening` list: one entry per (party, listed entry) found; none for clean parties."""
    sc = screener or default_screener()
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str | None]] = set()
    for role, party in record_parties(record):
        for r in sc.screen(party):
            if r.match == "none" or (role, party, r.entry_id) in seen:
                continue
            seen.add((role, party, r.entry_id))
            d = r.to_dict()
            d["role"] = role
            out.append({k: d[k] for k in RECORD_KEYS})
    return out


def listed_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's screening entries that put a party on a list (exact or subunit)."""
    return [s for s in record.get("screening") or [] if s.get("match") in LISTED]
