"""The case view: what a purchase looks like after all its notices, each value with its source.

A correction's new budget must reach the tender it corrects without hiding
the old one, so every view value names the notice (file, page, quote) it
came from and keeps the earlier values it replaced, newest first.
"""

from __future__ import annotations

from typing import Any

from extractor.cases.link import Case, Notice
from extractor.screen.api import LISTED

TENDERING = ("tender", "correction")
RESULT = ("award",)  # award amount and suppliers come from the award, else from the contract
CONTRACT = ("contract",)
# status after a notice of this type, given the status before it (None = keep it)
_STATUS = {
    "intention": lambda s: s or "open",
    "tender": lambda s: "open",
    "single_source": lambda s: s or "open",
    "other": lambda s: s or "open",
    "correction": lambda s: "corrected" if s in (None, "open", "corrected") else s,
    "award": lambda s: "awarded" if s != "contracted" else s,
    "termination": lambda s: "terminated",
    "contract": lambda s: "contracted",
}


def _field(n: Notice, name: str) -> dict[str, Any]:
    fv = (n.record.get("fields") or {}).get(name)
    return fv if isinstance(fv, dict) else {}


def _stated(n: Notice, name: str) -> bool:
    return _field(n, name).get("value") not in (None, "", [])


def _source(n: Notice, name: str) -> dict[str, Any]:
    fv = _field(n, name)
    return {"value": fv.get("value"), "file": n.file, "notice_type": n.notice_type, "publish_date": n.publish_date,
            "page": fv.get("page"), "quote": fv.get("quote"), "verified": fv.get("verified")}


def fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _display(entry: dict[str, Any]) -> str:
    """``3,800,000 ← 3,600,000 (correction, 2024-04-12)``: each arrow says which notice replaced the value."""
    text = fmt_value(entry["value"])
    newer = entry
    for old in entry.get("history", []):
        text += f" ← {fmt_value(old['value'])} ({newer['notice_type']}, {newer['publish_date'] or 'undated'})"
        newer = old
    return text


def _latest(notices: list[Notice], name: str, types: tuple[str, ...] | None = None,
            strict: bool = False) -> dict[str, Any] | None:
    """The value from the latest notice (of ``types``, else of any type unless ``strict``) that states it,
    with the earlier, different values it replaced."""
    pool = [n for n in notices if _stated(n, name) and (types is None or n.notice_type in types)]
    if not pool and types is not None and not strict:
        pool = [n for n in notices if _stated(n, name)]
    if not pool:
        return None
    entry = _source(pool[-1], name)
    history: list[dict[str, Any]] = []
    seen = entry["value"]
    for n in reversed(pool[:-1]):
        v = _field(n, name).get("value")
        if v != seen:
            history.append({k: v2 for k, v2 in _source(n, name).items() if k != "verified"})
            seen = v
    entry["history"] = history
    entry["display"] = _display(entry)
    return entry


def _status(notices: list[Notice]) -> dict[str, Any]:
    status: str | None = None
    last: Notice | None = None
    for n in notices:
        step = _STATUS.get(n.notice_type or "other", _STATUS["other"])
        new = step(status)
        if new != status:
            last = n
        status = new
    src = {"file": last.file, "notice_type": last.notice_type, "publish_date": last.publish_date} if last else {}
    return {"value": status or "open", **src}


def _union(notices: list[Notice], name: str) -> dict[str, Any] | None:
    items: list[str] = []
    sources = []
    for n in notices:
        vals = _field(n, name).get("value") or []
        new = [v for v in vals if v not in items]
        if new:
            items.extend(new)
            s = _source(n, name)
            s["value"] = new
            sources.append(s)
    return {"value": items, "sources": sources, "display": fmt_value(items)} if items else None


def _restricted(notices: list[Notice]) -> dict[str, Any]:
    for n in notices:
        if "restricted_us_tech" in (n.record.get("flags") or []):
            return {**_source(n, "restricted_us_tech"), "value": True, "display": "yes"}
    return {"value": False, "display": "no"}


def _screening(notices: list[Notice]) -> list[dict[str, Any]]:
    """The parties' screening entries the records carry (``screening``, see extractor.screen), one per
    (role, party, listed entry), each naming the first notice that carries it and the others that repeat it."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for n in notices:
        entries = n.record.get("screening") or []
        for e in entries if isinstance(entries, list) else [entries]:
            if not isinstance(e, dict):
                continue
            key = (e.get("role"), e.get("party"), e.get("list"), e.get("entry"), e.get("match"))
            if key in out:
                out[key]["also_in"].append(n.file)
                continue
            out[key] = {**e, "file": n.file, "notice_type": n.notice_type, "publish_date": n.publish_date,
                        "also_in": []}
    return list(out.values())


def screening_hit(entry: dict[str, Any]) -> bool:
    """Whether a screening entry puts a party on a list (exact or subunit; ``similar`` is only a lead)."""
    return entry.get("match") in LISTED


def case_view(case: Case) -> dict[str, Any]:
    """The view of one case: each value with its notice, page, quote and the history a correction changed."""
    ns = case.notices
    view: dict[str, Any] = {
        "status": _status(ns),
        "restricted_us_tech": _restricted(ns),
        "project_name": _latest(ns, "project_name", TENDERING),
        "project_code": _latest(ns, "project_code", TENDERING),
        "buyer": _latest(ns, "buyer"),
        "agency": _latest(ns, "agency"),
        "procurement_method": _latest(ns, "procurement_method", TENDERING),
        "budget_cny": _latest(ns, "budget_cny", TENDERING),
        "award_amount_cny": _latest(ns, "award_amount_cny", RESULT, strict=True)
        or _latest(ns, "award_amount_cny", CONTRACT, strict=True),
        "suppliers": _latest(ns, "suppliers", RESULT, strict=True) or _latest(ns, "suppliers", CONTRACT, strict=True),
        "chips": _union(ns, "chips"),
        "cloud_providers": _union(ns, "cloud_providers"),
        "ai_models": _union(ns, "ai_models"),
        "screening": _screening(ns),
    }
    return view


def is_flagged(view: dict[str, Any]) -> bool:
    return bool(view["restricted_us_tech"]["value"]) or any(screening_hit(s) for s in view["screening"])


def case_json(case: Case) -> dict[str, Any]:
    """The ``--json`` / cases.jsonl form of a case."""
    view = case_view(case)
    dates = case.dates()
    return {
        "id": case.id,
        "codes": case.codes,
        "lots": case.lots,
        "flagged": is_flagged(view),
        "first_date": min(dates).isoformat() if dates else None,
        "last_date": max(dates).isoformat() if dates else None,
        "notices": [{"file": n.file, "notice_type": n.notice_type, "publish_date": n.publish_date,
                     "link": n.link, "why": n.why, "project_code": _field(n, "project_code").get("value"),
                     "lot": n.lot, "sha256": n.record.get("sha256")} for n in case.notices],
        "view": view,
        "notes": case.notes,
    }


def build_cases(records: list[dict[str, Any]], window_days: int | None = None) -> list[dict[str, Any]]:
    """Records → cases as JSON dicts, ordered by their first notice's date."""
    from extractor.cases.link import link_records
    from extractor.pipeline.duplicates import link_duplicates, originals_only

    # linked again over all records: shards' record files (or runs over parts of a folder) each linked
    # only their own files, and the same notice may sit in two of them
    records = link_duplicates([dict(r) for r in records])
    originals = originals_only(records)  # the same notice in two files is one notice (duplicate_of)
    copies: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r not in originals:
            copies.setdefault(str(r.get("duplicate_of")), []).append(
                {"file": r.get("file"), "sha256": r.get("sha256"), "similarity": r.get("duplicate_similarity")})
    cases = [case_json(c) for c in link_records(originals, window_days=window_days)]
    for case in cases:
        for n in case["notices"]:
            n["copies"] = copies.get(n["file"], [])
    return cases
