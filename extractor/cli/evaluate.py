"""`tenderx eval`: score extraction against hand-labelled gold, and compare two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from extractor.cli.display import ExtractBar
from extractor.cli.extract import llm_settings
from extractor.cli.options import (
    DEFAULT_STORE,
    BackendOpt,
    BaseUrlOpt,
    ModelOpt,
    NoCacheOpt,
    SchemaOpt,
    TimeoutOpt,
)
from extractor.cli.terminal import console, err_console, safe
from extractor.core.errors import QualityGateError, UsageError


def eval_command(
    gold_dir: Annotated[Path | None, typer.Argument(
        help="Gold folder: each NAME.pdf with NAME.gold.json beside it (searched recursively).",
        show_default=False)] = None,
    backend: BackendOpt = "auto",
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", "-p", help="Score this JSONL of extraction records instead of extracting now.",
        show_default=False)] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the scores as JSON (input for --compare).", show_default=False)] = None,
    markdown_out: Annotated[Path | None, typer.Option(
        "--markdown", help="Write a Markdown report.", show_default=False)] = None,
    html_out: Annotated[Path | None, typer.Option(
        "--html", help="Write one self-contained HTML report (chart, confusion matrix, every error in context).",
        show_default=False)] = None,
    compare_runs: Annotated[tuple[Path, Path] | None, typer.Option(
        "--compare", metavar="A.json B.json",
        help="Compare two score files written by --json: A.json B.json (no GOLD_DIR needed).",
        show_default=False)] = None,
    fail_under: Annotated[float | None, typer.Option(
        "--fail-under", min=0.0, max=1.0, metavar="F1",
        help="Exit 4 when micro-F1 is below this (a CI gate on accuracy).", show_default=False)] = None,
    min_verified_precision: Annotated[float | None, typer.Option(
        "--min-verified-precision", min=0.0, max=1.0, metavar="P",
        help="Exit 4 when verified precision (share of verified values equal to gold) is below this "
             "(a CI gate on trust).", show_default=False)] = None,
    schema: SchemaOpt = "tender",
    worst: Annotated[int, typer.Option("--worst", min=0, help="How many of the worst documents to list.")] = 10,
    store: Annotated[Path, typer.Option(
        "--store", "-s", help="Store used for retrieval when extracting.")] = DEFAULT_STORE,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 60.0,
    no_cache: NoCacheOpt = False,
) -> None:
    """Score extraction against hand-written gold labels (contract: tender-schema-v1, "Scoring").

    Examples:

      tenderx eval samples/ --backend rules --html eval.html --json rules.json

      tenderx eval samples/ --predictions out.jsonl --markdown eval.md

      tenderx eval --compare rules.json llm.json

    Reports per-field precision/recall/F1/accuracy, micro-F1, the share of documents with every
    field right, restricted_us_tech flag precision/recall, the grounding rate (share of predicted
    values whose quote occurs in the document text, OCR text for scans), verified precision (share of
    values marked verified that equal gold) and high-confidence accuracy. Exit codes: 0 ok, 1 some
    gold documents had no (or a failed) prediction, 2 bad input (missing folder, malformed gold or
    predictions file), 4 a score below --fail-under or --min-verified-precision.
    """
    from extractor.evaluate import evaluate_folder
    from extractor.evaluate.report import (
        compare,
        comparison_report,
        print_report,
        render_html,
        render_markdown,
    )
    from extractor.pipeline.records import atomic_write_text

    if compare_runs is not None:
        runs = []
        for p in compare_runs:
            try:
                runs.append(json.loads(Path(p).read_text(encoding="utf-8")))
            except (OSError, ValueError) as e:
                raise UsageError(f"{p}: not a readable scores JSON ({e})") from None
        console.print(comparison_report(compare(*runs)))
        raise typer.Exit(0)
    if gold_dir is None:
        raise UsageError("give a GOLD_DIR to evaluate, or --compare A.json B.json")

    if predictions is None:
        options: dict[str, Any] = {"settings": llm_settings(base_url, model, timeout), "store_dir": store,
                                   "use_cache": not no_cache}
        with ExtractBar(err_console, label="eval: extract") as bar:
            scores = evaluate_folder(gold_dir, backend=backend, schema=schema, progress=bar, **options)
    else:
        scores = evaluate_folder(gold_dir, backend=backend, predictions=predictions, schema=schema)

    print_report(scores, console, worst=worst)
    if scores.intermediaries is not None:
        from extractor.evaluate.intermediaries import intermediaries_line

        console.print(safe(intermediaries_line(scores.intermediaries)))
    for path, text in ((json_out, lambda: json.dumps(scores.to_json(), ensure_ascii=False, indent=2) + "\n"),
                       (markdown_out, lambda: render_markdown(scores, worst=worst)),
                       (html_out, lambda: render_html(scores))):
        if path is not None:
            atomic_write_text(path, text())
            console.print(f"wrote {safe(str(path))}")
    if scores.failed_predictions:
        err_console.print(f"[yellow]{len(scores.failed_predictions)} document(s) failed extraction "
                          f"(scored as all null):[/] {safe(', '.join(scores.failed_predictions))}")
    short = scores.below(fail_under, min_verified_precision)
    if short:
        raise QualityGateError("; ".join(short))
    raise typer.Exit(1 if scores.missing_predictions or scores.failed_predictions else 0)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
