"""Comparing one predicted value with its gold label, by the contract's per-type rules."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from extractor.evaluate.gold import FieldSpec, is_number, norm


@dataclass
class Outcome:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    correct: bool = False



def number_matches(pred: float, gold: float) -> bool:
    """|pred − gold| ≤ max(1, 0.001·|gold|)."""
    return abs(pred - gold) <= max(1.0, 0.001 * abs(gold))



def _as_number(v: Any) -> float | None:
    if is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            x = float(unicodedata.normalize("NFKC", v).replace(",", "").strip())
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None



def _item_set(v: Any) -> set[str]:
    if v is None:
        return set()
    items = v if isinstance(v, (list, tuple, set)) else [v]
    return {n for n in (norm(x) for x in items if x is not None) if n}



def is_null(spec: FieldSpec, v: Any) -> bool:
    """No value: None, an empty list, or a string that normalises to nothing."""
    if v is None:
        return True
    if spec.type == "list":
        return not _item_set(v)
    return not norm(v)



def compare_value(spec: FieldSpec, gold: Any, pred: Any) -> Outcome:
    """TP/FP/FN/TN for one field of one document."""
    if spec.type == "list":
        g, p = _item_set(gold), _item_set(pred)
        return Outcome(tp=len(g & p), fp=len(p - g), fn=len(g - p), tn=int(not g and not p), correct=g == p)
    g_null, p_null = is_null(spec, gold), is_null(spec, pred)
    if g_null and p_null:
        return Outcome(tn=1, correct=True)
    if g_null:
        return Outcome(fp=1)
    if p_null:
        return Outcome(fn=1)
    if spec.type in ("number", "integer"):
        gp, pp = _as_number(gold), _as_number(pred)
        same = gp is not None and pp is not None and number_matches(pp, gp)
    else:
        same = norm(gold) == norm(pred)
    return Outcome(tp=1, correct=True) if same else Outcome(fp=1, fn=1)

