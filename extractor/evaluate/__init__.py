"""Evaluation against hand-labelled gold, per the contract in ``tender-schema-v1.md``.

``gold`` (gold files, the scorer's view of the schema) · ``matching`` (one value against its label) ·
``grounding`` (evidence against the document's text) · ``calibration`` (accuracy of high- vs
low-confidence values) · ``results`` (score types) · ``scoring``
(``score``, ``evaluate_folder``) · ``report`` (terminal, Markdown, HTML, compare).
"""

from extractor.core.errors import EvalInputError
from extractor.evaluate.gold import GoldDoc, load_gold, load_predictions, norm, schema_spec
from extractor.evaluate.matching import compare_value, number_matches
from extractor.evaluate.results import DocResult, FieldError, FieldScore, Scores
from extractor.evaluate.scoring import evaluate_folder, match_records, score

__all__ = [
    "DocResult", "EvalInputError", "FieldError", "FieldScore", "GoldDoc", "Scores", "compare_value",
    "evaluate_folder", "load_gold", "load_predictions", "match_records", "norm", "number_matches",
    "schema_spec", "score",
]
