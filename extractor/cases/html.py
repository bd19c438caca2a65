"""One self-contained HTML page of cases, for reading a chain with its evidence side by side.

Everything a reader needs to check a link or a value is on the page: why each
notice is in its case, and for each view value the notice, page and quote.
"""

from __future__ import annotations

from html import escape
from typing import Any

from extractor.cases.view import fmt_value
from extractor.screen.api import LISTED
from extractor.screen.status import status_text

_CSS = """
body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;width:100%} td,th{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left} th{background:#f2f2f2} .flag{color:#b00;font-weight:bold}
.quote{color:#555;font-size:.9em} .why{color:#666;font-size:.85em} .hist{color:#a60}
"""

_VIEW_ORDER = ("status", "restricted_us_tech", "buyer", "agency", "project_name", "project_code",
               "procurement_method", "budget_cny", "award_amount_cny", "suppliers", "chips", "cloud_providers",
               "ai_models")


def _source(e: dict[str, Any]) -> str:
    if not e.get("file"):
        return ""
    where = f"{escape(str(e['file']))}" + (f", p. {e['page']}" if e.get("page") else "")
    quote = f"<div class='quote'>「{escape(str(e['quote']))}」</div>" if e.get("quote") else ""
    return f"<div class='why'>{escape(str(e.get('notice_type') or ''))} {escape(str(e.get('publish_date') or ''))}" \
           f" — {where}</div>{quote}"


def _view_cell(e: dict[str, Any]) -> str:
    text = escape(e.get("display") or fmt_value(e.get("value")))
    if e.get("history"):
        text = f"<span class='hist'>{text}</span>"
    if "sources" in e:
        return text + "".join(_source(s) for s in e["sources"])
    earlier = "".join(f"<div class='hist'>was {escape(fmt_value(h['value']))}:</div>{_source(h)}"
                      for h in e.get("history") or [])
    return text + _source(e) + earlier


def render_cases_html(cases: list[dict[str, Any]], title: str = "tenderx cases") -> str:
    """The cases (``build_cases`` output) as one HTML page, flagged cases first."""
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>",
             f"<p>{len(cases)} cases from {sum(len(c['notices']) for c in cases)} notices; "
             f"{sum(c['flagged'] for c in cases)} flagged.</p>"]
    for c in sorted(cases, key=lambda c: (not c["flagged"], c["first_date"] or "9999")):
        flag = " <span class='flag'>flagged</span>" if c["flagged"] else ""
        name = (c["view"].get("project_name") or {}).get("value") or c["id"]
        parts.append(f"<h2 id='{escape(c['id'])}'>{escape(str(name))}{flag}</h2>"
                     f"<p class='why'>{escape(c['id'])} · codes: {escape(', '.join(c['codes']) or '—')}"
                     + (f" · lots: {escape(', '.join(c['lots']))}" if c["lots"] else "") + "</p>")
        parts.append("<table><tr><th>date</th><th>type</th><th>file</th><th>link</th></tr>")
        for n in c["notices"]:
            parts.append(f"<tr><td>{escape(n['publish_date'] or '—')}</td><td>{escape(n['notice_type'] or '—')}</td>"
                         f"<td>{escape(n['file'])}</td><td>{escape(n['link'])}"
                         f"<div class='why'>{escape(n['why'])}</div></td></tr>")
        parts.append("</table><table><tr><th>field</th><th>value and source</th></tr>")
        for k in _VIEW_ORDER:
            e = c["view"].get(k)
            if e and e.get("value") not in (None, [], ""):
                parts.append(f"<tr><td>{escape(k)}</td><td>{_view_cell(e)}</td></tr>")
        for s in c["view"].get("screening") or []:
            what = status_text(s)  # the match type travels with the list's name (a sub-unit says so)
            flag = " class='flag'" if s.get("match") in LISTED else ""
            parts.append(f"<tr><td>screening</td><td><span{flag}>{escape(what)}</span>{_source(s)}</td></tr>")
        parts.append("</table>")
        for note in c.get("notes") or []:
            parts.append(f"<p class='why'>note: {escape(note)}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
