"""The built-in engines as ``Backend``s: the offline rules engine, the OpenAI-compatible LLM, and the
hybrid of the two (``backends.hybrid``)."""

from __future__ import annotations

from collections.abc import Callable

from extractor.backends.base import Backend, BackendOptions, Extraction, Retriever
from extractor.core.document import Document
from extractor.core.schema import Schema


class RulesBackend:
    """Deterministic, offline: labels, patterns and the watchlist (``backends.rules``)."""

    name = "rules"
    model: str | None = None
    needs_grounding = False  # every value is read off the page it quotes

    def extract(self, doc: Document, schema: Schema, *, retriever: Retriever | None = None) -> Extraction:
        from extractor.backends.rules import extract_rules_with_lots

        fields, lots = extract_rules_with_lots(doc, schema)
        return Extraction(fields, lots=lots)


class LLMBackend:
    """Any OpenAI-compatible chat-completions endpoint (``backends.llm``), with the response cache."""

    name = "llm"
    needs_grounding = True

    def __init__(self, options: BackendOptions) -> None:
        from extractor.backends.llm import LLMExtractor
        from extractor.backends.llm.cache import ResponseCache

        cache = ResponseCache(options.cache_path) if options.cache_path else None
        self.settings = options.settings
        self.extractor = LLMExtractor(options.settings, cache, cache_only=options.cache_only)

    @property
    def model(self) -> str | None:
        return self.settings.model

    def extract(self, doc: Document, schema: Schema, *, retriever: Retriever | None = None) -> Extraction:
        fields, usage = self.extractor.extract(doc, schema, retriever=retriever)
        return Extraction(fields, usage)




def _hybrid(options: BackendOptions) -> Backend:
    from extractor.backends.hybrid import HybridBackend

    return HybridBackend(options)


# (name, factory, description, needs an LLM): the registry registers these; nothing here imports it back
BUILTINS: tuple[tuple[str, Callable[[BackendOptions], Backend], str, bool], ...] = (
    ("rules", lambda options: RulesBackend(), "rules engine", False),
    ("llm", LLMBackend, "LLM", True),
    ("hybrid", _hybrid, "rules first, LLM for unsettled fields", True),
)
