"""Rich renderings shared by commands: progress bars and extraction summaries.

Library functions report progress through small callback protocols; this
module turns those callbacks into rich progress bars and tables, so the
library stays silent when used from Python.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


class ExtractBar:
    """`ExtractProgress` rendered as a rich progress bar (files done, ETA)."""

    def __init__(self, console: Console, label: str = "extract") -> None:
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
        self.task = None
        self.failed = 0

    def __enter__(self) -> ExtractBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("extract", total=total, failed=0, current="")

    def advance(self, file: str, record: dict[str, Any]) -> None:
        if record.get("errors"):
            self.failed += 1
        if self.task is not None:
            name = file.rsplit("/", 1)[-1]
            self.progress.update(self.task, advance=1, failed=self.failed, current=escape(name[:40]))


def _v(rec: dict[str, Any], name: str) -> Any:
    return ((rec.get("fields") or {}).get(name) or {}).get("value")


def _fmt_amount(x: Any) -> str:
    if x is None:
        return "—"
    x = float(x)
    return f"{x / 10000:,.2f} 万元" if x >= 10000 else f"{x:,.0f} 元"


def flagged_table(records: list[dict[str, Any]]) -> Table:
    """Documents whose record carries the `restricted_us_tech` flag."""
    t = Table(title="Documents flagged restricted_us_tech", title_style="bold red", show_lines=False)
    for col in ("file", "buyer", "supplier", "chips / clouds / models", "amount", "date"):
        t.add_column(col, overflow="fold")
    for r in records:
        if "restricted_us_tech" not in (r.get("flags") or []):
            continue
        tech = [*(_v(r, "chips") or []), *(_v(r, "cloud_providers") or []), *(_v(r, "ai_models") or [])]
        amount = _v(r, "award_amount_cny")
        if amount is None:
            amount = _v(r, "budget_cny")
        t.add_row(
            escape(str(r.get("file", "")).rsplit("/", 1)[-1]),
            escape(str(_v(r, "buyer") or "—")),
            escape("; ".join(_v(r, "suppliers") or []) or "—"),
            escape(", ".join(tech) or "—"),
            _fmt_amount(amount),
            escape(str(_v(r, "publish_date") or "—")),
        )
    return t


def failures_table(records: list[dict[str, Any]]) -> Table:
    t = Table(title="Documents that failed", title_style="bold yellow")
    t.add_column("file", overflow="fold")
    t.add_column("error", overflow="fold")
    for r in records:
        for e in r.get("errors") or []:
            t.add_row(escape(str(r.get("file", ""))), escape(str(e)))
    return t


def totals_line(tot: dict[str, Any]) -> str:
    cost = tot.get("cost_usd")
    cost_s = "n/a (model not in price table)" if cost is None else f"${cost:.4f}"
    return (
        f"[bold]{tot['documents']}[/] documents, [red]{tot['failures']}[/] failures, "
        f"{tot['calls']} LLM calls ({tot['cached_calls']} cached, {tot['retries']} retries), "
        f"{tot['prompt_tokens']:,} prompt + {tot['completion_tokens']:,} completion tokens, "
        f"estimated cost {cost_s}"
    )
