"""File paths as tenderx records and prints them: canonical, printable, lossless.

Archives from Chinese sites often hold GBK-encoded file names, which Python
carries as lone surrogates (PEP 383); they cannot be written to JSON, SQLite
or a UTF-8 terminal. Records show such a name with backslash escapes and keep
its exact bytes in base64, so nothing is lost and nothing crashes.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

# C0/C1 control characters (escape sequences in a file name must not reach a terminal).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def canonical(path: str | os.PathLike[str]) -> Path:
    """The one path a document is known by: absolute, symlinks resolved (missing files too)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a printable str: undecodable bytes as ``\\xNN``, control chars escaped."""
    text = os.fspath(path)
    raw = os.fsencode(text)
    shown = raw.decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", shown)


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
