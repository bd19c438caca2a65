"""Options several commands share, defined once so their names, defaults and help never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractor.core.config import DEFAULT_OUT, DEFAULT_STORE

__all__ = ["DEFAULT_OUT", "DEFAULT_STORE", "BackendOpt", "BaseUrlOpt", "JobsOpt", "ModelOpt", "PathsArg",
           "SchemaOpt", "StoreOpt", "TimeoutOpt"]

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
