"""The hybrid backend: the rules engine first, the LLM only for what the rules cannot settle.

The rules engine rates every value (``high``/``low``) and knows which empty fields a notice
cannot have (no award on a tender, no GPU count without any AI words). The LLM is asked only
for the fields that are empty-but-unsettled or low-confidence, with the context retrieved for
just those fields, never the whole document; ``restricted_us_tech`` is asked whenever the
rules and the bare watchlist disagree (the rules mark it low then). A document the rules
settle completely costs no LLM call. Every value says which engine produced it (``engine``).
"""

from __future__ import annotations

from typing import Any

from extractor.backends.base import BackendOptions, Extraction, Retriever
from extractor.core.document import Document, FieldValue
from extractor.core.schema import Field, Schema


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


def fields_to_ask(values: dict[str, FieldValue], schema: Schema) -> list[Field]:
    """The fields the rules did not settle: low confidence, empty without being sure it is empty, or
    a value of the wrong shape (``core.shape``: it will not verify, so it is no settled value)."""
    from extractor.core.shape import checks_for_schema

    checks = checks_for_schema(schema.name)
    ask = []
    for f in schema.fields:
        fv = values.get(f.name)
        if fv is None or fv.confidence == "low" or (_empty(fv.value) and fv.confidence != "high") or (
                not _empty(fv.value) and checks.problem(f.name, fv.value, value_only=True) is not None):
            ask.append(f)
    return ask


def merge(rules: dict[str, FieldValue], llm: dict[str, FieldValue], asked: list[Field]) -> dict[str, FieldValue]:
    """The rules' values, with the LLM's answer for each asked field that it answered. An LLM null
    leaves a low-confidence rules value in place (the model found nothing better); an empty rules
    field stays empty."""
    out = dict(rules)
    for f in asked:
        answer = llm.get(f.name)
        if answer is None or _empty(answer.value):
            continue
        answer.engine = "llm"
        answer.confidence = None  # the model's own certainty is unknown; the pipeline verifies its quote
        answer.reason = None
        out[f.name] = answer
    return out


class HybridBackend:
    """Rules first; an OpenAI-compatible LLM for the unsettled fields only (``--backend hybrid``)."""

    name = "hybrid"
    needs_grounding = True  # the LLM's values are checked against the page and the rules' reading

    def __init__(self, options: BackendOptions) -> None:
        from extractor.backends.llm import LLMExtractor
        from extractor.backends.llm.cache import ResponseCache

        cache = ResponseCache(options.cache_path) if options.cache_path else None
        self.settings = options.settings
        self.llm = LLMExtractor(options.settings, cache)

    @property
    def model(self) -> str | None:
        return self.settings.model

    def extract(self, doc: Document, schema: Schema, *, retriever: Retriever | None = None) -> Extraction:
        from extractor.backends.rules import extract_rules_with_lots

        rules, lots = extract_rules_with_lots(doc, schema)
        for fv in rules.values():
            fv.engine = "rules"
        asked = fields_to_ask(rules, schema)
        if not asked:
            return Extraction(rules, lots=lots)
        answers, usage = self.llm.extract_subset(doc, schema, asked, retriever)
        return Extraction(merge(rules, answers, asked), usage, lots=lots)  # lots: the tables' reading
