"""Deprecated: use `extractor.search.hybrid` (or `from extractor import search`)."""

from extractor.index import moved
from extractor.search.hybrid import Hit, SearchResult, open_store, run_search, search

moved("extractor.index.search", "extractor.search.hybrid")
__all__ = ["Hit", "SearchResult", "open_store", "run_search", "search"]
