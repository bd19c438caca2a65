"""Engines that disagree: a value the LLM and the rules engine read differently is ``disputed``.

An LLM can be steered by the text it reads; the rules engine cannot, but misses
layouts it does not know. Where both give a value and the values differ, neither
is trusted blindly: the record keeps the LLM's value, marks it disputed (never
verified) and says what the rules engine read, so a reviewer looks at it.
"""

from __future__ import annotations

from typing import Any

from extractor.core.document import FieldValue
from extractor.core.normalize import norm_text


def _empty(v: Any) -> bool:
    return v is None or v == [] or v == ""


def agree(a: Any, b: Any, kind: str) -> bool:
    """Whether two engines' values for one field say the same thing (names: one contains the other,
    as when one engine keeps a city prefix; amounts within 0.1%; lists: the same items)."""
    if kind == "number" or kind == "integer":
        try:
            x, y = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return abs(x - y) <= max(1.0, 0.001 * max(abs(x), abs(y)))
    if kind == "list":
        return {norm_text(i) for i in (a or [])} == {norm_text(i) for i in (b or [])}
    if kind == "string":
        s, t = norm_text(a), norm_text(b)
        return s == t or (bool(s) and bool(t) and (s in t or t in s))
    return norm_text(a) == norm_text(b)


def mark_disputes(fields: dict[str, FieldValue], reference: dict[str, FieldValue],
                  types: dict[str, str]) -> list[str]:
    """Mark every field where both engines give a value and they disagree; return their names."""
    disputed = []
    for name, fv in fields.items():
        ref = reference.get(name)
        if ref is None or _empty(fv.value) or _empty(ref.value):
            continue
        kind = types.get(name, "")
        if kind == "boolean" and fv.value is False:
            continue  # "not restricted" is an absence: nothing to dispute
        if not agree(fv.value, ref.value, kind):
            fv.disputed = True
            disputed.append(name)
    return disputed
