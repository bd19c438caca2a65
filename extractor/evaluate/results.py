"""Result types of an evaluation: per-field scores, errors, per-document results, the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.evaluate.calibration import Calibration
from extractor.evaluate.grounding import QuoteContext
from extractor.evaluate.matching import Outcome

FLAG_FIELD = "restricted_us_tech"

NULL_LABEL = "null"  # how a null value is named in confusion matrices



@dataclass
class FieldScore:
    """Counts for one field over the gold set; P/R/F1 are None when undefined (0/0)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    correct: int = 0
    support: int = 0  # documents in which the field was labelled (and so scored)

    def add(self, o: Outcome) -> None:
        self.tp += o.tp
        self.fp += o.fp
        self.fn += o.fn
        self.tn += o.tn
        self.correct += int(o.correct)
        self.support += 1

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.correct, self.support)

    def to_json(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "accuracy": self.accuracy, "support": self.support}

    def counts(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "correct": self.correct}



def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None



@dataclass
class FieldError:
    """One wrongly predicted field of one document, with the evidence the prediction gave."""

    field: str
    gold: Any
    predicted: Any
    quote: str | None = None
    page: int | None = None
    grounded: bool | None = None  # None when there was no predicted value to ground
    context: QuoteContext | None = None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "gold": self.gold, "predicted": self.predicted, "quote": self.quote,
                "page": self.page, "grounded": self.grounded,
                "context": self.context.to_json() if self.context else None}



@dataclass
class DocResult:
    file: str
    sha256: str
    predicted: bool  # a prediction record was found for this document
    scored: int = 0
    correct: int = 0
    errors: list[FieldError] = field(default_factory=list)

    @property
    def all_correct(self) -> bool:
        return self.correct == self.scored

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "predicted": self.predicted, "scored": self.scored,
                "correct": self.correct, "errors": [e.to_json() for e in self.errors]}



@dataclass
class Scores:
    """Everything `tenderx eval` reports; `to_json()` is the stable machine-readable form."""

    schema_name: str
    schema_version: int
    fields: dict[str, FieldScore]
    docs: list[DocResult]
    flag_tp: int = 0
    flag_fp: int = 0
    flag_fn: int = 0
    grounding_checked: int = 0
    grounded: int = 0
    grounded_but_wrong: int = 0
    confusion: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    missing_predictions: list[str] = field(default_factory=list)
    failed_predictions: list[str] = field(default_factory=list)  # record found but it carries errors
    unmatched_predictions: list[str] = field(default_factory=list)
    backend: str | None = None
    model: str | None = None
    calibration: Calibration = field(default_factory=Calibration)
    intermediaries: dict[str, Any] | None = None  # issue 25: scored apart, never part of the v1 figures
    lots: dict[str, Any] | None = None  # issue 22: `evaluate.lots`, scored apart from the v1 figures

    @property
    def documents(self) -> int:
        return len(self.docs)

    @property
    def micro_f1(self) -> float | None:
        tp = sum(f.tp for f in self.fields.values())
        fp = sum(f.fp for f in self.fields.values())
        fn = sum(f.fn for f in self.fields.values())
        return _ratio(2 * tp, 2 * tp + fp + fn)

    @property
    def all_fields_correct(self) -> float | None:
        return _ratio(sum(d.all_correct for d in self.docs), len(self.docs))

    @property
    def verified_precision(self) -> float | None:
        """Share of values marked verified that equal gold (labelled fields, non-null values)."""
        return self.calibration.verified_precision

    @property
    def high_confidence_accuracy(self) -> float | None:
        """Share of values rated high confidence that equal gold."""
        return self.calibration.high_confidence_accuracy

    @property
    def grounding_rate(self) -> float | None:
        return _ratio(self.grounded, self.grounding_checked)

    @property
    def flag_precision(self) -> float | None:
        return _ratio(self.flag_tp, self.flag_tp + self.flag_fp)

    @property
    def flag_recall(self) -> float | None:
        return _ratio(self.flag_tp, self.flag_tp + self.flag_fn)

    def below(self, fail_under: float | None = None, min_verified_precision: float | None = None) -> list[str]:
        """What falls short of the gates (micro-F1 ≥ ``fail_under``, verified precision ≥
        ``min_verified_precision``), one line each; empty when every gate holds or none is set."""
        out = []
        for name, value, floor in (("micro-F1", self.micro_f1, fail_under),
                                   ("verified precision", self.verified_precision, min_verified_precision)):
            if floor is not None and (value is None or value < floor):
                out.append(f"{name} {'—' if value is None else f'{value:.4f}'} is below {floor:g}")
        return out

    def worst_documents(self, n: int | None = None) -> list[DocResult]:
        ranked = sorted((d for d in self.docs if d.errors), key=lambda d: (-len(d.errors), d.file))
        return ranked if n is None else ranked[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "micro_f1": self.micro_f1,
            "all_fields_correct": self.all_fields_correct,
            "grounding_rate": self.grounding_rate,
            "grounded_but_wrong": self.grounded_but_wrong,
            "restricted_us_tech": {"precision": self.flag_precision, "recall": self.flag_recall},
            "fields": {name: fs.to_json() for name, fs in self.fields.items()},
            "backend": self.backend,
            "model": self.model,
            "schema_version": self.schema_version,
            # extras (after the contract keys)
            "verified_precision": self.verified_precision,
            "high_confidence_accuracy": self.high_confidence_accuracy,
            "schema": self.schema_name,
            "grounding": {"checked": self.grounding_checked, "grounded": self.grounded},
            "restricted_us_tech_counts": {"tp": self.flag_tp, "fp": self.flag_fp, "fn": self.flag_fn},
            "counts": {name: fs.counts() for name, fs in self.fields.items()},
            "confusion": self.confusion,
            "missing_predictions": self.missing_predictions,
            "failed_predictions": self.failed_predictions,
            "unmatched_predictions": self.unmatched_predictions,
            "documents_detail": [d.to_json() for d in self.docs],
            "confidence_calibration": self.calibration.to_json(),
            **({"intermediaries": self.intermediaries} if self.intermediaries is not None else {}),
            **({"lots": self.lots} if self.lots is not None else {}),
        }

