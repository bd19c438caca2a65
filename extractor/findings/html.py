"""The dossier: one self-contained HTML file a journalist can read, check, print to PDF and send.

Summary first (the line to quote, the tables by provider and by chip), then one section per
procurement: each value beside the crop of the page it was read from, its quote, file (relative to
the input folder, with sha256) and caveats. No script, no external resource: every image is a data URI.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from extractor.cases.view import fmt_value
from extractor.findings.summary import summary_line, summary_tables

Crop = Callable[[str | None, int | None, str | None], str | None]

_CSS = """
@page{size:A4;margin:14mm}
body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif;margin:2em;color:#1d1d1d;max-width:1100px}
h1{font-size:1.45em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:2px solid #333}
.summary{font-size:1.05em;background:#f5f3ea;border-left:4px solid #a60;padding:.7em 1em}
table{border-collapse:collapse;margin:.5em 0;width:100%} td,th{border:1px solid #c8c8c8;padding:.35em .5em;
vertical-align:top;text-align:left} th{background:#efefef;width:13em}
.proc{page-break-inside:auto;margin-bottom:2em} .proc h2{page-break-after:avoid}
tr{page-break-inside:avoid}
.quote{color:#444;font-size:.88em} .src{color:#666;font-size:.8em} .cav{color:#a34d00;font-size:.8em}
.crop{display:block;max-width:100%;border:1px solid #bbb;margin:.3em 0}
.listed{color:#b00000;font-weight:bold} .subunit{color:#8a4b00;font-weight:bold} .similar{color:#555}
.inter{color:#004f9e;font-weight:bold} .muted{color:#777}
.small{font-size:.8em}
"""


def _src(e: dict[str, Any]) -> str:
    sha = f" · sha256 {escape(str(e['sha256'])[:16])}…" if e.get("sha256") else ""
    page = f", p. {e['page']}" if e.get("page") else ""
    kind = f"{escape(str(e.get('notice_type') or ''))} {escape(str(e.get('publish_date') or ''))} — "
    return f"<div class='src'>{kind}{escape(str(e.get('file') or ''))}{page}{sha}</div>"


def _evidence(e: dict[str, Any], crop: Crop, local: dict[str, str]) -> str:
    parts = []
    uri = crop(local.get(str(e.get("file"))), e.get("page"), e.get("quote"))
    if uri:
        parts.append(f"<img class='crop' alt='page {e.get('page')} of {escape(str(e.get('file')))}' src='{uri}'>")
    if e.get("quote"):
        parts.append(f"<div class='quote'>「{escape(str(e['quote']))}」</div>")
    parts.append(_src(e))
    if not uri and e.get("quote"):
        parts.append("<div class='muted small'>no page crop (a scanned page read by OCR, or a web/Word notice): "
                     "check the quote in the file</div>")
    if e.get("caveats"):
        parts.append(f"<div class='cav'>⚠ {escape('; '.join(e['caveats']))}</div>")
    return "".join(parts)


def _value_row(label: str, e: dict[str, Any] | None, crop: Crop, local: dict[str, str]) -> str:
    if not e:
        return f"<tr><th>{escape(label)}</th><td class='muted'>not stated</td></tr>"
    text = escape(str(e.get("display") or fmt_value(e.get("value"))))
    return f"<tr><th>{escape(label)}</th><td><b>{text}</b>{_evidence(e, crop, local)}</td></tr>"


def _list_row(label: str, entry: dict[str, Any], crop: Crop, local: dict[str, str]) -> str:
    if not entry["value"]:
        return f"<tr><th>{escape(label)}</th><td class='muted'>none</td></tr>"
    several = len(entry["sources"]) > 1  # then each source says which items it added
    srcs = "".join(f"<div>{escape(fmt_value(s['value'])) if several else ''}{_evidence(s, crop, local)}</div>"
                   for s in entry["sources"])
    return f"<tr><th>{escape(label)}</th><td><b>{escape(fmt_value(entry['value']))}</b>{srcs}</td></tr>"


def _screening(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<span class='muted'>no party matched a US list (exact, sub-unit or similar)</span>"
    out = []
    for s in rows:
        cls = {"exact": "listed", "subunit": "subunit"}.get(str(s["match"]), "similar")
        out.append(f"<div class='{cls}'>{escape(s['match_label'])}</div><div>{escape(s['statement'])}</div>"
                   f"<div class='src'>{escape(str(s.get('file') or ''))}</div>")
    return "".join(out)


def _intermediaries(rows: list[dict[str, Any]], crop: Crop, local: dict[str, str]) -> str:
    if not rows:
        return "<span class='muted'>the notices do not make a supplier a reseller or partner of a US provider</span>"
    out = []
    for i in rows:
        who = escape(i["supplier"]) if i.get("supplier") else "every bidder (tender requirement)"
        basis = {"partner": "must be the provider's authorised partner/reseller",
                 "delivers": "delivers the provider's service"}.get(str(i.get("basis")), i.get("basis"))
        out.append(f"<div class='inter'>{who} → {escape(i['intermediary_for'])}</div>"
                   f"<div class='small'>{escape(str(basis))}{'; ' + escape(i['note']) if i.get('note') else ''}</div>"
                   f"{_evidence(i, crop, local)}")
    return "".join(out)


def _notices(row: dict[str, Any]) -> str:
    items = []
    for n in row["notices"]:
        copies = "".join(f"<div class='small muted'>same notice also in {escape(str(c['file']))} "
                         f"(text similarity {c.get('similarity')}), counted once</div>" for c in n["copies"])
        sha = str(n.get("sha256") or "")[:16]
        items.append(f"<li>{escape(str(n['notice_type'] or '?'))} {escape(str(n['publish_date'] or 'undated'))} — "
                     f"{escape(str(n['file']))} <span class='small muted'>sha256 {escape(sha)}…</span>{copies}</li>")
    return "<ol>" + "".join(items) + "</ol>"


def _procurement(i: int, row: dict[str, Any], crop: Crop, local: dict[str, str]) -> str:
    name = (row.get("project_name") or {}).get("value") or (row.get("buyer") or {}).get("value") or row["case_id"]
    parent = row.get("parent_institution")
    parent_html = (f"<tr><th>parent institution</th><td><b>{escape(str(parent['value']))}</b>"
                   f"<div class='subunit small'>{escape(parent['statement'])}</div></td></tr>") if parent else ""
    rows = [
        _value_row("buyer", row.get("buyer"), crop, local), parent_html,
        _list_row("chips", row["chips"], crop, local),
        _value_row("GPUs", row.get("gpu_count"), crop, local), _value_row("servers", row.get("server_count"), crop, local),
        _list_row("clouds", row["cloud_providers"], crop, local), _list_row("AI models", row["ai_models"], crop, local),
        _value_row("tokens", row.get("token_count"), crop, local),
        _value_row("supplier(s)", row.get("suppliers"), crop, local),
        f"<tr><th>intermediary for a US provider</th><td>{_intermediaries(row['intermediaries'], crop, local)}</td></tr>",
        _value_row("budget (CNY)", row.get("budget_cny"), crop, local),
        _value_row("award (CNY)", row.get("award_amount_cny"), crop, local),
        _value_row("agency", row.get("agency"), crop, local),
        _value_row("project code", row.get("project_code"), crop, local),
        f"<tr><th>status, dates</th><td>{escape(row['status'])}; {escape(str(row['first_date'] or '?'))} → "
        f"{escape(str(row['last_date'] or '?'))}</td></tr>",
        f"<tr><th>notices</th><td>{_notices(row)}</td></tr>",
        f"<tr><th>list status of the parties</th><td>{_screening(row['screening'])}</td></tr>",
        _value_row("why restricted", row.get("restricted_us_tech"), crop, local),
    ]
    return (f"<section class='proc'><h2>{i}. {escape(str(name))}</h2><table>{''.join(rows)}</table>"
            f"<div class='small muted'>case {escape(row['case_id'])}</div></section>")


def render_dossier(rows: list[dict[str, Any]], summary: dict[str, Any], crop: Crop, local: dict[str, str],
                   title: str = "Findings", everything: bool = False) -> str:
    """The whole dossier as one HTML string (``crop`` gives a data URI for a quote on a local page)."""
    tables = []
    for heading, header, body in summary_tables(summary):
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        trs = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in body)
        tables.append(f"<h3>{escape(heading)}</h3><table class='sum'><tr>{head}</tr>{trs}</table>")
    sections = "".join(_procurement(i, r, crop, local) for i, r in enumerate(rows, 1))
    note = ("Every value names the notice (file relative to the input folder, sha256), page and quote it was "
            "read from. A list match is a lead to verify against the list's own text; a sub-unit match means "
            "the party is not listed itself but belongs to a listed entity. Values are machine-extracted and "
            "not reviewed by a person unless stated.")
    return (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"
            f"<p class='summary' id='summary'>{escape(summary_line(summary, everything))}</p>"
            f"<p class='small muted'>{escape(note)}</p>{''.join(tables)}{sections}</body></html>")
