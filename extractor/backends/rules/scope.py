"""Scope of a watchlist mention: is the name something the notice buys, or only named around it?

A notice names brands it will not accept (``不得使用境外云服务（如AWS…）``), yardsticks
(``不低于NVIDIA A100的80%``, ``达到GPT-4水平``), formats to be compatible with (``兼容Llama``),
machines it scraps (``替换…V100服务器``) and platforms that are not enough (``现有阿里云…不足``).
Those mentions are dropped from the lists; the cue words are data (``rules_cues.yaml``)."""

from __future__ import annotations

import re

from extractor.backends.rules.cues import cues, scope_re

_CLAUSE_BOUNDARY = re.compile(r"[。；;！!？?，,：:]")
_SENTENCE_BOUNDARY = re.compile(r"[。；;！!？?]")
_WINDOW = 60
_SHARE = re.compile(r"\s*的?\s*\d+(?:\.\d+)?\s*[%％]")  # ``A100的80%``: a share of a yardstick
_NEAR = 12  # a comparison verb governs the mention only when it stands right before it


def _clause_before(text: str, start: int) -> str:
    """The text of the mention's clause before it (line breaks are layout, not boundaries)."""
    before = text[max(0, start - _WINDOW): start].replace("\n", "")
    cut = max((m.end() for m in _CLAUSE_BOUNDARY.finditer(before)), default=0)
    return before[cut:]


def _sentence_after(text: str, end: int) -> str:
    after = text[end: end + _WINDOW].replace("\n", "")
    m = _SENTENCE_BOUNDARY.search(after)
    return after[: m.start()] if m else after


def _clause_after(text: str, end: int) -> str:
    after = text[end: end + _WINDOW].replace("\n", "")
    m = _CLAUSE_BOUNDARY.search(after)
    return after[: m.start()] if m else after


def out_of_scope(text: str, start: int, end: int) -> str | None:
    """Why the mention at text[start:end] is not a purchase (a short reason), or None when it is."""
    before = _clause_before(text, start)
    if scope_re("negation_before").search(before):
        return "named as excluded (negation)"
    near = before[-_NEAR:]
    after = _clause_after(text, end)
    compared_after = scope_re("comparison_after").match(after.lstrip(" 的")) or _SHARE.match(after)
    buys_it = re.match(r"\s*(?:GPU|显卡|加速卡|服务器|芯片)", after)  # ``达到…H100 GPU``: the thing itself
    if (scope_re("comparison_before").search(near) or compared_after) and not buys_it:
        return "named as a yardstick (comparison)"
    if scope_re("compatibility_before").search(before) or re.match(r"[^，,。；;]{0,6}兼容", after):
        return "named as a compatibility target"
    replaced = list(scope_re("replaced_before").finditer(before))
    if replaced and not before[replaced[-1].end():].startswith(tuple(cues()["scope"]["replaced_not_if_after"])):
        return "named as what is replaced"
    if scope_re("existing_before").search(before) and scope_re("insufficient_after").search(_sentence_after(text, end)):
        return "named as the existing platform that is not enough"
    return None
