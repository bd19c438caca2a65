"""File paths as tenderx records and prints them: canonical, printable, lossless.

Archives from Chinese sites often hold GBK-encoded file names, which Python
carries as lone surrogates (PEP 383); they cannot be written to JSON, SQLite
or a UTF-8 terminal. Records show such a name with backslash escapes and keep
its exact bytes in base64, so nothing is lost and nothing crashes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path


def canonical(path: str | os.PathLike[str]) -> Path:
    """The one path a document is known by: absolute, symlinks resolved (missing files too)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a str UTF-8 can hold: undecodable bytes as ``\\xNN`` (terminal output is
    sanitised separately, by ``cli.terminal.safe``)."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def path_bytes_b64(path: str | os.PathLike[str]) -> str | None:
    """The path's exact bytes in base64 when ``display_path`` had to change it, else None."""
    text = os.fspath(path)
    if display_path(text) == text:
        return None
    return base64.b64encode(os.fsencode(text)).decode("ascii")


def path_from_record(file: str, file_bytes_b64: str | None = None) -> Path:
    """The real path behind a record's ``file`` (and ``file_bytes_b64`` when present)."""
    if file_bytes_b64:
        return Path(os.fsdecode(base64.b64decode(file_bytes_b64)))
    return Path(file)


def relative_name(file: str | os.PathLike[str], roots: list[Path]) -> str:
    """How a published output names a file: relative to the input folder it was found under (the
    folder's own name first, ``samples/web/x.html``), else its bare name — never the local absolute path."""
    path = canonical(file)
    for root in roots:
        base = canonical(root)
        if path == base:
            return display_path(path.name)
        if base in path.parents:
            return display_path(Path(base.name, path.relative_to(base)).as_posix())
    return display_path(path.name)


def published_file(rec: dict[str, object]) -> str:
    """A record's file as published: its ``relpath`` (written by extract), else the bare file name."""
    rel = rec.get("relpath")
    if isinstance(rel, str) and rel:
        return rel
    return Path(str(rec.get("file") or "")).name
