"""The one interface every extraction backend implements, and the one result type it returns.

A backend turns a read ``Document`` into field values with evidence. The
pipeline does not know which backend it drives: it asks the registry for one by
name, calls ``extract`` and gets an ``Extraction`` back, whatever the engine.
Evidence is verified afterwards, in one place (``core.evidence``), for every
backend alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["Backend", "Extraction", "Retriever", "Usage"]

from extractor.core.config import LLMSettings
from extractor.core.document import Document, FieldValue, Lot, Retriever
from extractor.core.schema import Schema


@dataclass
class Usage:
    """What a document cost: LLM calls, tokens, retries (all zero for the rules engine)."""

    calls: int = 0  # requests sent, failed ones included
    failed_calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    unpriced_calls: int = 0  # sent but ended without a known token count (timed out mid-request): not in the cost
    cost_usd: float | None = None
    warnings: list[str] = field(default_factory=list)

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.failed_calls += other.failed_calls
        self.cached_calls += other.cached_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.retries += other.retries
        self.unpriced_calls += other.unpriced_calls
        self.warnings.extend(other.warnings)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Extraction:
    """A backend's answer for one document: the fields it found and what finding them cost."""

    fields: dict[str, FieldValue]
    usage: Usage = field(default_factory=Usage)
    lots: list[Lot] = field(default_factory=list)  # the lots its tables list (rules engine), if any


@runtime_checkable
class Backend(Protocol):
    """An extraction engine. ``name`` goes into each record's ``backend``; ``model`` into ``model``."""

    name: str

    @property
    def model(self) -> str | None: ...

    @property
    def needs_grounding(self) -> bool:
        """True for engines that can state values the document does not (an LLM can be steered by
        text in the document): their values must also be found in the text to count as verified."""
        ...

    def extract(self, doc: Document, schema: Schema, *, retriever: Retriever | None = None) -> Extraction: ...


@dataclass
class BackendOptions:
    """What a backend factory may use: the LLM settings, the response cache, the run's store."""

    settings: LLMSettings = field(default_factory=LLMSettings)
    cache_path: Path | None = None
    store_dir: Path | None = None
    cache_only: bool = False  # LLM answers only from the cache (collecting Batch API results)
