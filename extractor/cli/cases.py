"""`tenderx cases` and `tenderx export`, and the cases table of the extract/run summary.

Thin like the rest of the CLI: each command reads records.jsonl, calls one
library function (extractor.cases, extractor.export) and renders the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.cli.terminal import console, err_console, safe
from extractor.core.errors import UsageError

SUMMARY_ROWS = 15


def _notices(notices: list[dict[str, Any]]) -> str:
    """``intention 2024-01-15 → tender 04-02 → …``: the year only when it changes."""
    parts, year = [], None
    for n in notices:
        d = n["publish_date"] or ""
        parts.append(f"{n['notice_type'] or '?'} " + ((d[5:] if d[:4] == year else d) or "undated"))
        year = d[:4] or year
    return " → ".join(parts)


def _amount(view: dict[str, Any]) -> str:
    award, budget = view.get("award_amount_cny"), view.get("budget_cny")
    text = f"{award['display']} (award)" if award else ""
    if budget and (not award or budget.get("history")):
        text += ("; " if text else "") + f"budget {budget['display']}"
    return text or "—"


def cases_table(cases: list[dict[str, Any]], limit: int | None = None, title: str = "Cases") -> Table:
    """Flagged cases first: buyer, supplier(s), amount (with a correction's history), notices, status."""
    order = sorted(cases, key=lambda c: (not c["flagged"], -len(c["notices"]), c["first_date"] or "9999"))
    shown = order if limit is None else order[:limit]
    more = len(order) - len(shown)
    table = Table(title=title + (f" (first {len(shown)} of {len(order)})" if more else ""), show_lines=True)
    for col, kw in (("flag", {}), ("buyer", {"max_width": 22, "overflow": "fold"}),
                    ("project", {"max_width": 30, "overflow": "fold"}),
                    ("supplier(s)", {"max_width": 24, "overflow": "fold"}), ("amount CNY", {"overflow": "fold"}),
                    ("notices", {"overflow": "fold"}), ("status", {})):
        table.add_column(col, **kw)
    for c in shown:
        v = c["view"]
        table.add_row(
            "[red]restricted[/]" if v["restricted_us_tech"]["value"] else ("[red]listed party[/]" if c["flagged"] else ""),
            safe((v.get("buyer") or {}).get("value") or "—"),
            safe((v.get("project_name") or {}).get("value") or "—"),
            safe((v.get("suppliers") or {}).get("display") or "—"),
            safe(_amount(v)),
            safe(_notices(c["notices"])),
            safe(v["status"]["value"]),
        )
    return table


def print_cases_summary(records: list[dict[str, Any]], out: Console | None = None) -> list[dict[str, Any]]:
    """The cases table of the extract/run summary (the records linked into cases)."""
    from extractor.cases.view import build_cases

    cases = build_cases(records)
    if cases:
        (out or console).print(cases_table(cases, limit=SUMMARY_ROWS))
    return cases


def write_run_cases(records: list[dict[str, Any]], out_dir: Path, out: Console | None = None) -> Path:
    """`tenderx run`: cases.jsonl beside records.jsonl."""
    from extractor.cases.output import write_cases
    from extractor.cases.view import build_cases

    path = write_cases(build_cases(records), out_dir / "cases.jsonl")
    (out or console).print(f"cases: {escape(str(path))}")
    return path


def _records_or_exit(path: Path) -> list[dict[str, Any]]:
    from extractor.pipeline.records import read_records, well_formed

    if not path.is_file():
        raise UsageError(f"no such records file: {path} (run `tenderx extract` first)")
    records = [well_formed(r) for r in read_records(path)]
    if not records:
        raise UsageError(f"{path} holds no records")
    return records


def cases_command(
    records: Path = typer.Argument(..., help="records.jsonl written by `tenderx extract` or `tenderx run`."),
    as_json: bool = typer.Option(False, "--json", help="Print only {\"cases\": [...]} as JSON."),
    html: Path | None = typer.Option(None, "--html", help="Also write one self-contained HTML page of the cases."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the cases as JSONL (one case per line)."),
    window_days: int | None = typer.Option(None, "--window-days", min=0,
                                           help="Days a notice without a code may be from its case (default 400)."),
) -> None:
    """Link notices of one purchase into cases and show each case's current view.

    Examples:

      tenderx cases tenderx-out/records.jsonl

      tenderx cases records.jsonl --json | jq '.cases[] | select(.view.status.value=="awarded")'

      tenderx cases records.jsonl --html cases.html -o cases.jsonl

    Notices are linked by the same project code (full/half width, spaces and case ignored; a lot
    suffix such as -01 or 包1 kept as a lot), then notices without a code by the same buyer and a
    near-identical project name within the time window. Two different codes are never merged.
    Each case view value names the notice, page and quote it came from; a value a correction
    changed shows its history (3,800,000 ← 3,600,000 (correction, 2024-04-12)).
    Exit codes: 0 ok, 2 usage error (no records file).
    """
    from extractor.cases.html import render_cases_html
    from extractor.cases.output import write_cases
    from extractor.cases.view import build_cases
    from extractor.pipeline.records import atomic_write_text

    cases = build_cases(_records_or_exit(records), window_days=window_days)
    if out is not None:
        write_cases(cases, out)
    if html is not None:
        atomic_write_text(html, render_cases_html(cases))
    if as_json:
        typer.echo(json.dumps({"cases": cases}, ensure_ascii=False, indent=1))
        return
    console.print(cases_table(cases))
    linked = sum(len(c["notices"]) for c in cases if len(c["notices"]) > 1)
    console.print(f"{len(cases)} cases from {sum(len(c['notices']) for c in cases)} notices "
                  f"({linked} notices in cases of two or more); {sum(c['flagged'] for c in cases)} flagged")
    for path in (out, html):
        if path is not None:
            console.print(f"wrote {escape(str(path))}")


def export_command(
    records: Path = typer.Argument(..., help="records.jsonl written by `tenderx extract` or `tenderx run`."),
    fmt: str = typer.Option("ocds", "--format", "-f", help="ocds | ocds-record | csv | parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write; - writes to standard output."),
    cases: bool = typer.Option(False, "--cases", help="CSV/Parquet: one row per case instead of per record."),
    excel: bool = typer.Option(False, "--excel", help="CSV: UTF-8 with a BOM so Excel shows Chinese correctly."),
    prefix: str | None = typer.Option(None, "--ocid-prefix",
                                      help="OCDS: the ocid prefix (default tenderx-local; register your own)."),
) -> None:
    """Export records (or their cases) as open data: OCDS 1.1, CSV with evidence, or Parquet.

    Examples:

      tenderx export tenderx-out/records.jsonl --format ocds -o releases.json

      tenderx export records.jsonl --format ocds-record -o records.json --ocid-prefix ocds-abc123

      tenderx export records.jsonl --format csv --excel -o records.csv

      tenderx export records.jsonl --format parquet --cases -o cases.parquet

      tenderx export records.jsonl --format csv -o - | head

    ocds: a release package, one release per notice, one ocid per case, evidence (page + quote) in
    each release's `evidence`. ocds-record: a record package compiled by ocdskit/ocdsmerge.
    csv: value, page, quote and verified columns per field; cells that a spreadsheet would run
    as a formula are prefixed with '. parquet: typed columns (dates, numbers, lists).
    Exit codes: 0 ok, 2 usage error (no records file, unknown format).
    """
    from extractor.export.writer import STDOUT, export

    result = export(_records_or_exit(records), fmt, out, cases=cases, excel=excel, prefix=prefix)
    unit = {"ocds": "releases", "ocds-record": "records"}.get(fmt, "rows")
    where = "standard output" if out == STDOUT else escape(str(result.path))
    (err_console if out == STDOUT else console).print(  # stdout carries the data itself
        f"wrote {where}: {result.rows} {unit}, {result.cases} cases ({fmt})")


def register(app: typer.Typer) -> None:
    """Add `cases` and `export` to the tenderx app."""
    app.command("cases")(cases_command)
    app.command("export")(export_command)
