"""The offline rules engine, one module per concern.

``views`` (page views, quote mapping, shared patterns) · ``labels`` (notice type, method, name, code,
parties, date) · ``money`` (budget and award) · ``suppliers`` · ``compute`` (chips, clouds, models,
counts, the restricted flag) · ``engine`` (``extract_rules``, which puts them together).
"""

from extractor.backends.rules.engine import FIELD_NAMES, extract_rules

__all__ = ["FIELD_NAMES", "extract_rules"]
