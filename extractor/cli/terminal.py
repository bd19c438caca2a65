"""The terminal every command writes to: stdout for results, stderr for progress and errors,
and the masking that keeps API keys out of anything printed."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


class State:
    """Global CLI options (set by the top-level callback)."""

    debug = False


def secret_values() -> list[str]:
    names = ("OPENAI_API_KEY", "TENDERX_EMBED_API_KEY")
    return [v for v in (os.environ.get(n, "") for n in names) if len(v) >= 4]


def mask_secrets(text: str) -> str:
    for secret in secret_values():
        text = text.replace(secret, "***")
    return text


def mask_secrets_filter(record: logging.LogRecord) -> bool:
    """A logging filter: the formatted message with every secret masked."""
    record.msg = mask_secrets(record.getMessage())
    record.args = None
    return True


def enable_debug_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(mask_secrets_filter)
    handler.setFormatter(logging.Formatter("debug %(name)s: %(message)s"))
    logger = logging.getLogger("tenderx")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


# ANSI/VT escape sequences (CSI ``ESC [ … final``, OSC ``ESC ] … BEL`` such as title changes, and
# two-character escapes), then C0/C1 controls and bidi overrides that reorder what a reader sees.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: Any) -> str:
    """Document- or model-derived text made harmless for a terminal: escape sequences and control
    characters removed (tabs and newlines become spaces), nothing else changed."""
    text = _ESCAPE_SEQUENCE.sub("", str(value))
    return _CONTROL.sub("", text.replace("\t", " ").replace("\n", " ").replace("\r", " "))


def safe(value: Any) -> str:
    """``plain`` text with rich markup escaped, for embedding in a rich markup string."""
    return escape(plain(value))
