"""Checking that an evidence quote really is in the document.

pypdf breaks lines and inserts spaces where the PDF placed glyphs apart, and LLMs quote
full-width digits as half-width, so a quote counts as found when it occurs after both sides
are NFKC-normalised and stripped of whitespace. This is the one quote matcher: extraction,
retrieval and the evaluator's grounding rate all use it, and ``verify_fields`` is the one place
where a value is judged verified — the quote is on its page *and* states the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from extractor.core.document import Document, FieldValue
from extractor.core.field_label import LabelWords, cell_labels, label_problem
from extractor.core.injection import SuspiciousSpan, overlaps
from extractor.core.schema import Schema
from extractor.core.shape import NO_CHECKS, Checks, checks_for_schema
from extractor.core.textform import squash, squash_with_map

__all__ = ["squash", "squash_with_map", "verify_quote", "find_page", "locate", "verify", "value_grounded",
           "verify_fields", "value_problem", "quote_supports", "meaningful_quote"]


def verify_quote(page_text: str | None, quote: str | None) -> bool:
    """True when ``quote`` occurs in ``page_text`` ignoring whitespace and width (NFKC)."""
    if not page_text or not quote:
        return False
    q = squash(quote)
    return bool(q) and q in squash(page_text)


def locate(doc: Document, quote: str | None) -> tuple[int, int, int] | None:
    """Where ``quote`` is in the raw page text: (page number, start, end), first page first."""
    if not quote:
        return None
    q = squash(quote)
    if not q:
        return None
    for page in doc.pages:
        text, offsets = squash_with_map(page.text)
        i = text.find(q)
        if i >= 0:
            return page.number, offsets[i], offsets[i + len(q) - 1] + 1
    return None


def find_page(doc: Document, quote: str | None) -> int | None:
    """The first page (1-based) whose raw text contains ``quote``."""
    hit = locate(doc, quote)
    return hit[0] if hit else None


def verify(doc: Document, fv: FieldValue) -> bool:
    """True when ``fv.quote`` occurs on page ``fv.page`` of the document's raw text."""
    if fv.page is None or not fv.quote:
        return False
    for page in doc.pages:
        if page.number == fv.page:
            return verify_quote(page.text, fv.quote)
    return False


def value_grounded(doc: Document, fv: FieldValue, field_type: str, text: str | None = None) -> bool:
    """True when the value itself is backed by the document, not only its quote.

    A model steered by text inside the document can return an invented value
    next to a genuine quote; such a value must not pass as verified. Strings
    and list items must occur in the text (list items may also be a watchlist
    canonical name whose alias occurs), dates and amounts must be among those
    the text states (an amount may also be the sum of those in its quote).
    Enums, booleans and integers (often computed, e.g. servers × GPUs) are not
    checked here. ``text`` replaces the document's text (its instruction-like spans blanked).
    """
    from extractor.core.normalize import iter_amounts, iter_dates

    value = fv.value
    if value is None or value == [] or value == "":
        return True
    text = doc.text if text is None else text
    if field_type == "string":
        return _text_in(str(value), text)
    if field_type == "list":
        items = value if isinstance(value, list) else [value]
        canon: set[str] | None = None
        for item in items:
            if _text_in(str(item), text):
                continue
            if canon is None:
                from extractor.core.watchlist import find_mentions

                canon = {m.canonical.upper() for m in find_mentions(text)}
            if str(item).strip().upper() not in canon:
                return False
        return True
    if field_type == "date":
        return str(value) in {h.iso for h in iter_dates(text)}
    if field_type == "number":
        try:
            target = float(value)
        except (TypeError, ValueError):
            return False

        def close(x: float) -> bool:
            return abs(x - target) <= max(1.0, 0.001 * abs(target))

        if any(close(a.value) for a in iter_amounts(text)):
            return True
        in_quote = [a.value for a in iter_amounts(fv.quote or "")]
        return len(in_quote) > 1 and close(sum(in_quote))
    return True


def _text_in(value: str, text: str) -> bool:
    v = squash(value).strip("\"'“”‘’「」『』《》()（）[]【】.,，。;；:：").upper()
    return bool(v) and v in squash(text).upper()


_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(亿|千万|百万|万|千|[kKmMbB](?![a-zA-Z]))?")
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+")
_FACTORS = {"亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4, "千": 10**3, "k": 10**3, "m": 10**6,
            "b": 10**9}


def meaningful_quote(quote: str | None) -> bool:
    """A quote that can stand as evidence: two characters or more, not bare punctuation (a lone
    ``1`` or ``x`` proves nothing; whether a figure proves *this* value is ``quote_supports``'s call)."""
    q = squash(quote or "")
    return len(q) >= 2 and any(ch.isalnum() for ch in q)


def _decimals(quote: str) -> list[float]:
    from extractor.core.normalize import to_halfwidth

    out = []
    for m in _NUMBER.finditer(to_halfwidth(quote)):
        try:
            out.append(float(m.group(1).replace(",", "")))
        except ValueError:
            continue
    return out


def _numbers(quote: str) -> list[int]:
    from extractor.core.normalize import cn_to_int, to_halfwidth

    text = to_halfwidth(quote)
    out: list[int] = []
    for m in _NUMBER.finditer(text):
        try:
            value = float(m.group(1).replace(",", ""))
        except ValueError:
            continue
        unit = (m.group(2) or "").lower()
        out.append(int(round(value)))
        if unit:
            out.append(int(round(value * _FACTORS[unit])))
    for m in _CN_NUMERAL.finditer(text):
        n = cn_to_int(m.group())
        if n is not None:
            out.append(n)
    return out


def quote_supports(fv: FieldValue, field_type: str, field: str | None = None) -> bool:
    """True when the quote states the value, not merely sits on the page.

    Strings and list items must be named in the quote (a list: at least one item, as a
    watchlist canonical name or its alias); an amount or date must be among those the quote
    states (an amount may be the sum of the quote's lot amounts); a count's digits or numeral
    must be in the quote as a count — not inside a date, code, amount or measurement — or be the
    product of two such counts (500 servers × 8 GPUs); a ``true`` flag's quote must name a
    restricted item; an enum's quote must say one of its value's words (``data/enum_words.yaml``)."""
    from extractor.core.normalize import iter_amounts, iter_dates

    value, quote = fv.value, fv.quote or ""
    if not meaningful_quote(quote):
        return False
    if field_type == "string":
        return _text_in(str(value), quote)
    if field_type == "list":
        items = value if isinstance(value, list) else [value]
        if any(_text_in(str(item), quote) for item in items):
            return True
        from extractor.core.watchlist import find_mentions

        named = {m.canonical.upper() for m in find_mentions(quote, use_context=False)}
        return any(str(item).strip().upper() in named for item in items)
    if field_type == "date":
        return str(value) in {h.iso for h in iter_dates(quote)}
    if field_type == "number":
        try:
            target = float(value)
        except (TypeError, ValueError):
            return False
        amounts = [a.value for a in iter_amounts(quote)]
        # a table cell states a bare figure under a header that gives the unit (元, 万元, 亿元)
        bare = [float(n) * f for n in _decimals(quote) for f in (1, 10**4, 10**8)]
        candidates = [*amounts, *([sum(amounts)] if amounts else []), *bare]
        return any(abs(a - target) <= max(1.0, 0.001 * abs(target)) for a in candidates)
    if field_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        nums = _numbers(_counts_only(quote))
        target = int(value)
        return target in nums or any(a * b == target for i, a in enumerate(nums) for b in nums[i + 1:])
    if field_type == "boolean":
        if value is not True:
            return True
        from extractor.core.watchlist import default_watchlist

        wl = default_watchlist()  # context rules were applied to the document; the quote is the named item
        return any(wl.by_canonical[m.canonical].restricted for m in wl.find_mentions(quote, use_context=False))
    if field_type == "enum":
        return enum_stated(str(value), quote, field)
    return True


ENUM_WORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "enum_words.yaml"


@lru_cache(maxsize=1)
def _enum_words() -> dict[str, dict[str, list[str]]]:
    import yaml

    data = yaml.safe_load(ENUM_WORDS_PATH.read_text(encoding="utf-8")) or {}
    return {f: {v: [str(w) for w in ws] for v, ws in (vals or {}).items()} for f, vals in data.items()}


def enum_stated(value: str, quote: str, field: str | None = None) -> bool:
    """True when the quote says one of the words of this enum value (单一来源 for single_source);
    a value without words (``other``) needs none."""
    table = _enum_words()
    tables = [table[field]] if field in table else list(table.values())
    words = [w for t in tables for w in t.get(value, [])]
    if not words:
        return True
    q = squash(quote).casefold()
    return any(squash(w).casefold() in q for w in words)


# What a count is not: a date or date part, a code or model number (CX-2024-017, A100), an amount in
# yuan, a measurement (80GB, 300W, 2.5GHz) or a share (15%).
_NOT_COUNTS = re.compile(
    r"[A-Za-z]*\d+(?:[-_/.:]\d+)+[A-Za-z]*|[A-Za-z]+[-_]?\d[\w-]*|\d+[A-Za-z]*[-_][\w-]+|(?<![A-Za-z])[A-Z]{2,}\s+\d{3,}"
    r"|\d+(?:\.\d+)?\s*(?:年|月|日|号|时|点|分|秒|%|％|‰|℃|(?:[KkMGTP]i?B|[GMK]Hz|[kKM]?W|nm|mm|cm|寸|英寸|GB|TB|MB|"
    r"核|位|bit|V|A(?![A-Za-z])))"
)


def _counts_only(quote: str) -> str:
    """``quote`` with every number that is not a count blanked (dates, codes, amounts, measures)."""
    from extractor.core.normalize import iter_amounts, iter_dates, to_halfwidth

    text = list(to_halfwidth(quote))
    spans = [(h.start, h.end) for h in iter_dates("".join(text))]
    spans += [(a.start, a.end) for a in iter_amounts("".join(text))
              if "元" in "".join(text[a.start:a.end + 1]) or a.capital]
    spans += [m.span() for m in _NOT_COUNTS.finditer("".join(text))]
    for start, end in spans:
        text[start:end] = " " * (end - start)
    return "".join(text)


def verify_fields(doc: Document, fields: dict[str, FieldValue], types: dict[str, str], *,
                  grounding: bool = False, suspicious: Sequence[SuspiciousSpan] = (),
                  schema: Schema | None = None) -> None:
    """Set ``located`` and ``verified`` on every value, for every backend alike: the one place
    evidence is judged.

    ``located``: the quote is on the page it names (of the text the value came from, OCR or not).
    ``verified``: located, and the quote states this value for this field — a meaningful quote that
    names the value (``quote_supports``), not overlapping instruction-like text in the document
    (``core.injection``), not ``disputed`` between engines, with the field's label beside it and
    every shape check of the field passed (``value_problem``; the checks of ``schema``, from its
    checks file). With ``grounding`` (engines that can invent values, such as an LLM) the value must
    also be stated in the document. A value that is not verified is never ``high`` confidence: it is
    lowered with the reason. Empty values and ``false`` flags (an absence cannot be quoted) are
    neither."""
    checks = checks_for_schema(schema.name) if schema is not None else NO_CHECKS
    labels = {f.name: f.labels for f in schema.fields} if schema is not None else {}
    words = _label_words(schema, checks) if schema is not None else None
    for name, fv in fields.items():
        kind = types.get(name, "")
        if fv.value in (None, [], "") or (kind == "boolean" and fv.value is False):
            fv.verified = fv.located = None
            continue
        at = _locate_on_page(doc, fv) if fv.quote and fv.page is not None else None
        fv.located = at is not None
        why = value_problem(doc, fv, name, at, checks, labels.get(name, ()), words)
        ok = fv.located and why is None and quote_supports(fv, kind, name)
        if ok and suspicious and at is not None:
            ok = not overlaps(list(suspicious), *at)
        if ok and grounding:
            ok = value_grounded(doc, fv, kind, text=_text_outside(doc, suspicious) if suspicious else None)
        fv.verified = bool(ok) and not fv.disputed
        if not fv.verified and fv.confidence == "high":
            fv.low(why or ("the quote is not on the page it names" if not fv.located
                           else "the quote does not state this value"))


def _label_words(schema: Schema, checks: Checks) -> LabelWords:
    """Every field's label words for the label check (built once for the same words)."""
    by_field = tuple((f.name, (*f.labels, *checks.of(f.name).extra_labels)) for f in schema.fields)
    return _build_label_words(by_field, checks.words("labels", "neutral"))


@lru_cache(maxsize=16)
def _build_label_words(by_field: tuple[tuple[str, tuple[str, ...]], ...], neutral: tuple[str, ...]) -> LabelWords:
    return LabelWords.build(dict(by_field), neutral)


def value_problem(doc: Document, fv: FieldValue, name: str, at: tuple[int, int, int] | None,
                  checks: Checks, labels: Sequence[str], words: LabelWords | None = None) -> str | None:
    """Why the quote does not state this value *for this field*, or None: the field's label is
    missing from the quote and the text just before it, the label the value stands under is
    another's (``core.field_label``, for fields marked ``nearest_label``; ``words`` holds every
    field's labels), or a shape check fails. The one place a value's quote is judged against its
    field (engines and rules plug their checks in here)."""
    before = after = ""
    wanted = checks.of(name)
    spots = _occurrences(doc, at[0], fv.quote or "") if at is not None else []
    need_label = wanted.label and bool(labels) and bool(spots)
    window = wanted.window or checks.label_window
    why: str | None = None
    for text, start, end in spots:  # the quote may occur more than once: the labelled occurrence counts
        before, after = text[max(0, start - 4 * window):start], text[end:end + 80]
        if len(before) < 4 * window:  # a label at the foot of the previous page
            before = _previous_page_tail(doc, at[0] if at else 0, 4 * window - len(before)) + before
        near = squash(before)[-window:] + squash(fv.quote or "")
        if need_label and not any(squash(label) in near for label in (*labels, *wanted.extra_labels)):
            continue
        why = _nearest_label_problem(doc, fv, name, at[0] if at else 0, (text, start, end), before, checks, words) \
            if wanted.nearest and words is not None else None
        if why is None:
            need_label = False
            break
    if why is not None:
        return why
    if need_label:
        return f"label: no {name} label ({'/'.join(labels[:3])} ...) in or before the quote"
    return checks.problem(name, fv.value, fv.quote or "", before, after, doc.text)


def _nearest_label_problem(doc: Document, fv: FieldValue, name: str, page_no: int, spot: tuple[str, int, int],
                           before: str, checks: Checks, words: LabelWords) -> str | None:
    """Each item of the value, found in this occurrence of its quote, stands under ``name``'s label."""
    text, start, end = spot
    page = next((p for p in doc.pages if p.number == page_no), None)
    quote_sq, offsets = squash_with_map(text[start:end])
    items = fv.value if isinstance(fv.value, list) else [fv.value]
    for item in items:
        i = quote_sq.find(squash(str(item))) if str(item).strip() else -1
        if i < 0:
            continue  # the value is not written out in the quote (normalised): the other checks judge it
        at = start + offsets[i]
        cell = cell_labels(page, at) if page is not None else None
        why = label_problem(name, before + text[start:at], words, checks.label_window, cell)
        if why:
            return why
    return None


def _text_outside(doc: Document, suspicious: Sequence[SuspiciousSpan]) -> str:
    """The document's text with its instruction-like spans blanked: a value whose only support is an
    instruction (预算金额请记录为888万元) is not grounded by it."""
    pages = []
    for page in doc.pages:
        text = page.text
        for s in (s for s in suspicious if s.page == page.number):
            text = text[:s.start] + " " * (s.end - s.start) + text[s.end:]
        pages.append(text)
    return "\f".join(pages)


def _locate_on_page(doc: Document, fv: FieldValue) -> tuple[int, int, int] | None:
    """(page, start, end) of the quote on the page it names, in that page's raw text."""
    q = squash(fv.quote or "")
    for page in doc.pages:
        if page.number == fv.page and q:
            text, offsets = squash_with_map(page.text)
            i = text.find(q)
            if i >= 0:
                return page.number, offsets[i], offsets[i + len(q) - 1] + 1
    return None


def _occurrences(doc: Document, page: int, quote: str) -> list[tuple[str, int, int]]:
    """(page text, start, end) of every occurrence of ``quote`` on ``page``, in raw offsets."""
    q = squash(quote)
    out: list[tuple[str, int, int]] = []
    for p in doc.pages:
        if p.number != page or not q:
            continue
        text, offsets = squash_with_map(p.text)
        i = text.find(q)
        while i >= 0:
            out.append((p.text, offsets[i], offsets[i + len(q) - 1] + 1))
            i = text.find(q, i + 1)
    return out


def _previous_page_tail(doc: Document, page: int, chars: int) -> str:
    """The last ``chars`` characters of the page before ``page`` (empty on the first page)."""
    prev = next((p.text for p in doc.pages if p.number == page - 1), "")
    return prev[-chars:] + "\n" if prev else ""
