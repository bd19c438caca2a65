"""Normalising organisation names so that printed variants of one name compare equal.

Tenders print the same name with full-width brackets （）, spaces, 〇/零/○ in institute numbers and
股份有限公司 / 有限责任公司 / 有限公司 variants; English list entries vary in punctuation and legal
suffixes. Two forms are kept: ``keep`` (brackets kept, to recognise a campus such as
哈尔滨工业大学（深圳）) and ``key`` (brackets dropped, for equality).
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\u3000]+")
_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "［": "(", "］": ")"})
_ZERO = str.maketrans({"零": "〇", "○": "〇", "◯": "〇"})
_LEGAL_ZH = re.compile(r"股份有限公司|有限责任公司|股份公司")
_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_EN_PUNCT = re.compile(r"[^\w\s&]+")
_EN_LEGAL = re.compile(
    r"(?:\s+(?:co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|sdn bhd|pte))+$"
)


def is_chinese(name: str) -> bool:
    return bool(_CJK.search(name))


def keep_form(name: str) -> str:
    """NFKC, no spaces, one bracket style, one zero, one limited-company suffix."""
    s = unicodedata.normalize("NFKC", name or "").translate(_BRACKETS)
    if is_chinese(s):
        s = _SPACES.sub("", s).translate(_ZERO)
        s = _LEGAL_ZH.sub("有限公司", s)
        return s.strip("，,;；:：。.、")
    return english_key(s)


def key(name: str) -> str:
    """The equality key: ``keep_form`` without the bracket characters."""
    k = keep_form(name)
    return k.replace("(", "").replace(")", "") if is_chinese(k) else k


def english_key(name: str) -> str:
    """Casefolded, punctuation-free, without trailing legal-form words (Co., Ltd., Limited …)."""
    s = unicodedata.normalize("NFKC", name or "").casefold().replace("&", " and ")
    s = _EN_PUNCT.sub(" ", s)
    s = _SPACES.sub(" ", s).strip()
    return _EN_LEGAL.sub("", s).strip()


def has_latin(name: str) -> bool:
    return bool(_LATIN.search(name))
