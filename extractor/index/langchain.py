"""Deprecated: use `extractor.search.langchain`."""

from extractor.index import moved
from extractor.search.langchain import TenderxRetriever

moved("extractor.index.langchain", "extractor.search.langchain")
__all__ = ["TenderxRetriever"]
