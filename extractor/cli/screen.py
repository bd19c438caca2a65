"""`tenderx screen`: check names against the US lists ad hoc (a thin layer over extractor.screen)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from extractor.cli.terminal import safe

_STYLE = {"exact": "bold red", "subunit": "red", "similar": "yellow", "none": "green"}


def screen(
    names: list[str] = typer.Argument(None, help="Organisation names (Chinese or English); A、B联合体 is split."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of results instead of a table."),
    list_info: bool = typer.Option(False, "--list-info", help="Print each list's as-of date, source and row count."),
) -> None:
    """Screen names against the US Entity, Unverified, MEU, 1260H, 1286, UFLPA and NS-CMIC lists.

    Examples:

      tenderx screen 中芯国际集成电路制造有限公司

      tenderx screen "Inspur Group" 北京超级计算中心、某某科技有限公司联合体 --json

      tenderx screen --list-info

    A match is a lead to verify against the list's own text, not a finding; `similar` is never a match.
    Records from `tenderx extract`/`run` are screened already (their parties, in each record's
    `screening`). Exit codes: 0 ok (matches or not), 2 usage error.
    """
    from extractor.screen import load_table, screen_names

    console = Console()
    if list_info:
        _print_list_info(console, load_table().meta["lists"], as_json)
        return
    if not names:
        Console(stderr=True).print("[red]error:[/] give at least one NAME (or --list-info)")
        raise typer.Exit(2)
    results = screen_names(names)
    if as_json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return
    t = Table(title="Screening against US lists (a match is a lead to verify, not a finding)")
    for col in ("party", "match", "list", "listed entry", "matched name", "score", "as of"):
        t.add_column(col, overflow="fold")
    for r in results:
        style = _STYLE.get(r.match, "")
        t.add_row(safe(r.party), f"[{style}]{r.match}[/]", safe(r.list or "—"), safe(r.entry or "—"),
                  safe(r.matched_name or "—") + (f" [dim]({safe(r.confidence)})[/]" if r.confidence else ""),
                  "—" if r.score is None else f"{r.score:g}", safe(r.as_of or "—"))
    console.print(t)
    notes = [(r.party, r.note) for r in results if r.note and r.match in ("subunit", "none")]
    for party, note in dict.fromkeys(notes):
        console.print(f"[dim]{safe(party)}: {safe(note or '')}[/]")


def _print_list_info(console: Console, lists: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(lists, ensure_ascii=False, indent=2))
        return
    t = Table(title="Screening lists")
    for col in ("list", "what", "as of", "rows", "newest citation", "source"):
        t.add_column(col, overflow="fold")
    for key, info in sorted(lists.items()):
        t.add_row(key, safe(info.get("label", "")), safe(info.get("as_of", "")), str(info.get("rows", "")),
                  safe(info.get("newest_citation", "") or "—"), safe(info.get("source", "")))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
