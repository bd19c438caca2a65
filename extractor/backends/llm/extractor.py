"""Schema extraction through an OpenAI-compatible chat endpoint.

More than one API call: models return broken or truncated JSON, so one repair
round is fed the validation error and a cut-off reply is asked again for half
the fields; answers are cached; long documents are planned as a few calls
shown retrieved context (``index.context``). Evidence is verified by the
pipeline, in one place, like every backend's.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from extractor.backends.base import Retriever, Usage
from extractor.backends.llm.cache import ResponseCache, cache_key, endpoint_id
from extractor.backends.llm.client import ChatClient, prompt_tokens
from extractor.backends.llm.decoding import decode_json, error_text
from extractor.backends.llm.pricing import estimate_cost
from extractor.backends.llm.prompts import PROMPT_VERSION, build_messages, repair_message
from extractor.core.config import LLMSettings
from extractor.core.document import Chunk, Document, FieldValue, Page
from extractor.core.errors import LLMResponseError, LLMUnavailableError, TenderxError
from extractor.core.schema import Field, Schema, ValidationError
from extractor.core.tokens import count_tokens
from extractor.search.context import FieldSearch, merge_groups, select_chunks, with_tables

log = logging.getLogger("tenderx.llm")

_TABLE_TOKENS = 1200  # the retrieved pages' tables shown with a unit's chunks, at most this many tokens
_REPAIR_QUOTE_CHARS = 4000  # the repair round quotes this much of a bad answer back, never megabytes


_CELL_ID = re.compile(r"^\s*\[?\s*(p\d+t\d+r\d+c\d+)\s*\]?\s*$")


def fill_cited_cells(doc: Document, values: dict[str, FieldValue]) -> None:
    """A quote that is a cell id (``p1t1r2c3``) becomes that cell's text as the page shows it, with
    the cell's page and place: a cited cell cannot be misquoted. An unknown id stays as it is (and
    fails verification)."""
    for fv in values.values():
        m = _CELL_ID.match(fv.quote or "")
        found = doc.cell(m.group(1)) if m else None
        if found is None:
            continue
        page, table, cell = found
        quote = page.text[cell.start:cell.end] if cell.start is not None else cell.text
        fv.page, fv.quote = page.number, quote.strip() or cell.text
        fv.cell = {"cell": table.cell_id(cell)}
        if cell.bbox is not None:
            fv.cell["bbox"] = [round(x, 1) for x in cell.bbox]


@dataclass
class Unit:
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
                 max_split_depth: int = 3, sleep: Callable[[float], None] = time.sleep,
                 cache_only: bool = False) -> None:
        self.chat = ChatClient(settings, backoff_base=backoff_base, backoff_max=backoff_max,
                               retry_after_cap=retry_after_cap, max_total_wait=max_total_wait, sleep=sleep)
        self.settings = settings
        self.model = self.chat.model
        self.cache = cache
        self.jobs = max(1, jobs)
        self.max_prompt_tokens = max_prompt_tokens
        self.retrieval_k = retrieval_k
        self.retrieval_tokens_per_field = retrieval_tokens_per_field
        self.max_fields_per_call = max(1, max_fields_per_call)
        self.max_split_depth = max_split_depth
        self.cache_only = cache_only  # answers only from the cache (collected Batch API results)

    @property
    def mode(self) -> str:
        """The structured-output mode that currently works with this endpoint."""
        return self.chat.mode

    # --- public -----------------------------------------------------------------------------
    def extract(self, doc: Document, schema: Schema, retriever: Retriever | None = None
                ) -> tuple[dict[str, FieldValue], Usage]:
        """All schema fields of ``doc`` (null when not found) with evidence, and what it cost."""
        usage = Usage()
        lock = threading.Lock()

        def run(unit: Unit) -> tuple[dict[str, FieldValue], Usage]:
            try:
                unit_values, unit_usage = self._run_unit(doc, schema, unit)
            except TenderxError as e:  # what the failed unit cost still counts
                with lock:
                    usage.add(e.usage_so_far or Usage())
                raise
            with lock:
                usage.add(unit_usage)
            return unit_values, unit_usage

        try:
            units = self.plan(doc, schema, retriever)
            if len(units) == 1 or self.jobs == 1:
                results = [run(u) for u in units]
            else:
                with ThreadPoolExecutor(max_workers=min(self.jobs, len(units))) as pool:
                    results = list(pool.map(run, units))
            values: dict[str, FieldValue] = {}
            for unit_values, _ in results:
                values.update(unit_values)
            if not values and usage.warnings:
                raise LLMResponseError("no usable answer: " + "; ".join(usage.warnings)[:300])
        except TenderxError as e:
            usage.cost_usd = estimate_cost(self.model, usage.prompt_tokens, usage.completion_tokens)
            e.usage_so_far = usage
            raise
        usage.cost_usd = estimate_cost(self.model, usage.prompt_tokens, usage.completion_tokens)
        out = {f.name: values.get(f.name, FieldValue(None)) for f in schema.fields}
        fill_cited_cells(doc, out)
        return out, usage

    def extract_subset(self, doc: Document, schema: Schema, fields: Sequence[Field],
                       retriever: Retriever | None = None) -> tuple[dict[str, FieldValue], Usage]:
        """Only ``fields``, each shown only the context retrieved for it (never the whole document):
        what the hybrid backend asks when the rules engine cannot settle those fields."""
        usage = Usage()
        if not fields:
            return {}, usage
        search = FieldSearch(doc, retriever, self.retrieval_k)
        values: dict[str, FieldValue] = {}
        chosen = list(fields)
        for i in range(0, len(chosen), self.max_fields_per_call):
            part = chosen[i: i + self.max_fields_per_call]
            overhead = prompt_tokens(build_messages(schema, [], part))
            budget = min(self.max_prompt_tokens - overhead, self.retrieval_tokens_per_field * len(part))
            chunks = select_chunks([search.ranked(f) for f in part], max(300, budget))
            room = self.max_prompt_tokens - overhead - sum(c.tokens or count_tokens(c.text) for c in chunks)
            chunks = with_tables(doc, chunks, max(0, min(_TABLE_TOKENS, room)))
            ids = hashlib.sha256("\x1f".join(c.text for c in chunks).encode("utf-8")).hexdigest()[:16]
            group = "subset:" + ",".join(f.name for f in part)
            try:
                unit_values, unit_usage = self._run_unit(doc, schema, Unit(group, part, chunks, f"retrieval:{ids}"))
            except TenderxError as e:  # what was spent, priced, goes with the error
                usage.add(e.usage_so_far or Usage())
                usage.cost_usd = estimate_cost(self.model, usage.prompt_tokens, usage.completion_tokens)
                e.usage_so_far = usage
                raise
            values.update(unit_values)
            usage.add(unit_usage)
        usage.cost_usd = estimate_cost(self.model, usage.prompt_tokens, usage.completion_tokens)
        out = {f.name: values.get(f.name, FieldValue(None)) for f in chosen}
        fill_cited_cells(doc, out)
        return out, usage

    # --- planning: whole document or retrieved chunks per group -------------------------------
    def plan(self, doc: Document, schema: Schema, retriever: Retriever | None) -> list[Unit]:
        """Short documents go whole in one call; long ones as a few calls (groups merged up to
        ``max_fields_per_call`` fields, so the scaffolding is paid fewer times), each shown only
        the chunks retrieved for its fields within a token budget that grows with the field count."""
        whole = build_messages(schema, doc.pages, schema.fields)
        if prompt_tokens(whole) <= self.max_prompt_tokens:
            return [Unit("all", list(schema.fields), doc.pages, "whole")]
        search = FieldSearch(doc, retriever, self.retrieval_k)
        units = []
        for group, fields in merge_groups(schema.groups(), self.max_fields_per_call):
            overhead = prompt_tokens(build_messages(schema, [], fields))
            budget = min(self.max_prompt_tokens - overhead, self.retrieval_tokens_per_field * len(fields))
            chunks = select_chunks([search.ranked(f) for f in fields], max(300, budget))
            room = self.max_prompt_tokens - overhead - sum(c.tokens or count_tokens(c.text) for c in chunks)
            chunks = with_tables(doc, chunks, max(0, min(_TABLE_TOKENS, room)))
            ids = hashlib.sha256("\x1f".join(c.text for c in chunks).encode("utf-8")).hexdigest()[:16]
            units.append(Unit(group, fields, chunks, f"retrieval:{ids}"))
        return units

    def unit_key(self, doc: Document, schema: Schema, unit: Unit) -> str:
        """The response-cache key of one unit: the same for the online path and the Batch API."""
        return cache_key(self.model, PROMPT_VERSION, schema.fingerprint(), doc.sha256, unit.group, unit.kind,
                         endpoint_id(self.settings.base_url))

    def request_body(self, schema: Schema, unit: Unit) -> dict[str, Any]:
        """The chat-completions body for one unit, as the Batch API wants it (strict JSON Schema)."""
        return {"model": self.model, "messages": build_messages(schema, unit.parts, unit.fields), "temperature": 0,
                "max_tokens": self.settings.max_tokens,
                "response_format": self.chat.response_format("json_schema", schema, unit.fields)}

    # --- one unit: cache, request, split, repair ----------------------------------------------
    def _run_unit(self, doc: Document, schema: Schema, unit: Unit) -> tuple[dict[str, FieldValue], Usage]:
        usage = Usage()
        key = self.unit_key(doc, schema, unit)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None and hit.get("partial") and not self.cache_only:
                hit = None  # a batch answer with invalid fields: asked again online
            if hit is not None and isinstance(hit.get("fields"), dict):
                usage.cached_calls += 1
                return {n: FieldValue(v.get("value"), v.get("page"), v.get("quote"))
                        for n, v in hit["fields"].items()}, usage
        if self.cache_only:
            raise LLMUnavailableError(f"no answer for {unit.group} in the collected batch results: "
                                      "run `tenderx extract` to retry it online")
        try:
            values = self._extract_fields(schema, unit.fields, unit.parts, usage, depth=0)
        except TenderxError as e:
            e.usage_so_far = usage
            raise
        if self.cache is not None and not usage.warnings:
            self.cache.put(key, {
                "fields": {n: {"value": fv.value, "page": fv.page, "quote": fv.quote} for n, fv in values.items()},
                "usage": {"calls": usage.calls, "prompt_tokens": usage.prompt_tokens,
                          "completion_tokens": usage.completion_tokens},
                "mode": self.chat.mode,
            })
        return values, usage

    def _extract_fields(self, schema: Schema, fields: list[Field], parts: Sequence[Page] | Sequence[Chunk],
                        usage: Usage, depth: int) -> dict[str, FieldValue]:
        messages = build_messages(schema, parts, fields)
        content, finish = self.chat.complete(messages, schema, fields, usage)
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
            error = error_text(e)
        log.info("invalid reply, one repair round: %s", error.splitlines()[0] if error else "")
        shown = content if len(content) <= _REPAIR_QUOTE_CHARS else content[:_REPAIR_QUOTE_CHARS] + "\n…[cut]"
        repair = [*messages, {"role": "assistant", "content": shown}, repair_message(error[:_REPAIR_QUOTE_CHARS])]
        content2, finish2 = self.chat.complete(repair, schema, fields, usage)
        last_obj = first_obj
        if finish2 != "length":
            try:
                last_obj = decode_json(content2)
                return schema.validate(last_obj, fields)
            except (ValueError, ValidationError) as e:
                error = error_text(e)
        else:
            error = "repair reply cut off (finish_reason=length)"
        values, bad = schema.validate_partial(last_obj, fields) if last_obj is not None else ({}, fields)
        bad_names = [b if isinstance(b, str) else b.name for b in bad]
        usage.warnings.append(f"invalid after repair ({', '.join(bad_names)}): {error.splitlines()[0]}"[:300])
        return values
