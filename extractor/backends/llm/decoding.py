"""Reading a model's reply: the JSON object in it, and validation errors as text for the repair prompt."""

from __future__ import annotations

import json
import re
from typing import Any

from extractor.core.schema import ValidationError


def decode_json(text: str) -> Any:
    """The JSON object in a reply: bare, inside a code fence, or between the outer braces."""
    text = (text or "").strip()
    candidates = [text]
    candidates += re.findall(r"```(?:json|JSON)?\s*(.*?)```", text, flags=re.DOTALL)
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first:last + 1])
    for c in candidates:
        try:
            return json.loads(c)
        except json.JSONDecodeError:
            continue
    snippet = " ".join(text.split())[:120]
    raise ValueError(f"the reply is not a valid JSON object (starts with: {snippet!r})")



def error_text(e: Exception) -> str:
    """A validation/parse error as short text for the repair prompt."""
    if isinstance(e, ValidationError):
        lines = [ln for ln in str(e).splitlines() if "errors.pydantic.dev" not in ln]
        return "\n".join(lines[:40])
    return str(e)
