"""Findings written out: the dossier (HTML), a CSV (UTF-8 with a BOM, for Excel) and JSON.

One call, ``write_findings``, so the CLI stays a flag parser. The CSV has one row per procurement with
each value's file, page and quote beside it; the JSON holds everything, summary included.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.cases.view import fmt_value
from extractor.findings.build import Findings, build_findings
from extractor.findings.summary import summarise, summary_line
from extractor.pipeline.records import atomic_write_text, safe_csv_cell

VALUES = ("buyer", "suppliers", "budget_cny", "award_amount_cny", "gpu_count", "server_count", "token_count",
          "agency", "project_name", "project_code")
LISTS = ("chips", "cloud_providers", "ai_models")


@dataclass
class FindingsOutput:
    findings: Findings
    summary: dict[str, Any]
    line: str
    html: Path
    csv: Path
    json: Path


def _cell(value: Any) -> str:
    return safe_csv_cell(fmt_value(value).replace(",", "") if isinstance(value, (int, float)) else fmt_value(value))


def csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One flat row per procurement: value, file, page, quote and caveats of each value."""
    out = []
    for r in rows:
        row: dict[str, str] = {"case_id": r["case_id"], "status": r["status"],
                               "first_date": r["first_date"] or "", "last_date": r["last_date"] or ""}
        for name in VALUES:
            e = r.get(name) or {}
            row[name] = _cell(e.get("value"))
            for k in ("file", "page", "quote"):
                row[f"{name}_{k}"] = safe_csv_cell(str(e.get(k) or ""))
            row[f"{name}_caveats"] = "; ".join(e.get("caveats") or [])
        parent = r.get("parent_institution") or {}
        row["parent_institution"] = safe_csv_cell(str(parent.get("value") or ""))
        row["parent_institution_basis"] = safe_csv_cell(str(parent.get("statement") or ""))
        for name in LISTS:
            row[name] = _cell(r[name]["value"])
            row[f"{name}_evidence"] = safe_csv_cell(" | ".join(
                f"{fmt_value(s['value'])}: {s['file']} p.{s['page']} 「{s['quote']}」" for s in r[name]["sources"]))
        row["intermediaries"] = safe_csv_cell(" | ".join(
            f"{i.get('supplier') or '(every bidder)'} → {i['intermediary_for']} ({i['basis']}): {i['file']} "
            f"p.{i['page']} 「{i['quote']}」" for i in r["intermediaries"]))
        row["screening"] = safe_csv_cell(" | ".join(s["statement"] for s in r["screening"]))
        row["screening_match"] = safe_csv_cell(" | ".join(f"{s['party']}: {s['match_label']}" for s in r["screening"]))
        row["notices"] = safe_csv_cell(" → ".join(
            f"{n['notice_type']} {n['publish_date'] or 'undated'} {n['file']} (sha256 {n['sha256']})"
            + "".join(f" [copy: {c['file']}]" for c in n["copies"]) for n in r["notices"]))
        out.append(row)
    return out


def to_csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    flat = csv_rows(rows)
    buf = io.StringIO()
    columns = list(flat[0]) if flat else ["case_id"]
    w = csv.DictWriter(buf, fieldnames=columns)
    w.writeheader()
    w.writerows(flat)
    return buf.getvalue().encode("utf-8-sig")


def write_findings(records: list[dict[str, Any]], out: Path, *, include_all: bool = False,
                   cases: list[dict[str, Any]] | None = None, crops: bool = True) -> FindingsOutput:
    """Build the findings and write OUT.html, OUT.csv and OUT.json (OUT without suffix is the stem)."""
    from extractor.findings.crops import Cropper
    from extractor.findings.html import render_dossier

    found = build_findings(records, include_all=include_all, cases=cases)
    summary = summarise(found.rows, duplicates=found.duplicates)
    line = summary_line(summary, everything=include_all)
    stem = out.with_suffix("") if out.suffix.lower() in (".html", ".csv", ".json") else out
    paths = {k: stem.with_name(stem.name + "." + k) for k in ("html", "csv", "json")}
    cropper = Cropper()
    try:
        crop = cropper.crop if crops else (lambda *_: None)
        html = render_dossier(found.rows, summary, crop, found.local_files,
                              title="All procurements" if include_all else "Procurements of restricted US technology",
                              everything=include_all)
    finally:
        cropper.close()
    atomic_write_text(paths["html"], html)
    paths["csv"].parent.mkdir(parents=True, exist_ok=True)
    tmp = paths["csv"].with_name(f".{paths['csv'].name}.tmp")
    tmp.write_bytes(to_csv_bytes(found.rows))
    tmp.replace(paths["csv"])
    doc = {"summary": {**summary, "line": line}, "procurements": found.rows,
           "counted": {"procurements_total": found.procurements_total, "notices": found.notices,
                       "duplicate_files": found.duplicates}}
    atomic_write_text(paths["json"], json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    return FindingsOutput(found, summary, line, paths["html"], paths["csv"], paths["json"])
