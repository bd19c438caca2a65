"""Confidence calibration: how often values the backend called ``high`` or ``low`` confidence were right.

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

    def add(self, name: str, confidence: Any, correct: bool) -> None:
        level = confidence if confidence in ("high", "low") else "unrated"
        bucket = self.fields.setdefault(name, {lv: Bucket() for lv in LEVELS})[level]
        bucket.values += 1
        bucket.correct += int(correct)

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
        return bool(o["high"].values or o["low"].values)

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": {lv: b.to_json() for lv, b in self.overall().items()},
            "fields": {name: {lv: b.to_json() for lv, b in buckets.items()} for name, buckets in self.fields.items()},
        }
