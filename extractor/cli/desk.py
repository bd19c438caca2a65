"""`tenderx serve` (the desk, a local web app) and `tenderx review` (HTML file, gold export).

Thin: options are checked here, the work is in extractor.desk.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from extractor.cli.terminal import console, err_console
from extractor.cli.terminal import safe as escape
from extractor.core.config import DEFAULT_OUT, DEFAULT_STORE

DEFAULT_RECORDS = DEFAULT_OUT / "records.jsonl"


def _defaults(records: Path | None, store: Path | None) -> tuple[Path | None, Path | None]:
    if records is None and DEFAULT_RECORDS.is_file():
        records = DEFAULT_RECORDS
    if store is None and (DEFAULT_STORE / "documents.sqlite").is_file():
        store = DEFAULT_STORE
    return records, store


def serve(
    store: Path | None = typer.Option(None, "--store", "-s", help="Store made by `tenderx ingest` (default ./.tenderx if present)."),
    records: Path | None = typer.Option(None, "--records", "-r",
                                        help="Records JSONL from `tenderx extract/run` (default tenderx-out/records.jsonl)."),
    port: int = typer.Option(8765, "--port", "-p", min=1, max=65535, help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback needs --token."),
    token: str | None = typer.Option(None, "--token", envvar="TENDERX_DESK_TOKEN",
                                     help="Access token every request must carry (or $TENDERX_DESK_TOKEN, kept out of `ps`; "
                                          "default: a new one each run, shown in the printed URL)."),
    review_file: Path | None = typer.Option(None, "--review-file", help="Decisions JSONL (default RECORDS.review.jsonl beside the records)."),
    reviewer: str | None = typer.Option(None, "--reviewer", help="Name recorded with each decision (default: your user name)."),
) -> None:
    """Open the analyst's desk: search, check every value on its page, accept or correct it.

    Examples:

      tenderx serve --records tenderx-out/records.jsonl --store .tenderx

      TENDERX_DESK_TOKEN=$(openssl rand -hex 16) tenderx serve --host 0.0.0.0   # for a team, on a LAN

    Then open the printed http://127.0.0.1:8765/?token=... URL in a browser (the token is new each
    run unless given, so no other account on this machine can use the desk). Decisions are appended to RECORDS.review.jsonl
    (who, when, value, quote) and kept across restarts; `tenderx review RECORDS --to-gold DIR` turns
    them into gold labels for `tenderx eval`. Nothing is fetched from the internet.
    Exit codes: 0 stopped with Ctrl-C, 2 usage error (no records/store, non-loopback host without token).
    """
    from extractor.desk.security import is_loopback

    records, store = _defaults(records, store)
    if records is None and store is None:
        err_console.print("[red]error:[/] nothing to show: give --records FILE (from `tenderx run`) and/or --store DIR")
        raise typer.Exit(2)
    if records is not None and not records.is_file():
        err_console.print(f"[red]error:[/] no records file at {escape(str(records))}")
        raise typer.Exit(2)
    if store is not None and not (store / "documents.sqlite").is_file():
        err_console.print(f"[red]error:[/] no store at {escape(str(store))} — run `tenderx ingest PATH --store {escape(str(store))}`")
        raise typer.Exit(2)
    loopback = is_loopback(host)
    if not loopback and not token:
        err_console.print(f"[red]error:[/] binding to {escape(host)} makes the desk reachable from other machines: "
                          "give --token (or $TENDERX_DESK_TOKEN)")
        raise typer.Exit(2)
    if token is not None and len(token) < 12:
        err_console.print("[red]error:[/] --token must be at least 12 characters")
        raise typer.Exit(2)
    if token is None:  # loopback too: any local account can reach 127.0.0.1
        import secrets

        token = secrets.token_urlsafe(24)
    from extractor.desk.app import DeskConfig, create_app

    config = DeskConfig(records=records, store=store, review=review_file, token=token, loopback_only=loopback)
    if reviewer:
        config.reviewer = reviewer
    app = create_app(config)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    console.print(f"desk: [bold]{url}?token={escape(token)}[/]  (Ctrl-C to stop)", soft_wrap=True)
    if records is not None:
        from extractor.desk.review import review_path_for

        console.print(f"decisions: {escape(str(review_file or review_path_for(records)))}")
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("TENDERX_DESK_LOG", "warning"),
                access_log=False, server_header=False)


def review(
    records: Path = typer.Argument(..., help="Records JSONL from `tenderx extract/run`."),
    html: Path | None = typer.Option(None, "--html", help="Write one self-contained HTML file (page crops embedded)."),
    to_gold: Path | None = typer.Option(None, "--to-gold", help="Write NAME.gold.json (+ the PDF) per reviewed document here."),
    store: Path | None = typer.Option(None, "--store", "-s", help="Store, to find documents by content (default ./.tenderx)."),
    review_file: Path | None = typer.Option(None, "--review-file", help="Decisions JSONL (default RECORDS.review.jsonl)."),
    force: bool = typer.Option(False, "--force", help="With --to-gold: a reviewed value replaces a different label "
                                                      "already in a gold file (default: the existing label is kept and reported)."),
) -> None:
    """Share or reuse a review: one HTML file for an editor, or gold labels for `tenderx eval`.

    Examples:

      tenderx review tenderx-out/records.jsonl --html review.html

      tenderx review tenderx-out/records.jsonl --to-gold reviewed/ && tenderx eval reviewed/ --backend rules

    The HTML file needs no server and no network: flagged documents first, every value with its
    quote boxed on a crop of the page as printed, filterable. Gold files hold only the fields a
    reviewer accepted or corrected (unreviewed fields are not scored); an existing gold file is
    merged (its labels kept, conflicts listed), never silently replaced.
    Exit codes: 0 ok, 2 usage error (no records, nothing to do, no decisions for --to-gold).
    """
    from extractor.core.errors import UsageError
    from extractor.desk.catalog import Catalog
    from extractor.desk.export import write_review_html
    from extractor.desk.gold import export_gold
    from extractor.desk.review import ReviewLog, review_path_for

    if not records.is_file():
        err_console.print(f"[red]error:[/] no records file at {escape(str(records))}")
        raise typer.Exit(2)
    if html is None and to_gold is None:
        err_console.print("[red]error:[/] say what to write: --html FILE and/or --to-gold DIR")
        raise typer.Exit(2)
    _, store = _defaults(records, store)
    log_path = review_file or review_path_for(records)
    if html is not None:
        size = write_review_html(records, html, store=store, review=log_path)
        console.print(f"wrote {escape(str(html))} ({size / 1024:.0f} KB, self-contained)")
    if to_gold is not None:
        try:
            result = export_gold(Catalog(records, store), ReviewLog(log_path), to_gold, force=force)
        except UsageError as e:
            err_console.print(f"[red]error:[/] {escape(str(e))}")
            raise typer.Exit(2) from None
        for why in result.skipped:
            err_console.print(f"[yellow]skipped:[/] {escape(why)}")
        for conflict in result.conflicts:
            err_console.print(f"[yellow]conflict:[/] {escape(conflict)}")
        if result.conflicts:
            err_console.print("(the gold labels were kept; --force lets the review replace them)")
        kept = f" ({result.kept} kept from existing gold files)" if result.kept else ""
        console.print(f"wrote {len(result.written)} gold file(s), {result.labels} labels{kept}, into {escape(str(to_gold))}"
                      f" — score with: tenderx eval {escape(str(to_gold))}")


def register(app: typer.Typer) -> None:
    """Add `serve` and `review` to the tenderx app."""
    app.command()(serve)
    app.command()(review)
