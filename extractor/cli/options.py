"""Options several commands share, defined once so their names, defaults and help never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractor.core.config import DEFAULT_OUT, DEFAULT_STORE

__all__ = ["DEFAULT_OUT", "DEFAULT_STORE", "BackendOpt", "BaseUrlOpt", "JobsOpt", "ModelOpt", "PathsArg",
           "NoCacheOpt", "NoOcrOpt", "SchemaOpt", "ShardOpt", "StoreOpt", "TimeoutOpt", "ocr_choice"]

PathsArg = Annotated[list[Path], typer.Argument(
    help="Documents or folders (searched recursively): PDF, HTML, DOCX, TXT.", show_default=False)]
StoreOpt = Annotated[Path, typer.Option(
    "--store", "-s", help="Store directory (made by `tenderx ingest`; created if missing).")]
BackendOpt = Annotated[str, typer.Option(
    "--backend", "-b", help="auto (hybrid if an LLM is configured, else rules) | rules (offline) | llm | hybrid (rules first, LLM for unsettled fields).")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, max=256, help="Documents extracted concurrently.")]
SchemaOpt = Annotated[str, typer.Option("--schema", help="Built-in schema name or a YAML/JSON schema file.")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).", show_default=False)]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="Model name (default $TENDERX_MODEL).", show_default=False)]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per LLM request.")]
NoOcrOpt = Annotated[bool, typer.Option(
    "--no-ocr", help="Don't OCR pages without a usable text layer (scans, fonts without a ToUnicode map): "
                     "such files fail as needs_ocr. Also TENDERX_OCR=0.")]


NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Ask the LLM again: neither read nor write the response cache (STORE/llm-cache.sqlite).")]


def ocr_choice(no_ocr: bool) -> bool | None:
    """--no-ocr as the library's ``ocr`` argument: False, or None (follow TENDERX_OCR, on by default)."""
    return False if no_ocr else None
ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="I/N", show_default=False,
    help="Only share I of N of the files (split by content hash; outputs get a .shard-I-of-N suffix).")]
