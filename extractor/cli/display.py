"""Rich renderings shared by commands: progress bars and extraction summaries.

Library functions report progress through small callback protocols; this
module turns those callbacks into rich progress bars and tables, so the
library stays silent when used from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from extractor.cli.terminal import plain, safe

if TYPE_CHECKING:
    from rich.progress import TaskID

    from extractor.pipeline.ingest import IngestReport

# rich.progress and the screening package are imported where used: `tenderx search` imports this
# module for ``snippet`` and must not pay for them on a cold start


class ExtractBar:
    """`ExtractProgress` rendered as a rich progress bar (files done, ETA)."""

    def __init__(self, console: Console, label: str = "extract") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("docs"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", style="dim"),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.failed = 0

    def __enter__(self) -> ExtractBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("extract", total=total, failed=0, current="")

    def ocr_page(self, path: Path, done: int, total: int) -> None:
        """A scanned document's pages as OCR reads them."""
        if self.task is not None:
            self.progress.update(self.task, current=f"{safe(path.name[:40])} (OCR {done}/{total} pages)")

    def advance(self, file: str, record: dict[str, Any]) -> None:
        if record.get("errors"):
            self.failed += 1
        if self.task is not None:
            name = file.rsplit("/", 1)[-1]
            self.progress.update(self.task, advance=1, failed=self.failed, current=safe(name[:40]))


def _v(rec: dict[str, Any], name: str) -> Any:
    return ((rec.get("fields") or {}).get(name) or {}).get("value")


def _fmt_amount(x: Any) -> str:
    if x is None:
        return "—"
    x = float(x)
    return f"{x / 10000:,.2f} 万元" if x >= 10000 else f"{x:,.0f} 元"


def _listed(r: dict[str, Any]) -> str:
    """The record's parties on a US list (screening exact/subunit), e.g. '四川大学 (buyer): Entity List (exact)'."""
    from extractor.screen.status import match_label

    by_party: dict[tuple[str, str], list[str]] = {}
    for s in r.get("screening") or []:
        if s.get("match") in ("exact", "subunit"):
            tag = match_label(s)  # 'Entity List (subunit: parent listed, not itself)
            by_party.setdefault((s["party"], s["role"]), []).append(tag)
    return "; ".join(f"{p} ({role}): {', '.join(dict.fromkeys(tags))}" for (p, role), tags in by_party.items())


def listed_table(records: list[dict[str, Any]]) -> Table | None:
    """Documents naming a party on a US list; None when there are none. A lead to verify, not a finding."""
    rows = [r for r in records if _listed(r)]
    if not rows:
        return None
    t = Table(title="Documents naming a party on a US list (screening; verify against the list text)",
              title_style="bold magenta")
    for col in ("file", "listed parties", "restricted_us_tech"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(safe(str(r.get("file", "")).rsplit("/", 1)[-1]), safe(_listed(r)),
                  "[red]yes[/]" if "restricted_us_tech" in (r.get("flags") or []) else "no")
    return t


def flagged_table(records: list[dict[str, Any]]) -> Table:
    """Documents whose record carries the `restricted_us_tech` flag, with any party on a US list."""
    t = Table(title="Documents flagged restricted_us_tech", title_style="bold red", show_lines=False)
    for col in ("file", "buyer", "supplier", "chips / clouds / models", "amount", "date", "listed parties"):
        t.add_column(col, overflow="fold")
    for r in records:
        if "restricted_us_tech" not in (r.get("flags") or []):
            continue
        tech = [*(_v(r, "chips") or []), *(_v(r, "cloud_providers") or []), *(_v(r, "ai_models") or [])]
        amount = _v(r, "award_amount_cny")
        if amount is None:
            amount = _v(r, "budget_cny")
        t.add_row(
            safe(str(r.get("file", "")).rsplit("/", 1)[-1]),
            safe(str(_v(r, "buyer") or "—")),
            safe("; ".join(_v(r, "suppliers") or []) or "—"),
            safe(", ".join(tech) or "—"),
            _fmt_amount(amount),
            safe(str(_v(r, "publish_date") or "—")),
            safe(_listed(r) or "—"),
        )
    return t


def failures_table(records: list[dict[str, Any]]) -> Table:
    t = Table(title="Documents that failed", title_style="bold yellow")
    t.add_column("file", overflow="fold")
    t.add_column("error", overflow="fold")
    for r in records:
        for e in r.get("errors") or []:
            t.add_row(safe(str(r.get("file", ""))), safe(str(e)))
    return t


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 failure``, ``2 failures``, ``1 listed party``, ``3 listed parties``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def totals_line(tot: dict[str, Any]) -> str:
    cost = tot.get("cost_usd")
    cost_s = "n/a (model not in price table)" if cost is None else f"${cost:.4f}"
    listed = tot.get("listed_parties")
    return (
        f"[bold]{plural(tot['documents'], 'document')}[/], [red]{plural(tot['failures'], 'failure')}[/], "
        f"{plural(tot['calls'], 'LLM call')} ({tot.get('failed_calls', 0)} failed, {tot['cached_calls']} cached, "
        f"{plural(tot['retries'], 'retry', 'retries')}), "
        f"{tot['prompt_tokens']:,} prompt + {tot['completion_tokens']:,} completion tokens, "
        f"estimated cost {cost_s}"
        + (f" ([yellow]{tot['unpriced_calls']} timed-out call(s) not in it: usage unknown[/])"
           if tot.get("unpriced_calls") else "")
        + (f", [magenta]{plural(listed, 'party', 'parties')}[/] on a US list" if listed is not None
           else "")
    )


class IngestBar:
    """Renders ingest's progress callbacks: bytes-weighted bar (for a fair ETA), files, pages, chunks."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]ingest"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[files]} files"), TextColumn("{task.fields[pages]} pages"),
            TextColumn("{task.fields[chunks]} chunks"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[current]}", style="dim"),
            console=console, transient=False,
        )
        self.task = self.progress.add_task("ingest", total=None, files="0/0", pages=0, chunks=0, current="")
        self.n_files = self.done_files = self.pages = self.chunks = 0
        self.bytes_done = self.size = 0

    def __enter__(self) -> IngestBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def started(self, files: list[Path], total_bytes: int) -> None:
        self.n_files = len(files)
        self.progress.update(self.task, total=max(total_bytes, 1), files=f"0/{self.n_files}")

    def file_started(self, path: Path, size: int) -> None:
        self.size = size
        from extractor.core.paths import display_path

        self.progress.update(self.task, current=safe(display_path(path.name)))

    def file_read(self, path: Path, pages: int, chunks: int) -> None:
        self.pages += pages
        self.chunks += chunks
        self.progress.update(self.task, pages=self.pages, chunks=self.chunks,
                             completed=self.bytes_done + 0.05 * self.size)

    def embedded(self, path: Path, done: int, total: int) -> None:
        share = 0.05 + 0.95 * done / max(total, 1)
        self.progress.update(self.task, completed=self.bytes_done + share * self.size)

    def ocr_page(self, path: Path, done: int, total: int) -> None:
        """A scanned file's pages as OCR reads them (the slow part of such a file)."""
        self.progress.update(self.task, current=f"{safe(path.name)} (OCR {done}/{total} pages)",
                             completed=self.bytes_done + 0.05 * self.size * done / max(total, 1))

    def waiting(self, path: Path, message: str) -> None:
        """Another writer holds this file's document: say whom we wait for and how long."""
        self.progress.console.print(f"[yellow]waiting:[/] {safe(path.name)}: {safe(message)}", soft_wrap=True)
        self.progress.update(self.task, current=f"{safe(path.name)} (waiting for another writer)")

    def file_finished(self, path: Path, status: str, message: str = "") -> None:
        self.done_files += 1
        self.bytes_done += self.size
        self.progress.update(self.task, completed=self.bytes_done, files=f"{self.done_files}/{self.n_files}")


def print_ingest_summary(report: IngestReport, console: Console) -> None:
    table = Table(title=f"ingest into {safe(report.store)}", show_header=True)
    for col in ("added", "replaced", "unchanged", "needs OCR", "failed", "pages", "chunks", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(str(len(report.added)), str(len(report.replaced)), str(len(report.unchanged)),
                  str(len(report.needs_ocr)), f"[red]{len(report.failed)}[/]" if report.failed else "0",
                  str(report.pages), str(report.chunks), f"{report.seconds:.1f}")
    console.print(table)
    if report.embedder:
        console.print(f"embedder: {safe(report.embedder)}")
    if getattr(report, "ocr_pages", 0):
        cached = getattr(report, "ocr_cached", 0)
        console.print(f"OCR: {report.ocr_pages} page(s) had no usable text layer and were read by OCR"
                      + (f" ({cached} from the OCR cache, not OCR'd again)" if cached else ""))
    for path in report.needs_ocr:
        console.print(f"[yellow]needs OCR[/] {safe(path)}: no usable text layer and OCR is off — not stored",
                      soft_wrap=True)
    if report.failed:
        failures = Table(title="[red]failed files[/]", show_header=True)
        failures.add_column("file", overflow="fold")
        failures.add_column("kind")
        failures.add_column("reason", overflow="fold")
        for path, kind, message in report.failed:
            failures.add_row(safe(path), safe(kind), safe(message))
        console.print(failures)


def snippet(text: str, terms: list[str], width: int = 160, lines: int = 1) -> Text:
    """A window of the chunk around the first of ``terms`` (in the order given) that occurs,
    fitting ``lines`` terminal lines of ``width`` cells (CJK characters take two), with every
    term highlighted; control characters and markup are neutralised (a ``rich.text.Text``)."""
    from rich.cells import cell_len
    from rich.text import Text

    flat = " ".join(plain(text).split())
    width = max(10, width)
    budget = width * lines - 2  # room for the ellipses
    low = flat.casefold()
    first = next((i for i in (low.find(t.casefold()) for t in terms if t) if i >= 0), 0)
    # start a few cells before the first match so it has some context on its left
    start, lead = first, 0
    while start > 0 and lead + cell_len(flat[start - 1]) <= budget // 4:
        start -= 1
        lead += cell_len(flat[start])
    piece = ("…" if start else "") + flat[start:]
    rows: list[str] = []
    row: list[str] = []
    used = taken = 0
    for ch in piece:  # cut into rows by cells ourselves: rich would wrap CJK runs at spaces only
        w = cell_len(ch)
        if used + w > width:
            rows.append("".join(row))
            row, used = [], 0
            if len(rows) == lines:
                break
        row.append(ch)
        used += w
        taken += 1
    if len(rows) < lines and row:
        rows.append("".join(row))
    if taken < len(piece):  # cut short: end on an ellipsis within the last row
        last = rows[-1]
        while last and cell_len(last) + 1 > width:
            last = last[:-1]
        rows[-1] = last + "…"
    out = Text("\n".join(rows), no_wrap=True, overflow="crop")
    out.highlight_words([t for t in terms if t], style="bold yellow", case_sensitive=False)
    return out
