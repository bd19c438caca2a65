"""The cue words of ``extractor/data/rules_cues.yaml``, loaded once and compiled to patterns, so the
words live in a dated data file and the code only says how they are used."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

CUES_PATH = Path(__file__).resolve().parents[2] / "data" / "rules_cues.yaml"


@lru_cache(maxsize=1)
def cues() -> dict[str, Any]:
    """The whole cue file as loaded."""
    with CUES_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def words_re(words: list[str], spaced: bool = False) -> str:
    """An alternation of the words, longest first; ``spaced`` lets a line break or space fall
    between any two characters (labels wrapped in narrow table cells)."""
    ordered = sorted(set(words), key=len, reverse=True)
    if spaced:
        return "|".join(r"\s*".join(re.escape(ch) for ch in w) for w in ordered)
    return "|".join(re.escape(w) for w in ordered)


@cache
def scope_re(name: str) -> re.Pattern[str]:
    """One scope list (``negation_before`` …) as a pattern."""
    return re.compile(words_re(cues()["scope"][name]))


def kv_keys() -> dict[str, list[str]]:
    """Key-value table keys per field (``other`` = keys that only end a value)."""
    keys: dict[str, list[str]] = cues()["kv"]
    return keys


def english_numbers() -> dict[str, int]:
    numbers: dict[str, int] = cues()["english_numbers"]
    return numbers
