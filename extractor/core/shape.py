"""Shape checks: what a value of a field must look like before it can count as verified.

A quote can sit on its page and contain the value while the value is still wrong: a column
header returned as a supplier, a name with the next label glued on, a code cut at a bracket, a
duration read as a count, a cloud named only as the one being replaced. The checks are data
(``<schema>.checks.yaml`` beside the schema file, e.g. ``schemas/tender.checks.yaml``), judged
here; ``core.evidence.verify_fields`` is the one place that applies them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.errors import SchemaError

__all__ = ["FieldChecks", "Checks", "load_checks", "checks_for_schema", "NO_CHECKS", "body_kinds", "contradicting_kind"]

_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_CJK_ONLY = re.compile(r"[\u4e00-\u9fff]+")
_INNER_LABEL = re.compile(r"[\u4e00-\u9fff]{2,10}\s*[:：]")
_TRAILING_REMARK = re.compile(r"[（(][^（()）]{0,12}[)）]\s*$")


@dataclass(frozen=True)
class FieldChecks:
    """What one field needs: its label beside the quote, and the named shape checks."""

    label: bool = False
    shapes: tuple[str, ...] = ()
    extra_labels: tuple[str, ...] = ()  # header words that also label the field (标段(包)名称)
    window: int = 0  # this field's label window, when wider than the default (a table's total row)
    nearest: bool = False  # the label the value stands under must be this field's (core.field_label)


@dataclass(frozen=True)
class Checks:
    """The parsed checks file of one schema."""

    fields: dict[str, FieldChecks] = field(default_factory=dict)
    label_window: int = 160
    data: dict[str, Any] = field(default_factory=dict)

    def of(self, name: str) -> FieldChecks:
        return self.fields.get(name, FieldChecks())

    def words(self, section: str, key: str) -> tuple[str, ...]:
        return tuple(str(w) for w in (self.data.get(section) or {}).get(key) or ())

    def patterns(self, section: str | None, key: str) -> tuple[re.Pattern[str], ...]:
        raw = (self.data.get(section) or {}).get(key) if section else self.data.get(key)
        return _compile(tuple(str(p) for p in raw or ()))

    def problem(self, name: str, value: Any, quote: str = "", before: str = "", after: str = "",
                doc_text: str = "", *, value_only: bool = False) -> str | None:
        """Why ``value`` (of field ``name``) has the wrong shape, or None when every check passes.

        ``quote`` is the evidence, ``before``/``after`` the page text around it (whitespace kept),
        ``doc_text`` the whole document (for checks that need it, such as the lot count). With
        ``value_only`` only the checks of the value itself run (no page around it to judge by)."""
        items = value if isinstance(value, list) else [value]
        for shape in self.of(name).shapes:
            if value_only and shape in _IN_CONTEXT:
                continue
            for item in items:
                why = _CHECKS[shape](self, item, quote, before, after, doc_text)
                if why:
                    return f"{shape}: {why}"
        return None


NO_CHECKS = Checks()


@lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def _placeholder(c: Checks, value: Any, *_: str) -> str | None:
    text = str(value)
    hit = next((p.pattern for p in c.patterns(None, "placeholder_patterns") if p.search(text)), None)
    return f"{text!r} is a template placeholder" if hit else None


def _organisation(c: Checks, value: Any, *_: str) -> str | None:
    name = str(value).strip()
    bad = next((w for w in c.words("organisation", "forbidden_words") if w in name), None)
    if bad:
        return f"{name!r} holds the label or header word {bad!r}"
    core = _TRAILING_REMARK.sub("", name).strip()
    person = (c.data.get("organisation") or {}).get("person") or {}
    if (_CJK_ONLY.fullmatch(core) and len(core) <= int(person.get("max_chars") or 0)
            and core[0] in str(person.get("surnames") or "")):
        return f"{name!r} is a person's name (a surname and a given name), not an organisation"
    if core.endswith(c.words("organisation", "forms")):
        return None
    if any(p.search(core) for p in c.patterns("organisation", "name_patterns")):
        return None
    return f"{name!r} does not end in an organisation form (公司, 局, 中心, 大学 ...)"


def _project_name(c: Checks, value: Any, *_: str) -> str | None:
    name = str(value).strip()
    hit = next((p.pattern for p in c.patterns("project_name", "notice_patterns") if p.search(name)), None)
    return f"{name!r} carries the notice's own words ({hit})" if hit else None


def _code(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    rest = _after_value(str(value), quote, after)
    if rest is None:
        return None
    hit = next((p.pattern for p in c.patterns("code", "continues_patterns") if p.match(rest)), None)
    return f"the printed code goes on after {value!r} ({rest[:12]!r})" if hit else None


def _whole(c: Checks, value: Any, *_: str) -> str | None:
    name = str(value).strip()
    glued = next((w for w in c.words("whole", "glued_words") if w in name), None)
    if glued:
        return f"{name!r} runs into the next label ({glued!r})"
    label = _INNER_LABEL.search(name)
    if label:  # a name never holds a `词：` label: the next label of the page ran into it
        return f"{name!r} runs into the next label ({label.group(0)!r})"
    if name.endswith(c.words("whole", "dangling_ends")):
        return f"{name!r} is cut short (ends in {name[-1]!r})"
    if name.count("（") + name.count("(") > name.count("）") + name.count(")"):
        return f"{name!r} is cut at a bracket"
    return None


def _after_value(value: str, quote: str, after: str) -> str | None:
    """The text that follows the value where the quote states it (the quote's tail, then the page)."""
    v = value.strip()
    i = quote.find(v) if v else -1
    if i < 0:
        return None
    return quote[i + len(v):] + after


_NUM = r"(\d+|[一二两三四五六七八九十百千]+)"


def _count(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    text = quote + after[:4]
    number = re.escape(str(value))
    durations = "|".join(map(re.escape, c.words("count", "durations")))
    units = "|".join(map(re.escape, c.words("count", "units")))
    if durations and re.search(rf"(?<!\d){number}\s*(?:{durations})", text) and not (
            units and re.search(rf"(?<!\d){number}\s*(?:{units})(?!月)", text)):
        return f"{value} is a duration in the quote, not a count"
    near = before[-40:] + quote + after[:20]
    if not any(t.lower() in near.lower() for t in c.words("count", "things")):
        return f"{value} is not tied to servers or accelerators in or beside the quote"
    return None


_CLAUSE_END = re.compile(r"[。；;！!？?\n]")


def _bought(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    """Every mention of the provider sits in a clause that names it as the alternative."""
    from extractor.core.watchlist import find_mentions

    words = c.words("bought_not_alternative", "words")
    clauses = [_clause(doc_text, m.start, m.end) for m in find_mentions(doc_text, use_context=False)
               if m.canonical == str(value)]
    if not clauses:  # the quote is the only place it is named
        clauses = [_CLAUSE_END.split(before)[-1] + quote + _CLAUSE_END.split(after)[0]]
    hits = [next((w for w in words if w in clause), None) for clause in clauses]
    if all(hits):
        return f"{value} is named only as the alternative ({hits[0]!r}), not as a cloud bought"
    return None


def _clause(text: str, start: int, end: int) -> str:
    """The clause around ``text[start:end]`` (between sentence or clause marks)."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right = _CLAUSE_END.search(text, end)
    return text[left:right.start() if right else len(text)]


def _total(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    lots = {m.group(0) for p in c.patterns("total_of_lots", "lot_patterns") for m in p.finditer(doc_text)}
    if len(lots) < 2:
        return None
    near = before[-40:] + quote
    if any(w in near for w in c.words("total_of_lots", "total_words")):
        return None
    from extractor.core.normalize import iter_amounts

    amounts = [a.value for a in iter_amounts(quote)]
    if len(amounts) > 1 and abs(sum(amounts) - float(value)) <= max(1.0, 0.001 * abs(float(value))):
        return None  # the quote's lot amounts add up to the value
    lot = next((m.group(0) for p in c.patterns("total_of_lots", "lot_patterns") for m in p.finditer(near)), None)
    return f"the amount is stated for {lot}, one of {len(lots)} lots, not as the total" if lot else None


def _unit_price(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    """The amount is stated per unit in its clause (单价每套￥460), with no total word beside it."""
    clause = _CLAUSE_END.split(before)[-1][-30:] + quote
    word = next((w for w in c.words("unit_price", "words") if w in clause), None)
    if word is None or any(w in clause for w in c.words("total_of_lots", "total_words")):
        return None
    return f"{value} is a unit price ({word!r}), not the contract's amount"


def body_kinds(c: Checks, doc_text: str) -> dict[str, int]:
    """How many distinct standard phrases of each notice kind the document's text holds."""
    section = c.data.get("notice_type") or {}
    text = doc_text[:int(section.get("body_chars") or len(doc_text))]
    return {str(kind): sum(1 for w in words if str(w) in text) for kind, words in (section.get("body_cues") or {}).items()}


def contradicting_kind(c: Checks, doc_text: str, kind: str, *, overrule: bool = False) -> str | None:
    """Another judged notice kind the body speaks for while it has none of ``kind``'s phrases (title and
    body disagree), or None. One phrase of the other kind is enough to withhold "verified"; with
    ``overrule`` (the rules engine replacing the title's kind) it takes ``overrule_with`` of them."""
    judged = c.words("notice_type", "judged")
    if kind not in judged:
        return None
    found = body_kinds(c, doc_text)
    if found.get(kind):
        return None
    needed = ((c.data.get("notice_type") or {}).get("overrule_with") or {}) if overrule else {}
    return next((k for k in judged if k != kind and found.get(k, 0) >= int(needed.get(k, 2 if overrule else 1))),
                None)


def _body_agrees(c: Checks, value: Any, quote: str, before: str, after: str, doc_text: str) -> str | None:
    """A judged kind whose body has none of its phrases but another judged kind's (title and body disagree)."""
    other = contradicting_kind(c, doc_text, str(value))
    return f"the body has {other} phrases and none of a {value} notice: title and body disagree" if other else None


_IN_CONTEXT = frozenset({"body_agrees", "not_unit_price", "code", "count", "bought_not_alternative", "total_of_lots"})  # judged on the page

_CHECKS: dict[str, Callable[..., str | None]] = {"no_placeholder": _placeholder, "organisation": _organisation, "project_name": _project_name,
           "code": _code, "whole": _whole, "count": _count, "bought_not_alternative": _bought,
           "total_of_lots": _total, "body_agrees": _body_agrees,
           "not_unit_price": _unit_price}


def load_checks(path: Path) -> Checks:
    """Parse a checks file; an unknown shape name is a schema error (a typo must not switch a check off)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SchemaError(f"{path}: not a readable checks file ({e})") from None
    fields: dict[str, FieldChecks] = {}
    for name, spec in (data.get("fields") or {}).items():
        shapes = tuple(str(s) for s in (spec or {}).get("shape") or ())
        unknown = [s for s in shapes if s not in _CHECKS]
        if unknown:
            raise SchemaError(f"{path}: field {name}: unknown shape check(s) {', '.join(unknown)}")
        spec = spec or {}
        fields[str(name)] = FieldChecks(label=bool(spec.get("label")), shapes=shapes,
                                        extra_labels=tuple(str(w) for w in spec.get("extra_labels") or ()),
                                        window=int(spec.get("window") or 0),
                                        nearest=bool(spec.get("nearest_label")))
    for section, key in (("organisation", "name_patterns"), ("project_name", "notice_patterns")):
        try:
            _compile(tuple(str(p) for p in (data.get(section) or {}).get(key) or ()))
        except re.error as e:
            raise SchemaError(f"{path}: {section}.{key}: {e}") from None
    return Checks(fields=fields, label_window=int(data.get("label_window", 160)), data=data)


@lru_cache(maxsize=16)
def checks_for_schema(name: str) -> Checks:
    """The checks beside built-in schema ``name`` (``schemas/NAME.checks.yaml``); none when absent."""
    path = _SCHEMAS / f"{name}.checks.yaml"
    return load_checks(path) if path.is_file() else NO_CHECKS
