"""The watchlist of AI chips, clouds and models: finding them in text and judging restriction.

All aliases are compiled into ONE trie-shaped regex so a page is scanned once, whatever the
number of aliases. Bare model numbers (``A100``, ``4090``) are ambiguous — lab analysers and
climate chambers carry them too — so they count only with computing words nearby (rules in
``data/watchlist.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from extractor.core.datafile import load_yaml

WATCHLIST_PATH = Path(__file__).resolve().parent.parent / "data" / "watchlist.yaml"
KINDS = ("chip", "cloud", "model")

# Full-width ASCII and the ideographic space, mapped one char to one char so offsets survive.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# ... and ASCII letters lower-cased (full-width ones too), still one char to one char: the alias
# pattern is matched on this text, so it is compiled without IGNORECASE (~3x faster to compile,
# ~40 ms of every cold search; aliases are ASCII and CJK, which have no other case forms).
_SCAN = _FULLWIDTH | {c: c + 32 for c in range(0x41, 0x5B)} | {c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)}
_SHORT_TEXT = 200  # texts this short (a search query) are first checked for any alias key without the regex
_SEP = object()  # an alias atom meaning "optional space, hyphen or underscore"
_SEP_RE = r"[\s\-_]*"
_SEP_CHARS = re.compile(r"[\s\-_]+")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _is_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _key(text: str) -> str:
    """How a matched span is looked up: case-, width- and separator-insensitive."""
    return _SEP_CHARS.sub("", text.translate(_FULLWIDTH)).casefold()


@dataclass(frozen=True)
class Mention:
    canonical: str
    kind: str
    start: int
    end: int
    alias: str  # the text as it occurs


def _words_re(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)


@dataclass(frozen=True)
class ContextRule:
    """What must (strong/weak) or must not (negative) stand near an ambiguous alias."""

    window: int
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    require_positive: bool = True

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContextRule:
        def words(name: str) -> tuple[str, ...]:
            return tuple(w for w in (d.get(name) or []) if w)

        return cls(window=int(d.get("window", 60)), strong=words("strong"), weak=words("weak"),
                   negative=words("negative"), require_positive=bool(d.get("require_positive", True)))

    # Compiled on first use: only an ambiguous alias needs them, and a search's query rarely has one.
    @cached_property
    def strong_re(self) -> re.Pattern[str] | None:
        return _words_re(self.strong)

    @cached_property
    def weak_re(self) -> re.Pattern[str] | None:
        return _words_re(self.weak)

    @cached_property
    def negative_re(self) -> re.Pattern[str] | None:
        return _words_re(self.negative)

    def accepts(self, text: str, start: int, end: int, confirmed: bool = False) -> bool:
        """True when the alias at text[start:end] means the watched item.

        ``confirmed`` = the same item is named unambiguously elsewhere in the text, which is
        enough positive evidence unless a non-computing device word stands closer."""
        lo, hi = max(0, start - self.window), min(len(text), end + self.window)

        def nearest(pattern: re.Pattern[str] | None) -> int | None:
            if pattern is None:
                return None
            best = None
            for m in pattern.finditer(text, lo, hi):
                d = start - m.end() if m.end() <= start else max(0, m.start() - end)
                best = d if best is None else min(best, d)
            return best

        neg = nearest(self.negative_re)
        strong = nearest(self.strong_re)
        if neg is not None:
            return strong is not None and strong < neg
        if not self.require_positive:
            return True
        return confirmed or strong is not None or nearest(self.weak_re) is not None


@dataclass(frozen=True)
class Entry:
    canonical: str
    kind: str
    vendor: str
    origin: str
    restricted: bool
    restricted_after: str | None
    aliases: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()
    context: str | None = None
    implies: tuple[str, ...] = ()
    generic: bool = False
    reason: str = ""
    date: str | None = None

    def restricted_on(self, publish_date: str | None) -> bool:
        """Restricted for a tender of that date (undated tenders are judged as current)."""
        if not self.restricted:
            return False
        if self.restricted_after is None or publish_date is None:
            return True
        return publish_date > self.restricted_after


@dataclass
class Watchlist:
    entries: list[Entry]
    context_rules: dict[str, ContextRule]
    vendor_aliases: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_canonical = {e.canonical: e for e in self.entries}
        self._lookup: dict[str, tuple[Entry, bool]] = {}
        self._aliases: list[str] = []
        for e in self.entries:
            if e.kind not in KINDS:
                raise ValueError(f"watchlist entry {e.canonical!r}: unknown kind {e.kind!r}")
            for alias, ambiguous in [(a, False) for a in e.aliases] + [(a, True) for a in e.ambiguous]:
                k = _key(alias)
                other = self._lookup.get(k)
                if other and other[0].canonical != e.canonical:
                    raise ValueError(f"watchlist alias {alias!r} is claimed by {other[0].canonical!r} and {e.canonical!r}")
                if not other or other[1]:  # an unambiguous spelling wins over an ambiguous one
                    self._lookup[k] = (e, ambiguous)
                self._aliases.append(alias)
        self._longest_key = max((len(k) for k in self._lookup), default=0)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        """All aliases as one trie-shaped regex. Compiled on first use (~15-40 ms): a search
        query that names no watched item never needs it (see ``_may_name_any``)."""
        atoms = [_atoms(alias) for alias in self._aliases]
        # The leading one-char lookahead lets `re` skip non-candidate positions ~10x faster.
        firsts = sorted({a[0] for a in atoms if a and isinstance(a[0], str)})
        first_class = "(?=[" + "".join(re.escape(c) for c in firsts) + "])"
        cased = any(isinstance(a, str) and not a.isascii() and a.upper() != a.lower() for al in atoms for a in al)
        return re.compile(first_class + _trie_regex(atoms), re.IGNORECASE if cased else 0)

    @cached_property
    def _vendor_re(self) -> re.Pattern[str] | None:
        vendor_words = sorted({w for ws in self.vendor_aliases.values() for w in ws}, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, vendor_words)), re.I) if vendor_words else None

    def _may_name_any(self, text: str) -> bool:
        """False only when no alias can match: a match's lookup key is always a substring of the
        whole text's key (width, case and separators fold char by char), so a short text whose
        key holds no alias key needs no regex at all."""
        key = _key(text)
        longest = self._longest_key
        return any(key[i:j] in self._lookup
                   for i in range(len(key)) for j in range(i + 1, min(len(key), i + longest) + 1))

    @classmethod
    def load(cls, path: str | Path = WATCHLIST_PATH) -> Watchlist:
        data = load_yaml(path)  # a cold search loads this: through its JSON copy (core/datafile.py)
        entries = []
        for d in data["entries"]:
            after = d.get("restricted_after")
            entries.append(Entry(
                canonical=d["canonical"], kind=d["kind"], vendor=d.get("vendor", ""), origin=d.get("origin", "other"),
                restricted=bool(d.get("restricted", False)),
                restricted_after=after.isoformat() if isinstance(after, date) else after,
                aliases=tuple(str(a) for a in d.get("aliases") or ()),
                ambiguous=tuple(str(a) for a in d.get("ambiguous") or ()),
                context=d.get("context"), implies=tuple(d.get("implies") or ()),
                generic=bool(d.get("generic", False)), reason=d.get("reason", ""),
                date=str(d["date"]) if d.get("date") else None,
            ))
        rules = {name: ContextRule.from_dict(r) for name, r in (data.get("context_rules") or {}).items()}
        for e in entries:
            if e.ambiguous and e.context not in rules:
                raise ValueError(f"watchlist entry {e.canonical!r}: unknown context rule {e.context!r}")
        return cls(entries, rules, {k: list(v) for k, v in (data.get("vendor_aliases") or {}).items()})

    def find_mentions(self, text: str, use_context: bool = True) -> list[Mention]:
        """Every watched item named in ``text``, in order; ambiguous bare numbers only in context."""
        if "_pattern" not in self.__dict__ and len(text) <= _SHORT_TEXT and not self._may_name_any(text):
            return []  # no alias can be in it: the regex need not be compiled (once it is, it is faster)
        scan = text.translate(_FULLWIDTH)
        found: list[tuple[Entry, bool, int, int]] = []
        for m in self._pattern.finditer(text.translate(_SCAN)):
            hit = self._lookup.get(_key(m.group()))
            if hit:
                found.append((hit[0], hit[1], m.start(), m.end()))
        named = {e.canonical for e, ambiguous, _, _ in found if not ambiguous}
        out = []
        for e, ambiguous, s, t in found:
            if ambiguous and use_context and not self.context_rules[e.context or ""].accepts(
                    scan, s, t, confirmed=e.canonical in named):
                continue
            out.append(Mention(e.canonical, e.kind, s, t, text[s:t]))
        return out

    def canonicals(self, mentions: list[Mention]) -> dict[str, list[str]]:
        """Canonical names per kind in first-seen order, with implied items added and a generic
        family name dropped when a specific model of the same vendor is named."""
        out: dict[str, list[str]] = {k: [] for k in KINDS}
        for m in mentions:
            e = self.by_canonical[m.canonical]
            for name in (e.canonical, *e.implies):
                item = self.by_canonical[name]
                if name not in out[item.kind]:
                    out[item.kind].append(name)
        for kind, names in out.items():
            specific = {(self.by_canonical[n].vendor) for n in names if not self.by_canonical[n].generic}
            out[kind] = [n for n in names
                         if not (self.by_canonical[n].generic and self.by_canonical[n].vendor in specific)]
        return out

    def expand_query(self, query: str) -> list[str]:
        """Other spellings of the chips/clouds/models (and vendors) a search query names."""
        out: list[str] = []
        seen = {query.strip().casefold()}

        def add(s: str) -> None:
            if s.casefold() not in seen:
                seen.add(s.casefold())
                out.append(s)

        for m in self.find_mentions(query, use_context=False):
            e = self.by_canonical[m.canonical]
            for s in (e.canonical, *e.aliases, *e.ambiguous):
                add(s)
        if self._vendor_re:
            for vm in self._vendor_re.finditer(query):
                for words in self.vendor_aliases.values():
                    if any(w.casefold() == vm.group().casefold() for w in words):
                        for w in words:
                            add(w)
        return out

    def is_restricted(self, chips: list[str], clouds: list[str], models: list[str],
                      publish_date: str | None = None, ai_context: bool = True) -> bool:
        """The contract's ``restricted_us_tech``: any restricted chip or model (dated rules
        applied), or a US cloud when the tender is about AI compute or models."""
        for name in [*chips, *models]:
            e = self.by_canonical.get(name)
            if e and e.restricted_on(publish_date):
                return True
        if ai_context:
            for name in clouds:
                e = self.by_canonical.get(name)
                if e and e.restricted_on(publish_date):
                    return True
        return False


def _atoms(alias: str) -> list[object]:
    """An alias as regex atoms: lower-cased chars, separators, and an optional separator
    wherever CJK meets Latin/digits (``英伟达A100`` also matches ``英伟达 A100``)."""
    atoms: list[object] = []
    prev = ""
    for ch in alias.translate(_FULLWIDTH).lower():
        if ch in " -_":
            if atoms and atoms[-1] is not _SEP:
                atoms.append(_SEP)
        else:
            if prev and atoms[-1] is not _SEP and (
                    (_is_cjk(prev) and _is_alnum(ch)) or (_is_alnum(prev) and _is_cjk(ch))):
                atoms.append(_SEP)
            atoms.append(ch)
        prev = ch if ch not in " -_" else prev
    while atoms and atoms[-1] is _SEP:
        atoms.pop()
    return atoms


def _trie_regex(aliases: list[list[object]]) -> str:
    """One regex for all aliases, shaped like a trie (shared prefixes tested once), longest
    alternative first, with Latin word boundaries at alias ends that are letters or digits."""
    root: dict[Any, Any] = {}
    for atoms in aliases:
        node = root
        for a in atoms:
            node = node.setdefault(a, {})
        node[""] = {"_last": atoms[-1]}

    def emit(node: dict[Any, Any], top: bool) -> str:
        alts = []
        end = None
        for atom, child in node.items():
            if atom == "":
                last = child["_last"]
                end = "(?![a-z0-9])" if isinstance(last, str) and _is_alnum(last) else ""
                continue
            piece = _SEP_RE if atom is _SEP else re.escape(atom)
            if top and isinstance(atom, str) and _is_alnum(atom):
                piece = "(?<![a-z0-9])" + piece
            alts.append(piece + emit(child, False))
        alts.sort(key=len, reverse=True)
        if end is not None:
            alts.append(end)
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(root, True)


@lru_cache(maxsize=1)
def default_watchlist() -> Watchlist:
    return Watchlist.load()


def find_mentions(text: str, use_context: bool = True) -> list[Mention]:
    return default_watchlist().find_mentions(text, use_context)


def canonicals(mentions: list[Mention]) -> dict[str, list[str]]:
    return default_watchlist().canonicals(mentions)


def expand_query(query: str) -> list[str]:
    return default_watchlist().expand_query(query)


def is_restricted(chips: list[str], clouds: list[str], models: list[str],
                  publish_date: str | None = None, ai_context: bool = True) -> bool:
    return default_watchlist().is_restricted(chips, clouds, models, publish_date, ai_context)


def entry(canonical: str) -> Entry | None:
    return default_watchlist().by_canonical.get(canonical)
