"""Engines that disagree: a value the LLM and the rules engine read differently is ``disputed``.

An LLM can be steered by the text it reads; the rules engine cannot, but misses
layouts it does not know. Where both give a value and the values differ, neither
is trusted blindly: the record keeps the LLM's value, marks it disputed (never
verified) and says what the rules engine read, so a reviewer looks at it.

An LLM that answers ``false`` or nothing where the rules engine read a *verified* value (a
notice naming NVIDIA A100, a model answering "not restricted") disputes it too: silence
from a steerable engine must not erase evidence on the page. A restricted flag raised by
the rules then stays raised on the record until a person decides.
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


def _absent(v: Any, kind: str) -> bool:
    """No value, or a ``false`` flag (an absence: nothing the page can state)."""
    return _empty(v) or (kind == "boolean" and v is False)


def mark_disputes(fields: dict[str, FieldValue], reference: dict[str, FieldValue],
                  types: dict[str, str]) -> list[str]:
    """Mark every field where the engines disagree and return their names: both give a value and
    the values differ, or the LLM gives none (or ``false``) where the rules' value is verified
    (``reference`` judged by ``verify_fields`` first)."""
    disputed = []
    for name, fv in fields.items():
        ref = reference.get(name)
        kind = types.get(name, "")
        if ref is None or _absent(ref.value, kind):
            continue
        if _absent(fv.value, kind):
            if ref.verified is True:
                fv.disputed = True
                disputed.append(name)
            continue
        if not agree(fv.value, ref.value, kind):
            fv.disputed = True
            disputed.append(name)
    return disputed


def rules_readings(names: list[str], reference: dict[str, FieldValue]) -> dict[str, dict[str, Any]]:
    """What the rules engine read for each disputed field (``disputes`` in the record), so a
    reviewer sees both readings."""
    return {n: {"rules": reference[n].to_json()} for n in names if n in reference}


def still_raised(names: list[str], reference: dict[str, FieldValue]) -> bool:
    """True when the restricted flag is disputed and the rules engine raised it with evidence: the
    flag stays raised until a person decides."""
    ref = reference.get("restricted_us_tech")
    return "restricted_us_tech" in names and ref is not None and ref.value is True and ref.verified is True
