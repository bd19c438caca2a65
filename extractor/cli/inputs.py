"""What the commands that take paths say about their inputs before and after a run.

Every command that reads documents (ingest, extract, run) first walks its paths
once: a path that does not exist, or a folder holding nothing tenderx can read,
ends the command with exit 2 and one clear line instead of "0 documents"; files
skipped in folders are summarised (how many, why, a few names); afterwards the
warnings readers left (text cut at a cap, pages that failed) are listed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from extractor.core.paths import display_path

_SHOW = 3  # names shown per reason
_SHOW_WARNINGS = 10


def check_inputs(paths: list[Path], console: Console) -> list[Path]:
    """The documents under ``paths``; prints what was found and skipped. Raises UsageError (exit 2)
    when no path exists or nothing under them is in a format tenderx reads."""
    from extractor.core.errors import ReadError, UsageError
    from extractor.read.formats import detect_format, is_failure, iter_input_paths, readable

    found, skipped = iter_input_paths(paths)
    missing = [p for p, e in skipped if e.kind == "missing"]
    if not found and len(missing) == len(paths):
        raise UsageError("no such file or folder: " + ", ".join(display_path(p) for p in paths))
    ignored = [(p, e.message) for p, e in skipped if not is_failure(e)]
    if found:
        by_suffix = Counter(f.suffix.lower() or "(no suffix)" for f in found)
        console.print(f"[dim]found {len(found)} file(s): "
                      + ", ".join(f"{n} {escape(s)}" for s, n in by_suffix.most_common()) + "[/]", soft_wrap=True)
    if ignored:
        console.print(skipped_summary(ignored), soft_wrap=True)
    if not any(readable(f) for f in found):
        where = ", ".join(display_path(p) for p in paths)
        unsupported = [f for f in found if not readable(f)]
        extra = ""
        if unsupported:
            why = ""
            try:
                detect_format(unsupported[0])
            except ReadError as e:
                why = e.message
            extra = (f"; {len(unsupported)} file(s) in formats it does not read, e.g. "
                     f"{display_path(unsupported[0].name)}: {why}")
        raise UsageError(f"nothing tenderx can read in {where} (it reads .pdf, .html/.htm, .docx, .txt){extra}")
    return found


def skipped_summary(skipped: list[tuple[str, str]] | list[tuple[Path, str]]) -> str:
    """One line: ``skipped 31 files (not documents): 30 gold labels …, 1 not a document (.md): README.md``."""
    by_reason: dict[str, list[str]] = {}
    for path, why in skipped:
        by_reason.setdefault(why, []).append(Path(display_path(path)).name)
    counts = Counter({why: len(names) for why, names in by_reason.items()})
    parts = []
    for why, n in counts.most_common():
        names = by_reason[why][:_SHOW]
        more = ", …" if n > _SHOW else ""
        parts.append(f"{n} {escape(why)} ({escape(', '.join(names))}{more})")
    return f"[dim]skipped {len(skipped)} path(s) that are not documents: " + "; ".join(parts) + "[/]"


def print_read_warnings(records: list[dict[str, Any]] | list[tuple[str, str]], console: Console) -> None:
    """The readers' warnings (text cut at a cap, pages that failed), a few per run."""
    pairs: list[tuple[str, str]] = []
    for item in records:
        if isinstance(item, dict):
            pairs.extend((str(item.get("file", "")), w) for w in item.get("warnings") or [])
        else:
            pairs.append(item)
    for file, warning in pairs[:_SHOW_WARNINGS]:
        console.print(f"[yellow]warning:[/] {escape(Path(file).name)}: {escape(warning)}", soft_wrap=True)
    if len(pairs) > _SHOW_WARNINGS:
        console.print(f"[yellow]… and {len(pairs) - _SHOW_WARNINGS} more warnings[/] (see 'warnings' in the records)")
