"""`tenderx findings`: records (and cases) → the dossier, CSV and JSON a journalist can publish.

Thin: reads the records (and a cases.jsonl when given), calls ``extractor.findings.write_findings`` and
prints the summary line and tables.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from extractor.cli.cases import _records_or_exit
from extractor.cli.terminal import console, safe
from extractor.core.errors import UsageError


def findings_command(
    records: Path = typer.Argument(..., help="records.jsonl written by `tenderx run` or `tenderx extract`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output stem: writes OUT.html (dossier), OUT.csv and OUT.json."),
    cases: Path | None = typer.Option(None, "--cases", help="cases.jsonl written by `tenderx run` (default: link "
                                                               "the records into cases now)."),
    everything: bool = typer.Option(False, "--all", help="Every procurement, not only restricted US technology."),
    no_crops: bool = typer.Option(False, "--no-crops", help="Leave the page crops out of the dossier (smaller)."),
) -> None:
    """One row per procurement that seeks or supplies restricted US technology, every value with its evidence.

    Examples:

      tenderx findings tenderx-out/records.jsonl -o findings

      tenderx findings records.jsonl --cases cases.jsonl --all -o all-procurements

    Writes OUT.html (a self-contained dossier with page crops; print it to PDF from the browser),
    OUT.csv (UTF-8 with a BOM for Excel) and OUT.json, and prints a summary line to quote. Per
    procurement: buyer and its parent institution, what was sought (chips with counts, servers,
    clouds, models, tokens), supplier and whether the notice makes it an intermediary for a US
    provider (with the clause), budget and award, dates and the notice chain, each party's list
    status (a sub-unit match says the party is not listed itself), caveats per value. Files are named
    relative to the input folder, with sha256; the same notice in two files counts once.
    Exit codes: 0 ok, 2 usage error (no records file).
    """
    from extractor.cases.output import read_cases
    from extractor.findings import write_findings
    from extractor.findings.summary import summary_tables

    given = None
    if cases is not None:
        if not cases.is_file():
            raise UsageError(f"no such cases file: {cases} (written by `tenderx run` beside records.jsonl)")
        given = read_cases(cases)
    result = write_findings(_records_or_exit(records), out, include_all=everything, cases=given, crops=not no_crops)
    console.print(safe(result.line))
    for title, header, rows in summary_tables(result.summary):
        if rows:
            table = Table(title=title)
            for h in header:
                table.add_column(h)
            for r in rows:
                table.add_row(*(safe(c) for c in r))
            console.print(table)
    console.print(f"wrote {escape(str(result.html))}, {escape(str(result.csv))}, {escape(str(result.json))}")


def register(app: typer.Typer) -> None:
    """Add `findings` to the tenderx app."""
    app.command("findings")(findings_command)
