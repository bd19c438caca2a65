"""The provider's Batch API, for mass extraction at batch prices: upload, create, poll, download.

tenderx builds no queue of its own. Requests are written as the OpenAI Batch API
expects (JSONL of ``/v1/chat/completions`` bodies with a ``custom_id``), uploaded
to ``/v1/files``, run by the provider as ``/v1/batches``, and their output file
downloaded when the batch ends. Any endpoint implementing that API works.

Every request finishes within ``--timeout`` in total, read as it arrives (a server dripping one
byte a second never trips a per-read timeout). An output file is parsed line by line: a line
that is not an answer (a JSON array, a string body, ``usage: "many"``) is reported as a bad
line and the good answers are kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import openai
from openai.types import Batch

from extractor.core.config import LLMSettings
from extractor.core.errors import LLMAuthError, LLMConfigError, LLMRequestError, LLMUnavailableError

ENDPOINT: Final = "/v1/chat/completions"
FINAL_STATES = ("completed", "failed", "expired", "cancelled")


@dataclass
class BatchState:
    """What the provider says of a batch."""

    id: str
    status: str  # validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATES


@dataclass
class BatchLine:
    """One line of a batch's output or error file: the answer for one request, or why there is none."""

    custom_id: str
    body: dict[str, Any] | None  # the chat completion, when the request succeeded
    error: str | None
    warning: str | None = None  # the answer is kept, but part of the line was malformed


class _Streamed(Protocol):
    def iter_bytes(self) -> Iterator[bytes]: ...


def parse_line(raw: str, number: int) -> BatchLine:
    """One output-file line as a ``BatchLine``; a line that is not a well-formed answer becomes one
    whose ``error`` says why (its ``custom_id`` kept when it has one), never an exception."""
    try:
        item = json.loads(raw)
    except ValueError:
        return BatchLine("", None, f"line {number}: not JSON")
    if not isinstance(item, dict):
        return BatchLine("", None, f"line {number}: a JSON {type(item).__name__}, not an answer object")
    custom_id = item.get("custom_id")
    custom_id = custom_id if isinstance(custom_id, str) else ""
    response = item.get("response")
    response = response if isinstance(response, dict) else {}
    error = item.get("error")
    body = response.get("body") if response.get("status_code") == 200 else None
    if body is not None and not isinstance(body, dict):
        return BatchLine(custom_id, None, f"line {number}: the answer body is a {type(body).__name__}, "
                                          "not a chat completion")
    if body is not None and not _usage_ok(body.get("usage")):
        return BatchLine(custom_id, {**body, "usage": None}, None,
                         f"line {number}: malformed usage {str(body.get('usage'))[:40]!r}; its tokens count as unknown")
    if body is None and not error:
        error = {"message": f"HTTP {response.get('status_code')}"}
    message = (str(error.get("message")) if isinstance(error, dict) else str(error)) if error else None
    return BatchLine(custom_id, body, message)


def _usage_ok(usage: Any) -> bool:
    """No usage, or token counts that are whole non-negative numbers."""
    if usage is None:
        return True
    if not isinstance(usage, dict):
        return False
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens") if usage.get(k) is not None]
    return all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)


class BatchClient:
    """Thin, typed access to ``/v1/files`` and ``/v1/batches``; errors become ``TenderxError``s."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        # no retries inside the client: each request, retried or not, must end within the deadline
        self.client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "not-needed",
                                    max_retries=0, timeout=settings.timeout)

    def submit(self, lines: list[dict[str, Any]], metadata: dict[str, str] | None = None) -> str:
        """Upload the request lines and create the batch; returns its id."""
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        with self._errors("upload the batch input"):
            uploaded = self.client.files.create(file=("tenderx-batch.jsonl", data), purpose="batch")
        with self._errors("create the batch"):
            batch = self.client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT,
                                               completion_window="24h", metadata=metadata or None)
        return str(batch.id)

    def state(self, batch_id: str) -> BatchState:
        what = f"look up batch {batch_id}"
        raw = self._read(what, lambda: self.client.batches.with_streaming_response.retrieve(batch_id))
        try:
            b = Batch.model_validate_json(raw)
        except ValueError as e:
            raise LLMRequestError(f"cannot {what}: the endpoint's reply is not a batch ({str(e)[:120]})") from None
        counts = b.request_counts
        errors = [f"{e.code}: {e.message}" for e in ((b.errors.data or []) if b.errors else [])]
        return BatchState(str(b.id), str(b.status), int(counts.total) if counts else 0,
                          int(counts.completed) if counts else 0, int(counts.failed) if counts else 0,
                          b.output_file_id, b.error_file_id, errors)

    def lines(self, file_id: str) -> list[BatchLine]:
        """The parsed lines of an output or error file (a malformed line is a ``BatchLine`` with an error)."""
        raw = self._read(f"download file {file_id}",
                         lambda: self.client.files.with_streaming_response.content(file_id))
        text = raw.decode("utf-8", errors="replace")
        return [parse_line(line, i) for i, line in enumerate(text.splitlines(), 1) if line.strip()]

    def _read(self, what: str, open_stream: Callable[[], AbstractContextManager[_Streamed]]) -> bytes:
        """The whole body of one request, which must arrive within ``--timeout`` in total."""
        timeout = self.settings.timeout
        deadline = time.monotonic() + timeout
        body = bytearray()
        with self._errors(what), open_stream() as response:
            for chunk in response.iter_bytes():
                body += chunk
                if time.monotonic() > deadline:
                    raise LLMUnavailableError(f"cannot {what}: no complete answer within {timeout:g}s (--timeout)")
        return bytes(body)

    def _errors(self, what: str) -> _ErrorMap:
        return _ErrorMap(what, self.settings)


class _ErrorMap:
    """Turns the client's exceptions into one-line ``TenderxError``s (the key never shown)."""

    def __init__(self, what: str, settings: LLMSettings) -> None:
        self.what, self.settings = what, settings

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None, tb: object) -> None:
        if e is None or not isinstance(e, openai.OpenAIError):
            return
        text = " ".join(str(getattr(e, "message", e)).split())[:200]
        key = self.settings.api_key
        if key and len(key) >= 4:
            text = text.replace(key, "***")
        if isinstance(e, openai.AuthenticationError | openai.PermissionDeniedError):
            raise LLMAuthError("authentication failed: check OPENAI_API_KEY") from None
        if isinstance(e, openai.NotFoundError):
            raise LLMConfigError(f"cannot {self.what}: not found at the endpoint ({text}); does it implement "
                                 "the Batch API?") from None
        if isinstance(e, openai.APIStatusError):
            raise LLMRequestError(f"cannot {self.what}: HTTP {e.status_code}: {text}") from None
        raise LLMUnavailableError(f"cannot {self.what}: {text}") from None
