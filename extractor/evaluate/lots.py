"""Scoring lots (issue 22) apart from the v1 fields, so the contract's micro-F1 stays exactly its own.

A gold file may carry, beside its v1 ``labels``, a hand-written ``lots`` list: one
``{id, name, budget_cny, award_amount_cny, suppliers, status}`` per lot (包/标段). Only gold files
with the key are scored. A predicted lot is paired with a gold lot by its lot number (``第一包``,
``包1`` and ``1`` are lot 1), else by its name; each lot field of a pair is then compared by the
contract's rules for that type (amounts within 0.1%, suppliers as a set). A gold lot without a
partner counts its values as missed, a predicted lot without one counts its values as wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from extractor.core.errors import EvalInputError
from extractor.core.normalize import cn_to_int, to_halfwidth
from extractor.evaluate.gold import FieldSpec, GoldDoc, norm
from extractor.evaluate.matching import compare_value
from extractor.evaluate.results import FieldScore

LOT_FIELDS = (
    FieldSpec("budget_cny", "number"),
    FieldSpec("award_amount_cny", "number"),
    FieldSpec("suppliers", "list"),
    FieldSpec("status", "enum", nullable=False, enum=("awarded", "failed", "open")),
)
_LOT_NUMBER = re.compile(r"\d+|[零〇一二三四五六七八九十两百]+")


def gold_lots(g: GoldDoc) -> list[dict[str, Any]] | None:
    """The ``lots`` of a gold file, or None when it labels none; EvalInputError when malformed."""
    data = json.loads(g.gold_path.read_text(encoding="utf-8"))
    value = data.get("lots")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(lot, dict) for lot in value):
        raise EvalInputError(f"{g.gold_path}: 'lots' must be a list of objects")
    return value


def _plain(lot: dict[str, Any], key: str) -> Any:
    """A lot's value: a record gives ``{"value": …, "page": …}``, a gold file the bare value."""
    raw = lot.get(key)
    return raw.get("value") if isinstance(raw, dict) else raw


def lot_number(lot: dict[str, Any]) -> int | None:
    """The lot's number from its id (``第一包`` → 1, ``包02`` → 2), else from its name."""
    for key in ("id", "name"):
        text = _plain(lot, key)
        m = _LOT_NUMBER.search(to_halfwidth(str(text))) if text is not None else None
        if m:
            return int(m.group()) if m.group().isdigit() else cn_to_int(m.group())
    return None


def pair_lots(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]
              ) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]], list[dict[str, Any]]]:
    """(gold lot, its predicted partner or None) for every gold lot, and the predicted lots left over.
    Pairs by lot number first, then by normalised name."""
    left = list(predicted)
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for g in gold:
        number, name = lot_number(g), norm(_plain(g, "name") or "")
        partner = next((p for p in left if number is not None and lot_number(p) == number), None)
        if partner is None and name:
            partner = next((p for p in left if norm(_plain(p, "name") or "") == name), None)
        if partner is not None:
            left.remove(partner)
        pairs.append((g, partner))
    return pairs, left


@dataclass
class LotScores:
    """Lots found against the gold lots, and each lot field's counts over the labelled documents."""

    documents: int = 0
    gold_lots: int = 0
    predicted_lots: int = 0
    found: int = 0  # gold lots with a predicted partner
    fields: dict[str, FieldScore] = field(default_factory=lambda: {f.name: FieldScore() for f in LOT_FIELDS})
    wrong_documents: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.gold_lots if self.gold_lots else None

    @property
    def precision(self) -> float | None:
        return self.found / self.predicted_lots if self.predicted_lots else None

    def to_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "gold_lots": self.gold_lots, "predicted_lots": self.predicted_lots,
                "found": self.found, "precision": self.precision, "recall": self.recall,
                "fields": {name: {**fs.to_json(), **fs.counts()} for name, fs in self.fields.items()},
                "wrong_documents": self.wrong_documents}


def score_lots(gold_docs: Sequence[GoldDoc], matched: dict[int, dict[str, Any]]) -> LotScores | None:
    """Lot-level figures over the gold files that label lots; None when none does."""
    out = LotScores()
    for i, g in enumerate(gold_docs):
        gold = gold_lots(g)
        if gold is None:
            continue
        predicted = [lot for lot in (matched.get(i) or {}).get("lots") or [] if isinstance(lot, dict)]
        out.documents += 1
        out.gold_lots += len(gold)
        out.predicted_lots += len(predicted)
        pairs, extra = pair_lots(gold, predicted)
        out.found += sum(p is not None for _, p in pairs)
        right = not extra
        for gold_lot, pred_lot in [*pairs, *((None, p) for p in extra)]:
            for spec in LOT_FIELDS:
                g_value = _plain(gold_lot, spec.name) if gold_lot is not None else None
                p_value = _plain(pred_lot, spec.name) if pred_lot is not None else None
                outcome = compare_value(spec, g_value, p_value)
                out.fields[spec.name].add(outcome)
                right = right and outcome.correct
        if not right:
            out.wrong_documents.append(g.name)
    return out if out.documents else None
