"""The offline rules engine, one module per concern.

``views`` (page views, quote mapping, shared patterns) · ``labels`` (notice type, method, name, code,
parties, date) · ``kv`` (key-value tables, one cell per line or tab-separated) · ``money`` (budget and
award: lots, totals, corrections, ranked money columns) · ``suppliers`` · ``compute`` (chips, clouds,
models, counts, the restricted flag) · ``quantity`` (machines × cards, tokens) · ``scope`` (mentions that
are not purchases) · ``tables`` (tables read as structure: key–value rows, column headers, 合计 rows) ·
``lots`` (lots and the top-level values that follow from them) · ``cues`` (the cue words of ``data/rules_cues.yaml``) · ``engine`` (``extract_rules``,
which puts them together and rates every value ``high``/``low`` confidence).
"""

from extractor.backends.rules.engine import FIELD_NAMES, extract_rules, extract_rules_with_lots

__all__ = ["FIELD_NAMES", "extract_rules", "extract_rules_with_lots"]
