"""Store commands and options: `tenderx store check [--repair]`, the global
``--chroma-url`` (one store on a Chroma server for a team) and ``--shard I/N``.

Thin: every piece calls the library (index.integrity, index.remote, index.shard).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from extractor.core.errors import StoreError, UsageError

err_console = Console(stderr=True)
console = Console()

# commands that open a store: a configured server is checked before they start
STORE_COMMANDS = {"ingest", "search", "extract", "run", "eval", "store", "serve"}

store_app = typer.Typer(help="Check and repair the store (documents ↔ chunks ↔ vectors).", no_args_is_help=True)


def use_server(command: str | None, url: str | None) -> None:
    """Point this run at a Chroma server (``--chroma-url`` wins over TENDERX_CHROMA_URL) and,
    for a command that opens the store, check it now: down, wrong token or another API
    version is one line and exit 3 before any work starts."""
    from extractor.index.remote import URL_ENV, check_server, server_from_env

    if url:
        os.environ[URL_ENV] = url
    server = server_from_env()
    if server is None or command not in STORE_COMMANDS:
        return
    try:
        check_server(server)
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None


def shard_or_exit(text: str | None):  # noqa: ANN201 — Shard | None
    """Parse ``--shard I/N`` (exit 2 with the reason when malformed)."""
    from extractor.index.shard import Shard

    if not text:
        return None
    try:
        return Shard.parse(text)
    except UsageError as e:
        err_console.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None


def shard_paths(paths: list[Path], shard) -> list[Path]:  # noqa: ANN001
    """The PDF files of this share (paths that are not PDFs or do not exist pass through,
    so extraction still reports them)."""
    if shard is None:
        return paths
    from extractor.index.shard import select
    from extractor.read.pdf import iter_pdf_paths

    pdfs, errors = iter_pdf_paths(paths)
    return select(pdfs, shard) + [bad for bad, _ in errors]


def print_ingest_notes(report, shard=None) -> None:  # noqa: ANN001
    """What the ingest table does not show: repaired documents and the shard's share."""
    for path in getattr(report, "repaired", []):
        console.print(f"[yellow]repaired[/] {escape(path)}: recorded as ingested but its chunks were missing — "
                      "re-ingested", soft_wrap=True)
    if shard is not None:
        console.print(f"shard {shard}: {getattr(report, 'skipped_shard', 0)} file(s) belong to other shares")


@store_app.command("check")
def check(
    store: Path = typer.Option(Path(".tenderx"), "--store", "-s", help="Store directory (or its cache folder with "
                                                                        "--chroma-url)."),
    repair: bool = typer.Option(False, "--repair", help="Fix what can be fixed (see below)."),
    reingest: list[Path] = typer.Option([], "--reingest", help="With --repair: also re-ingest these files/folders "
                                                                "(the documents dropped for missing chunks)."),
) -> None:
    """Check that the store's parts agree: document rows ↔ chunks ↔ vectors ↔ embedder.

    Examples:

      tenderx store check

      tenderx store check --repair --reingest tenders/

    --repair moves a corrupt documents.sqlite aside and rebuilds the rows from the chunks, drops the
    rows whose chunks are missing (so the next ingest re-adds them) and deletes chunks that no row
    owns. Exit codes: 0 consistent (or repaired), 1 problems found (not repaired), 3 store unusable.
    """
    from extractor.index.integrity import check_store, repair_store

    try:
        report = repair_store(store) if repair else check_store(store)
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None
    for line in report.lines():
        console.print(escape(line), soft_wrap=True)
    if repair and reingest:
        from extractor.cli.display import IngestBar, print_ingest_summary
        from extractor.index.ingest import ingest

        try:
            with IngestBar(err_console) as bar:
                done = ingest(reingest, store_dir=store, progress=bar)
        except StoreError as e:
            err_console.print(f"[red]fatal:[/] {escape(str(e))}")
            raise typer.Exit(3) from None
        print_ingest_summary(done, console)
    raise typer.Exit(0 if report.ok or repair else 1)


def register(app: typer.Typer) -> None:
    """Add `tenderx store ...` to the app."""
    app.add_typer(store_app, name="store")
