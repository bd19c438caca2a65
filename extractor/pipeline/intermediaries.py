"""Which supplier the notice makes an intermediary for a US provider (AWS, Microsoft Azure, NVIDIA …).

A Chinese buyer rarely contracts AWS or Azure directly: a domestic company resells the service or is
required to be the provider's authorised partner. The notice says so in one sentence (通过微软Azure（由国内
授权云服务合作伙伴转售）提供…, 服务平台为亚马逊云科技…, 须提供云服务商出具的授权或合作伙伴证明). That sentence
is the evidence; the words are data (``extractor/data/intermediaries.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.document import Document
from extractor.core.errors import UsageError
from extractor.core.evidence import squash, squash_with_map

WORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "intermediaries.yaml"
WINDOW = 40  # characters either side of the provider's name when no sentence end is nearer


@dataclass(frozen=True)
class Provider:
    name: str
    pattern: re.Pattern[str]
    delivers: bool


@dataclass(frozen=True)
class Words:
    providers: tuple[Provider, ...]
    partner: tuple[str, ...]
    delivery: tuple[str, ...]
    generic: tuple[str, ...]
    excluded: tuple[str, ...]
    ends: str


def _name_pattern(names: list[str]) -> re.Pattern[str]:
    """Latin names stand alone (AWS, not 'AWSOME'); Chinese names match anywhere."""
    parts = []
    for n in sorted((squash(x) for x in names), key=len, reverse=True):
        esc = re.escape(n)
        parts.append(rf"(?<![A-Za-z]){esc}(?![A-Za-z])" if n.isascii() else esc)
    return re.compile("|".join(parts))


@lru_cache(maxsize=4)
def load_words(path: Path = WORDS_PATH) -> Words:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Words(
            providers=tuple(Provider(p["name"], _name_pattern(p["names"]), bool(p.get("delivers")))
                            for p in data["providers"]),
            partner=tuple(squash(w) for w in data["partner_words"]),
            delivery=tuple(squash(w) for w in data["delivery_cues"]),
            generic=tuple(squash(w) for w in data["generic_provider_words"]),
            excluded=tuple(squash(w) for w in data["excluded_words"]),
            ends=str(data["sentence_end"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read intermediary words {path}: {exc}") from exc


def _span(text: str, start: int, end: int, ends: str) -> tuple[int, int]:
    """The clause around text[start:end]: out to the nearest sentence end, at most WINDOW chars each way."""
    lo = start
    while lo > 0 and start - lo < WINDOW and text[lo - 1] not in ends:
        lo -= 1
    hi = end
    while hi < len(text) and hi - end < WINDOW and text[hi] not in ends:
        hi += 1
    return lo, hi


def _basis(clause: str, provider: Provider, words: Words) -> str | None:
    if any(w in clause for w in words.excluded):
        return None
    if any(w in clause for w in words.partner):
        return "partner"
    if provider.delivers and any(w in clause for w in words.delivery):
        return "delivers"
    return None


def _raw(page_text: str, offsets: tuple[int, ...], lo: int, hi: int) -> str:
    return page_text[offsets[lo]:offsets[hi - 1] + 1].strip()


def find_intermediaries(doc: Document, suppliers: list[str] | None, clouds: list[str] | None,
                        words: Words | None = None) -> list[dict[str, Any]]:
    """One entry per US provider the notice makes the supplier an intermediary for, with page and quote.

    ``supplier`` is the record's supplier when there is exactly one (a tender has none yet: the entry
    then states the requirement every bidder must meet); ``basis`` is ``partner`` (authorised partner /
    reseller / agent) or ``delivers`` (the supplier delivers the provider's service).
    """
    w = words or load_words()
    by_name = {p.name: p for p in w.providers}
    found: dict[str, dict[str, Any]] = {}
    for page in doc.pages:
        text, offsets = squash_with_map(page.text)
        if not text:
            continue
        for provider in w.providers:
            for m in provider.pattern.finditer(text):
                lo, hi = _span(text, m.start(), m.end(), w.ends)
                basis = _basis(text[lo:hi], provider, w)
                if basis and provider.name not in found:
                    found[provider.name] = {"provider": provider.name, "basis": basis, "page": page.number,
                                            "quote": _raw(page.text, offsets, lo, hi)}
        # a partner requirement naming only "the cloud provider": the US cloud this notice buys
        for g in w.generic:
            for m in re.finditer(re.escape(g), text):
                lo, hi = _span(text, m.start(), m.end(), w.ends)
                clause = text[lo:hi]
                if any(x in clause for x in w.excluded) or not any(x in clause for x in w.partner):
                    continue
                for cloud in clouds or []:
                    if cloud in by_name and cloud not in found:
                        found[cloud] = {"provider": cloud, "basis": "partner", "page": page.number,
                                        "quote": _raw(page.text, offsets, lo, hi)}
    named = [s for s in suppliers or [] if s]
    supplier = named[0] if len(named) == 1 else None
    out = []
    for e in found.values():
        entry = {"supplier": supplier, "intermediary_for": e["provider"], "basis": e["basis"],
                 "page": e["page"], "quote": e["quote"]}
        if supplier is None and len(named) > 1:
            entry["note"] = "the notice names several suppliers; which one resells is not stated"
        elif supplier is None:
            entry["note"] = "a requirement of the bidders; the notice names no supplier yet"
        out.append(entry)
    return out
