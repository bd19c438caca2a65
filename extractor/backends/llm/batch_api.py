"""The provider's Batch API, for mass extraction at batch prices: upload, create, poll, download.

tenderx builds no queue of its own. Requests are written as the OpenAI Batch API
expects (JSONL of ``/v1/chat/completions`` bodies with a ``custom_id``), uploaded
to ``/v1/files``, run by the provider as ``/v1/batches``, and their output file
downloaded when the batch ends. Any endpoint implementing that API works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import openai

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


class BatchClient:
    """Thin, typed access to ``/v1/files`` and ``/v1/batches``; errors become ``TenderxError``s."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "not-needed",
                                    max_retries=2, timeout=max(settings.timeout, 60.0))

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
        with self._errors(f"look up batch {batch_id}"):
            b = self.client.batches.retrieve(batch_id)
        counts = b.request_counts
        errors = [f"{e.code}: {e.message}" for e in ((b.errors.data or []) if b.errors else [])]
        return BatchState(str(b.id), str(b.status), int(counts.total) if counts else 0,
                          int(counts.completed) if counts else 0, int(counts.failed) if counts else 0,
                          b.output_file_id, b.error_file_id, errors)

    def lines(self, file_id: str) -> list[BatchLine]:
        """The parsed lines of an output or error file."""
        with self._errors(f"download file {file_id}"):
            text = self.client.files.content(file_id).text
        out = []
        for raw in text.splitlines():
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            response = item.get("response") or {}
            error = item.get("error")
            body = response.get("body") if response.get("status_code") == 200 else None
            if body is None and not error:
                error = {"message": f"HTTP {response.get('status_code')}"}
            message = (error.get("message") if isinstance(error, dict) else str(error)) if error else None
            out.append(BatchLine(str(item.get("custom_id", "")), body, message))
        return out

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
