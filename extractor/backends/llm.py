"""Schema extraction through any OpenAI-compatible chat endpoint.

Why this is more than one API call: endpoints differ (strict JSON Schema,
JSON mode, or plain text only), models return broken or truncated JSON,
networks fail and rate limits bite. So: a structured-output ladder remembered
per run, one repair round fed with the validation error, halving the field
set when the reply is cut off, our own retries with backoff and Retry-After,
a response cache, retrieval for long documents, and token/cost accounting.
The API key never appears in any message we raise or log.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import itertools
import json
import logging
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai

from extractor.backends.base import Usage
from extractor.backends.cache import ResponseCache, cache_key
from extractor.backends.prompting import PROMPT_VERSION, build_messages, repair_message
from extractor.core.config import LLMSettings
from extractor.core.document import Chunk, Document, FieldValue, Page
from extractor.core.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMRequestError,
    LLMResponseError,
    LLMUnavailableError,
)
from extractor.core.schema import Field, Schema, ValidationError
from extractor.core.tokens import count_tokens

log = logging.getLogger("tenderx.llm")

Retriever = Callable[[str, int], list[Chunk]]

# USD per 1M tokens (input, output), list prices when written; dated snapshots match by prefix.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "deepseek-chat": (0.27, 1.10),
    "qwen-plus": (0.40, 1.20),
}

MODES = ("json_schema", "json_object", "text")
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output", "not supported",
                 "unsupported")
_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}





def price_for(model: str) -> tuple[float, float] | None:
    name = model.rsplit("/", 1)[-1].lower()
    if name in PRICES:
        return PRICES[name]
    prefixes = [k for k in PRICES if name.startswith(k + "-")]
    return PRICES[max(prefixes, key=len)] if prefixes else None


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the tokens, or None for a model not in ``PRICES``."""
    price = price_for(model)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 8)


def decode_json(text: str) -> Any:
    """The JSON object in a reply: bare, inside a code fence, or between the outer braces."""
    text = (text or "").strip()
    candidates = [text]
    candidates += re.findall(r"```(?:json|JSON)?\s*(.*?)```", text, flags=re.DOTALL)
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first:last + 1])
    for c in candidates:
        try:
            return json.loads(c)
        except json.JSONDecodeError:
            continue
    snippet = " ".join(text.split())[:120]
    raise ValueError(f"the reply is not a valid JSON object (starts with: {snippet!r})")


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


def _error_text(e: Exception) -> str:
    """A validation/parse error as short text for the repair prompt."""
    if isinstance(e, ValidationError):
        lines = [ln for ln in str(e).splitlines() if "errors.pydantic.dev" not in ln]
        return "\n".join(lines[:40])
    return str(e)


@dataclass
class _Unit:
    """One request: a field group asked from some pages or chunks."""

    group: str
    fields: list[Field]
    parts: Sequence[Page] | Sequence[Chunk]
    kind: str


class LLMExtractor:
    """Extracts a schema's fields from a document with an OpenAI-compatible endpoint."""

    def __init__(self, settings: LLMSettings, cache: ResponseCache | None = None, jobs: int = 4, *,
                 max_prompt_tokens: int = 6000, retrieval_k: int = 8, retrieval_tokens_per_field: int = 240,
                 max_fields_per_call: int = 10, backoff_base: float = 1.0,
                 backoff_max: float = 30.0, retry_after_cap: float = 60.0, max_total_wait: float = 300.0,
                 max_split_depth: int = 3, sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.model:
            raise LLMConfigError("no model configured: set TENDERX_MODEL or pass --model")
        self.settings = settings
        self.model = settings.model
        self.cache = cache
        self.jobs = max(1, jobs)
        self.max_prompt_tokens = max_prompt_tokens
        self.retrieval_k = retrieval_k
        self.retrieval_tokens_per_field = retrieval_tokens_per_field
        self.max_fields_per_call = max(1, max_fields_per_call)
        self.max_attempts = max(1, settings.max_retries + 1)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self.max_total_wait = max_total_wait
        self.max_split_depth = max_split_depth
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

    # --- public -----------------------------------------------------------------------------
    def extract(self, doc: Document, schema: Schema, retriever: Retriever | None = None
                ) -> tuple[dict[str, FieldValue], Usage]:
        """All schema fields of ``doc`` (null when not found) with evidence, and what it cost."""
        usage = Usage()
        units = self._plan(doc, schema, retriever)
        if len(units) == 1 or self.jobs == 1:
            results = [self._run_unit(doc, schema, u) for u in units]
        else:
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(units))) as pool:
                results = list(pool.map(lambda u: self._run_unit(doc, schema, u), units))
        values: dict[str, FieldValue] = {}
        for unit_values, unit_usage in results:
            values.update(unit_values)
            usage.add(unit_usage)
        usage.cost_usd = estimate_cost(self.model, usage.prompt_tokens, usage.completion_tokens)
        if not values and usage.warnings:
            raise LLMResponseError("no usable answer: " + "; ".join(usage.warnings)[:300])
        out = {f.name: values.get(f.name, FieldValue(None)) for f in schema.fields}
        _verify_evidence(doc, out)
        return out, usage

    # --- planning: whole document or retrieved chunks per group -------------------------------
    def _plan(self, doc: Document, schema: Schema, retriever: Retriever | None) -> list[_Unit]:
        """Short documents go whole in one call; long ones as a few calls (groups merged up to
        ``max_fields_per_call`` fields, so the scaffolding is paid fewer times), each shown only
        the chunks retrieved for its fields within a token budget that grows with the field count."""
        whole = build_messages(schema, doc.pages, schema.fields)
        if prompt_tokens(whole) <= self.max_prompt_tokens:
            return [_Unit("all", list(schema.fields), doc.pages, "whole")]
        search = _Search(doc, retriever, self.retrieval_k)
        units = []
        for group, fields in merge_groups(schema.groups(), self.max_fields_per_call):
            overhead = prompt_tokens(build_messages(schema, [], fields))
            budget = min(self.max_prompt_tokens - overhead, self.retrieval_tokens_per_field * len(fields))
            chunks = select_chunks([search.ranked(f) for f in fields], max(300, budget))
            ids = hashlib.sha256("\x1f".join(c.text for c in chunks).encode("utf-8")).hexdigest()[:16]
            units.append(_Unit(group, fields, chunks, f"retrieval:{ids}"))
        return units

    # --- one unit: cache, request, split, repair ----------------------------------------------
    def _run_unit(self, doc: Document, schema: Schema, unit: _Unit) -> tuple[dict[str, FieldValue], Usage]:
        usage = Usage()
        key = cache_key(self.model, PROMPT_VERSION, schema.fingerprint(), doc.sha256, unit.group, unit.kind)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None and isinstance(hit.get("fields"), dict):
                usage.cached_calls += 1
                return {n: FieldValue(v.get("value"), v.get("page"), v.get("quote"))
                        for n, v in hit["fields"].items()}, usage
        values = self._extract_fields(schema, unit.fields, unit.parts, usage, depth=0)
        if self.cache is not None and not usage.warnings:
            self.cache.put(key, {
                "fields": {n: {"value": fv.value, "page": fv.page, "quote": fv.quote} for n, fv in values.items()},
                "usage": {"calls": usage.calls, "prompt_tokens": usage.prompt_tokens,
                          "completion_tokens": usage.completion_tokens},
                "mode": self._mode,
            })
        return values, usage

    def _extract_fields(self, schema: Schema, fields: list[Field], parts: Sequence[Page] | Sequence[Chunk],
                        usage: Usage, depth: int) -> dict[str, FieldValue]:
        messages = build_messages(schema, parts, fields)
        content, finish = self._complete(messages, schema, fields, usage)
        if finish == "length":
            if len(fields) > 1 and depth < self.max_split_depth:
                half = len(fields) // 2
                log.info("reply cut off; asking for %d and %d fields separately", half, len(fields) - half)
                out = self._extract_fields(schema, fields[:half], parts, usage, depth + 1)
                out.update(self._extract_fields(schema, fields[half:], parts, usage, depth + 1))
                return out
            usage.warnings.append(f"reply cut off (finish_reason=length) for {', '.join(f.name for f in fields)}")
            return {}
        first_obj: Any = None
        try:
            first_obj = decode_json(content)
            return schema.validate(first_obj, fields)
        except (ValueError, ValidationError) as e:
            error = _error_text(e)
        log.info("invalid reply, one repair round: %s", error.splitlines()[0] if error else "")
        repair = [*messages, {"role": "assistant", "content": content}, repair_message(error)]
        content2, finish2 = self._complete(repair, schema, fields, usage)
        last_obj = first_obj
        if finish2 != "length":
            try:
                last_obj = decode_json(content2)
                return schema.validate(last_obj, fields)
            except (ValueError, ValidationError) as e:
                error = _error_text(e)
        else:
            error = "repair reply cut off (finish_reason=length)"
        values, bad = schema.validate_partial(last_obj, fields) if last_obj is not None else ({}, fields)
        bad_names = [b if isinstance(b, str) else b.name for b in bad]
        usage.warnings.append(f"invalid after repair ({', '.join(bad_names)}): {error.splitlines()[0]}"[:300])
        return values

    # --- the structured-output ladder ---------------------------------------------------------
    def _response_format(self, mode: str, schema: Schema, fields: list[Field]) -> dict[str, Any] | None:
        if mode == "json_schema":
            name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{schema.name}_extraction")[:64]
            return {"type": "json_schema",
                    "json_schema": {"name": name, "strict": True, "schema": schema.json_schema(fields)}}
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    def _complete(self, messages: list[dict[str, Any]], schema: Schema, fields: list[Field],
                  usage: Usage) -> tuple[str, str | None]:
        """(content, finish_reason), stepping down the output-mode ladder when the endpoint refuses."""
        while True:
            mode = self._mode
            fmt = self._response_format(mode, schema, fields)
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
            if resp.usage is not None and resp.usage.prompt_tokens is not None:
                usage.prompt_tokens += int(resp.usage.prompt_tokens or 0)
                usage.completion_tokens += int(resp.usage.completion_tokens or 0)
            else:
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
        while True:
            attempt += 1
            try:
                resp = self.client.chat.completions.create(
                    model=self.model, messages=messages, temperature=0, **extra)  # type: ignore[arg-type]
                usage.calls += 1
                return resp
            except (openai.AuthenticationError, openai.PermissionDeniedError):
                raise LLMAuthError("authentication failed: check OPENAI_API_KEY") from None
            except openai.NotFoundError as e:
                raise LLMConfigError(f"model {self.model!r} not found at the endpoint "
                                     f"({self._describe(e)}): check TENDERX_MODEL / --model and "
                                     "OPENAI_BASE_URL") from None
            except openai.RateLimitError as e:
                if e.code == "insufficient_quota":
                    raise LLMConfigError(f"the account's quota is exhausted ({self._describe(e)})") from None
                wait = self._wait(e, attempt)
                error: Exception = e
            except openai.APIStatusError as e:
                if isinstance(e, openai.BadRequestError | openai.UnprocessableEntityError):
                    raise  # the output-mode ladder decides
                if e.status_code not in _RETRYABLE_STATUS and e.status_code < 500:
                    raise LLMRequestError(f"the endpoint rejected the request ({self._describe(e)})") from None
                wait = self._wait(e, attempt)
                error = e
            except openai.APIConnectionError as e:  # includes APITimeoutError
                wait = self._wait(e, attempt)
                error = e
            elapsed = time.monotonic() - started
            if attempt >= self.max_attempts or elapsed + wait > self.max_total_wait:
                raise LLMUnavailableError(f"LLM endpoint failed after {attempt} attempt(s) in {elapsed:.0f}s: "
                                          f"{self._describe(error)}") from None
            usage.retries += 1
            log.warning("LLM request failed (%s); retry %d in %.1fs", self._describe(error), attempt, wait)
            self._sleep(wait)

    def _wait(self, e: Exception, attempt: int) -> float:
        response = getattr(e, "response", None)
        asked = retry_after_seconds(response.headers if response is not None else None, self.retry_after_cap)
        if asked is not None:
            return asked
        backoff = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)  # jitter spreads concurrent retries

    def _describe(self, e: Exception) -> str:
        if isinstance(e, openai.APITimeoutError):
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


def _rejects_format(e: openai.APIStatusError) -> bool:
    text = f"{e.message} {json.dumps(e.body, ensure_ascii=False) if e.body is not None else ''}".lower()
    return any(w in text for w in _FORMAT_WORDS)


def group_query(fields: Sequence[Field]) -> str:
    """Search text for a field group: its Chinese labels first, then short descriptions."""
    labels = [lab for f in fields for lab in f.labels]
    desc = [" ".join(f.description.split())[:80] for f in fields if f.description]
    return " ".join([*labels, *desc])


_CJK_TERM = re.compile(r"[\u3400-\u9fff]{2,}")


def field_query(f: Field) -> str:
    """Search text for one field: its Chinese labels, then the Chinese terms of its description
    (``公开招标``, ``采购意向公开``...). English prose is left out: it only dilutes BM25 and the
    dense query, and Chinese tenders do not contain it."""
    terms = [*f.labels, *_CJK_TERM.findall(f.description or "")]
    return " ".join(dict.fromkeys(terms)) or f.name


def merge_groups(groups: dict[str, list[Field]], max_fields: int) -> list[tuple[str, list[Field]]]:
    """Consecutive schema groups packed into calls of at most ``max_fields`` fields (a group is
    never split): each call repeats the system prompt, so fewer calls send fewer tokens."""
    merged: list[tuple[str, list[Field]]] = []
    for name, fields in groups.items():
        if merged and len(merged[-1][1]) + len(fields) <= max_fields:
            merged[-1] = (f"{merged[-1][0]}+{name}", [*merged[-1][1], *fields])
        else:
            merged.append((name, list(fields)))
    return merged


class _Search:
    """Per-field candidates: the lines of the document where a field's label introduces a value
    (``采购人：…``, a label alone on its line above its value; for dates, a line that is only a
    date, as under a notice's signature) taken in turns with the retriever's chunks. BM25 and
    vectors favour chunks that repeat a label, such as contract clauses; the labelled line is
    what holds the value. Without a retriever (or once it fails: a broken store is not asked
    again) the chunks are label-ranked page windows."""

    def __init__(self, doc: Document, retriever: Retriever | None, k: int, lines_per_field: int = 3) -> None:
        self.doc = doc
        self.retriever = retriever
        self.k = k
        self.lines_per_field = lines_per_field

    def ranked(self, f: Field) -> list[Chunk]:
        found: list[Chunk] = []
        if self.retriever is not None:
            try:
                found = list(self.retriever(field_query(f), self.k))
            except Exception as e:  # noqa: BLE001 — a broken store must not stop extraction
                log.warning("retriever failed (%s); ranking pages by labels instead", type(e).__name__)
                self.retriever = None
        if self.retriever is None:  # a retriever finding nothing for a field is an answer, not a failure
            found = _rank_page_windows(self.doc, [f])[: self.k]
        lines = labelled_lines(self.doc, f, self.lines_per_field)
        turns = [c for pair in itertools.zip_longest(lines, found) for c in pair if c is not None]
        return turns


def labelled_lines(doc: Document, f: Field, limit: int = 3, context: int = 1) -> list[Chunk]:
    """The first ``limit`` distinct lines (document order) where one of ``f``'s labels introduces
    a value, a date-only line (date fields) or a line naming a watchlist item the field's
    description names, each with ``context`` lines either side, as page-text excerpts (quotes
    stay verbatim)."""
    labels = [_squashed(lab) for lab in f.labels if _squashed(lab)]
    items = _named_items(f.description or "")
    out: list[Chunk] = []
    seen: set[str] = set()
    for page in doc.pages:
        lines = page.text.splitlines(keepends=True)
        starts = list(itertools.accumulate((len(x) for x in lines), initial=0))
        for i, line in enumerate(lines):
            sq = _squashed(line)
            if not sq or sq in seen:
                continue
            if not (_introduces(sq, labels) or (f.type == "date" and _is_date_line(sq))
                    or (items and items & _named_items(line))):
                continue
            seen.add(sq)
            lo, hi = max(0, i - context), min(len(lines), i + context + 1)
            text = "".join(lines[lo:hi]).strip()
            out.append(Chunk(id=f"{doc.sha256[:12]}-p{page.number}-L{lo}", doc_sha256=doc.sha256, file=doc.path,
                             text=text, page_start=page.number, page_end=page.number, char_start=starts[lo],
                             char_end=starts[hi], index=-1, tokens=count_tokens(text)))
            if len(out) >= limit:
                return out
    return out


@functools.lru_cache(maxsize=65536)
def _named_items(text: str) -> frozenset[str]:
    """Watchlist items (chips, clouds, models) a text names: a field whose description lists
    canonical names (``NVIDIA H800``…) is anchored on the lines naming one of them (``8块H800``)."""
    try:
        from extractor.core.watchlist import find_mentions
    except ImportError:  # a schema-only install without the watchlist: labels alone
        return frozenset()
    return frozenset(m.canonical for m in find_mentions(text))


def _introduces(line: str, labels: Sequence[str]) -> bool:
    """The (whitespace-free) line gives a label's value: ``label：…`` anywhere, or the label alone."""
    return any(line == lab or f"{lab}：" in line or f"{lab}:" in line for lab in labels)


_DATE_LINE = re.compile(r"^(?:\d{4}|[〇○零一二三四五六七八九]{4})年[\d〇○零一二三四五六七八九十]{1,2}月"
                        r"[\d〇○零一二三四五六七八九十]{1,3}日$")


def _is_date_line(line: str) -> bool:
    return bool(_DATE_LINE.match(unicodedata.normalize("NFKC", line)))


def select_chunks(rankings: Sequence[Sequence[Chunk]], budget: int) -> list[Chunk]:
    """Chunks for one call: the fields' rankings taken in turns (every field's best chunk
    before any field's second), duplicates and chunks already covered by a chosen one skipped,
    within ``budget`` tokens; overlapping neighbours merged and the result in page order."""
    chosen: list[Chunk] = []
    seen: set[str] = set()
    used = 0
    depth = max((len(r) for r in rankings), default=0)
    for rank in range(depth):
        for ranking in rankings:
            if rank >= len(ranking):
                continue
            c = ranking[rank]
            text = _squashed(c.text)
            if c.id in seen or any(text in _squashed(o.text) for o in chosen):
                seen.add(c.id)
                continue
            covered = [o for o in chosen if _squashed(o.text) in text]  # a line excerpt inside c
            cost = _tokens(c) - sum(_tokens(o) for o in covered)
            if chosen and used + cost > budget:
                continue
            chosen = [o for o in chosen if o not in covered] + [c]
            seen.add(c.id)
            used += cost
    return merge_overlaps(sorted(chosen, key=lambda c: (c.page_start, c.char_start, c.index)))


def _tokens(c: Chunk) -> int:
    return c.tokens or count_tokens(c.text)


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def merge_overlaps(chunks: Sequence[Chunk], min_overlap: int = 8) -> list[Chunk]:
    """Neighbouring chunks (in page order) that share text — the chunker's overlap — joined into
    one, so the shared text is sent once. Only an exact suffix/prefix match is merged."""
    out: list[Chunk] = []
    for c in chunks:
        prev = out[-1] if out else None
        shared = _shared_edge(prev.text, c.text, min_overlap) if prev and prev.page_end >= c.page_start - 1 else 0
        if prev is None or not shared:
            out.append(c)
            continue
        out[-1] = Chunk(id=f"{prev.id}+{c.id}", doc_sha256=prev.doc_sha256, file=prev.file,
                        text=prev.text + c.text[shared:], page_start=prev.page_start,
                        page_end=max(prev.page_end, c.page_end), char_start=prev.char_start,
                        char_end=c.char_end, index=prev.index,
                        tokens=(prev.tokens or count_tokens(prev.text)) + count_tokens(c.text[shared:]))
    return out


def _shared_edge(a: str, b: str, min_len: int) -> int:
    """Length of the longest suffix of ``a`` that is a prefix of ``b`` (0 below ``min_len``)."""
    for n in range(min(len(a), len(b)), min_len - 1, -1):
        if a.endswith(b[:n]):
            return n
    return 0


def _rank_page_windows(doc: Document, fields: Sequence[Field], window_chars: int = 1500) -> list[Chunk]:
    """Without a retriever: page windows ranked by how many of the fields' labels they contain."""
    labels = [lab for f in fields for lab in f.labels]
    windows: list[tuple[int, Chunk]] = []
    for page in doc.pages:
        text = page.text or page.clean
        for start in range(0, max(1, len(text)), window_chars):
            piece = text[start:start + window_chars]
            if not piece.strip():
                continue
            score = sum(piece.count(lab) for lab in labels)
            chunk = Chunk(id=f"{doc.sha256[:12]}-p{page.number}-{start}", doc_sha256=doc.sha256, file=doc.path,
                          text=piece, page_start=page.number, page_end=page.number, char_start=start,
                          char_end=start + len(piece), index=len(windows))
            windows.append((score, chunk))
    windows.sort(key=lambda sc: (-sc[0], sc[1].index))
    return [c for _, c in windows]


def _verify_evidence(doc: Document, values: dict[str, FieldValue]) -> None:
    """Mark each non-empty value verified only when its quote is on its page."""
    try:
        from extractor.core.evidence import verify
    except ImportError:  # evidence.py not present: fall back to a plain whitespace-insensitive check
        verify = _quote_on_page
    for fv in values.values():
        if fv.value is None or fv.value == [] or fv.value == "":
            fv.verified = None
            continue
        fv.verified = bool(fv.quote) and fv.page is not None and bool(verify(doc, fv))


def _quote_on_page(doc: Document, fv: FieldValue) -> bool:
    squash = re.compile(r"\s+")
    page = next((p for p in doc.pages if p.number == fv.page), None)
    if page is None or not fv.quote:
        return False
    quote = squash.sub("", fv.quote)
    return bool(quote) and (quote in squash.sub("", page.text) or quote in squash.sub("", page.clean))
