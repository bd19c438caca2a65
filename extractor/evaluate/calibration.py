"""Trust marks against gold: how often ``verified`` values and ``high``/``low`` confidence values were right.

**Verified precision** is the share of values marked ``verified: true`` that equal gold; **high-confidence
accuracy** the share of ``confidence: high`` values that do. Both are rates a reader relies on when
publishing without re-reading, so `tenderx eval` reports them beside micro-F1 (and can gate on the first).

A backend may mark each value ``confidence: high|low`` (the rules engine does, with a reason when
low). If high-confidence values are nearly always right and low ones often wrong, users can check
only the low ones by eye; this measures whether that holds, per field and overall. Only values the
backend gave (non-null) on labelled fields count; values without a confidence are ``unrated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("high", "low", "unrated")


@dataclass
class Bucket:
    values: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.values if self.values else None

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "correct": self.correct, "accuracy": self.accuracy}


@dataclass
class Calibration:
    """Per field, one bucket per confidence level."""

    fields: dict[str, dict[str, Bucket]] = field(default_factory=dict)
    verified: dict[str, Bucket] = field(default_factory=dict)  # per field, the values marked verified

    def add(self, name: str, confidence: Any, correct: bool, verified: Any = None) -> None:
        level = confidence if confidence in ("high", "low") else "unrated"
        bucket = self.fields.setdefault(name, {lv: Bucket() for lv in LEVELS})[level]
        bucket.values += 1
        bucket.correct += int(correct)
        checked = self.verified.setdefault(name, Bucket())
        if verified is True:
            checked.values += 1
            checked.correct += int(correct)

    def verified_overall(self) -> Bucket:
        out = Bucket()
        for b in self.verified.values():
            out.values += b.values
            out.correct += b.correct
        return out

    @property
    def verified_precision(self) -> float | None:
        """Share of the values marked verified that equal gold (None when nothing was verified)."""
        return self.verified_overall().accuracy

    @property
    def high_confidence_accuracy(self) -> float | None:
        """Share of the values rated high confidence that equal gold (None when none was)."""
        return self.overall()["high"].accuracy

    def overall(self) -> dict[str, Bucket]:
        out = {lv: Bucket() for lv in LEVELS}
        for buckets in self.fields.values():
            for lv, b in buckets.items():
                out[lv].values += b.values
                out[lv].correct += b.correct
        return out

    @property
    def rated(self) -> bool:
        """Whether any value carried a confidence (else there is nothing to report)."""
        o = self.overall()
        return bool(o["high"].values or o["low"].values or self.verified_overall().values)

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": {lv: b.to_json() for lv, b in self.overall().items()},
            "fields": {name: {lv: b.to_json() for lv, b in buckets.items()} for name, buckets in self.fields.items()},
            "verified": {"overall": self.verified_overall().to_json(),
                         "fields": {name: b.to_json() for name, b in self.verified.items()}},
        }
