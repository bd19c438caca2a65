"""Records → findings: one row per procurement (case) that seeks or supplies restricted US technology.

A finding is what a journalist publishes: who bought what, through whom, for how much, when, and
which party is on which US list. Each value keeps the file, page and quote it came from and the
caveats a reader must see before quoting it (low confidence, read by OCR, disputed between engines,
quote not verified, not reviewed by a person). Files are named as published (relative to the input
folder, with sha256); the local path stays in ``local_files`` for rendering evidence crops only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.cases.view import build_cases
from extractor.export.publish import publishable
from extractor.screen.status import list_name, match_label, status_text

SOUGHT = ("chips", "gpu_count", "server_count", "cloud_providers", "ai_models", "token_count")
PARTIES = ("buyer", "agency", "suppliers")


@dataclass
class Findings:
    rows: list[dict[str, Any]]
    procurements_total: int  # cases among the records (duplicates counted once)
    notices: int  # records, originals only
    duplicates: int  # records that copy another record
    local_files: dict[str, str] = field(default_factory=dict)  # published name → local path (crops only)


def _record_field(rec: dict[str, Any] | None, name: str) -> dict[str, Any]:
    fv = ((rec or {}).get("fields") or {}).get(name)
    return fv if isinstance(fv, dict) else {}


def caveats(fv: dict[str, Any], rec: dict[str, Any] | None, name: str) -> list[str]:
    """What a reader must know before quoting this value."""
    out: list[str] = []
    if fv.get("value") in (None, "", []):
        return out
    if fv.get("verified") is False:
        out.append("quote not verified on its page")
    if fv.get("confidence") == "low":
        out.append("low confidence" + (f": {fv['reason']}" if fv.get("reason") else ""))
    if fv.get("source") == "ocr":
        out.append("read by OCR from a scan")
    if fv.get("disputed") or f"disputed:{name}" in ((rec or {}).get("flags") or []):
        out.append("disputed: the LLM and the rules engine disagree")
    out.append("not reviewed by a person")
    return out


def _evidenced(entry: dict[str, Any] | None, by_file: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    """A case-view entry (value + notice) with the page, quote, sha256 and caveats of its notice."""
    if not entry or entry.get("value") in (None, "", []):
        return None
    rec = by_file.get(str(entry.get("file")))
    fv = _record_field(rec, name) if rec is not None else {}
    out = {"value": entry.get("value"), "display": entry.get("display"), "file": entry.get("file"),
           "sha256": (rec or {}).get("sha256"), "page": entry.get("page"), "quote": entry.get("quote"),
           "notice_type": entry.get("notice_type"), "publish_date": entry.get("publish_date"),
           "caveats": caveats(fv or entry, rec, name)}
    if entry.get("history"):
        out["history"] = entry["history"]
    return out


def _sources(entry: dict[str, Any] | None, by_file: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """A union entry (chips, clouds, models): one evidenced value per notice that added items."""
    return [e for s in (entry or {}).get("sources") or [] if (e := _evidenced(s, by_file, name))]


def _latest_number(notices: list[dict[str, Any]], by_file: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    for n in reversed(notices):
        rec = by_file.get(n["file"])
        fv = _record_field(rec, name)
        if fv.get("value") not in (None, "", []):
            return _evidenced({**fv, "file": n["file"], "notice_type": n["notice_type"],
                               "publish_date": n["publish_date"], "display": f"{fv['value']:,}"
                               if isinstance(fv["value"], (int, float)) else str(fv["value"])}, by_file, name)
    return None


def _party_status(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"party": e.get("party"), "role": e.get("role"), "list": e.get("list"), "list_name": list_name(e.get("list")),
             "match": e.get("match"), "match_label": match_label(e), "listed_entry": e.get("entry"),
             "citation": e.get("citation"), "as_of": e.get("as_of"), "note": e.get("note"),
             "statement": status_text(e), "file": e.get("file")} for e in view.get("screening") or []]


def _parent(status: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The buyer's parent institution, when screening found the buyer to be a sub-unit of a listed one."""
    for s in status:
        if s["role"] == "buyer" and s["match"] == "subunit":
            return {"value": s["listed_entry"], "statement": s["statement"], "source": "screening", "file": s["file"]}
    return None


def _intermediaries(notices: list[dict[str, Any]], by_file: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for n in notices:
        rec = by_file.get(n["file"]) or {}
        for i in rec.get("intermediaries") or []:
            key = (i.get("supplier"), i.get("intermediary_for"))
            if key in seen:
                continue
            seen.add(key)
            out.append({**i, "file": n["file"], "sha256": rec.get("sha256"), "notice_type": n["notice_type"],
                        "caveats": ["found by rule words (extractor/data/intermediaries.yaml)",
                                    "not reviewed by a person"]})
    return out


def finding_row(case: dict[str, Any], by_file: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One procurement: every value with its notice, page, quote and caveats."""
    v, notices = case["view"], case["notices"]
    status = _party_status(v)
    row: dict[str, Any] = {
        "case_id": case["id"],
        "restricted_us_tech": _evidenced(v["restricted_us_tech"], by_file, "restricted_us_tech")
        if v["restricted_us_tech"]["value"] else None,
        "status": v["status"]["value"],
        "project_name": _evidenced(v.get("project_name"), by_file, "project_name"),
        "project_code": _evidenced(v.get("project_code"), by_file, "project_code"),
        "buyer": _evidenced(v.get("buyer"), by_file, "buyer"),
        "parent_institution": _parent(status),
        "agency": _evidenced(v.get("agency"), by_file, "agency"),
        "suppliers": _evidenced(v.get("suppliers"), by_file, "suppliers"),
        "intermediaries": _intermediaries(notices, by_file),
        "budget_cny": _evidenced(v.get("budget_cny"), by_file, "budget_cny"),
        "award_amount_cny": _evidenced(v.get("award_amount_cny"), by_file, "award_amount_cny"),
        "first_date": case["first_date"], "last_date": case["last_date"],
        "notices": [{"file": n["file"], "sha256": n.get("sha256"), "notice_type": n["notice_type"],
                     "publish_date": n["publish_date"], "link": n["link"], "copies": n.get("copies") or []}
                    for n in notices],
        "screening": status,
    }
    for name in ("chips", "cloud_providers", "ai_models"):
        entry = v.get(name)
        row[name] = {"value": (entry or {}).get("value") or [], "sources": _sources(entry, by_file, name)}
    for name in ("gpu_count", "server_count", "token_count"):
        row[name] = _latest_number(notices, by_file, name)
    return row


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """A case from a cases.jsonl with every local ``file`` replaced by its published name."""
    if isinstance(value, dict):
        return {k: (names.get(v, v) if k == "file" and isinstance(v, str) else _renamed(v, names))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def build_findings(records: list[dict[str, Any]], include_all: bool = False,
                   cases: list[dict[str, Any]] | None = None) -> Findings:
    """The findings of ``records`` (all procurements with ``include_all``; else those that seek or supply
    restricted US technology). ``cases`` from a cases.jsonl are used as given (their files published)."""
    published = publishable(records)
    local_files = {p["file"]: str(r.get("file", "")) for p, r in zip(published, records, strict=True)}
    names = {v: k for k, v in local_files.items()}
    built = [_renamed(c, names) for c in cases] if cases is not None else build_cases(published)
    by_file = {str(r["file"]): r for r in published}
    rows = [finding_row(c, by_file) for c in built if include_all or c["view"]["restricted_us_tech"]["value"]]
    rows.sort(key=lambda r: (r["first_date"] or "9999", r["case_id"]))
    duplicates = sum(1 for r in published if r.get("duplicate_of"))
    return Findings(rows=rows, procurements_total=len(built), notices=len(published) - duplicates,
                    duplicates=duplicates, local_files=local_files)
