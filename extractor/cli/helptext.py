"""Help in words a user knows: click's classic value names (TEXT, PATH, INTEGER) instead of the Python type
names newer typer prints (``<bool>``, ``<list[Path]>``); flags show no value name at all.

typer has no setting for this, so the parameters of the built click command are given plain names once,
before it runs (instance attributes only: typer itself is not patched)."""

from __future__ import annotations

from typing import Any

import typer

_WORDS = {"str": "TEXT", "path": "PATH", "Path": "PATH", "int": "INTEGER", "int range": "INTEGER",
          "float": "NUMBER", "float range": "NUMBER", "bool": ""}


def plain_metavar(param: Any, ctx: typer.Context) -> str:
    """The value name to show for ``param`` ("" for a flag, the upper-case name for an argument)."""
    if param.param_type_name == "argument":
        return (param.name or "value").upper()
    if getattr(param, "is_flag", False):
        return ""
    display = getattr(param, "display_type", None)
    inner = display(ctx).strip("<>") if display else param.type.name
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[5:-1]
    return _WORDS.get(inner, inner.upper())


def _plain(param: Any, ctx: typer.Context) -> Any:
    if param.metavar is None:
        param.metavar = plain_metavar(param, ctx)
    shown = "" if param.param_type_name == "argument" else param.metavar
    param.display_type_rich = lambda ctx, shown=shown: shown or None
    return param


def use_plain_metavars(command: Any, parent: typer.Context | None = None) -> Any:
    """Plain value names for every parameter of ``command`` (the click command typer builds) and its
    subcommands, ``--help`` included."""
    ctx = typer.Context(command, parent=parent)
    for param in command.params:
        _plain(param, ctx)
    make_help = command.get_help_option

    def plain_help_option(ctx: typer.Context) -> Any:
        option = make_help(ctx)
        return _plain(option, ctx) if option is not None else None

    command.get_help_option = plain_help_option
    commands: dict[str, Any] = getattr(command, "commands", {})
    for sub in commands.values():
        use_plain_metavars(sub, ctx)
    return command
