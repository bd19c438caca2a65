"""Normalising organisation names so that printed variants of one name compare equal.

Tenders print the same name with full-width brackets （）, spaces, 〇/零/○ in institute numbers and
股份有限公司 / 有限责任公司 / 有限公司 variants, sometimes in traditional characters (四川大學) or
with invisible characters (zero-width space, BOM, soft hyphen) pasted in; English list entries vary
in punctuation and legal suffixes. Invisible characters are dropped and traditional characters
converted to simplified (OpenCC) before anything else, so a listed name matches in either script. Two forms are kept: ``keep`` (brackets kept, to recognise a campus such as
哈尔滨工业大学（深圳）) and ``key`` (brackets dropped, for equality).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

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


_CONVERTER = threading.local()


def _t2s(text: str) -> str:
    conv = getattr(_CONVERTER, "t2s", None)
    if conv is None:
        import opencc

        conv = _CONVERTER.t2s = opencc.OpenCC("t2s")
    return str(conv.convert(text))


def visible(text: str) -> str:
    """``text`` without format characters (Unicode ``Cf``: zero-width space and joiners, BOM, soft
    hyphen, direction marks), which print as nothing but break equality."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


@lru_cache(maxsize=65536)
def plain_script(name: str) -> str:
    """NFKC, invisible characters dropped, traditional characters converted to simplified."""
    s = visible(unicodedata.normalize("NFKC", name or ""))
    return _t2s(s) if _CJK.search(s) else s


def is_chinese(name: str) -> bool:
    return bool(_CJK.search(name))


def keep_form(name: str) -> str:
    """NFKC, no spaces, one bracket style, one zero, one limited-company suffix."""
    s = plain_script(name).translate(_BRACKETS)
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
    s = visible(unicodedata.normalize("NFKC", name or "")).casefold().replace("&", " and ")
    s = _EN_PUNCT.sub(" ", s)
    s = _SPACES.sub(" ", s).strip()
    return _EN_LEGAL.sub("", s).strip()


def has_latin(name: str) -> bool:
    return bool(_LATIN.search(name))
