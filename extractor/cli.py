"""The `tenderx` command: a thin layer over the library.

Each command parses flags, calls one library function and renders the result
with rich. Add new commands as their own function below; keep logic out.
"""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="tenderx",
    help="Turn Chinese tender PDFs into structured, verifiable data — offline by default.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)

# --- commands (each helper adds its command below this line; never rewrite this file whole) ---


def main() -> None:
    app()


if __name__ == "__main__":
    main()
