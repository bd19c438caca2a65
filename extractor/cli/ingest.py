"""`tenderx ingest`: documents into the searchable store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.display import IngestBar, print_ingest_summary
from extractor.cli.inputs import check_inputs, print_read_warnings
from extractor.cli.options import DEFAULT_STORE, NoOcrOpt, PathsArg, ShardOpt, StoreOpt, ocr_choice
from extractor.cli.terminal import console, err_console


def require_paths(paths: list[Path]) -> None:
    """Every command that reads files refuses, with exit 2, when none of its paths exists or nothing
    under them is readable; it lists what folders held besides documents (``cli.inputs``)."""
    check_inputs(paths, err_console)


def ingest(
    paths: PathsArg,
    store: StoreOpt = DEFAULT_STORE,
    chunk_tokens: Annotated[int, typer.Option("--chunk-tokens", min=50, max=2000,
                                              help="Target chunk size in tokens.")] = 400,
    no_ocr: NoOcrOpt = False,
    shard: ShardOpt = None,
) -> None:
    """Read documents, chunk them and index them (vectors + BM25) for `tenderx search`.

    Examples:

      tenderx ingest samples/

      tenderx ingest tenders/2024/ extra.pdf --store ~/tenders-store

    Re-running is cheap: unchanged files (same sha256) are skipped, changed files replace their
    old chunks. Embeddings come from the bundled e5 model (offline) unless TENDERX_EMBED_BASE_URL
    points at an OpenAI-compatible /embeddings endpoint. `tenderx --chroma-url http://HOST:PORT ingest ...`
    (or TENDERX_CHROMA_URL) keeps the whole store on a shared Chroma server.
    Exit codes: 0 ok, 1 some files failed (each listed), 2 usage error, 3 store locked by another run.
    """
    from extractor.cli.store import print_ingest_notes
    from extractor.pipeline.ingest import ingest as run_ingest
    from extractor.store.shard import Shard

    require_paths(paths)
    share = Shard.parse(shard) if shard else None
    with IngestBar(err_console) as bar:
        report = run_ingest(paths, store_dir=store, progress=bar, chunk_tokens=chunk_tokens, ocr=ocr_choice(no_ocr),
                            shard=share)
    print_ingest_summary(report, console)
    print_read_warnings(report.warnings, err_console)
    print_ingest_notes(report, share)
    raise typer.Exit(1 if report.failed else 0)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
