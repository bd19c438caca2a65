"""The terminal every command writes to: stdout for results, stderr for progress and errors,
and the masking that keeps API keys out of anything printed."""

from __future__ import annotations

import logging
import os

from rich.console import Console

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
