"""The chat-completions client: the structured-output ladder and bounded retries.

Endpoints differ (strict JSON Schema, JSON mode, or plain text only), networks
fail and rate limits bite. The client remembers per run which output mode the
endpoint accepts, retries 429/5xx/timeouts with backoff and ``Retry-After``
within bounded attempts and total wait, and turns every failure into a
``TenderxError`` whose message never contains the API key.

A request that fails after the endpoint answered is still paid for: a reply over the size cap
is drained (within the deadline, keeping only its tail) for the ``usage`` it reports, and a
reply that is not a chat completion is searched for one; when none is reported its tokens are
estimated. A request that timed out has no known usage: it is counted as ``unpriced_calls``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from extractor.backends.base import Usage
from extractor.core.config import LLMSettings
from extractor.core.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMRequestError,
    LLMResponseError,
    LLMUnavailableError,
)
from extractor.core.schema import Field, Schema
from extractor.core.tokens import count_tokens

log = logging.getLogger("tenderx.llm")

MODES = ("json_schema", "json_object", "text")


_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output", "not supported",
                 "unsupported")


_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}



_MAX_TOKENS_PER_CALL = 10_000_000  # more than any model's context: a count past it is a lying endpoint


class _DeadlineExceeded(Exception):
    """The request's total deadline passed while its body was still arriving (retried like a timeout)."""


class _BilledFailure(LLMResponseError):
    """An answer came but cannot be used; ``tokens`` is what it cost (reported or estimated)."""

    def __init__(self, message: str, tokens: tuple[int, int]) -> None:
        super().__init__(message)
        self.tokens = tokens


_USAGE_IN_TAIL = re.compile(rb'"usage"\s*:\s*(\{[^{}]*\})')
_TAIL_BYTES = 8192


class ChatClient:
    """One endpoint and model: ``complete(messages, ...) -> (content, finish_reason)``."""

    def __init__(self, settings: LLMSettings, *, backoff_base: float = 1.0, backoff_max: float = 30.0,
                 retry_after_cap: float = 60.0, max_total_wait: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.model:
            raise LLMConfigError("no model configured: set TENDERX_MODEL or pass --model")
        self.settings = settings
        self.model: str = settings.model
        self.max_attempts = max(1, settings.max_retries + 1)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self.max_total_wait = max_total_wait
        self._sleep = sleep
        self._mode = MODES[0]
        self._mode_lock = threading.Lock()
        self.client = openai.OpenAI(
            base_url=settings.base_url, api_key=settings.api_key or "not-needed", max_retries=0,
            timeout=settings.timeout, default_headers=dict(settings.extra_headers) or None,
        )

    @property
    def mode(self) -> str:
        """The structured-output mode that currently works with this endpoint."""
        return self._mode

    # --- the structured-output ladder ---------------------------------------------------------
    def response_format(self, mode: str, schema: Schema, fields: list[Field]) -> dict[str, Any] | None:
        if mode == "json_schema":
            name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{schema.name}_extraction")[:64]
            return {"type": "json_schema",
                    "json_schema": {"name": name, "strict": True, "schema": schema.json_schema(fields)}}
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    def complete(self, messages: list[dict[str, Any]], schema: Schema, fields: list[Field],
                  usage: Usage) -> tuple[str, str | None]:
        """(content, finish_reason), stepping down the output-mode ladder when the endpoint refuses."""
        while True:
            mode = self._mode
            fmt = self.response_format(mode, schema, fields)
            try:
                resp = self._create(messages, fmt, usage)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
                if _rejects_format(e) and mode != MODES[-1]:
                    self._step_down(mode)
                    continue
                raise LLMRequestError(f"the endpoint rejected the request ({self._describe(e)})") from None
            choice = resp.choices[0] if resp.choices else None
            content = (choice.message.content if choice and choice.message else None) or ""
            finish = choice.finish_reason if choice else None
            reported = resp.usage
            if (reported is not None and reported.prompt_tokens is not None
                    and 0 <= int(reported.prompt_tokens) <= _MAX_TOKENS_PER_CALL
                    and 0 <= int(reported.completion_tokens or 0) <= _MAX_TOKENS_PER_CALL):
                usage.prompt_tokens += int(reported.prompt_tokens or 0)
                usage.completion_tokens += int(reported.completion_tokens or 0)
            else:  # none reported, or impossible counts (negative, 1e15): count them ourselves
                usage.prompt_tokens += prompt_tokens(messages)
                usage.completion_tokens += count_tokens(content)
            return content, finish

    def _step_down(self, failed_mode: str) -> None:
        with self._mode_lock:
            if self._mode == failed_mode:
                self._mode = MODES[MODES.index(failed_mode) + 1]
                log.info("endpoint refused %s output; using %s from now on", failed_mode, self._mode)

    # --- retries --------------------------------------------------------------------------------
    def _create(self, messages: list[dict[str, Any]], fmt: dict[str, Any] | None, usage: Usage) -> Any:
        extra: dict[str, Any] = {"response_format": fmt} if fmt else {}
        started = time.monotonic()
        attempt = 0
        error: Exception
        while True:
            attempt += 1
            usage.calls += 1  # a request sent is a request paid for, whether or not it succeeds
            try:
                return self._send(messages, extra)
            except _DeadlineExceeded as e:
                usage.failed_calls += 1
                usage.unpriced_calls += 1
                wait = self._wait(e, attempt)
                error = e
            except _BilledFailure as e:  # an answer came, but an unusable one: paid for, not retried
                usage.failed_calls += 1
                usage.prompt_tokens += e.tokens[0]
                usage.completion_tokens += e.tokens[1]
                raise LLMResponseError(str(e)) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError):
                usage.failed_calls += 1
                raise LLMAuthError("authentication failed: check OPENAI_API_KEY") from None
            except openai.NotFoundError as e:
                usage.failed_calls += 1
                raise LLMConfigError(f"model {self.model!r} not found at the endpoint "
                                     f"({self._describe(e)}): check TENDERX_MODEL / --model and "
                                     "OPENAI_BASE_URL") from None
            except openai.RateLimitError as e:
                usage.failed_calls += 1
                if e.code == "insufficient_quota":
                    raise LLMConfigError(f"the account's quota is exhausted ({self._describe(e)})") from None
                wait = self._wait(e, attempt)
                error = e
            except openai.APIStatusError as e:
                usage.failed_calls += 1
                if isinstance(e, openai.BadRequestError | openai.UnprocessableEntityError):
                    raise  # the output-mode ladder decides
                if e.status_code not in _RETRYABLE_STATUS and e.status_code < 500:
                    raise LLMRequestError(f"the endpoint rejected the request ({self._describe(e)})") from None
                wait = self._wait(e, attempt)
                error = e
            except openai.APIConnectionError as e:  # includes APITimeoutError
                usage.failed_calls += 1
                if isinstance(e, openai.APITimeoutError):
                    usage.unpriced_calls += 1  # the endpoint may have worked on it: usage unknown
                wait = self._wait(e, attempt)
                error = e
            elapsed = time.monotonic() - started
            if attempt >= self.max_attempts or elapsed + wait > self.max_total_wait:
                raise LLMUnavailableError(f"LLM endpoint failed after {attempt} attempt(s) in {elapsed:.0f}s: "
                                          f"{self._describe(error)}") from None
            usage.retries += 1
            log.warning("LLM request failed (%s); retry %d in %.1fs", self._describe(error), attempt, wait)
            self._sleep(wait)

    def _send(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> ChatCompletion:
        """One request, its body read as it arrives: the whole request must finish within the
        deadline (a server dripping one byte a second never trips a per-read timeout) and the body
        stay under the size cap (a 10 MB reply is junk, not an answer)."""
        deadline = time.monotonic() + self.settings.timeout
        cap = self.settings.max_response_bytes
        body = bytearray()
        size = 0
        with self.client.chat.completions.with_streaming_response.create(
                model=self.model, messages=messages, temperature=0,  # type: ignore[arg-type]
                max_tokens=self.settings.max_tokens, **extra) as response:
            for chunk in response.iter_bytes():
                size += len(chunk)
                body += chunk
                if size > cap:  # drained for its usage, keeping only the tail
                    del body[:-_TAIL_BYTES]
                if time.monotonic() > deadline:
                    if size > cap:
                        raise _BilledFailure(f"the reply is larger than {cap:,} bytes; not an answer",
                                             self._billed(messages, bytes(body), size))
                    raise _DeadlineExceeded(f"no complete answer within {self.settings.timeout:g}s")
        if size > cap:
            raise _BilledFailure(f"the reply is larger than {cap:,} bytes; not an answer",
                                 self._billed(messages, bytes(body), size))
        try:
            return ChatCompletion.model_validate_json(bytes(body))
        except ValueError as e:
            raise _BilledFailure(f"the endpoint's reply is not a chat completion ({str(e)[:120]})",
                                 self._billed(messages, bytes(body[-_TAIL_BYTES:]), size)) from None

    def _billed(self, messages: list[dict[str, Any]], tail: bytes, size: int) -> tuple[int, int]:
        """(prompt, completion) tokens of an unusable reply: the usage it reports at its end, when
        plausible; else the prompt as sent and the reply's length (at most ``max_tokens``)."""
        for m in reversed(list(_USAGE_IN_TAIL.finditer(tail))):
            try:
                reported = json.loads(m.group(1))
                p, c = int(reported.get("prompt_tokens") or 0), int(reported.get("completion_tokens") or 0)
            except (ValueError, TypeError, AttributeError):
                continue
            if 0 <= p <= _MAX_TOKENS_PER_CALL and 0 <= c <= _MAX_TOKENS_PER_CALL:
                return p, c
        return prompt_tokens(messages), min(self.settings.max_tokens, size // 4)

    def _wait(self, e: Exception, attempt: int) -> float:
        response = getattr(e, "response", None)
        asked = retry_after_seconds(response.headers if response is not None else None, self.retry_after_cap)
        if asked is not None:
            return asked
        backoff = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)  # jitter spreads concurrent retries

    def _describe(self, e: Exception) -> str:
        if isinstance(e, _DeadlineExceeded):
            text = str(e)
        elif isinstance(e, openai.APITimeoutError):
            text = f"timed out after {self.settings.timeout:g}s"
        elif isinstance(e, openai.APIStatusError):
            text = f"HTTP {e.status_code}: {' '.join(str(e.message).split())[:200]}"
        elif isinstance(e, openai.APIConnectionError):
            text = f"connection error: {' '.join(str(e).split())[:200]}"
        else:
            text = f"{type(e).__name__}: {str(e)[:200]}"
        key = self.settings.api_key
        if key and len(key) >= 4:
            text = text.replace(key, "***")
        return text


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """tiktoken estimate of a chat prompt (content plus a few tokens of framing per message)."""
    return sum(count_tokens(str(m.get("content") or "")) + 4 for m in messages) + 2


def retry_after_seconds(headers: Any, cap: float) -> float | None:
    """Server-requested wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date), capped."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return min(cap, max(0.0, float(ms) / 1000))
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return min(cap, max(0.0, float(raw)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return min(cap, max(0.0, when.timestamp() - time.time()))



def _rejects_format(e: openai.APIStatusError) -> bool:
    text = f"{e.message} {json.dumps(e.body, ensure_ascii=False) if e.body is not None else ''}".lower()
    return any(w in text for w in _FORMAT_WORDS)
