"""The `tenderx` command: a thin layer over the library.

Each command parses flags, calls one library function and renders the result
with rich; commands live in their own modules (``cli/ingest.py``,
``cli/extract.py``, ``cli/evaluate.py`` …) and register themselves below.
Errors are mapped to the documented exit codes in one place, ``main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from extractor import __version__
from extractor.cli import batch as batch_commands
from extractor.cli import cases as cases_commands
from extractor.cli import evaluate as evaluate_commands
from extractor.cli import extract as extract_commands
from extractor.cli import ingest as ingest_commands
from extractor.cli import screen as screen_commands
from extractor.cli.display import snippet
from extractor.cli.options import DEFAULT_STORE, StoreOpt
from extractor.cli.terminal import State, console, enable_debug_logging, err_console, mask_secrets, safe
from extractor.core.errors import ExitCode, TenderxError, exit_code_for

if TYPE_CHECKING:
    from extractor.index.store import Store

app = typer.Typer(
    name="tenderx",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenderx {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks and debug logs (secrets stay masked).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Turn Chinese tender documents into structured, verifiable data — offline by default.

    Typical session:

      tenderx run tenders/                        # ingest + extract + flagged table → ./tenderx-out/

      tenderx search "英伟达 A100 云服务器"          # find passages by meaning and by name

      tenderx eval samples/ --html report.html    # how accurate is extraction?

    With no LLM configured, extraction uses the offline rules engine; set OPENAI_BASE_URL,
    OPENAI_API_KEY and TENDERX_MODEL to use any OpenAI-compatible endpoint.
    Exit codes: 0 ok, 1 some input files failed, 2 usage error, 3 fatal, 130 interrupted.
    """
    State.debug = debug
    if debug:
        enable_debug_logging()


ingest_commands.register(app)
extract_commands.register(app)
evaluate_commands.register(app)
batch_commands.register(app)
screen_commands.register(app)  # `tenderx screen` (issue 12)
cases_commands.register(app)  # issue 13: `tenderx cases`, `tenderx export`


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for, e.g. '英伟达 A100 云服务器'."),
    store: StoreOpt = DEFAULT_STORE,
    k: int = typer.Option(10, "-k", "--top", min=1, max=500, help="Number of results."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid (vectors + BM25, fused) | dense | lexical."),
    file: str | None = typer.Option(None, "--file", "-f", help="Only this document (exact path or part of it)."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON list of {rank,file,page,score,text}."),
    where: list[str] = typer.Option([], "--where", "-w",
                                    help="Chunk metadata filter KEY=VALUE (page, page_start, page_end, doc_sha256, "
                                         "file, tokens); repeat to combine."),
    title: str | None = typer.Option(None, "--title", help="Only documents whose ingested title contains this text."),
) -> None:
    """Search ingested tenders by meaning and by exact words (chip names, codes).

    Examples:

      tenderx search '英伟达 A100 云服务器'

      tenderx search '大模型 API tokens' -k 5 --mode lexical

      tenderx search '预算金额' --file award-univ-aws-a100-cloud --json | jq '.[0].text'

      tenderx search '技术参数' --title 人工智能计算平台 --where page_start=12

    Lexical matching also tries the watchlist aliases of named chips/clouds/models
    (英伟达 → NVIDIA, 亚马逊云服务 → AWS, ...).
    Exit codes: 0 ok (also when nothing matched), 2 usage error (bad mode, no store), 3 store unusable.
    """
    import json

    from extractor.index.search import MODES, query_terms
    from extractor.index.search import search as run_search
    from extractor.index.store import Store

    if mode not in MODES:
        err_console.print(f"[red]error:[/] --mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    if not (store / "documents.sqlite").exists():
        err_console.print(f"[red]error:[/] no store at {safe(str(store))} — run `tenderx ingest PATH --store {safe(str(store))}` first")
        raise typer.Exit(2)
    opened = Store(store)
    filt = _where_filter(where, title, opened)
    hits = run_search(opened, query, k=k, mode=mode, file=file, where=filt) if filt != {"$in": []} else []
    if as_json:
        rows = [{"rank": h.rank, "file": h.file, "page": h.page, "score": h.score, "text": h.text} for h in hits]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not hits:
        console.print("no results")
        return
    from rich.table import Table

    terms = [t for t in query_terms(query) if len(t) > 1]
    table = Table(title=f"{safe(query)} — {mode}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("file", overflow="fold", max_width=40)
    table.add_column("page", justify="right")
    table.add_column("score", justify="right")
    table.add_column("snippet", overflow="fold")
    for h in hits:
        table.add_row(str(h.rank), safe(Path(h.file).name), str(h.page), f"{h.score:.4f}", snippet(h.text, terms))
    console.print(table)


def _where_filter(pairs: list[str], title: str | None, store: Store) -> dict[str, Any] | None:
    """KEY=VALUE pairs (numbers as numbers) and a title substring → one Chroma `where` filter."""
    conds: list[dict[str, Any]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            err_console.print(f"[red]error:[/] --where takes KEY=VALUE, got {safe(pair)!r}")
            raise typer.Exit(2)
        v: object = value.strip()
        if str(v).lstrip("-").isdigit():
            v = int(str(v))
        conds.append({key.strip(): v})
    if title:
        shas = sorted({d.sha256 for d in store.documents() if title in (d.title or "")})
        if not shas:
            return {"$in": []}  # no document has that title: nothing can match
        conds.append({"doc_sha256": {"$in": shas}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}



def main() -> None:
    """Run the CLI; map every error to the documented exit code (``core.errors.ExitCode``).

    A ``TenderxError`` is one line (``error:`` for usage errors, ``fatal:`` otherwise); an
    unexpected error is one line and exit 3, with the traceback only under ``--debug``."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except TenderxError as e:
        code = exit_code_for(e)
        _print_traceback()
        label = "error" if code == ExitCode.USAGE else "fatal"
        err_console.print(f"[red]{label}:[/] {safe(mask_secrets(str(e)))}")
        raise SystemExit(code) from None
    except Exception as e:  # noqa: BLE001 — the last line of defence: no traceback for users
        _print_traceback()
        first = (str(e).strip().splitlines() or [""])[0][:300]
        message = mask_secrets(f"{type(e).__name__}: {first}" if first else type(e).__name__)
        hint = "" if State.debug else " (run with --debug for the traceback)"
        err_console.print(f"[red]fatal:[/] unexpected error: {safe(message)}{hint}")
        raise SystemExit(ExitCode.FATAL) from None


def _print_traceback() -> None:
    if State.debug:
        import sys
        import traceback

        print(mask_secrets(traceback.format_exc()), end="", file=sys.stderr)


if __name__ == "__main__":
    main()
