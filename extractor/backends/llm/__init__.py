"""The LLM backend: any OpenAI-compatible chat-completions endpoint.

``client`` (output-mode ladder, bounded retries) · ``extractor`` (planning, cache, repair, split) ·
``prompts`` (versioned prompt files in ``prompts/``) · ``decoding`` (JSON out of a reply) · ``pricing``
(dated list prices) · ``cache`` (SQLite response cache).
"""

from extractor.backends.llm.client import ChatClient, prompt_tokens, retry_after_seconds
from extractor.backends.llm.extractor import LLMExtractor
from extractor.backends.llm.pricing import estimate_cost, price_for, prices
from extractor.core.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMError,
    LLMRequestError,
    LLMResponseError,
    LLMUnavailableError,
)

__all__ = [
    "ChatClient", "LLMAuthError", "LLMConfigError", "LLMError", "LLMExtractor", "LLMRequestError",
    "LLMResponseError", "LLMUnavailableError", "estimate_cost", "price_for", "prices", "prompt_tokens",
    "retry_after_seconds",
]
