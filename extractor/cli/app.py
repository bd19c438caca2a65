"""The `tenderx` command: a thin layer over the library.

Each command parses flags, calls one library function and renders the result
with rich. Add new commands as their own function below; keep logic out.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from extractor.cli.display import (
    ExtractBar,
    IngestBar,
    failures_table,
    flagged_table,
    print_ingest_summary,
    snippet,
    totals_line,
)

app = typer.Typer(
    name="tenderx",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)
DEBUG = False  # set by the global --debug option: full tracebacks instead of one-line errors


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks and debug logs (secrets stay masked)."),
) -> None:
    """Turn Chinese tender PDFs into structured, verifiable data — offline by default.

    Typical session:

      tenderx run tenders/                        # ingest + extract + flagged table → ./tenderx-out/

      tenderx search "英伟达 A100 云服务器"          # find passages by meaning and by name

      tenderx eval samples/ --html report.html    # how accurate is extraction?

    With no LLM configured, extraction uses the offline rules engine; set OPENAI_BASE_URL,
    OPENAI_API_KEY and TENDERX_MODEL to use any OpenAI-compatible endpoint.
    """
    global DEBUG
    DEBUG = debug
    if debug:
        import logging

        handler = logging.StreamHandler()
        handler.addFilter(_mask_secrets_filter)
        handler.setFormatter(logging.Formatter("debug %(name)s: %(message)s"))
        logger = logging.getLogger("tenderx")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def _secret_values() -> list[str]:
    import os

    names = ("OPENAI_API_KEY", "TENDERX_EMBED_API_KEY")
    return [v for v in (os.environ.get(n, "") for n in names) if len(v) >= 4]


def _mask_secrets(text: str) -> str:
    for secret in _secret_values():
        text = text.replace(secret, "***")
    return text


def _mask_secrets_filter(record) -> bool:  # noqa: ANN001 — a logging filter
    record.msg = _mask_secrets(record.getMessage())
    record.args = None
    return True

# --- commands (each helper adds its command below this line; never rewrite this file whole) ---


# --- store (ingest, search) ---


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="PDF files or folders (searched recursively)."),
    store: Path = typer.Option(Path(".tenderx"), "--store", "-s", help="Store directory (created if missing)."),
    chunk_tokens: int = typer.Option(400, "--chunk-tokens", min=50, max=2000, help="Target chunk size in tokens."),
) -> None:
    """Read PDFs, chunk them and index them (vectors + BM25) for `tenderx search`.

    Examples:

      tenderx ingest samples/

      tenderx ingest tenders/2024/ extra.pdf --store ~/tenders-store

    Re-running is cheap: unchanged files (same sha256) are skipped, changed files replace their
    old chunks. Embeddings come from the bundled e5 model (offline) unless TENDERX_EMBED_BASE_URL
    points at an OpenAI-compatible /embeddings endpoint. Set TENDERX_CHROMA_HOST/PORT to use a
    Chroma server instead of the local store.
    Exit codes: 0 ok, 1 some files failed (each listed), 2 usage error, 3 store locked by another run.
    """
    from extractor.index.ingest import ingest as run_ingest
    from extractor.index.store import StoreError

    if not any(p.exists() for p in paths):
        err_console.print("[red]error:[/] no such file or folder: " + ", ".join(escape(str(p)) for p in paths))
        raise typer.Exit(2)
    try:
        with IngestBar(err_console) as bar:
            report = run_ingest(paths, store_dir=store, progress=bar, chunk_tokens=chunk_tokens)
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None
    print_ingest_summary(report, console)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for, e.g. '英伟达 A100 云服务器'."),
    store: Path = typer.Option(Path(".tenderx"), "--store", "-s", help="Store directory made by `tenderx ingest`."),
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
    from extractor.index.store import Store, StoreError

    if mode not in MODES:
        err_console.print(f"[red]error:[/] --mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    if not (store / "documents.sqlite").exists():
        err_console.print(f"[red]error:[/] no store at {escape(str(store))} — run `tenderx ingest PATH --store {escape(str(store))}` first")
        raise typer.Exit(2)
    try:
        opened = Store(store)
        filt = _where_filter(where, title, opened)
        hits = run_search(opened, query, k=k, mode=mode, file=file, where=filt) if filt != {"$in": []} else []
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None
    if as_json:
        rows = [{"rank": h.rank, "file": h.file, "page": h.page, "score": h.score, "text": h.text} for h in hits]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not hits:
        console.print("no results")
        return
    from rich.table import Table

    terms = [t for t in query_terms(query) if len(t) > 1]
    table = Table(title=f"{escape(query)} — {mode}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("file", overflow="fold", max_width=40)
    table.add_column("page", justify="right")
    table.add_column("score", justify="right")
    table.add_column("snippet", overflow="fold")
    for h in hits:
        table.add_row(str(h.rank), escape(Path(h.file).name), str(h.page), f"{h.score:.4f}", snippet(h.text, terms))
    console.print(table)


def _where_filter(pairs: list[str], title: str | None, store) -> dict | None:  # noqa: ANN001
    """KEY=VALUE pairs (numbers as numbers) and a title substring → one Chroma `where` filter."""
    conds: list[dict] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            err_console.print(f"[red]error:[/] --where takes KEY=VALUE, got {escape(pair)!r}")
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


# --- extraction (extract, run) ---

def _llm_settings(base_url: str | None, model: str | None, timeout: float):
    from extractor.core.config import LLMSettings

    return LLMSettings.from_env(base_url=base_url, model=model, timeout=timeout)


def _print_extract_summary(report) -> None:  # noqa: ANN001
    console.print(f"backend: [bold]{report.backend}[/] — {report.backend_reason}")
    if report.skipped:
        console.print(f"{report.skipped} documents already extracted in an earlier run (resumed, not redone)")
    if report.flagged:
        console.print(flagged_table(report.records))
    else:
        console.print("No document flagged restricted_us_tech.")
    if report.failures:
        console.print(failures_table(report.failures))
    console.print(totals_line(report.totals()))
    if report.out:
        console.print(f"records: {report.out}" + (f", CSV: {report.csv}" if report.csv else ""))


@app.command()
def extract(
    paths: list[Path] = typer.Argument(..., help="PDF files or folders (searched recursively)."),
    backend: str = typer.Option("auto", "--backend", "-b",
                                help="auto (LLM if configured, else rules) | rules (offline) | llm."),
    out: Path = typer.Option(Path("tenderx-out/records.jsonl"), "--out", "-o", help="JSONL output (one record per document)."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write a CSV (one row per document, lists joined with ';')."),
    jobs: int = typer.Option(4, "--jobs", "-j", min=1, max=256, help="Documents extracted concurrently."),
    schema: str = typer.Option("tender", "--schema", help="Built-in schema name or a YAML/JSON schema file."),
    store: Path = typer.Option(Path(".tenderx"), "--store", help="Store used for retrieval on long documents (if ingested)."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model name (default $TENDERX_MODEL)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per LLM request."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Redo documents already in OUT."),
) -> None:
    """Extract the schema's fields, with page + verbatim-quote evidence, from tender PDFs.

    Examples:

      tenderx extract samples/ -o out.jsonl --csv out.csv

      OPENAI_BASE_URL=http://localhost:8000/v1 TENDERX_MODEL=qwen2.5-7b tenderx extract tenders/ -j 8

    The API key is read from $OPENAI_API_KEY only (never a flag, so it stays out of shell history).
    Re-running the same command resumes: finished documents are kept, failed ones retried, and
    LLM responses come from the cache (.tenderx/llm-cache.sqlite).
    Exit codes: 0 ok, 1 some documents failed, 2 usage error, 3 fatal (e.g. LLM key rejected).
    """
    settings = _llm_settings(base_url, model, timeout)
    report = _extract_or_exit(paths, backend=backend, schema=schema, out=out, csv=csv, jobs=jobs,
                              settings=settings, store_dir=store, resume=not no_resume)
    _print_extract_summary(report)
    raise typer.Exit(1 if report.failures else 0)


def _extract_or_exit(paths: list[Path], **options):  # noqa: ANN003, ANN202
    """`extract_documents` with a progress bar; bad options exit 2, auth/model errors exit 3."""
    from extractor.pipeline.extract import extract_documents

    try:
        with ExtractBar(err_console) as bar:
            return extract_documents(paths, progress=bar, **options)
    except ValueError as e:
        err_console.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    except _fatal_errors() as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None


@app.command()
def run(
    paths: list[Path] = typer.Argument(..., help="PDF files or folders (searched recursively)."),
    out_dir: Path = typer.Option(Path("tenderx-out"), "--out-dir", "-o", help="Where records.jsonl and records.csv go."),
    store: Path = typer.Option(Path(".tenderx"), "--store", "-s", help="Store directory (created if missing)."),
    backend: str = typer.Option("auto", "--backend", "-b", help="auto (LLM if configured, else rules) | rules | llm."),
    jobs: int = typer.Option(4, "--jobs", "-j", min=1, max=256, help="Documents extracted concurrently."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model name (default $TENDERX_MODEL)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per LLM request."),
) -> None:
    """The main job: ingest PDFs, extract every document, show what is flagged.

    Example:

      tenderx run samples/

    Writes OUT_DIR/records.jsonl (one record per document) and OUT_DIR/records.csv, keeps the
    searchable store in STORE, and prints the documents flagged restricted_us_tech with a totals line.
    Re-running resumes: unchanged files are neither re-ingested nor re-extracted.
    Exit codes: 0 ok, 1 some files failed (each listed), 2 usage error, 3 fatal.
    """
    from extractor.backends.registry import resolve_backend
    from extractor.index.ingest import ingest as run_ingest
    from extractor.index.store import StoreError

    if not any(p.exists() for p in paths):
        err_console.print("[red]error:[/] no such file or folder: " + ", ".join(escape(str(p)) for p in paths))
        raise typer.Exit(2)
    settings = _llm_settings(base_url, model, timeout)
    try:
        resolve_backend(backend, settings)  # check before spending minutes on ingest
    except ValueError as e:
        err_console.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    try:
        with IngestBar(err_console) as bar:
            ingested = run_ingest(paths, store_dir=store, progress=bar)
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None
    print_ingest_summary(ingested, console)
    report = _extract_or_exit(paths, backend=backend, out=out_dir / "records.jsonl", csv=out_dir / "records.csv",
                              jobs=jobs, settings=settings, store_dir=store)
    _print_extract_summary(report)
    raise typer.Exit(1 if (report.failures or ingested.failed) else 0)


def _fatal_errors() -> tuple[type[BaseException], ...]:
    try:
        from extractor.backends.llm import LLMAuthError, LLMConfigError
    except ImportError:  # pragma: no cover
        return ()
    return (LLMAuthError, LLMConfigError)


# --- evaluation (eval) ---


@app.command("eval")
def eval_command(
    gold_dir: Path | None = typer.Argument(
        None, help="Gold folder: each NAME.pdf with NAME.gold.json beside it (searched recursively)."),
    backend: str = typer.Option("auto", "--backend", "-b",
                                help="auto (LLM if configured, else rules) | rules (offline) | llm."),
    predictions: Path | None = typer.Option(
        None, "--predictions", "-p", help="Score this JSONL of extraction records instead of extracting now."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the scores as JSON (input for --compare)."),
    markdown_out: Path | None = typer.Option(None, "--markdown", help="Write a Markdown report."),
    html_out: Path | None = typer.Option(
        None, "--html", help="Write one self-contained HTML report (chart, confusion matrix, every error in context)."),
    compare_runs: tuple[Path, Path] | None = typer.Option(
        None, "--compare", metavar="A.json B.json",
        help="Compare two score files written by --json: A.json B.json (no GOLD_DIR needed)."),
    schema: str = typer.Option("tender", "--schema", help="Built-in schema name or a YAML/JSON schema file."),
    worst: int = typer.Option(10, "--worst", min=0, help="How many of the worst documents to list."),
    store: Path = typer.Option(Path(".tenderx"), "--store", help="Store used for retrieval when extracting."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model name (default $TENDERX_MODEL)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per LLM request."),
) -> None:
    """Score extraction against hand-written gold labels (contract: tender-schema-v1, "Scoring").

    Examples:

      tenderx eval samples/ --backend rules --html eval.html --json rules.json

      tenderx eval samples/ --predictions out.jsonl --markdown eval.md

      tenderx eval --compare rules.json llm.json

    Reports per-field precision/recall/F1/accuracy, micro-F1, the share of documents with every
    field right, restricted_us_tech flag precision/recall, and the grounding rate (share of predicted
    values whose quote occurs in the PDF text). Exit codes: 0 ok, 1 some gold documents had no
    (or a failed) prediction, 2 bad input (missing folder, malformed gold or predictions file).
    """
    import json

    from extractor.evaluate import EvalInputError, evaluate_folder
    from extractor.evaluate.report import comparison_report, print_report, render_html, render_markdown

    if compare_runs is not None:
        runs = []
        for p in compare_runs:
            try:
                runs.append(json.loads(Path(p).read_text(encoding="utf-8")))
            except (OSError, ValueError) as e:
                err_console.print(f"[red]error:[/] {escape(str(p))}: not a readable scores JSON ({escape(str(e))})")
                raise typer.Exit(2) from None
        from extractor.evaluate.report import compare

        console.print(comparison_report(compare(*runs)))
        raise typer.Exit(0)
    if gold_dir is None:
        err_console.print("[red]error:[/] give a GOLD_DIR to evaluate, or --compare A.json B.json")
        raise typer.Exit(2)

    options = {}
    if predictions is None:
        options = {"settings": _llm_settings(base_url, model, timeout), "store_dir": store}
    try:
        if predictions is None:

            with ExtractBar(err_console, label="eval: extract") as bar:
                scores = evaluate_folder(gold_dir, backend=backend, schema=schema, progress=bar, **options)
        else:
            scores = evaluate_folder(gold_dir, backend=backend, predictions=predictions, schema=schema)
    except (EvalInputError, ValueError) as e:
        err_console.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    except _fatal_errors() as e:
        err_console.print(f"[red]fatal:[/] {escape(str(e))}")
        raise typer.Exit(3) from None

    print_report(scores, console, worst=worst)
    for path, text in ((json_out, lambda: json.dumps(scores.to_json(), ensure_ascii=False, indent=2) + "\n"),
                       (markdown_out, lambda: render_markdown(scores, worst=worst)),
                       (html_out, lambda: render_html(scores))):
        if path is not None:
            from extractor.pipeline.records import atomic_write_text

            atomic_write_text(path, text())
            console.print(f"wrote {escape(str(path))}")
    if scores.failed_predictions:
        err_console.print(f"[yellow]{len(scores.failed_predictions)} document(s) failed extraction "
                          f"(scored as all null):[/] {escape(', '.join(scores.failed_predictions))}")
    raise typer.Exit(1 if scores.missing_predictions or scores.failed_predictions else 0)


def main() -> None:
    """Run the CLI; an unexpected error is one line and exit 3 (the traceback only with --debug)."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        raise SystemExit(130) from None
    except Exception as e:  # noqa: BLE001 — the last line of defence: no traceback for users
        if DEBUG:
            import sys
            import traceback

            print(_mask_secrets(traceback.format_exc()), end="", file=sys.stderr)
        first = (str(e).strip().splitlines() or [""])[0][:300]
        message = _mask_secrets(f"{type(e).__name__}: {first}" if first else type(e).__name__)
        hint = "" if DEBUG else " (run with --debug for the traceback)"
        err_console.print(f"[red]fatal:[/] unexpected error: {escape(message)}{hint}")
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()
