"""Deprecated: use `extractor.store.store` (or `from extractor import Store`)."""

from extractor.index import moved
from extractor.store.store import Store

moved("extractor.index.store", "extractor.store.store")
__all__ = ["Store"]
