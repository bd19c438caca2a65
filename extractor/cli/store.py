"""Store commands and options: `tenderx store check [--repair]`, the global
``--chroma-url`` (one store on a Chroma server for a team) and ``--shard I/N``.

Thin: every piece calls the library (index.integrity, index.remote, index.shard).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from extractor.cli.options import DEFAULT_STORE, StoreOpt
from extractor.cli.terminal import console, err_console, safe

if TYPE_CHECKING:
    from extractor.pipeline.ingest import IngestReport
    from extractor.store.shard import Shard

# commands that open a store: a configured server is checked before they start
STORE_COMMANDS = {"ingest", "search", "extract", "run", "eval", "store", "serve"}

store_app = typer.Typer(help="Check and repair the store (documents ↔ chunks ↔ vectors).", no_args_is_help=True)


def use_server(command: str | None, url: str | None) -> None:
    """Point this run at a Chroma server (``--chroma-url`` wins over TENDERX_CHROMA_URL) and,
    for a command that opens the store, check it now: down, wrong token or another API
    version raises a one-line StoreError (exit 3) before any work starts."""
    from extractor.store.remote import URL_ENV, check_server, server_from_env

    if url:
        os.environ[URL_ENV] = url
    server = server_from_env()
    if server is not None and command in STORE_COMMANDS:
        check_server(server)


def shard_paths(paths: list[Path], shard: Shard | None) -> list[Path]:
    """The document files of this share (paths that are not documents or do not exist pass
    through, so extraction still reports them)."""
    if shard is None:
        return paths
    from extractor.read.formats import is_failure, iter_input_paths
    from extractor.store.shard import select

    files, skipped = iter_input_paths(paths)
    return select(files, shard) + [bad for bad, error in skipped if is_failure(error)]


def print_ingest_notes(report: IngestReport, shard: Shard | None = None) -> None:
    """What the ingest table does not show: repaired documents and the shard's share."""
    for path in report.repaired:
        console.print(f"[yellow]repaired[/] {safe(path)}: recorded as ingested but its chunks were missing — "
                      "re-ingested", soft_wrap=True)
    if shard is not None:
        console.print(f"shard {shard}: {report.skipped_shard} file(s) belong to other shares")


@store_app.command("check")
def check(
    store: StoreOpt = DEFAULT_STORE,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed (as described above).")] = False,
    reingest: Annotated[list[Path] | None, typer.Option(
        "--reingest", show_default=False,
        help="With --repair: then re-ingest these files/folders (the documents dropped for missing chunks).")] = None,
) -> None:
    """Check that the store's parts agree: document rows ↔ chunks ↔ vectors, and that every
    checksum of the search file holds (a search checks them only when the file changed).

    Examples:

      tenderx store check

      tenderx store check --repair --reingest tenders/

    --repair moves a corrupt documents.sqlite aside and rebuilds the rows from the chunks, drops the
    rows whose chunks are missing (so the next ingest re-adds them) and deletes chunks that no row
    owns, and deletes a damaged search file (the next search or ingest rebuilds it). Exit codes:
    0 consistent (or repaired), 1 problems found (not repaired), 2 no store there, 3 store unusable.
    """
    from extractor.search.lexical import INDEX_FILE, search_file_problem
    from extractor.search.search_file import remove
    from extractor.store.integrity import check_store, repair_store

    report = repair_store(store) if repair else check_store(store)
    for line in report.lines():
        console.print(safe(line), soft_wrap=True)
    problem = search_file_problem(store / INDEX_FILE)
    if problem is not None:
        console.print(safe(f"search file {INDEX_FILE} damaged: {problem}"), soft_wrap=True)
        if repair:
            remove(store / INDEX_FILE)
            console.print("repaired: deleted the search file; the next search or ingest rebuilds it")
    if repair and reingest:
        from extractor.cli.display import IngestBar, print_ingest_summary
        from extractor.pipeline.ingest import ingest

        with IngestBar(err_console) as bar:
            done = ingest(reingest, store_dir=store, progress=bar)
        print_ingest_summary(done, console)
    raise typer.Exit(0 if (report.ok and problem is None) or repair else 1)


def register(app: typer.Typer) -> None:
    """Add `tenderx store ...` to the app."""
    app.add_typer(store_app, name="store")
