"""`tenderx search` (one query, or `-i` for a session) and `tenderx eval-search`.

Kept light to import: a cold search pays for what the query needs (the search file,
the query embedder for dense/hybrid) and never for chromadb when the search file is
current. Every string that came from a document goes through ``terminal.safe_text``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from extractor.core.config import DEFAULT_STORE

console = Console()
err_console = Console(stderr=True)

STORE_HELP = "Store directory made by `tenderx ingest`."


def register(app: typer.Typer) -> None:
    """Add `search` and `eval-search` to the tenderx app."""
    app.command("search")(search)
    app.command("eval-search")(eval_search)


def search(
    query: str | None = typer.Argument(None, help="What to look for, e.g. '英伟达 A100 云服务器' (omit with -i)."),
    store: Path = typer.Option(DEFAULT_STORE, "--store", "-s", help=STORE_HELP),
    k: int = typer.Option(10, "-k", "--top", min=1, max=500, help="Number of results."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid (vectors + BM25, fused) | dense | lexical."),
    file: str | None = typer.Option(None, "--file", "-f", help="Only this document (exact path or part of it)."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON list of hits with their scores."),
    where: list[str] = typer.Option([], "--where", "-w",
                                    help="Chunk metadata filter KEY=VALUE (page, page_start, page_end, doc_sha256, "
                                         "file, tokens); repeat to combine."),
    title: str | None = typer.Option(None, "--title", help="Only documents whose ingested title contains this text."),
    show_all: bool = typer.Option(False, "--all", help="Also show hits below the relevance floor (marked)."),
    interactive: bool = typer.Option(False, "--interactive", "-i",
                                     help="Ask queries in a loop (model and index stay loaded; history kept)."),
) -> None:
    """Search ingested tenders by meaning and by exact words (chip names, codes, English terms).

    Examples:

      tenderx search '英伟达 A100 云服务器'

      tenderx search 'bid bond' --file shanghai          # English finds 投标保证金

      tenderx search HFACC-2024-ZB-0031 --json | jq '.[0]'

      tenderx search -i                                   # a session: :mode lexical, :k 5, :all, :q

    Each hit shows its dense cosine (cos), BM25 score and fused score. Hits that cover too little
    of the query and are not close in meaning are hidden ("no good match"); --all shows them.
    Model numbers and codes match whole (A100 never matches 100KVA), and when the query means a
    GPU (英伟达 A100) an analyser model named A100 is not a match.
    Exit codes: 0 ok (also "no good match"), 2 usage error (bad mode, no store, unknown --where
    key, --file/--title matching no document), 3 store unusable.
    """
    from extractor.core.errors import StoreError, UsageError
    from extractor.search.hybrid import MODES, open_store

    if mode not in MODES:
        _usage(f"--mode must be one of {', '.join(MODES)}")
    if query is None and not interactive:
        _usage("give a QUERY, or -i for an interactive session")
    from extractor.store.store import store_exists

    if not store_exists(store):
        _usage(f"no store at {store} — run `tenderx ingest PATH --store {store}` first")
    try:
        opened = open_store(store)
        flt = _where_filter(where, title, opened)
        options = {"k": k, "mode": mode, "file": file, "where": flt}
        if query is not None:
            _one(opened, query, options, as_json, show_all)
        if interactive:
            _session(opened, options, show_all)
    except UsageError as e:
        _usage(str(e))
    except StoreError as e:
        err_console.print(f"[red]fatal:[/] {_safe(str(e))}")
        raise typer.Exit(3) from None


def _usage(message: str) -> None:
    err_console.print(f"[red]error:[/] {_safe(message)}")
    raise typer.Exit(2)


def _safe(text: str) -> str:
    from extractor.cli.terminal import safe_text

    return safe_text(text)


def _one(store: Any, query: str, options: dict[str, Any], as_json: bool, show_all: bool) -> None:
    from extractor.search.hybrid import run_search

    result = run_search(store, query, check_filters=True, **options)
    hits = result.hits if show_all else result.good
    if as_json:
        rows = [{"rank": h.rank, "file": h.file, "page": h.page, "page_end": h.page_end, "score": h.score,
                 "dense": h.dense, "bm25": h.bm25, "coverage": h.coverage, "good": h.good, "text": h.text,
                 "chunk_id": h.chunk_id} for h in hits]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    print_result(result, hits, console)


def print_result(result: Any, hits: list[Any], out: Console) -> None:
    """Two or three lines per hit at any width: rank, file, page and scores, then the snippet."""
    from rich.padding import Padding
    from rich.text import Text

    from extractor.cli.display import snippet
    from extractor.cli.terminal import safe_text

    query = safe_text(result.query.text)
    if not result.hits:
        out.print(f"no results for [bold]{query}[/]")
        return
    if not hits:
        out.print(f"no good match for [bold]{query}[/] ({len(result.hits)} weaker results hidden; "
                  "--all shows them)")
        return
    weights = result.query.terms
    terms = sorted((t for t in weights if len(t) > 1 and not t.startswith("#")),
                   key=lambda t: (-weights[t], -len(t)))  # the snippet centres on the first that occurs
    width = max(out.width, 40)
    for number, h in enumerate(hits, 1):  # numbered as shown: hits hidden below the floor leave no gaps
        cos = "—" if h.dense is None else f"{h.dense:.3f}"
        head = Text()
        head.append(f"{number:>2} ", style="bold")
        pages = f"p.{h.page}" + (f"-{h.page_end}" if h.page_end and h.page_end != h.page else "")
        head.append(f"{pages:<6}")
        head.append(f" cos {cos} bm25 {h.bm25:<5.1f} fused {h.score:.4f} ", style="dim")
        if not h.good:
            head.append("below floor ", style="yellow")
        head.append(safe_text(Path(h.file).name, markup=False), style="cyan")
        out.print(head, no_wrap=True, overflow="ellipsis", crop=True)
        out.print(Padding(snippet(h.text, terms, width=width - 4, lines=2), (0, 0, 0, 3)), no_wrap=True)
    below = len(result.hits) - len(result.good)
    if below and len(hits) < len(result.hits):
        out.print(f"[dim]{below} result(s) below the relevance floor hidden (--all shows them)[/]")


def _session(store: Any, options: dict[str, Any], show_all: bool) -> None:
    """Read queries until EOF or :q; the store, index and embedder stay loaded between them."""
    from extractor.core.errors import UsageError
    from extractor.search.hybrid import MODES, run_search

    history = _history_file()
    readline = _readline(history)
    console.print("[dim]tenderx search — type a query; :mode hybrid|dense|lexical, :k N, :all, :q to quit[/]")
    while True:
        try:
            line = input("search> ").strip()
        except EOFError:
            break
        if not line:
            continue
        if readline is not None and not sys.stdin.isatty():  # a terminal's readline records it itself
            readline.add_history(line)
        if line in (":q", ":quit", "exit"):
            break
        if line.startswith(":mode"):
            value = line.split(maxsplit=1)[-1]
            if value in MODES:
                options["mode"] = value
            console.print(f"mode: {options['mode']}")
            continue
        if line.startswith(":k"):
            value = line.split(maxsplit=1)[-1]
            if value.isdigit() and 0 < int(value) <= 500:
                options["k"] = int(value)
            console.print(f"k: {options['k']}")
            continue
        if line == ":all":
            show_all = not show_all
            console.print(f"show hits below the floor: {show_all}")
            continue
        try:
            result = run_search(store, line, check_filters=True, **options)
        except UsageError as e:
            err_console.print(f"[red]error:[/] {_safe(str(e))}")
            continue
        print_result(result, result.hits if show_all else result.good, console)
    if readline is not None and history is not None:
        with contextlib.suppress(OSError):
            readline.write_history_file(str(history))


def _history_file() -> Path | None:
    base = os.environ.get("TENDERX_CACHE_DIR") or str(Path.home() / ".cache" / "tenderx")
    return Path(base) / "search_history"


def _readline(history: Path | None) -> Any:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input()
        return None
    if history is not None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            if history.exists():
                readline.read_history_file(str(history))
        except OSError:
            pass
        readline.set_history_length(1000)
    return readline


def _where_filter(pairs: list[str], title: str | None, store: Any) -> dict | None:
    """KEY=VALUE pairs (numbers as numbers) and a title substring -> one Chroma `where` filter."""
    from extractor.core.errors import UsageError

    conds: list[dict] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--where takes KEY=VALUE, got {pair!r}")
        v: object = value.strip()
        if str(v).lstrip("-").isdigit():
            v = int(str(v))
        conds.append({key.strip(): v})
    if title:
        shas = sorted({d.sha256 for d in store.documents() if title in (d.title or "")})
        if not shas:
            raise UsageError(f"--title {title!r} matches no ingested document's title")
        conds.append({"doc_sha256": {"$in": shas}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def eval_search(
    queries: Path = typer.Option(None, "--queries", "-q", help="Query file (default evals/search_queries.yaml)."),
    store: Path = typer.Option(DEFAULT_STORE, "--store", "-s", help=STORE_HELP),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | dense | lexical."),
    k: int | None = typer.Option(None, "-k", help="Cut-off for recall@k (default: the query file's k)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the scores as JSON (a baseline file)."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Fail (exit 1) if a score falls below this JSON."),
) -> None:
    """Score search on hand-labelled queries: recall@k, MRR and no-answer accuracy per query type.

    Examples:

      tenderx ingest samples/ --store .tenderx && tenderx eval-search

      tenderx eval-search --mode lexical --json lexical.json

    Types: zh, en, mixed, identifier, model, trap (model-number near-misses; forbid_ok = no forbidden
    page in the top k) and no_answer (right when nothing clears the relevance floor). Queries
    on documents the store lacks (e.g. the optional real packages) are skipped and counted.
    The "typed in" rows score every query (no-answer and traps too) by the language it is typed in.
    Exit codes: 0 ok, 1 below --baseline, 2 bad input (no store, malformed query file).
    """
    from rich.table import Table

    from extractor.core.errors import UsageError
    from extractor.evaluate.search_eval import QUERIES_PATH, check_baseline, evaluate_search, load_queries
    from extractor.search.hybrid import MODES, open_store, search

    if mode not in MODES:
        _usage(f"--mode must be one of {', '.join(MODES)}")
    from extractor.store.store import store_exists

    if not store_exists(store):
        _usage(f"no store at {store} — run `tenderx ingest samples/ --store {store}` first")
    try:
        file_k, labelled = load_queries(queries or QUERIES_PATH)
    except UsageError as e:
        _usage(str(e))
    opened = open_store(store)
    paths = {Path(d.path).stem: d.path for d in opened.documents()}
    has_packages = any(s.startswith("public-") for s in paths)

    def run(q: str, within: list[str] | None) -> list[Any]:
        where = None if not within else {"file": {"$in": [paths[s] for s in within]}}
        return search(opened, q, k=10, mode=mode, where=where)

    cut = k or file_k
    result = evaluate_search(run, labelled, set(paths), k=cut, mode=mode, has_packages=has_packages)
    table = Table(title=f"search eval — {mode}, {len(result.outcomes)} queries ({len(result.skipped)} skipped)")
    for col in ("type", "queries", f"recall@{cut}", "MRR", "no-answer acc.", "forbid ok"):
        table.add_column(col, justify="right")
    names = (f"recall_at_{cut}", "mrr", "no_answer_accuracy", "forbid_ok")
    for kind, m in result.by_type().items():
        table.add_row(kind, str(m["queries"]), *(_fmt(m[name]) for name in names))
    table.add_section()
    for lang, m in result.by_language().items():
        table.add_row(f"typed in {lang}", str(m["queries"]), *(_fmt(m[name]) for name in names))
    console.print(table)
    scores = result.to_json()
    if json_out is not None:
        json_out.write_text(json.dumps(scores, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        console.print(f"wrote {_safe(str(json_out))}")
    if baseline is not None:
        problems = check_baseline(scores, json.loads(baseline.read_text(encoding="utf-8")))
        for p in problems:
            err_console.print(f"[red]below baseline:[/] {_safe(p)}")
        if problems:
            raise typer.Exit(1)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
