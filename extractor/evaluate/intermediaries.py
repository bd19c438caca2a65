"""Scoring intermediaries (issue 25) apart from the v1 fields, so v1 scores stay comparable.

A gold file may carry, beside its v1 ``labels``, a hand-written ``intermediaries`` list: one
``{"supplier": name or null, "intermediary_for": provider}`` per US provider the notice makes the
supplier a reseller or partner of (``[]`` when it makes none). Only gold files with the key are scored;
a pair counts as found when the record names the same provider for the same supplier.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from extractor.evaluate.gold import GoldDoc, norm


def gold_intermediaries(g: GoldDoc) -> list[dict[str, Any]] | None:
    """The ``intermediaries`` of a gold file, or None when it has none labelled."""
    data = json.loads(g.gold_path.read_text(encoding="utf-8"))
    value = data.get("intermediaries")
    return value if isinstance(value, list) else None


def _pairs(items: Any) -> set[tuple[str, str]]:
    return {(norm(i.get("supplier") or ""), norm(i.get("intermediary_for") or ""))
            for i in items or [] if isinstance(i, dict)}


def score_intermediaries(gold_docs: Sequence[GoldDoc], matched: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """tp/fp/fn, precision, recall and the documents scored; None when no gold file labels intermediaries."""
    tp = fp = fn = docs = 0
    misses: list[str] = []
    for i, g in enumerate(gold_docs):
        gold = gold_intermediaries(g)
        if gold is None:
            continue
        docs += 1
        want, got = _pairs(gold), _pairs((matched.get(i) or {}).get("intermediaries"))
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
        if want != got:
            misses.append(g.name)
    if not docs:
        return None
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return {"documents": docs, "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
            "wrong_documents": misses}


def intermediaries_line(s: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    wrong = f"; wrong in {', '.join(s['wrong_documents'])}" if s["wrong_documents"] else ""
    return (f"intermediaries (scored apart from v1, {s['documents']} labelled documents): precision "
            f"{pct(s['precision'])}, recall {pct(s['recall'])} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']}){wrong}")
