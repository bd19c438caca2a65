"""The numbers a journalist can quote: one summary line and a table by provider and by chip.

Counts are of procurements (cases), never of files: the same notice in two files was linked by
``duplicate_of`` and a purchase's notices by the case linker, so each purchase counts once. Money is
summed twice, never mixed: award amounts where a procurement was awarded, budgets for the others.
"""

from __future__ import annotations

from typing import Any

from extractor.core.watchlist import entry as watch_entry

LISTED = ("exact", "subunit")


def _value(e: dict[str, Any] | None) -> Any:
    return (e or {}).get("value")


def _cny(x: float) -> str:
    return f"¥{x:,.0f}"


def _provider_of_chip(chip: str) -> str:
    e = watch_entry(chip)
    return str(getattr(e, "vendor", "") or chip.split(" ")[0])


def summarise(rows: list[dict[str, Any]], duplicates: int = 0) -> dict[str, Any]:
    """The summary numbers and tables of the findings ``rows``."""
    buyers = {str(_value(r["buyer"])) for r in rows if _value(r["buyer"])}
    listed: dict[str, str] = {}
    for r in rows:
        for s in r["screening"]:
            if s["role"] == "buyer" and s["match"] in LISTED:
                # exact wins over subunit for the same buyer
                listed[s["party"]] = "exact" if "exact" in (listed.get(s["party"]), s["match"]) else s["match"]
    other_listed = {(s["party"], s["role"]) for r in rows for s in r["screening"]
                    if s["role"] != "buyer" and s["match"] in LISTED}
    inter = {(i["supplier"], i["intermediary_for"]) for r in rows for i in r["intermediaries"] if i.get("supplier")}
    required = {(r["case_id"], i["intermediary_for"]) for r in rows for i in r["intermediaries"] if not i.get("supplier")}
    providers: dict[str, dict[str, int]] = {}
    chips: dict[str, dict[str, int]] = {}
    for r in rows:
        names = set(_value(r["cloud_providers"]) or []) | {_provider_of_chip(c) for c in _value(r["chips"]) or []}
        names |= {i["intermediary_for"] for i in r["intermediaries"]}
        for p in sorted(names):
            row = providers.setdefault(p, {"procurements": 0, "via_intermediary": 0})
            row["procurements"] += 1
            row["via_intermediary"] += any(i["intermediary_for"] == p for i in r["intermediaries"])
        gpus = _value(r.get("gpu_count"))
        for c in _value(r["chips"]) or []:
            crow = chips.setdefault(c, {"procurements": 0, "gpus": 0})
            crow["procurements"] += 1
            if isinstance(gpus, int) and len(_value(r["chips"]) or []) == 1:
                crow["gpus"] += gpus
    awarded = [r for r in rows if isinstance(_value(r["award_amount_cny"]), (int, float))]
    budgeted = [r for r in rows if r not in awarded and isinstance(_value(r["budget_cny"]), (int, float))]
    return {
        "procurements": len(rows),
        "notices": sum(len(r["notices"]) for r in rows),
        "duplicate_files": duplicates,
        "buyers": len(buyers),
        "listed_buyers": len(listed),
        "listed_buyers_exact": sum(1 for m in listed.values() if m == "exact"),
        "listed_buyers_subunit": sum(1 for m in listed.values() if m == "subunit"),
        "listed_other_parties": len(other_listed),  # suppliers and agencies on a list (exact or sub-unit)
        "intermediaries": len(inter),
        "intermediary_requirements": len(required),
        "by_provider": dict(sorted(providers.items(), key=lambda kv: (-kv[1]["procurements"], kv[0]))),
        "by_chip": dict(sorted(chips.items(), key=lambda kv: (-kv[1]["procurements"], kv[0]))),
        "award_total_cny": sum(float(_value(r["award_amount_cny"])) for r in awarded),
        "awarded_procurements": len(awarded),
        "budget_total_cny": sum(float(_value(r["budget_cny"])) for r in budgeted),
        "budget_only_procurements": len(budgeted),
    }


def summary_line(s: dict[str, Any], everything: bool = False) -> str:
    """One sentence with every number of ``summarise``; sub-unit matches named as such."""
    what = "procurements" if everything else "procurements sought or supplied restricted US technology"
    text = (f"{s['procurements']} {what} ({s['notices']} notices"
            + (f"; {s['duplicate_files']} duplicate file(s) counted once" if s["duplicate_files"] else "")
            + f"), by {s['buyers']} buyers")
    if s["listed_buyers"]:
        parts = []
        if s["listed_buyers_exact"]:
            parts.append(f"{s['listed_buyers_exact']} on a US list by name")
        if s["listed_buyers_subunit"]:
            parts.append(f"{s['listed_buyers_subunit']} not listed itself but a sub-unit of a listed entity")
        text += f"; {s['listed_buyers']} buyer(s) tied to a US list ({', '.join(parts)})"
    else:
        text += "; no buyer on a US list"
    if s["listed_other_parties"]:
        text += f"; {s['listed_other_parties']} supplier(s) or agencies matched a US list (exact or sub-unit)"
    via = {p: d["via_intermediary"] for p, d in s["by_provider"].items() if d["via_intermediary"]}
    if s["intermediaries"] or s["intermediary_requirements"]:
        text += (f"; {s['intermediaries']} supplier(s) act as intermediaries for US providers"
                 + (f" and {s['intermediary_requirements']} tender(s) require one" if s["intermediary_requirements"] else "")
                 + " (" + ", ".join(f"{p} {n}" for p, n in via.items()) + ")")
    text += (f"; awards total {_cny(s['award_total_cny'])} in {s['awarded_procurements']} procurement(s)"
             f", budgets {_cny(s['budget_total_cny'])} in {s['budget_only_procurements']} not (yet) awarded.")
    return text


def summary_tables(s: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for the provider and chip tables."""
    prov = [[p, str(d["procurements"]), str(d["via_intermediary"])] for p, d in s["by_provider"].items()]
    chip = [[c, str(d["procurements"]), str(d["gpus"] or "")] for c, d in s["by_chip"].items()]
    return [("By provider", ["provider (chip vendor or cloud)", "procurements", "through an intermediary"], prov),
            ("By chip", ["chip", "procurements", "GPUs (single-chip procurements)"], chip)]
