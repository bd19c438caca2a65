"""Records and cases as tables: CSV with the evidence of every field, and typed Parquet.

A spreadsheet user must be able to check a value without the JSONL, so each
field gets page, quote and verified columns. Cells that a spreadsheet would
run as a formula (starting with = + - @ tab CR) are neutralised as OWASP
recommends, since notice text is written by strangers. Parquet keeps types
(dates, numbers, lists) for pandas and DuckDB.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from extractor.pipeline.records import LIST_JOIN, safe_csv_cell
from extractor.screen.status import match_label, status_text

_LIST_COLUMNS = ("flags", "errors", "screening", "screening_match", "intermediaries")


def neutralise(value: Any, text: str) -> str:
    """Text cells that start like a formula get the leading apostrophe of ``safe_csv_cell`` (the one
    OWASP rule, in pipeline.records); numbers, booleans and empty cells stay as they are."""
    return safe_csv_cell(text) if isinstance(value, (str, list)) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_JOIN.join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_names(records: list[dict[str, Any]]) -> list[str]:
    """The schema's fields in the order the records list them."""
    names: list[str] = []
    for rec in records:
        for n in rec.get("fields") or {}:
            if n not in names:
                names.append(n)
    return names


def field_types(records: list[dict[str, Any]]) -> dict[str, str]:
    """Field → schema type (string, enum, date, number, integer, boolean, list) from the records' schema."""
    from extractor.core.schema import load_schema

    types: dict[str, str] = {}
    for name in sorted({str(r.get("schema") or "tender") for r in records} or {"tender"}):
        try:
            types.update({f.name: f.type for f in load_schema(name).fields})
        except Exception:  # noqa: BLE001 — a custom schema file not at hand: infer from values below
            continue
    for rec in records:
        for n, fv in (rec.get("fields") or {}).items():
            v = fv.get("value") if isinstance(fv, dict) else None
            if n in types or v is None:
                continue
            types[n] = ("boolean" if isinstance(v, bool) else "integer" if isinstance(v, int)
                        else "number" if isinstance(v, float) else "list" if isinstance(v, list) else "string")
    return types


def record_rows(records: list[dict[str, Any]], case_of: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per record: every field's value, page, quote and verified; flags and errors."""
    names = field_names(records)
    rows = []
    for rec in records:
        row: dict[str, Any] = {"file": rec.get("file"), "sha256": rec.get("sha256"), "backend": rec.get("backend"),
                               "model": rec.get("model")}
        if case_of is not None:
            row["case_id"] = case_of.get(str(rec.get("file", "")))
        fields = rec.get("fields") or {}
        for n in names:
            got = fields.get(n)
            fv: dict[str, Any] = got if isinstance(got, dict) else {}
            row[n] = fv.get("value")
            row[f"{n}_page"] = fv.get("page")
            row[f"{n}_quote"] = fv.get("quote")
            row[f"{n}_verified"] = fv.get("verified")
        row["screening"] = [status_text(e) for e in rec.get("screening") or []]
        row["screening_match"] = [match_label(e) for e in rec.get("screening") or []]
        row["intermediaries"] = [f"{i.get('supplier') or '(bidders)'} → {i.get('intermediary_for')} "
                                 f"({i.get('basis')}, p.{i.get('page')})" for i in rec.get("intermediaries") or []]
        row["duplicate_of"] = rec.get("duplicate_of")
        row["flags"] = list(rec.get("flags") or [])
        row["errors"] = list(rec.get("errors") or [])
        rows.append(row)
    return rows


_CASE_FIELDS = ("project_name", "project_code", "buyer", "agency", "procurement_method", "budget_cny",
                "award_amount_cny", "suppliers")


def case_rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per case: the view's values, each with the notice, page and quote it came from."""
    rows = []
    for c in cases:
        v = c["view"]
        row: dict[str, Any] = {"case_id": c["id"], "status": v["status"]["value"], "flagged": c["flagged"],
                               "restricted_us_tech": v["restricted_us_tech"]["value"], "codes": c["codes"],
                               "lots": c["lots"], "first_date": c["first_date"], "last_date": c["last_date"],
                               "notices": len(c["notices"]), "files": [n["file"] for n in c["notices"]],
                               "notice_types": [n["notice_type"] or "" for n in c["notices"]],
                               "links": [n["link"] for n in c["notices"]]}
        for n in _CASE_FIELDS:
            e = v.get(n) or {}
            row[n] = e.get("value")
            row[f"{n}_file"] = e.get("file")
            row[f"{n}_page"] = e.get("page")
            row[f"{n}_quote"] = e.get("quote")
            row[f"{n}_history"] = e.get("display") if e.get("history") else None
        for n in ("chips", "cloud_providers", "ai_models"):
            row[n] = (v.get(n) or {}).get("value") or []
        row["listed_parties"] = [status_text(e) for e in v.get("screening") or [] if e.get("match") in ("exact", "subunit")]
        row["screening_match"] = [match_label(e) for e in v.get("screening") or []]
        row["copies"] = [cp["file"] for n in c["notices"] for cp in n.get("copies") or []]
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]], excel: bool = False) -> bytes:
    """CSV bytes; ``excel``: UTF-8 with a BOM so Excel reads Chinese correctly."""
    buf = io.StringIO()
    columns = list(rows[0]) if rows else ["file"]
    w = csv.writer(buf)
    w.writerow(columns)
    for row in rows:
        w.writerow([neutralise(row.get(c), _text(row.get(c))) for c in columns])
    return buf.getvalue().encode("utf-8-sig" if excel else "utf-8")


def _arrow_type(column: str, types: dict[str, str]) -> Any:
    import pyarrow as pa

    base, _, part = column.rpartition("_")
    if part == "page" and base in types:
        return pa.int32()
    if part == "verified" and base in types:
        return pa.bool_()
    if column in types:
        return {"date": pa.date32(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_(),
                "list": pa.list_(pa.string())}.get(types[column], pa.string())
    return None


def case_types() -> dict[str, str]:
    """The column types of ``case_rows`` for Parquet."""
    t = {n: "string" for n in _CASE_FIELDS}
    t.update({"budget_cny": "number", "award_amount_cny": "number", "suppliers": "list", "first_date": "date",
         "last_date": "date", "notices": "integer", "flagged": "boolean", "restricted_us_tech": "boolean"})
    t.update({n: "list" for n in ("codes", "lots", "files", "notice_types", "links", "chips", "cloud_providers",
                                  "ai_models", "listed_parties", "screening_match", "copies")})
    return t


def _to_date(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v)[:10]) if v else None
    except ValueError:
        return None


def to_parquet(rows: list[dict[str, Any]], types: dict[str, str]) -> bytes:
    """``rows`` as a Parquet file with typed columns (dates, numbers, lists of strings, booleans)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(rows[0]) if rows else ["file"]
    arrays, fields = [], []
    for c in columns:
        t = _arrow_type(c, types)
        if t is None:
            t = pa.list_(pa.string()) if c in _LIST_COLUMNS else pa.string()
        vals = [r.get(c) for r in rows]
        if t == pa.date32():
            vals = [_to_date(v) for v in vals]
        elif pa.types.is_list(t):
            vals = [None if v is None else [str(x) for x in v] for v in vals]
        elif t == pa.string():
            vals = [None if v is None else str(v) for v in vals]
        elif t == pa.int64() or t == pa.int32():
            vals = [int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in vals]
        elif t == pa.float64():
            vals = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in vals]
        elif t == pa.bool_():
            vals = [v if isinstance(v, bool) else None for v in vals]
        arrays.append(pa.array(vals, type=t))
        fields.append(pa.field(c, t))
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), sink)
    return bytes(sink.getvalue().to_pybytes())

