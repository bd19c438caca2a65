"""Notices as OCDS 1.1 releases: one release per notice, one ocid per case.

Open Contracting Data Standard is what procurement-data tools already read,
so a journalist's tenderx output can sit beside official OCDS publications.
Every value carries its evidence (file, page, quote) in the tenderx evidence
extension (extractor/data/ocds/evidence-extension), so nothing loses its source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.normalize import norm_text

OCDS_DIR = Path(__file__).resolve().parent.parent / "data" / "ocds"
RELEASE_SCHEMA = OCDS_DIR / "release-schema.json"
DEFAULT_PREFIX = "tenderx-local"  # not a registered prefix: see README "Open data export"
CURRENCY = "CNY"


@cache
def mapping() -> dict[str, Any]:
    """extractor/data/ocds/mapping.yaml: notice type → tag/status, method → codelist."""
    return yaml.safe_load((OCDS_DIR / "mapping.yaml").read_text(encoding="utf-8"))


@cache
def release_schema() -> dict[str, Any]:
    """The published OCDS 1.1.5 release schema (the copy in extractor/data/ocds)."""
    return json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8"))


def _v(rec: dict[str, Any], name: str) -> Any:
    fv = (rec.get("fields") or {}).get(name)
    return fv.get("value") if isinstance(fv, dict) else None


def party_id(name: str) -> str:
    """A stable id for an organisation named in notices (no registry identifier is known)."""
    return "tenderx-org-" + hashlib.sha1(norm_text(name).encode("utf-8")).hexdigest()[:12]


def _datetime(date: str | None) -> str | None:
    return f"{date}T00:00:00+08:00" if date else None  # notices print a day in China Standard Time


def _value(amount: Any) -> dict[str, Any] | None:
    return {"amount": amount, "currency": CURRENCY} if isinstance(amount, (int, float)) else None


class _Parties:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def add(self, name: Any, role: str) -> dict[str, str] | None:
        if not name:
            return None
        pid = party_id(str(name))
        party = self.by_id.setdefault(pid, {"id": pid, "name": str(name), "roles": []})
        if role not in party["roles"]:
            party["roles"].append(role)
        return {"id": pid, "name": str(name)}

    def list(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())


def _with_details(parties: list[dict[str, Any]], rec: dict[str, Any]) -> list[dict[str, Any]]:
    """``parties[].details``: each party's screening (list, match type, citation, as-of date, and the words
    of ``status_text``, so a sub-unit match never reads as a listing) and the US providers it resells."""
    from extractor.screen.status import list_name, status_text

    for party in parties:
        name = party["name"]
        screening = [{"list": e.get("list"), "listName": list_name(e.get("list")), "match": e.get("match"),
                      "listedEntry": e.get("entry"), "citation": e.get("citation"), "asOf": e.get("as_of"),
                      "statement": status_text(e)}
                     for e in rec.get("screening") or [] if e.get("party") and str(e["party"]) in name]
        resells = [{"provider": i.get("intermediary_for"), "basis": i.get("basis"), "page": i.get("page"),
                    "quote": i.get("quote")}
                   for i in rec.get("intermediaries") or [] if i.get("supplier") and i["supplier"] == name]
        details: dict[str, Any] = {}
        if screening:
            details["screening"] = screening
        if resells:
            details["intermediaryFor"] = resells
        if details:
            party["details"] = details
    return parties


# where each tenderx field lands in a release, for the evidence entries
_PATHS = {
    "notice_type": "tag", "procurement_method": "tender/procurementMethod", "project_name": "tender/title",
    "project_code": "tender/id", "buyer": "buyer/name", "agency": "tender/procuringEntity/name",
    "publish_date": "date", "budget_cny": "tender/value/amount", "award_amount_cny": "awards/0/value/amount",
    "suppliers": "awards/0/suppliers", "chips": None, "cloud_providers": None, "ai_models": None,
    "gpu_count": None, "server_count": None, "token_count": None, "restricted_us_tech": None,
}


def _evidence(rec: dict[str, Any], release_id: str, tag: str) -> list[dict[str, Any]]:
    out = []
    for name, fv in (rec.get("fields") or {}).items():
        if not isinstance(fv, dict) or fv.get("value") in (None, "", []) or not fv.get("quote"):
            continue
        path = _PATHS.get(name)
        if name == "budget_cny" and tag == "planning":
            path = "planning/budget/amount/amount"
        out.append({"id": f"{release_id}/{name}", "field": name, "path": path, "document": str(rec.get("file", "")),
                    "sha256": rec.get("sha256") or None, "page": fv.get("page"), "quote": fv.get("quote"),
                    "verified": fv.get("verified")})
    return out


def release_id(rec: dict[str, Any]) -> str:
    """One id per notice: its file hash (the path when the hash is missing)."""
    sha = str(rec.get("sha256") or "")
    return "tenderx-" + (sha[:16] if sha else hashlib.sha1(str(rec.get("file", "")).encode("utf-8")).hexdigest()[:16])


def notice_release(rec: dict[str, Any], ocid: str, awarded_before: bool = False,
                   award_id: str | None = None, fallback_date: str | None = None) -> dict[str, Any]:
    """One notice as an OCDS release. ``awarded_before``: the case already had an award (a correction is then
    an awardUpdate); ``award_id``: the case's award, for a contract notice to point at."""
    m = mapping()
    ntype = _v(rec, "notice_type") or "other"
    kind = m["notice_types"].get(ntype, m["notice_types"]["other"])
    tag = "awardUpdate" if ntype == "correction" and awarded_before else kind["tag"]
    rid = release_id(rec)
    date = _datetime(_v(rec, "publish_date")) or fallback_date
    parties = _Parties()
    buyer = parties.add(_v(rec, "buyer"), "buyer")
    agency = parties.add(_v(rec, "agency"), "procuringEntity")

    tender: dict[str, Any] = {"id": _v(rec, "project_code") or ocid}
    if _v(rec, "project_name"):
        tender["title"] = _v(rec, "project_name")
    if kind.get("tender_status"):
        tender["status"] = kind["tender_status"]
    method = m["methods"].get(_v(rec, "procurement_method") or "")
    if method:
        if method.get("code"):
            tender["procurementMethod"] = method["code"]
        tender["procurementMethodDetails"] = method["details"]
    if agency:
        tender["procuringEntity"] = agency
    release: dict[str, Any] = {"ocid": ocid, "id": rid, "date": date, "tag": [tag], "initiationType": "tender",
                               "language": "zh"}
    budget = _value(_v(rec, "budget_cny"))
    if ntype == "intention":
        if budget:
            release["planning"] = {"budget": {"amount": budget}}
    elif budget:
        tender["value"] = budget
    if ntype == "single_source":
        tender["tenderers"] = [p for p in (parties.add(s, "tenderer") for s in _v(rec, "suppliers") or []) if p]
    release["tender"] = tender
    if buyer:
        release["buyer"] = buyer
    suppliers = _v(rec, "suppliers") or []
    correcting_award = ntype == "correction" and awarded_before and award_id is not None
    if (ntype in ("award", "contract") or correcting_award) and (suppliers or _v(rec, "award_amount_cny") is not None):
        award: dict[str, Any] = {"id": award_id or f"{rid}-award", "status": "active",
                                 "suppliers": [p for p in (parties.add(s, "supplier") for s in suppliers) if p]}
        if ntype == "award" and date:
            award["date"] = date
        if _value(_v(rec, "award_amount_cny")):
            award["value"] = _value(_v(rec, "award_amount_cny"))
        if _v(rec, "project_name"):
            award["title"] = _v(rec, "project_name")
        release["awards"] = [award]
        if ntype == "contract":
            contract: dict[str, Any] = {"id": f"{rid}-contract", "awardID": award["id"], "status": "active"}
            if "value" in award:
                contract["value"] = award["value"]
            release["contracts"] = [contract]
    release["parties"] = _with_details(parties.list(), rec)
    release["evidence"] = _evidence(rec, rid, tag)
    return release


def releases_for_cases(records: list[dict[str, Any]], cases: list[dict[str, Any]],
                       prefix: str = DEFAULT_PREFIX, published: str | None = None) -> list[dict[str, Any]]:
    """Every notice of every case as a release; the case id makes the ocid."""
    by_file = {str(r.get("file", "")): r for r in records}
    published = published or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    out = []
    for case in cases:
        ocid = f"{prefix}-{case['id']}"
        awarded = False
        award_id = None
        seen: set[str] = set()
        for n in case["notices"]:
            rec = by_file.get(n["file"])
            if rec is None:
                continue
            rel = notice_release(rec, ocid, awarded_before=awarded, award_id=award_id, fallback_date=published)
            if rel["id"] in seen:  # the same file twice under two paths: still one release each
                rel["id"] = f"{rel['id']}-{len(seen)}"
            seen.add(rel["id"])
            if n["notice_type"] == "award":
                awarded = True
                award_id = award_id or (rel.get("awards") or [{}])[0].get("id")
            out.append(rel)
    return out


def release_package(releases: list[dict[str, Any]], published: str | None = None,
                    uri: str = "", publisher: str = "tenderx") -> dict[str, Any]:
    """An OCDS 1.1 release package around ``releases``."""
    published = published or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return {
        "uri": uri or "urn:tenderx:releases",
        "version": "1.1",
        "publishedDate": published,
        "publisher": {"name": publisher},
        "releases": releases,
    }


def records_to_package(records: list[dict[str, Any]], prefix: str = DEFAULT_PREFIX,
                       published: str | None = None) -> dict[str, Any]:
    """Records (records.jsonl) → linked into cases → one OCDS release package."""
    from extractor.cases.view import build_cases
    from extractor.export.publish import publishable

    published = published or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    records = publishable(records)  # files relative to the input folder, never the local path
    cases = build_cases(records)
    return release_package(releases_for_cases(records, cases, prefix, published), published=published)
