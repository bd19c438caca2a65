"""Evaluation reports: rich terminal, Markdown, one self-contained HTML file, and A/B comparison.

Reports only present `evaluate.Scores`; no scoring happens here. The HTML is
meant to be mailed around and opened offline, so it has inline CSS and an
inline SVG chart, no scripts, no external URLs, and every piece of document
text or extracted value is escaped (tender PDFs are untrusted input).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from extractor.evaluate.calibration import Bucket
from extractor.evaluate.lots_report import lots_html, lots_markdown, lots_terminal
from extractor.evaluate.results import NULL_LABEL, DocResult, FieldError, Scores

WORST_DOCUMENTS = 10
ERRORS_PER_DOCUMENT = 6  # in the terminal; Markdown and HTML list every error
CONFUSION_FIELD = "notice_type"


def fmt(x: float | None) -> str:
    """A score as 0.000, or an em dash when undefined (0/0)."""
    return "—" if x is None else f"{x:.3f}"


def show_value(v: Any) -> str:
    """A gold or predicted value as JSON (so null, "" and [] are told apart)."""
    return json.dumps(v, ensure_ascii=False)


def headline(scores: Scores) -> list[tuple[str, str]]:
    """The numbers users compare runs by, as (label, formatted value)."""
    return [
        ("documents", str(scores.documents)),
        ("micro-F1", fmt(scores.micro_f1)),
        ("verified precision", _rate(scores.calibration.verified_overall())),
        ("high-confidence accuracy", _rate(scores.calibration.overall()["high"])),
        ("all fields correct", fmt(scores.all_fields_correct)),
        ("grounding rate", f"{fmt(scores.grounding_rate)} ({scores.grounded}/{scores.grounding_checked})"),
        ("grounded but wrong", str(scores.grounded_but_wrong)),
        ("restricted_us_tech precision", fmt(scores.flag_precision)),
        ("restricted_us_tech recall", fmt(scores.flag_recall)),
        ("backend / model", f"{scores.backend or '—'} / {scores.model or '—'}"),
        ("schema", f"{scores.schema_name} v{scores.schema_version}"),
    ]


def _rate(b: Bucket) -> str:
    return f"{fmt(b.accuracy)} ({b.correct}/{b.values})"


# --- terminal ---


def terminal_report(scores: Scores, worst: int = WORST_DOCUMENTS) -> Group:
    """Headline numbers, a per-field table, then the worst documents."""
    head = Table(title="Evaluation", show_header=False, title_style="bold")
    head.add_column(style="bold")
    head.add_column()
    for label, value in headline(scores):
        head.add_row(label, Text(value))

    fields = Table(title="Per field", caption="P precision · R recall · acc share of documents exactly right · "
                   "n documents scored", caption_justify="left")
    for col in ("field", "P", "R", "F1", "acc", "n", "TP", "FP", "FN", "TN"):
        fields.add_column(col, justify="left" if col == "field" else "right", no_wrap=col == "field")
    for name, fs in scores.fields.items():
        f1 = fs.f1
        style = "red" if f1 is not None and f1 < 0.5 else None
        fields.add_row(name, fmt(fs.precision), fmt(fs.recall), fmt(f1), fmt(fs.accuracy), str(fs.support),
                       str(fs.tp), str(fs.fp), str(fs.fn), str(fs.tn), style=style)

    parts: list[Any] = [head, fields]
    if scores.calibration.rated:
        parts.append(calibration_table(scores))
    if scores.lots is not None:
        parts.append(lots_terminal(scores.lots))
    docs = scores.worst_documents(worst)
    if docs:
        t = Table(title=f"Worst documents (top {len(docs)})")
        t.add_column("file", overflow="fold")
        t.add_column("wrong", justify="right")
        t.add_column("field: gold → predicted", overflow="fold")
        for d in docs:
            shown = [Text(f"{e.field}: {show_value(e.gold)} → {show_value(e.predicted)}")
                     for e in d.errors[:ERRORS_PER_DOCUMENT]]
            if len(d.errors) > ERRORS_PER_DOCUMENT:
                shown.append(Text(f"… and {len(d.errors) - ERRORS_PER_DOCUMENT} more (see --html)", style="dim"))
            lines = Text("\n").join(shown)
            t.add_row(Text(d.file), f"{len(d.errors)}/{d.scored}", lines)
        parts.append(t)
    if scores.missing_predictions:
        parts.append(Text(f"No prediction for {len(scores.missing_predictions)} document(s) (scored as all null): "
                          + ", ".join(scores.missing_predictions), style="yellow"))
    return Group(*parts)


def calibration_table(scores: Scores) -> Table:
    """Accuracy of the values the backend rated high vs low confidence: which values to check by eye."""
    t = Table(title="Confidence calibration and verified precision",
              caption="verified prec = share of the values marked verified that were right · acc = share of the "
              "backend's values at that level that were right (labelled fields, non-null values) · n values",
              caption_justify="left")
    for col in ("field", "verified prec", "verified n", "high acc", "high n", "low acc", "low n", "unrated n"):
        t.add_column(col, justify="left" if col == "field" else "right", no_wrap=col == "field")
    for name, b, v in trust_rows(scores):
        t.add_row(name, fmt(v.accuracy), str(v.values), fmt(b["high"].accuracy), str(b["high"].values),
                  fmt(b["low"].accuracy), str(b["low"].values), str(b["unrated"].values),
                  style="bold" if name == "all fields" else None)
    return t


def trust_rows(scores: Scores) -> list[tuple[str, dict[str, Bucket], Bucket]]:
    """(field, confidence buckets, verified bucket) per field, then ``all fields``."""
    cal = scores.calibration
    rows = [(name, buckets, cal.verified.get(name, Bucket())) for name, buckets in cal.fields.items()]
    return [*rows, ("all fields", cal.overall(), cal.verified_overall())]


def print_report(scores: Scores, console: Console, worst: int = WORST_DOCUMENTS) -> None:
    console.print(terminal_report(scores, worst))


# --- Markdown ---


def _md(s: Any) -> str:
    """A table cell: pipes escaped, and HTML escaped, since Markdown renderers pass raw HTML through
    (a document can name its buyer ``<script>…</script>``)."""
    text = html.escape(str(s), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(scores: Scores, worst: int = WORST_DOCUMENTS) -> str:
    """The terminal report as Markdown tables (for PRs and model cards)."""
    out = ["# tenderx evaluation", "", "| metric | value |", "|---|---|"]
    out += [f"| {label} | {_md(value)} |" for label, value in headline(scores)]
    out += ["", "## Per field", "",
            "| field | precision | recall | F1 | accuracy | support |", "|---|---:|---:|---:|---:|---:|"]
    for name, fs in scores.fields.items():
        out.append(f"| {name} | {fmt(fs.precision)} | {fmt(fs.recall)} | {fmt(fs.f1)} | "
                   f"{fmt(fs.accuracy)} | {fs.support} |")
    if scores.calibration.rated:
        out += ["", "## Confidence calibration and verified precision", "",
                "| field | verified prec | verified n | high acc | high n | low acc | low n | unrated n |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, b, v in trust_rows(scores):
            out.append(f"| {name} | {fmt(v.accuracy)} | {v.values} | {fmt(b['high'].accuracy)} | {b['high'].values} | "
                       f"{fmt(b['low'].accuracy)} | {b['low'].values} | {b['unrated'].values} |")
    if scores.lots is not None:
        out += lots_markdown(scores.lots)
    docs = scores.worst_documents(worst)
    if docs:
        out += ["", "## Worst documents", "", "| file | wrong | field | gold | predicted |", "|---|---:|---|---|---|"]
        for d in docs:
            for i, e in enumerate(d.errors):
                lead = f"{_md(d.file)} | {len(d.errors)}/{d.scored}" if i == 0 else " | "
                out.append(f"| {lead} | {e.field} | {_md(show_value(e.gold))} | {_md(show_value(e.predicted))} |")
    if scores.missing_predictions:
        out += ["", "Documents without a prediction (scored as all null): "
                + ", ".join(_md(m) for m in scores.missing_predictions)]
    return "\n".join(out) + "\n"


# --- HTML ---


def _e(s: Any) -> str:
    """Escape for HTML; also break '://' so no document text can read as a link to fetch."""
    return html.escape(str(s), quote=True).replace("://", "&#58;//")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;margin:2rem;
color:#1d232a;max-width:1200px}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top}
th{background:#f3f5f7;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.low{background:#fdecea}.ok{color:#1a7f37}.bad{color:#b42318}.muted{color:#6a737d}
.ctx{font-family:ui-monospace,monospace;font-size:.85em;white-space:pre-wrap;background:#f8f8f8;
padding:.4rem;max-width:60ch}
mark{background:#ffe58f}.diag{background:#e6f4ea;font-weight:bold}
"""


def svg_f1_chart(scores: Scores) -> str:
    """Inline SVG bar chart of per-field F1 (no scripts, no external references)."""
    label_w, bar_w, row_h = 170, 420, 22
    names = list(scores.fields)
    height = row_h * len(names) + 30
    width = label_w + bar_w + 70
    parts = [f'<svg role="img" aria-label="F1 per field" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#e1e4e8"/>'
                     f'<text x="{x:.1f}" y="{height - 5}" font-size="11" text-anchor="middle" fill="#6a737d">'
                     f"{tick:g}</text>")
    for i, name in enumerate(names):
        f1 = scores.fields[name].f1
        y = i * row_h + 4
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">{_e(name)}</text>')
        if f1 is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + 13}" font-size="11" fill="#6a737d">'
                         "n/a (nothing to find or predicted)</text>")
            continue
        colour = "#2da44e" if f1 >= 0.8 else "#d4a72c" if f1 >= 0.5 else "#cf222e"
        parts.append(f'<rect x="{label_w}" y="{y}" width="{f1 * bar_w:.1f}" height="{row_h - 6}" fill="{colour}">'
                     f"<title>{_e(name)}: F1 {fmt(f1)}</title></rect>"
                     f'<text x="{label_w + f1 * bar_w + 4:.1f}" y="{y + 13}" font-size="11">{fmt(f1)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _confusion_html(scores: Scores, name: str) -> str:
    matrix = scores.confusion.get(name)
    if not matrix:
        return '<p class="muted">No labelled documents for this field.</p>'
    golds = list(matrix)
    preds = sorted({p for row in matrix.values() for p in row}, key=lambda p: (p == NULL_LABEL, p))
    golds.sort(key=lambda g: (g == NULL_LABEL, g))
    head = "".join(f"<th>{_e(p)}</th>" for p in preds)
    rows = []
    for g in golds:
        cells = []
        for p in preds:
            n = matrix[g].get(p, 0)
            cls = "n diag" if p == g and n else "n"
            cells.append(f'<td class="{cls}">{n or ""}</td>')
        rows.append(f"<tr><th>{_e(g)}</th>{''.join(cells)}</tr>")
    return (f"<table><tr><th>gold ↓ / predicted →</th>{head}</tr>{''.join(rows)}</table>")


def _evidence_html(e: FieldError) -> str:
    if e.context is not None:
        c = e.context
        return (f'<div class="muted">page {c.page}</div><div class="ctx">…{_e(c.before)}'
                f"<mark>{_e(c.match)}</mark>{_e(c.after)}…</div>")
    if e.quote:
        page = f" (page {_e(e.page)})" if e.page is not None else ""
        return (f'<div class="bad">quote not found in the document text{page}:</div>'
                f'<div class="ctx">{_e(e.quote)}</div>')
    return '<span class="muted">no evidence given</span>'


def _doc_html(d: DocResult) -> str:
    status = "" if d.predicted else ' <span class="bad">(no prediction record: scored as all null)</span>'
    rows = []
    for e in d.errors:
        grounded = {True: '<span class="ok">grounded</span>', False: '<span class="bad">not grounded</span>',
                    None: '<span class="muted">—</span>'}[e.grounded]
        rows.append(f"<tr><td>{_e(e.field)}</td><td>{_e(show_value(e.gold))}</td>"
                    f"<td>{_e(show_value(e.predicted))}</td><td>{grounded}</td><td>{_evidence_html(e)}</td></tr>")
    return (f"<h3>{_e(d.file)} — {len(d.errors)} of {d.scored} fields wrong{status}</h3>"
            f'<div class="muted">sha256 {_e(d.sha256)}</div>'
            "<table><tr><th>field</th><th>gold</th><th>predicted</th><th>quote found?</th><th>evidence in page context</th></tr>"
            f"{''.join(rows)}</table>")


def render_html(scores: Scores) -> str:
    """One self-contained HTML report: headline, F1 chart, field table, confusion matrix, every error."""
    head_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in headline(scores))
    field_rows = []
    for name, fs in scores.fields.items():
        cls = ' class="low"' if fs.f1 is not None and fs.f1 < 0.5 else ""
        field_rows.append(
            f"<tr{cls}><td>{_e(name)}</td>"
            + "".join(f'<td class="n">{v}</td>' for v in (
                fmt(fs.precision), fmt(fs.recall), fmt(fs.f1), fmt(fs.accuracy), fs.support,
                fs.tp, fs.fp, fs.fn, fs.tn))
            + "</tr>")
    wrong = scores.worst_documents()
    errors = "".join(_doc_html(d) for d in wrong) or '<p class="ok">No errors.</p>'
    missing = ""
    if scores.missing_predictions:
        missing = ("<h2>Documents without a prediction</h2><ul>"
                   + "".join(f"<li>{_e(m)}</li>" for m in scores.missing_predictions) + "</ul>")
    trust = ""
    if scores.calibration.rated:
        trust = ("<h2>Confidence calibration and verified precision</h2><table><tr><th>field</th>"
                 "<th>verified precision</th><th>verified n</th><th>high-confidence accuracy</th><th>high n</th>"
                 "<th>low accuracy</th><th>low n</th><th>unrated n</th></tr>"
                 + "".join(f"<tr><td>{_e(name)}</td>" + "".join(f'<td class="n">{c}</td>' for c in (
                     fmt(v.accuracy), v.values, fmt(b["high"].accuracy), b["high"].values,
                     fmt(b["low"].accuracy), b["low"].values, b["unrated"].values)) + "</tr>"
                           for name, b, v in trust_rows(scores)) + "</table>")
    confusion = ""
    if CONFUSION_FIELD in scores.fields:
        confusion = f"<h2>{CONFUSION_FIELD} confusion matrix</h2>{_confusion_html(scores, CONFUSION_FIELD)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tenderx evaluation — {_e(scores.backend or "")} {_e(scores.model or "")}</title>
<style>{_CSS}</style></head>
<body>
<h1>tenderx evaluation</h1>
<table>{head_rows}</table>
<h2>F1 per field</h2>
{svg_f1_chart(scores)}
<h2>Per field</h2>
<table><tr><th>field</th><th>precision</th><th>recall</th><th>F1</th><th>accuracy</th><th>support</th>
<th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr>{"".join(field_rows)}</table>
{trust}
{lots_html(scores.lots) if scores.lots is not None else ""}
{confusion}
<h2>Errors ({sum(len(d.errors) for d in wrong)} in {len(wrong)} documents)</h2>
{errors}
{missing}
</body></html>
"""


# --- comparing two runs ---

# headline metrics: (label, path in the JSON, higher is better)
HEADLINE_METRICS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("micro-F1", ("micro_f1",), True),
    ("verified precision", ("verified_precision",), True),
    ("high-confidence accuracy", ("high_confidence_accuracy",), True),
    ("all fields correct", ("all_fields_correct",), True),
    ("grounding rate", ("grounding_rate",), True),
    ("grounded but wrong", ("grounded_but_wrong",), False),
    ("restricted_us_tech precision", ("restricted_us_tech", "precision"), True),
    ("restricted_us_tech recall", ("restricted_us_tech", "recall"), True),
)
TOLERANCE = 1e-9  # differences smaller than this are float noise, not regressions


@dataclass
class Delta:
    name: str
    a: float | None
    b: float | None
    higher_is_better: bool = True

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def regression(self) -> bool:
        d = self.delta
        if d is None:
            return False
        return d < -TOLERANCE if self.higher_is_better else d > TOLERANCE

    @property
    def improvement(self) -> bool:
        d = self.delta
        if d is None:
            return False
        return d > TOLERANCE if self.higher_is_better else d < -TOLERANCE


@dataclass
class Comparison:
    """Run B against run A: per-field F1 deltas and headline deltas."""

    a_label: str
    b_label: str
    headline: list[Delta] = field(default_factory=list)
    fields: list[Delta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[str]:
        return [d.name for d in (*self.headline, *self.fields) if d.regression]

    def to_json(self) -> dict[str, Any]:
        def rows(ds: list[Delta]) -> dict[str, Any]:
            return {d.name: {"a": d.a, "b": d.b, "delta": d.delta, "regression": d.regression} for d in ds}

        return {"a": self.a_label, "b": self.b_label, "headline": rows(self.headline),
                "fields": rows(self.fields), "regressions": self.regressions, "notes": self.notes}


def _dig(obj: Any, path: tuple[str, ...]) -> float | None:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return float(obj) if isinstance(obj, (int, float)) and not isinstance(obj, bool) else None


def _run_label(run: dict[str, Any], default: str) -> str:
    who = " / ".join(str(run[k]) for k in ("backend", "model") if run.get(k))
    return f"{default} ({who})" if who else default


def compare(a: dict[str, Any] | Scores, b: dict[str, Any] | Scores) -> Comparison:
    """Per-field F1 and headline deltas of run B against run A (`Scores.to_json()` dicts)."""
    a = a.to_json() if isinstance(a, Scores) else a
    b = b.to_json() if isinstance(b, Scores) else b
    comp = Comparison(_run_label(a, "A"), _run_label(b, "B"))
    comp.headline = [Delta(label, _dig(a, path), _dig(b, path), better) for label, path, better in HEADLINE_METRICS]
    a_fields, b_fields = a.get("fields") or {}, b.get("fields") or {}
    for name in [*a_fields, *(n for n in b_fields if n not in a_fields)]:
        comp.fields.append(Delta(name, _dig(a_fields, (name, "f1")), _dig(b_fields, (name, "f1"))))
    if a.get("documents") != b.get("documents"):
        comp.notes.append(f"the runs scored different numbers of documents ({a.get('documents')} vs "
                          f"{b.get('documents')}); deltas may reflect the gold set, not the extractor")
    if a.get("schema_version") != b.get("schema_version"):
        comp.notes.append("the runs used different schema versions")
    return comp


def _delta_text(d: Delta, percent: bool = True) -> Text:
    if d.delta is None:
        return Text("—")
    style = "bold red" if d.regression else "green" if d.improvement else ""
    return Text(f"{d.delta:+.3f}" if percent else f"{d.delta:+g}", style=style)


def comparison_report(comp: Comparison) -> Group:
    """Two tables (headline, per field) with regressions in red and improvements in green."""
    head = Table(title=f"{comp.b_label} vs {comp.a_label}")
    fields = Table(title="F1 per field")
    for t in (head, fields):
        t.add_column("metric" if t is head else "field")
        t.add_column("A F1" if t is fields else "A", justify="right")
        t.add_column("B F1" if t is fields else "B", justify="right")
        t.add_column("Δ", justify="right")
    for d in comp.headline:
        count = d.name == "grounded but wrong"
        a = "—" if d.a is None else (f"{d.a:g}" if count else fmt(d.a))
        b = "—" if d.b is None else (f"{d.b:g}" if count else fmt(d.b))
        head.add_row(Text(d.name, style="red" if d.regression else ""), a, b, _delta_text(d, not count))
    for d in comp.fields:
        fields.add_row(Text(d.name, style="red" if d.regression else ""), fmt(d.a), fmt(d.b), _delta_text(d))
    parts: list[Any] = [head, fields]
    if comp.regressions:
        parts.append(Text("Regressions: " + ", ".join(comp.regressions), style="bold red"))
    else:
        parts.append(Text("No regressions.", style="green"))
    parts += [Text(f"note: {n}", style="yellow") for n in comp.notes]
    return Group(*parts)
