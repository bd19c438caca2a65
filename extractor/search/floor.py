"""The relevance floor: when a hit is good enough to show, per language the query is typed in.

An English query reaches Chinese text through translations that cover less of a chunk than a
Chinese query's own words do, and e5 scores cross-language pairs lower; one floor for both
hid right answers to English queries. So the thresholds are per language (zh, en, mixed),
fitted on the search evaluation by ``benchmarks/search/fit_search_floor.py`` and kept with their
source in ``data/search_floor.yaml``. Whatever the language, a hit that the dense side ranks
first by a clear margin over every other document is never hidden.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FLOOR_PATH = Path(__file__).resolve().parent.parent / "data" / "search_floor.yaml"
LANGUAGES = ("zh", "en", "mixed")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CODE = re.compile(r"[^\s\u3400-\u9fff]*\d[^\s\u3400-\u9fff]*")
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Floor:
    """Thresholds of one language (see data/search_floor.yaml for what each means)."""

    coverage: float = 0.6
    dense: float = 0.90
    partial_coverage: float = 0.35
    partial_dense: float = 0.88
    margin: float = 1.0  # dense lead over the next document that makes a hit good (1.0: never)
    absent: float = 1.0  # the partial and margin rules apply only when at most this share of the
    #                      query's concepts is absent from the store (ambulance, diesel generator)
    coverage_rank: float = 0.0  # ranking: top-rank RRF shares added per unit of coverage (0: none)

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def query_language(text: str) -> str:
    """zh, en or mixed: Chinese characters, English words (3+ letters, not model numbers), or both."""
    plain = _CODE.sub(" ", text)  # A100, SCSX-2023-JZ-0412, 12345: not words of a language
    cjk, words = bool(_CJK.search(plain)), bool(_WORD.search(plain))
    if cjk and words:
        return "mixed"
    return "en" if words else "zh"


def is_good(floor: Floor, coverage: float, cosine: float | None, identifiers: bool | None,
            dense_lead: float | None, lexical_only: bool, absent: float = 0.0, head: bool | None = None) -> bool:
    """Whether a hit clears the floor. ``identifiers``: None when the query has no model number
    or code, else whether the chunk has them all (in the sense meant); ``dense_lead``: the hit's
    cosine lead over the best other document when it is the dense side's first, else None;
    ``absent``: the share of the query's concepts the store has no spelling of; ``head``: None
    when the query does not name the thing bought apart from its buyer or place, else whether the
    chunk holds one concept of that thing. A partly covered hit must hold it (a page matching only
    "school canteens" does not answer "food delivery for school canteens"), and then the thing
    judges the hit instead of the share of concepts the store lacks (the hospital's firewall page
    answers though no page says "intrusion")."""
    cos = cosine or 0.0
    if identifiers is not None:
        return identifiers and (coverage >= floor.coverage / 2 or cos >= floor.dense)
    if coverage >= floor.coverage:
        return True
    if lexical_only or cosine is None:
        return False
    if head is False or (head is None and absent > floor.absent):
        return cos >= floor.dense
    if dense_lead is not None and dense_lead >= floor.margin:
        return True
    return cos >= floor.dense or (coverage >= floor.partial_coverage and cos >= floor.partial_dense)


def load_floors(path: str | Path = FLOOR_PATH) -> dict[str, Floor]:
    """Per-language floors from the data file; defaults for a language it lacks."""
    from extractor.core.datafile import load_yaml

    data: Any = load_yaml(path) or {}
    fields = set(Floor.__dataclass_fields__)
    out = {}
    for lang in LANGUAGES:
        values = {k: float(v) for k, v in (data.get("languages", {}).get(lang) or {}).items() if k in fields}
        out[lang] = Floor(**values)
    return out


@lru_cache(maxsize=1)
def default_floors() -> dict[str, Floor]:
    return load_floors()
