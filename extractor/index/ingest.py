"""Deprecated: use `extractor.pipeline.ingest` (or `from extractor import ingest`)."""

from extractor.index import moved
from extractor.pipeline.ingest import IngestReport, ingest

moved("extractor.index.ingest", "extractor.pipeline.ingest")
__all__ = ["IngestReport", "ingest"]
