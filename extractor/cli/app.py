"""The `tenderx` command: a thin layer over the library.

Each command parses flags, calls one library function and renders the result
with rich; commands live in their own modules (``cli/ingest.py``,
``cli/extract.py``, ``cli/evaluate.py`` …) and register themselves below.
A run imports only the module of the command it invokes (``COMMAND_MODULES``), so a
cold ``tenderx search`` does not pay for extraction, screening or batch imports;
``--help``, no command or an unknown one registers them all, in the same order.
Errors are mapped to the documented exit codes in one place, ``main``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
import typer.main

from extractor import __version__
from extractor.cli.helptext import use_plain_metavars
from extractor.cli.terminal import State, enable_debug_logging, err_console, mask_secrets, safe
from extractor.core.errors import ExitCode, TenderxError, exit_code_for

# command name → the module whose ``register(app)`` adds it; module order is the order in --help
COMMAND_MODULES: dict[str, str] = {
    "ingest": "ingest",
    "extract": "extract", "run": "extract",
    "eval": "evaluate",
    "batch": "batch",
    "screen": "screen",  # issue 12
    "cases": "cases", "export": "cases",  # issue 13
    "search": "search", "eval-search": "search",  # `search` (-i for a session) and `eval-search`
    "store": "store",  # `tenderx store check`; --chroma-url and --shard helpers
    "serve": "desk", "review": "desk",  # issue 15
    "findings": "findings",  # issue 25
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenderx {__version__}")
        raise typer.Exit(0)


def _global_options(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks and debug logs (secrets stay masked).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    chroma_url: Annotated[str | None, typer.Option(
        "--chroma-url", metavar="URL", show_default=False,
        help="Keep the whole store on this Chroma server (default $TENDERX_CHROMA_URL; token in "
             "$TENDERX_CHROMA_TOKEN). --store then only holds local caches. Before or after the command.")] = None,
) -> None:
    """Turn Chinese tender documents into structured, verifiable data — offline by default.

    Typical session:

      tenderx run tenders/                        # ingest + extract + flagged table → ./tenderx-out/

      tenderx search "英伟达 A100 云服务器"          # find passages by meaning and by name

      tenderx eval samples/ --html report.html    # how accurate is extraction?

    With no LLM configured, extraction uses the offline rules engine; set OPENAI_BASE_URL,
    OPENAI_API_KEY and TENDERX_MODEL to use any OpenAI-compatible endpoint.
    Exit codes: 0 ok, 1 some input files failed, 2 usage error, 3 fatal, 130 interrupted.
    """
    State.debug = debug
    if debug:
        enable_debug_logging()
    from extractor.cli.store import use_server

    use_server(ctx.invoked_subcommand, chroma_url)


def build_app(command: str | None = None) -> typer.Typer:
    """The ``tenderx`` app with only ``command``'s module registered, or every module when
    ``command`` is None or unknown (so --help and "No such command" see them all)."""
    app = typer.Typer(
        name="tenderx",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )
    app.callback()(_global_options)
    wanted = COMMAND_MODULES.get(command or "")
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        if wanted is None or module == wanted:
            importlib.import_module(f"extractor.cli.{module}").register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command tree, built on first use (for tools and tests that walk it)."""
    if name == "app":
        globals()["app"] = full = build_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GLOBAL_VALUE_OPTIONS = ("--chroma-url",)  # global options users also type after the command
GLOBAL_FLAGS = ("--debug",)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options given after the command (``tenderx ingest X --chroma-url URL``) in front of it,
    where click looks for them; arguments after ``--`` are left alone."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS and "=" not in arg and i + 1 < len(argv):
            front += argv[i:i + 2]
            i += 2
            continue
        if name in GLOBAL_VALUE_OPTIONS or arg in GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def invoked_command(argv: list[str]) -> str | None:
    """The command word of a hoisted argv (global options come first), or None (--help, --version…)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in GLOBAL_FLAGS:
            i += 1
        elif arg in GLOBAL_VALUE_OPTIONS:
            i += 2
        elif arg.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS:
            i += 1
        else:
            return None if arg.startswith("-") else arg
    return None


def main() -> None:
    """Run the CLI; map every error to the documented exit code (``core.errors.ExitCode``).

    A ``TenderxError`` is one line (``error:`` for usage errors, ``fatal:`` otherwise); an
    unexpected error is one line and exit 3, with the traceback only under ``--debug``."""
    try:
        args = hoist_global_options(sys.argv[1:])
        command = use_plain_metavars(typer.main.get_command(build_app(invoked_command(args))))
        command(args=args, prog_name=_prog_name())
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except TenderxError as e:
        code = exit_code_for(e)
        _print_traceback()
        label = {ExitCode.USAGE: "error", ExitCode.BELOW_GATE: "below gate"}.get(code, "fatal")
        err_console.print(f"[red]{label}:[/] {safe(mask_secrets(str(e)))}")
        raise SystemExit(code) from None
    except Exception as e:  # noqa: BLE001 — the last line of defence: no traceback for users
        _print_traceback()
        first = (str(e).strip().splitlines() or [""])[0][:300]
        message = mask_secrets(f"{type(e).__name__}: {first}" if first else type(e).__name__)
        hint = "" if State.debug else " (run with --debug for the traceback)"
        err_console.print(f"[red]fatal:[/] unexpected error: {safe(message)}{hint}")
        raise SystemExit(ExitCode.FATAL) from None


def _prog_name() -> str:
    """``tenderx``, or ``python -m extractor`` when run that way (as click would say)."""
    import os

    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "tenderx"
    return "python -m extractor" if name == "__main__.py" else name


def _print_traceback() -> None:
    if State.debug:
        import traceback

        print(mask_secrets(traceback.format_exc()), end="", file=sys.stderr)


if __name__ == "__main__":
    main()
