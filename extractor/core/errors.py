"""One error root for tenderx, and the documented exit codes.

Every error tenderx raises on purpose is a ``TenderxError``; each class says
which exit code it means, so the CLI maps errors to codes in one place
(``exit_code_for``) and a library user can catch one base class.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The exit codes every command documents (README, "What happens when things go wrong")."""

    OK = 0  # everything succeeded
    PARTIAL = 1  # the run completed, but some input files failed (each listed)
    USAGE = 2  # bad flag, missing path, malformed gold/schema file, nothing readable
    FATAL = 3  # nothing done: store locked, LLM key rejected, unknown model, unexpected error
    BELOW_GATE = 4  # `eval` finished, but a score is below its gate (--fail-under, --min-verified-precision)
    INTERRUPTED = 130  # Ctrl-C


class TenderxError(Exception):
    """Root of every error tenderx raises on purpose."""

    exit_code: ExitCode = ExitCode.FATAL
    usage_so_far: Any = None  # what the failed work had cost (an LLM backend's Usage), for the record


class UsageError(TenderxError, ValueError):
    """The caller asked for something that cannot work (bad option, path, schema, gold file)."""

    exit_code = ExitCode.USAGE


class ReadError(TenderxError):
    """One input file could not be read; ``kind`` is a short machine-readable reason."""

    exit_code = ExitCode.PARTIAL

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[ReadError], tuple[str, str]]:
        # readers run in worker processes: the error must survive pickling whole
        return (self.__class__, (self.kind, self.message))


class StoreError(TenderxError):
    """The store cannot be opened or written."""


class StoreLocked(StoreError):
    """Another tenderx process is writing this store."""

    def __init__(self, path: object, pid: int | None) -> None:
        self.pid = pid
        who = f"pid {pid}" if pid else "unknown pid"
        super().__init__(f"store {path} is being written by another tenderx process ({who}); "
                         "wait for it to finish or use another --store")


class EmbedderMismatch(StoreError):
    """The store holds vectors of another embedder than the one asked for."""


class EmbeddingError(TenderxError):
    """The embedder could not be loaded or did not answer."""


class SchemaError(UsageError):
    """A schema file is malformed."""


class EvalInputError(UsageError):
    """A gold or predictions file is malformed, or a gold file has no document."""


class QualityGateError(TenderxError):
    """An evaluation scored below a threshold the caller set (a CI gate on accuracy or trust)."""

    exit_code = ExitCode.BELOW_GATE


class PromptNotFound(TenderxError, FileNotFoundError):
    """A prompt file named by kind, version and role does not exist."""


class LLMError(TenderxError):
    """Base of the LLM backend's errors."""


class LLMAuthError(LLMError):
    """The endpoint rejected the key (401/403): fatal, nothing more is tried."""


class LLMConfigError(LLMError):
    """The endpoint or model is misconfigured (unknown model, no model set)."""


class LLMUnavailableError(LLMError):
    """The endpoint did not answer after every retry."""


class LLMRequestError(LLMError):
    """The endpoint refused this request (4xx other than auth)."""


class LLMResponseError(LLMError):
    """The answer could not be decoded or validated, even after a repair round."""


def exit_code_for(error: BaseException) -> ExitCode:
    """The documented exit code for an error that ends a command."""
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, TenderxError):
        return error.exit_code
    return ExitCode.FATAL
