"""What a search query asks for: its concepts, their other spellings, and its kind.

A query is cut into *concepts* (a CJK run, a Latin word, or an English glossary
or lexicon phrase). Each concept has alternatives: the terms as typed, the watchlist
aliases of a chip/cloud/model it names (``英伟达`` -> ``NVIDIA``), the glossary
translations of a procurement term (``bid bond`` -> ``投标保证金``) and, for
other English words, their CC-CEDICT translations that the store holds
(``diesel generator`` -> ``柴油``, ``发电机``; ``lexicon.py``).
Search uses the concepts twice: their terms (typed ones weighted above
alternatives) for BM25, and how many of them a chunk covers for the relevance
floor. The kind (identifier, model, keyword, english, text) sets how much the
lexical side weighs against the dense side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractor.search.floor import query_language
from extractor.search.terms import is_code, is_model_number, longest_runs, normalize, query_tokens

GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "data" / "glossary.yaml"
ALIAS_WEIGHT = 0.5  # a watchlist alias never outweighs what the user typed
ZH_TO_EN_WEIGHT = 0.3  # English renderings of a Chinese term: rare in Chinese documents, a weak extra
MAX_PHRASE = 5  # longest English glossary phrase, in words
LEXICON_RANK_COST = 1.0  # a place lower in the dictionary's order weighs as this much log-frequency in the store
LEXICON_KEEP = 3  # Chinese spellings of an English word taken from the lexicon (those the store holds)

# (dense weight, lexical weight) in the fusion, per kind of query
FUSION_WEIGHTS: dict[str, tuple[float, float]] = {
    "identifier": (0.25, 2.0),  # a code only means something spelled exactly
    "model": (1.0, 1.5),  # e5 barely tells H20 from H200
    "keyword": (0.05, 2.0),  # a bare label (项目编号, bid bond): where it is written, not what it is near;
    #                          dense only breaks ties (form pages full of labels sit close to any label)
    "english": (0.3, 2.0),  # the lexical side searches the glossary's Chinese; e5 across languages puts
    #                         every tender page at ~0.86 to an English query (too flat to rank by)
    "text": (1.0, 1.0),
}

_ATOM = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:[.\-_][A-Za-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_WORD = re.compile(r"[a-z]+")
_TAIL = re.compile(r"(?<=[A-Za-z0-9] )(?:for|in|at|to|with|from|by|on|near|under)(?= )", re.IGNORECASE)


@dataclass
class Concept:
    """One thing the query asks for; ``alternatives[0]`` are the terms as typed."""

    text: str
    alternatives: list[dict[str, float]]
    identifier: bool = False  # a model number or code: dense similarity cannot stand in for it
    translated: bool = False  # an English phrase found in the glossary or the lexicon
    chinese: list[str] = field(default_factory=list)  # the glossary's or lexicon's Chinese for it, best first
    from_lexicon: bool = False  # translated by CC-CEDICT (not the glossary)
    tail: bool = False  # after the English query's first for/in/at…: the buyer or place, not the thing bought


@dataclass
class Query:
    text: str
    kind: str
    concepts: list[Concept]
    terms: dict[str, float]  # BM25 terms with weights
    dense_text: str  # what the dense side embeds
    models: set[str] = field(default_factory=set)  # model numbers / codes as index terms
    sense: set[str] = field(default_factory=set)  # watchlist canonicals the query means in their watched sense
    anti_sense: set[str] = field(default_factory=set)  # ... named, but meant as something else (H100型 试验箱)
    language: str = "zh"  # zh, en or mixed: which relevance floor applies (floor.py)
    absent: float = 0.0  # share of its concepts that no spelling of is in the store (no answer, likely)

    @property
    def has_head(self) -> bool:
        """An English query naming the thing bought apart from who buys it or where (relevance floor)."""
        return self.language == "en" and any(c.tail for c in self.concepts)

    @property
    def weights(self) -> tuple[float, float]:
        return FUSION_WEIGHTS[self.kind]


# --- glossary -------------------------------------------------------------------------------
@dataclass
class Glossary:
    """Bilingual procurement terms: each entry a set of Chinese and English spellings."""

    entries: list[tuple[tuple[str, ...], tuple[str, ...]]]
    stopwords: frozenset[str] = frozenset()  # English words that carry no meaning in a query

    def __post_init__(self) -> None:
        self.by_phrase: dict[tuple[str, ...], list[int]] = {}
        for i, (_, en) in enumerate(self.entries):
            for phrase in en:
                self.by_phrase.setdefault(_en_key(phrase), []).append(i)
        self.zh_words = sorted({z for zh, _ in self.entries for z in zh}, key=len, reverse=True)
        self.by_zh: dict[str, list[int]] = {}
        for i, (zh, _) in enumerate(self.entries):
            for z in zh:
                self.by_zh.setdefault(z, []).append(i)

    @classmethod
    def load(cls, path: str | Path = GLOSSARY_PATH) -> Glossary:
        data = _yaml_load(Path(path))
        entries = []
        for line in data.get("terms") or []:
            zh, sep, en = str(line).partition("=")
            if not sep:
                raise ValueError(f"glossary {path}: entry {line!r} lacks '=' between Chinese and English")
            entries.append((tuple(s.strip() for s in zh.split("|") if s.strip()),
                            tuple(s.strip() for s in en.split("|") if s.strip())))
        return cls(entries, frozenset(str(w).lower() for w in data.get("stopwords") or ()))

    def english_phrases(self, words: list[str]) -> list[tuple[int, int, list[int]]]:
        """Longest glossary phrases in a run of lower-case English words: (start, end, entries)."""
        keys = [_singular(w) for w in words]
        return longest_runs(len(words), MAX_PHRASE, lambda i, size: self.by_phrase.get(tuple(keys[i : i + size])))

    def chinese_terms(self, text: str) -> list[int]:
        """Entries whose Chinese spelling occurs in ``text`` (longest first, no overlaps)."""
        found: list[int] = []
        taken = [False] * len(text)
        for word in self.zh_words:
            start = text.find(word)
            while start >= 0:
                if not any(taken[start : start + len(word)]):
                    for j in range(start, start + len(word)):
                        taken[j] = True
                    found.extend(self.by_zh[word])
                start = text.find(word, start + 1)
        return found


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _en_key(phrase: str) -> tuple[str, ...]:
    return tuple(_singular(w) for w in _EN_WORD.findall(phrase.lower()))


def _yaml_load(path: Path) -> Any:
    from extractor.core.datafile import load_yaml

    return load_yaml(path)  # through its JSON copy: no PyYAML on a cold search


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return Glossary.load()


def prepare_caches() -> None:
    """Build, once per machine, what a query's analysis reads from the cache folder (the CC-CEDICT
    index, ~2 s to build; the data files' JSON copies), so that the first search after the first
    ingest costs what later searches cost. Cheap when they exist; ingest calls it as its last step."""
    from extractor.search.floor import default_floors
    from extractor.search.lexicon import default_lexicon

    default_glossary()
    default_floors()
    _watchlist()
    default_lexicon()


# --- analysis -----------------------------------------------------------------------------------
def _watchlist() -> Any:
    try:
        from extractor.core.watchlist import default_watchlist

        return default_watchlist()
    except Exception:  # noqa: BLE001 — an alias table problem must not break search
        return None


def _aliases(watchlist: Any, text: str) -> list[str]:
    if watchlist is None:
        return []
    try:
        return list(watchlist.expand_query(text))
    except Exception:  # noqa: BLE001
        return []


def analyse(query: str, vocabulary: Container[str] | None = None, glossary: Glossary | None = None) -> Query:
    """Concepts, weighted terms and kind of a query (``vocabulary``: the index's terms)."""
    text = normalize(query).strip()
    glossary = glossary or default_glossary()
    watchlist = _watchlist()
    atoms = [m.group() for m in _ATOM.finditer(text)]
    concepts: list[Concept] = []
    translations: list[str] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        if not _CJK.match(atom) and atom.isalpha():  # a run of English words: glossary phrases first
            j = i
            while j < len(atoms) and not _CJK.match(atoms[j]) and atoms[j].isalpha():
                j += 1
            run_concepts, run_translations = _english_run(atoms[i:j], vocabulary, watchlist, glossary)
            concepts += run_concepts
            translations += run_translations
            i = j
            continue
        concepts.append(_plain_concept(atom, vocabulary, watchlist, glossary))
        i += 1
    whole = _aliases(watchlist, text)  # multi-word aliases too ("Amazon Web Services" -> AWS)
    terms: dict[str, float] = {}
    for c in concepts:
        for n, alt in enumerate(c.alternatives):
            # as typed, or the glossary's first Chinese spelling of an English phrase: full weight;
            # other spellings (项目预算 brings the everywhere-word 项目) and aliases: ALIAS_WEIGHT
            weight = 1.0 if n == 0 or (c.translated and n == 1) else ALIAS_WEIGHT
            for t, w in alt.items():
                terms[t] = max(terms.get(t, 0.0), w * weight)
    for alias in whole:
        for t, w in query_tokens(alias, vocabulary).items():
            terms.setdefault(t, w * ALIAS_WEIGHT)
    models = {t for c in concepts if c.identifier for t, w in c.alternatives[0].items() if w == 1.0}
    sense: set[str] = set()
    anti: set[str] = set()
    if watchlist is not None:
        try:
            sense = {m.canonical for m in watchlist.find_mentions(text, use_context=True)}
            for m in watchlist.find_mentions(text, use_context=False):
                rule = watchlist.context_rules.get(watchlist.by_canonical[m.canonical].context or "")
                if m.canonical not in sense and rule is not None and rule.negative_re is not None \
                        and rule.negative_re.search(text):
                    anti.add(m.canonical)
        except Exception:  # noqa: BLE001
            sense, anti = set(), set()
    _mark_tail(text, concepts)
    kind = _kind(text, concepts)
    dense_text = text if not translations else f"{text} {' '.join(translations)}"
    absent = 0.0
    if vocabulary is not None and concepts:
        missing = [c for c in concepts if not any(t in vocabulary for alt in c.alternatives for t in alt)]
        absent = len(missing) / len(concepts)
    return Query(text, kind, concepts, terms, dense_text, models, sense, anti, query_language(text), absent)


def _mark_tail(text: str, concepts: list[Concept]) -> None:
    """Mark the concepts after an English query's first preposition of purpose or place
    ("firewall and intrusion prevention | for a county hospital"): the words before it name what is
    bought, and a page that only matches the buyer (a school canteen for "food delivery for school
    canteens") does not answer. "of" is not a cut: "digitisation of ancient books" is one thing."""
    cut = _TAIL.search(text)
    if cut is None:
        return
    cursor = 0
    for c in concepts:
        at = text.lower().find(c.text.lower(), cursor)
        if at < 0:
            continue
        c.tail, cursor = at >= cut.start(), at + len(c.text)


def _plain_concept(atom: str, vocabulary: Container[str] | None, watchlist: Any, glossary: Glossary) -> Concept:
    alts = [query_tokens(atom, vocabulary)]
    for alias in _aliases(watchlist, atom):
        alts.append(query_tokens(alias, vocabulary))
    if _CJK.match(atom):
        for n in glossary.chinese_terms(atom):
            # the English stands for its own term only: 直升机租赁服务 is 直升机 + lease + 服务, so a
            # chunk saying "lease" alone does not cover the whole run
            term = max((zh for zh in glossary.entries[n][0] if zh in atom), key=len, default="")
            rest = " ".join(atom.split(term)).strip() if term else ""
            rest_terms = query_tokens(rest, vocabulary) if rest else {}
            for en in glossary.entries[n][1]:
                alts.append({t: w * ZH_TO_EN_WEIGHT for t, w in {**rest_terms, **query_tokens(en, vocabulary)}.items()})
    upper = atom.upper()
    identifier = is_model_number(upper) or is_code(upper) or _is_long_code(upper)
    return Concept(atom, [a for a in alts if a], identifier=identifier)


def _english_run(typed: list[str], vocabulary: Container[str] | None, watchlist: Any,
                 glossary: Glossary) -> tuple[list[Concept], list[str]]:
    """Concepts of a run of English words, and the Chinese the dense side is given for them.
    Order of precedence: glossary phrases of 2+ words (bid bond), lexicon phrases of 2+ words
    (middle school, paper shredder), a glossary word (school: 学校 | 学院 | 大学), a lexicon word
    (blackboard -> 黑板), the word as typed. The lexicon is CC-CEDICT (``lexicon.py``): a chunk
    covers "diesel generator" when it says 柴油 发电机."""
    from extractor.search.lexicon import default_lexicon

    words = [w.lower() for w in typed]
    found = glossary.english_phrases(words)
    spans: dict[int, tuple[int, Concept | None]] = {}
    for s, e, entries in found:
        if e - s > 1:
            spans[s] = (e, _glossary_concept(" ".join(typed[s:e]), entries, vocabulary, glossary))
    taken = {n for s, (e, _) in spans.items() for n in range(s, e)}
    single = {s: entries for s, e, entries in found if e - s == 1}
    rest = [n for n in range(len(words))
            if n not in taken and len(words[n]) > 1 and words[n] not in glossary.stopwords]
    lexicon = default_lexicon()
    for s, e, headwords in lexicon.phrases([words[n] for n in rest], held=lambda zh: _holds(vocabulary, zh)):
        if e - s > 1 and rest[e - 1] - rest[s] == e - s - 1:  # adjacent words only
            first, last = rest[s], rest[e - 1] + 1
            spans[first] = (last, _lexicon_concept(" ".join(typed[first:last]), headwords, vocabulary))
            taken.update(range(first, last))
    for n in rest:
        if n in taken:
            continue
        if n in single:
            spans[n] = (n + 1, _glossary_concept(typed[n], single[n], vocabulary, glossary))
            continue
        concept = _plain_concept(typed[n], vocabulary, watchlist, glossary)
        if not concept.identifier:
            _add_chinese(concept, lexicon.lookup([words[n]]), vocabulary)
        spans[n] = (n + 1, concept)
    concepts = [c for c in (spans[s][1] for s in sorted(spans)) if c is not None]
    # the dense side gets the glossary's Chinese, and the lexicon's for words the store does not
    # hold as typed (API, tokens stay as they are)
    held = vocabulary if vocabulary is not None else ()
    return concepts, [c.chinese[0] for c in concepts if c.chinese and not
                      (c.from_lexicon and c.alternatives[0] and all(t in held for t in c.alternatives[0]))]


def _glossary_concept(typed: str, entries: list[int], vocabulary: Container[str] | None,
                      glossary: Glossary) -> Concept | None:
    """The glossary's Chinese for an English phrase; None when its only Chinese is one character
    (city = 市, county = 县): the index holds words and bigrams, so such a concept could never be
    covered and would only hide right answers."""
    alts = [query_tokens(typed, vocabulary)]
    for n in entries:
        for zh in glossary.entries[n][0]:
            alts.append(query_tokens(zh, vocabulary))
    if all(len(zh) == 1 for n in entries for zh in glossary.entries[n][0]) and \
            not (vocabulary is not None and all(t in vocabulary for t in alts[0])):
        return None
    return Concept(typed, alts, translated=True, chinese=[glossary.entries[entries[0]][0][0]])


def _lexicon_concept(typed: str, headwords: tuple[str, ...], vocabulary: Container[str] | None) -> Concept:
    concept = Concept(typed, [query_tokens(typed, vocabulary)])
    _add_chinese(concept, headwords, vocabulary)
    return concept


def _add_chinese(concept: Concept, headwords: tuple[str, ...], vocabulary: Container[str] | None) -> None:
    """Give a concept the lexicon's Chinese spellings the store holds (after the typed terms)."""
    chinese = _in_store(headwords, vocabulary)
    if chinese:
        concept.alternatives = [concept.alternatives[0] if concept.alternatives else {},
                                *(query_tokens(zh, vocabulary) for zh in chinese), *concept.alternatives[1:]]
        concept.translated, concept.chinese, concept.from_lexicon = True, chinese, True


def _in_store(headwords: tuple[str, ...], vocabulary: Container[str] | None) -> list[str]:
    """The lexicon's Chinese words the searched store holds (tender text: what weights a general
    dictionary toward procurement), best first, LEXICON_KEEP at most; else its first word alone."""
    if not headwords:
        return []
    if vocabulary is None:
        return list(headwords[:LEXICON_KEEP])
    held = [zh for zh in headwords if _holds(vocabulary, zh)]
    if isinstance(vocabulary, Mapping):  # the store's own word counts: 更换 before 代谢 for "replacement"
        rank = {zh: n for n, zh in enumerate(headwords)}
        held.sort(key=lambda zh: LEXICON_RANK_COST * rank[zh] - math.log1p(_df(vocabulary, zh)))
    return held[:LEXICON_KEEP] or [headwords[0]]


def _holds(vocabulary: Container[str] | None, zh: str) -> bool:
    """Whether the store's index holds a Chinese word (whole, or every bigram of a longer one)."""
    if vocabulary is None:
        return True
    return zh in vocabulary or (len(zh) > 2 and all(zh[i : i + 2] in vocabulary for i in range(len(zh) - 1)))


def _df(vocabulary: Mapping[str, Any], word: str) -> int:
    """Chunks holding ``word`` (its rarest bigram for a word the index did not keep whole)."""
    terms = [word] if word in vocabulary else [word[i : i + 2] for i in range(len(word) - 1)]
    counts = []
    for t in terms:
        entry = vocabulary.get(t)
        counts.append(len(entry[0]) if entry is not None else 0)
    return min(counts, default=0)


def _is_long_code(word: str) -> bool:
    """2024BFFFZ01583, JDZB2024-0316, 20312273: long and digit-heavy."""
    return len(word) >= 8 and sum(ch.isdigit() for ch in word) >= 4


def _kind(text: str, concepts: list[Concept]) -> str:
    if any(c.identifier and (is_code(c.text.upper()) or _is_long_code(c.text.upper())) for c in concepts):
        return "identifier"
    if any(c.identifier for c in concepts):
        return "model"
    if not _CJK.search(text) and any(c.translated or c.text.isalpha() for c in concepts):
        return "keyword" if len(concepts) == 1 and concepts[0].translated else "english"
    runs = _CJK.findall(text)
    if len(concepts) == 1 and len(runs) <= 6 and not text.isascii():
        return "keyword"
    return "text"
