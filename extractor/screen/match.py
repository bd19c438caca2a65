"""Matching a party's name against the screening table: exact, subunit, similar — precision first.

* ``exact``: the party's normalised name equals a listed entry's name or alias (English, or a
  Chinese name from ``names_zh.csv``).
* ``subunit``: the party is a listed entity's full official Chinese name plus a unit word
  (研究院, 分公司 …, see ``rules.yaml``), e.g. 中国科学技术大学苏州高等研究院 -> USTC — only when the
  party is not itself listed (an exact match wins), and never for an independent college or an
  affiliated hospital/school, which are separate legal persons.
* ``similar``: a fuzzy (rapidfuzz) neighbour with its score, shown so a human can look — never a match.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from extractor.core.errors import UsageError
from extractor.screen.lists import DATA_DIR, ListedParty, ScreeningTable, load_table
from extractor.screen.names import english_key, has_latin, is_chinese, keep_form, key

NAMES_PATH = DATA_DIR / "names_zh.csv"
RULES_PATH = DATA_DIR / "rules.yaml"
MATCH_TYPES = ("exact", "subunit", "similar", "none")
_PREFIX_KINDS = {"official", "alias", "former", "affiliate"}  # short names never start a sub-unit
_TRAILING_PAREN = re.compile(r"\s*\([^()]*\)\s*$")  # 'Huawei Technologies Co., Ltd. (Huawei)'



@dataclass
class ScreenResult:
    """One (party, listed entry) finding; ``match == "none"`` when the party matched nothing."""

    party: str
    match: str
    list: str | None = None
    entry: str | None = None
    entry_id: str | None = None
    citation: str | None = None
    score: float | None = None
    as_of: str | None = None
    matched_name: str | None = None
    confidence: str | None = None  # sure / likely (our Chinese name) or list (the list's own text)
    note: str | None = None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Target:
    party: ListedParty
    name: str  # the name as written in the list or in names_zh.csv
    confidence: str
    kind: str


@dataclass(frozen=True)
class Rules:
    unit_suffixes: tuple[str, ...]
    excluded_words: tuple[str, ...]
    independent_colleges: dict[str, str]
    similar_min_score: float
    similar_limit: int


def load_rules(path: Path = RULES_PATH) -> Rules:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read screening rules {path}: {exc}") from exc
    return Rules(
        unit_suffixes=tuple(data["unit_suffixes"]),
        excluded_words=tuple(data["excluded_words"]),
        independent_colleges={key(k): v for k, v in (data.get("independent_colleges") or {}).items()},
        similar_min_score=float(data.get("similar_min_score", 85)),
        similar_limit=int(data.get("similar_limit", 3)),
    )


def load_names(path: Path = NAMES_PATH) -> list[dict[str, str]]:
    try:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise UsageError(f"cannot read Chinese names {path}: {exc}") from exc


class Screener:
    """An index over the table and the Chinese names; ``screen(name)`` gives that name's results."""

    def __init__(self, table: ScreeningTable, names: list[dict[str, str]], rules: Rules) -> None:
        self.table = table
        self.rules = rules
        self.exact: dict[str, list[_Target]] = {}
        self.prefixes: list[tuple[str, str, _Target]] = []  # (keep form, key, target), longest first
        by_key = table.by_key()
        for p in table.parties:
            for n in (p.name, *p.aliases):
                for k in {english_key(n), english_key(_TRAILING_PAREN.sub("", n))}:
                    if len(k) >= 3 and not k.startswith("address "):
                        self.exact.setdefault(k, []).append(_Target(p, n, "list", "list"))
        for row in names:
            for p in by_key.get((row["list"], row["entry"]), []):
                t = _Target(p, row["name_zh"], row["confidence"], row["kind"])
                self.exact.setdefault(key(row["name_zh"]), []).append(t)
                if row["kind"] in _PREFIX_KINDS:
                    self.prefixes.append((keep_form(row["name_zh"]), key(row["name_zh"]), t))
        self.prefixes.sort(key=lambda x: -len(x[1]))
        self._zh_choices = sorted({k for k, ts in self.exact.items() if is_chinese(k)
                                   and any(t.kind != "short" for t in ts)})
        self._en_choices = sorted(k for k in self.exact if not is_chinese(k))

    def _result(self, party: str, match: str, t: _Target, score: float, note: str | None = None) -> ScreenResult:
        return ScreenResult(
            party=party, match=match, list=t.party.list, entry=t.party.name, entry_id=t.party.id,
            citation=t.party.citation_text(), score=round(score, 1), as_of=self.table.as_of(t.party.list),
            matched_name=t.name, confidence=t.confidence, note=note,
        )

    @staticmethod
    def _dedupe(results: list[ScreenResult]) -> list[ScreenResult]:
        seen: set[str | None] = set()
        out = []
        for r in results:
            if r.entry_id not in seen:
                seen.add(r.entry_id)
                out.append(r)
        return out

    def screen(self, party: str) -> list[ScreenResult]:
        """Every finding for one party name (at least one result; ``match == "none"`` if nothing)."""
        party = (party or "").strip()
        k = key(party)
        if not k:
            return [ScreenResult(party=party, match="none")]
        hits = self.exact.get(k, [])
        if hits:
            return self._dedupe([self._result(party, "exact", t, 100.0) for t in hits])
        college = next((c for c in self.rules.independent_colleges if k.startswith(c)), None)
        if college:
            uni = self.rules.independent_colleges[college]
            return [ScreenResult(party=party, match="none",
                                 note=f"independent college (独立学院), a separate institution from {uni}")]
        sub = self._subunit(party, k)
        if sub:
            return sub
        return self._similar(party, k) or [ScreenResult(party=party, match="none")]

    def _subunit(self, party: str, k: str) -> list[ScreenResult]:
        if not is_chinese(k):
            return []
        keep = keep_form(party)
        for cand_keep, cand_key, _t in self.prefixes:
            if keep.startswith(cand_keep) and len(keep) > len(cand_keep):
                rest = keep[len(cand_keep):]
            elif k.startswith(cand_key) and len(k) > len(cand_key):
                rest = k[len(cand_key):]
            else:
                continue
            if not self._is_unit(rest):
                return []  # the longest listed prefix decides; a shorter one would be looser still
            targets = [t for ck, kk, t in self.prefixes if kk == cand_key]
            note = f"{rest.strip('()')} is a sub-unit of the listed {_t.name}; the list does not name it separately"
            return self._dedupe([self._result(party, "subunit", t, 100.0, note) for t in targets])
        return []

    def _is_unit(self, rest: str) -> bool:
        if any(w in rest for w in self.rules.excluded_words):
            return False
        if rest.startswith("(") and rest.endswith(")") and rest.count("(") == 1:
            return True  # a campus: 哈尔滨工业大学（深圳）
        return rest.endswith(self.rules.unit_suffixes)

    def _similar(self, party: str, k: str) -> list[ScreenResult]:
        choices = self._zh_choices if is_chinese(k) else (self._en_choices if has_latin(k) else [])
        if not choices:
            return []
        found = process.extract(k, choices, scorer=fuzz.ratio, score_cutoff=self.rules.similar_min_score,
                                limit=self.rules.similar_limit)
        out: list[ScreenResult] = []
        for choice, score, _ in found:
            for t in self.exact[choice]:
                out.append(self._result(party, "similar", t, float(score),
                                        "a similar name, not a match: check the list text"))
        return self._dedupe(out)


@lru_cache(maxsize=1)
def default_screener() -> Screener:
    """The screener over the committed table, names and rules (built once per process)."""
    return Screener(load_table(), load_names(), load_rules())
