"""`tenderx extract --batch` follow-ups: `tenderx batch status ID` and `tenderx batch collect ID`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from extractor.cli.display import ExtractBar
from extractor.cli.extract import llm_settings, print_extract_summary
from extractor.cli.options import (
    DEFAULT_OUT,
    DEFAULT_STORE,
    BaseUrlOpt,
    JobsOpt,
    ModelOpt,
    StoreOpt,
    TimeoutOpt,
)
from extractor.cli.terminal import console, err_console, safe

batch_app = typer.Typer(help="Follow a Batch API extraction started with `tenderx extract --batch`.",
                        no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="The batch id that `tenderx extract --batch` printed.")]


@batch_app.command("status")
def status(
    batch_id: IdArg,
    store: StoreOpt = DEFAULT_STORE,
    wait: Annotated[bool, typer.Option("--wait", help="Poll until the batch has ended, with a progress bar.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 30.0,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """Where a batch is: validating, in_progress, completed, expired, cancelled …

    Examples:

      tenderx batch status batch_abc123

      tenderx batch status batch_abc123 --wait --interval 60 && tenderx batch collect batch_abc123
    """
    from extractor.pipeline.batch import batch_status

    settings = llm_settings(base_url, None, timeout)
    job, state = batch_status(batch_id, settings=settings, store_dir=store)
    if wait and not state.done:
        with Progress(TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                      TimeElapsedColumn(), console=err_console) as bar:
            task = bar.add_task("batch", total=state.total or len(job.requests), status=state.status)
            while not state.done:
                time.sleep(interval)
                job, state = batch_status(batch_id, settings=settings, store_dir=store)
                bar.update(task, completed=state.completed + state.failed, total=state.total or len(job.requests),
                           status=state.status)
    console.print(f"batch {safe(state.id)}: [bold]{safe(state.status)}[/] — {state.completed} completed, "
                  f"{state.failed} failed of {state.total or len(job.requests)} requests "
                  f"({len(job.files)} documents, model {safe(job.model)}, submitted {job.submitted})")
    for e in state.errors:
        console.print(f"[red]batch error:[/] {safe(e)}")
    if state.done:
        console.print(f"next: tenderx batch collect {safe(batch_id)}")
    raise typer.Exit(0)


@batch_app.command("collect")
def collect(
    batch_id: IdArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL records (resumed, like `tenderx extract -o`).")
                   ] = DEFAULT_OUT / "records.jsonl",
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write a CSV.", show_default=False)] = None,
    store: StoreOpt = DEFAULT_STORE,
    jobs: JobsOpt = 4,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """Merge an ended batch's answers into records, with the online path's evidence checks and cache.

    Example:

      tenderx batch collect batch_abc123 -o tenderx-out/records.jsonl

    Safe to re-run. Requests the batch did not answer (failed, expired, cancelled) are listed; run
    the same `tenderx extract` without --batch to retry just those online (the rest come from the cache).
    Exit codes: 0 every document extracted, 1 some documents still lack answers, 2 the batch has not ended.
    """
    from extractor.pipeline.batch import collect_batch

    with ExtractBar(err_console, label="collect") as bar:
        report = collect_batch(batch_id, settings=llm_settings(base_url, model, timeout), store_dir=store, out=out,
                               csv=csv, jobs=jobs, progress=bar)
    state = report.state
    if state.status != "completed":
        console.print(f"[yellow]batch {safe(state.id)} {safe(state.status)}[/]: {report.answered} of "
                      f"{len(report.failed) + report.answered} requests answered; the rest can be retried online "
                      "with `tenderx extract`")
    for bad in report.bad_lines:
        console.print(f"[yellow]bad line in the batch output[/] {safe(bad)}")
    if report.failed:
        table = Table(title="Requests without a usable answer (retry online with `tenderx extract`)")
        for col in ("request", "file", "reason"):
            table.add_column(col, overflow="fold")
        for custom_id, file, reason in report.failed:
            table.add_row(safe(custom_id[:24] + "…"), safe(Path(file).name), safe(reason))
        console.print(table)
    print_extract_summary(report.extraction)
    batch = "n/a (model not in price table)" if report.cost_batch_usd is None else f"${report.cost_batch_usd:.4f}"
    online = "n/a" if report.cost_online_usd is None else f"${report.cost_online_usd:.4f}"
    console.print(f"batch: {report.answered} answers, {report.prompt_tokens:,} prompt + "
                  f"{report.completion_tokens:,} completion tokens, cost {batch} at batch prices "
                  f"({online} at online prices)")
    raise typer.Exit(1 if report.extraction.failures else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
