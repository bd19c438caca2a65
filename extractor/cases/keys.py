"""The comparison forms that decide links: project codes (with lots), buyers and project names.

A link must be checkable by a reader, so each rule here is small and explicit:
codes compare after NFKC (full-width → half-width), whitespace and case are
removed and a lot suffix is split off; names compare after their notice-type
ending is dropped, and two names that differ in a number (一期/二期, 2023/2024)
never match however similar they look.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.normalize import norm_text

RULES_PATH = Path(__file__).resolve().parent.parent / "data" / "cases.yaml"
_NUMBERISH = re.compile(r"[0-9A-Za-z〇零一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟ⅠⅡⅢⅣⅤ甲乙丙丁]")


@dataclass(frozen=True)
class LinkRules:
    """The linking settings of extractor/data/cases.yaml."""

    window_days: int
    name_similarity: float
    name_endings: tuple[str, ...]
    lot_patterns: tuple[re.Pattern[str], ...]
    numeric_lot: re.Pattern[str]


@cache
def link_rules() -> LinkRules:
    raw: dict[str, Any] = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    endings = sorted({squash(e) for e in raw["name_endings"]} - {""}, key=len, reverse=True)
    return LinkRules(
        window_days=int(raw["window_days"]),
        name_similarity=float(raw["name_similarity"]),
        name_endings=tuple(endings),
        lot_patterns=tuple(re.compile(p) for p in raw["lot_patterns"]),
        numeric_lot=re.compile(raw["numeric_lot_pattern"]),
    )


def squash(text: Any) -> str:
    """NFKC, whitespace removed, upper-cased, every punctuation mark dropped."""
    s = norm_text(text)
    return "".join(ch for ch in s if not unicodedata.category(ch).startswith(("P", "S")))


def norm_code(code: Any) -> str:
    """A project code's comparison form: ``ＸＹＹＹ２０２４－ＧＫ－０４２`` → ``XYYY2024-GK-042``.

    Full-width parentheses become ASCII ones (NFKC); punctuation is kept because
    ``-`` and ``/`` can separate a lot suffix.
    """
    return norm_text(code)


def split_lot(code: str, known: set[str] | frozenset[str] = frozenset()) -> tuple[str, str | None]:
    """``(base, lot)`` of a normalised code. ``known`` holds every normalised code of the batch: a bare
    numeric tail (``-01``) is a lot only when the code without it is also known."""
    rules = link_rules()
    for pat in rules.lot_patterns:
        m = pat.search(code)
        if m and m.start() > 0:
            return code[: m.start()].rstrip("-_/"), m.group("lot")
    m = rules.numeric_lot.search(code)
    if m and code[: m.start()] in known:
        return code[: m.start()], m.group("lot")
    return code, None


def norm_buyer(name: Any) -> str:
    return squash(name)


def norm_name(name: Any) -> str:
    """A project name without punctuation and without its notice-type ending (…更正公告, …采购意向)."""
    s = squash(name)
    for _ in range(2):  # "…采购意向公开" then nothing; "…中标结果公告" then nothing
        for e in link_rules().name_endings:
            if s.endswith(e) and len(s) > len(e) + 2:
                s = s[: -len(e)]
                break
    return s


@lru_cache(maxsize=1 << 16)  # one case's notices mostly repeat one name: compare each pair once
def name_similarity(a: str, b: str, floor: float = 0.0) -> float:
    """How alike two normalised names are, 0 when they differ in any number-like character.

    1.0 means identical. A difference made of digits, Chinese numerals or Latin
    letters names a different phase, year or lot, so it is never the same purchase.
    Pairs that cannot reach ``floor`` return 0 early (the linker only needs the threshold).
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    sm = SequenceMatcher(None, a, b, autojunk=False)
    if floor and (sm.real_quick_ratio() < floor or sm.quick_ratio() < floor):
        return 0.0
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag != "equal" and (_NUMBERISH.search(a[i1:i2]) or _NUMBERISH.search(b[j1:j2])):
            return 0.0
    return sm.ratio()


def names_match(a: str, b: str) -> bool:
    threshold = link_rules().name_similarity
    return name_similarity(a, b, threshold) >= threshold
