"""Backends by name: a small registry, so a test or a user swaps an engine without touching the pipeline.

``register_backend("mine", factory)`` makes ``--backend mine`` work; the
factory receives the run's ``BackendOptions``. ``resolve_backend`` turns the
user's choice (``auto`` included) into a registered name and a reason the
summary prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from extractor.backends import builtin
from extractor.backends.base import Backend, BackendOptions
from extractor.core.config import LLMSettings
from extractor.core.errors import UsageError

BackendFactory = Callable[[BackendOptions], Backend]


@dataclass(frozen=True)
class _Entry:
    factory: BackendFactory
    description: str
    needs_llm: bool


_REGISTRY: dict[str, _Entry] = {}


def register_backend(name: str, factory: BackendFactory, *, description: str = "",
                     needs_llm: bool = False) -> None:
    """Make ``name`` available to ``--backend`` and ``get_backend`` (a later call replaces it)."""
    _REGISTRY[name] = _Entry(factory, description, needs_llm)


def available_backends() -> list[str]:
    """Registered names plus ``auto``."""
    return ["auto", *_REGISTRY]


def get_backend(name: str, options: BackendOptions | None = None) -> Backend:
    """A ready backend by registered name."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(available_backends())}")
    opts = options or BackendOptions()
    if entry.needs_llm and not opts.settings.model:
        raise UsageError(f"--backend {name} needs a model: set TENDERX_MODEL or pass --model")
    return entry.factory(opts)


def resolve_backend(choice: str, settings: LLMSettings) -> tuple[str, str]:
    """(registered name, why): ``auto`` means the hybrid backend when an LLM is configured, else the
    rules engine."""
    if choice != "auto":
        entry = _REGISTRY.get(choice)
        if entry is None:
            raise UsageError(f"unknown backend {choice!r}; choose one of {', '.join(available_backends())}")
        if entry.needs_llm:
            if not settings.model:
                raise UsageError(f"--backend {choice} needs a model: set TENDERX_MODEL or pass --model")
            return choice, f"LLM {settings.model} requested"
        return choice, f"{entry.description or choice} requested"
    if settings.configured:  # rules first, the LLM only for what they cannot settle
        return "hybrid", f"LLM configured ({settings.model}): rules first, LLM for unsettled fields"
    return "rules", "no LLM configured (set OPENAI_BASE_URL/OPENAI_API_KEY and TENDERX_MODEL to use one)"


for _name, _factory, _description, _needs_llm in builtin.BUILTINS:
    register_backend(_name, _factory, description=_description, needs_llm=_needs_llm)
