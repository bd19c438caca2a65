"""`tenderx extract` and `tenderx run` (ingest + extract + the flagged table)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from extractor.cli.display import (
    ExtractBar,
    IngestBar,
    failures_table,
    flagged_table,
    listed_table,
    print_ingest_summary,
    totals_line,
)
from extractor.cli.ingest import require_paths
from extractor.cli.inputs import print_read_warnings
from extractor.cli.options import (
    DEFAULT_OUT,
    DEFAULT_STORE,
    BackendOpt,
    BaseUrlOpt,
    JobsOpt,
    ModelOpt,
    NoCacheOpt,
    NoOcrOpt,
    PathsArg,
    SchemaOpt,
    ShardOpt,
    StoreOpt,
    TimeoutOpt,
    ocr_choice,
)
from extractor.cli.terminal import console, err_console, safe
from extractor.core.config import LLMSettings

if TYPE_CHECKING:
    from extractor.pipeline.extract import ExtractReport

STDOUT = Path("-")


def llm_settings(base_url: str | None, model: str | None, timeout: float) -> LLMSettings:
    return LLMSettings.from_env(base_url=base_url, model=model, timeout=timeout)


def print_extract_summary(report: ExtractReport, out: Console = console) -> None:
    out.print(f"backend: [bold]{report.backend}[/] — {report.backend_reason}")
    if report.skipped:
        out.print(f"{report.skipped} documents already extracted in an earlier run (resumed, not redone)")
    if report.flagged:
        out.print(flagged_table(report.records))
    else:
        out.print("No document flagged restricted_us_tech.")
    if (listed := listed_table(report.records)) is not None:  # parties on US lists (screening)
        out.print(listed)
    from extractor.cli.cases import print_cases_summary

    print_cases_summary(report.records, out)  # issue 13: the cases table (flagged first)
    if report.failures:
        out.print(failures_table(report.failures))
    totals = report.totals()
    if totals["suspicious"]:
        out.print(f"[yellow]{totals['suspicious']} document(s) carry suspicious text[/] (instructions addressed to a "
                  "model or form-filler; see suspicious_text in their records): no value quoted from it is verified")
    if totals["disputed"]:
        out.print(f"[yellow]{totals['disputed']} document(s) have disputed values[/] (the LLM and the rules engine "
                  "disagree; see disputed:<field> flags): check them by eye")
    copies = [r for r in report.records if r.get("duplicate_of")]
    if copies:  # issue 25: the same notice in two files (found by its text) counts once in cases and findings
        out.print(f"{len(copies)} file(s) are the same notice as another file (duplicate_of, by text similarity) "
                  "and count once in cases and findings")
    out.print(totals_line(totals))
    print_read_warnings(report.records, err_console)
    if report.out:
        out.print(f"records: {report.out}" + (f", CSV: {report.csv}" if report.csv else ""))


def run_extraction(paths: list[Path], **options: Any) -> ExtractReport:
    """`extract_documents` with a progress bar on stderr."""
    from extractor.pipeline.extract import extract_documents

    with ExtractBar(err_console) as bar:
        return extract_documents(paths, progress=bar, **options)


def extract(
    paths: PathsArg,
    backend: BackendOpt = "auto",
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="JSONL output, one record per document; '-' writes the records to stdout.")
    ] = DEFAULT_OUT / "records.jsonl",
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="Also write a CSV (one row per document, lists joined with ';').", show_default=False)] = None,
    jobs: JobsOpt = 4,
    schema: SchemaOpt = "tender",
    store: Annotated[Path, typer.Option(
        "--store", "-s", help="Store used for retrieval on long documents (if ingested).")] = DEFAULT_STORE,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 60.0,
    no_resume: Annotated[bool, typer.Option("--no-resume", help="Redo documents already in OUT.")] = False,
    batch: Annotated[bool, typer.Option(
        "--batch", help="Submit the LLM requests to the provider's Batch API (half price, results within 24 h) "
                        "instead of calling it now; follow with `tenderx batch status/collect ID`.")] = False,
    no_ocr: NoOcrOpt = False,
    shard: ShardOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Extract the schema's fields, with page + verbatim-quote evidence, from tender documents.

    Examples:

      tenderx extract samples/ -o out.jsonl --csv out.csv

      tenderx extract notice.pdf -o - | jq .fields.buyer

      OPENAI_BASE_URL=http://localhost:8000/v1 TENDERX_MODEL=qwen2.5-7b tenderx extract tenders/ -j 8

    The API key is read from $OPENAI_API_KEY only (never a flag, so it stays out of shell history).
    Re-running the same command resumes: finished documents are kept, failed ones retried, and
    LLM responses come from the cache (.tenderx/llm-cache.sqlite, per endpoint and model;
    --no-cache asks again).
    Exit codes: 0 ok, 1 some documents failed, 2 usage error, 3 fatal (e.g. LLM key rejected).
    """
    from extractor.cli.store import shard_paths
    from extractor.store.shard import Shard

    require_paths(paths)
    if batch:
        _submit_batch(paths, llm_settings(base_url, model, timeout), schema, store)
        raise typer.Exit(0)
    to_stdout = out == STDOUT
    share = Shard.parse(shard) if shard else None
    named = list(paths)
    if share is not None:
        paths = shard_paths(paths, share)
        out, csv = (out if to_stdout else share.output_path(out)), (csv and share.output_path(csv))
    report = run_extraction(paths, backend=backend, schema=schema, out=None if to_stdout else out, csv=csv,
                            jobs=jobs, settings=llm_settings(base_url, model, timeout), store_dir=store,
                            resume=not no_resume, ocr=ocr_choice(no_ocr), use_cache=not no_cache, roots=named)
    if to_stdout:
        for rec in report.records:
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    print_extract_summary(report, err_console if to_stdout else console)
    raise typer.Exit(1 if report.failures else 0)


def _submit_batch(paths: list[Path], settings: LLMSettings, schema: str, store: Path) -> None:
    from extractor.pipeline.batch import submit_batch

    job = submit_batch(paths, settings=settings, schema=schema, store_dir=store)
    console.print(f"submitted batch [bold]{safe(job.id)}[/]: {len(job.requests)} requests for {len(job.files)} "
                  f"documents (model {safe(job.model)})")
    for file, reason in job.skipped:
        console.print(f"[yellow]not submitted[/] {safe(file)}: {safe(reason)}")
    console.print(f"follow it:  tenderx batch status {safe(job.id)} --wait\ncollect it: tenderx batch collect "
                  f"{safe(job.id)}" + ("" if store == DEFAULT_STORE else f" --store {safe(store)}"))


def run(
    paths: PathsArg,
    out_dir: Annotated[Path, typer.Option(
        "--out-dir", "-o", help="Where records.jsonl, records.csv and cases.jsonl go.")] = DEFAULT_OUT,
    store: StoreOpt = DEFAULT_STORE,
    backend: BackendOpt = "auto",
    jobs: JobsOpt = 4,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 60.0,
    no_ocr: NoOcrOpt = False,
    shard: ShardOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """The main job: ingest documents, extract every one, show what is flagged.

    Example:

      tenderx run samples/

    Writes OUT_DIR/records.jsonl (one record per document), OUT_DIR/records.csv (UTF-8 with a BOM
    for Excel; each value with its page, quote and verified columns, each party's list status, the
    intermediaries and duplicates) and OUT_DIR/cases.jsonl (the notices linked into purchases, as
    `tenderx cases` shows them), keeps the
    searchable store in STORE, and prints the documents flagged restricted_us_tech with a totals line.
    Re-running resumes: unchanged files are neither re-ingested nor re-extracted.
    Exit codes: 0 ok, 1 some files failed (each listed), 2 usage error, 3 fatal.
    """
    from extractor.backends.registry import resolve_backend
    from extractor.cli.store import print_ingest_notes, shard_paths
    from extractor.pipeline.ingest import ingest as run_ingest
    from extractor.store.shard import Shard

    require_paths(paths)
    share = Shard.parse(shard) if shard else None
    settings = llm_settings(base_url, model, timeout)
    resolve_backend(backend, settings)  # check before spending minutes on ingest
    with IngestBar(err_console) as bar:
        ingested = run_ingest(paths, store_dir=store, progress=bar, ocr=ocr_choice(no_ocr), shard=share)
    print_ingest_summary(ingested, console)
    print_ingest_notes(ingested, share)
    records, table = out_dir / "records.jsonl", out_dir / "records.csv"
    named = list(paths)
    if share is not None:
        paths, records, table = shard_paths(paths, share), share.output_path(records), share.output_path(table)
    report = run_extraction(paths, backend=backend, out=records, csv=table, csv_evidence=True,
                            jobs=jobs, settings=settings, store_dir=store, ocr=ocr_choice(no_ocr),
                            use_cache=not no_cache, roots=named)
    print_extract_summary(report)
    from extractor.cli.cases import write_run_cases

    write_run_cases(report.records, out_dir, console)  # issue 13: cases.jsonl beside records.jsonl
    console.print(f"open the desk: tenderx serve --records {safe(out_dir / 'records.jsonl')} --store {safe(store)}")
    console.print(f"write the dossier to publish from: tenderx findings {safe(out_dir / 'records.jsonl')} "
                  f"--cases {safe(out_dir / 'cases.jsonl')} -o {safe(out_dir / 'findings')}")
    raise typer.Exit(1 if (report.failures or ingested.failed) else 0)


def register(app: typer.Typer) -> None:
    app.command()(extract)
    app.command()(run)
