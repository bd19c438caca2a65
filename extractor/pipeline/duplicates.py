"""The same notice in two files (a scan and its original, a PDF and its web page, a re-download).

The file hash cannot see it: the bytes differ. The text can: each record keeps a small sketch of its
normalised text (the ``SKETCH`` smallest hashes of its character shingles, a bottom-k MinHash), and two
records whose sketches resemble each other more than ``threshold`` — and whose project codes and notice
types do not contradict — are one notice. The later copy gets ``duplicate_of`` (the original's file);
cases, findings and their summaries count it once. Threshold and sizes: ``extractor/data/duplicates.yaml``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractor.core.document import Document
from extractor.core.evidence import squash

SETTINGS_PATH = Path(__file__).resolve().parent.parent / "data" / "duplicates.yaml"
_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SETTINGS_PATH.read_text(encoding="utf-8"))
    return data


def normalised_text(text: str) -> str:
    """NFKC, no whitespace, no punctuation, lower case: what a scan and its original share."""
    return _NOT_WORD.sub("", squash(text)).lower()


def content_sketch(doc: Document) -> list[int]:
    """The bottom-k hashes of the document's character shingles (empty for a document without text)."""
    s = settings()
    text = normalised_text(doc.text)
    n = int(s["shingle"])
    if len(text) < n:
        return []
    hashes = {zlib.crc32(text[i:i + n].encode("utf-8")) for i in range(len(text) - n + 1)}
    return sorted(hashes)[: int(s["sketch_size"])]


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two bottom-k sketches."""
    if not a or not b:
        return 0.0
    k = min(len(a), len(b))
    union = sorted(set(a) | set(b))[:k]
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / len(union)


def _value(rec: dict[str, Any], name: str) -> Any:
    fv = (rec.get("fields") or {}).get(name)
    return fv.get("value") if isinstance(fv, dict) else None


def _code(rec: dict[str, Any]) -> str:
    return normalised_text(str(_value(rec, "project_code") or ""))


def _compatible(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two stated project codes or notice types that differ make two notices, however alike the text."""
    ca, cb = _code(a), _code(b)
    if ca and cb and ca != cb:
        return False
    ta, tb = _value(a, "notice_type"), _value(b, "notice_type")
    return not (ta and tb and ta != tb)


def _ocr_pages(rec: dict[str, Any]) -> int:
    return int(rec.get("ocr_pages") or 0)


def link_duplicates(records: list[dict[str, Any]], threshold: float | None = None) -> list[dict[str, Any]]:
    """Set ``duplicate_of`` (+ ``duplicate_similarity``) on each record that copies an earlier one.

    The original is the copy with a text layer (fewest OCR'd pages), then the first in order; records
    without a sketch (older runs, failed reads) are left alone. Candidates come from an index of the
    sketches' hashes (a pair at similarity t shares at least t·k of them), so a large folder is not
    compared pair by pair. Returns the records (changed in place)."""
    limit = float(settings()["threshold"]) if threshold is None else threshold
    for rec in records:
        if rec.get("content_sketch"):  # without a sketch (published records, older runs) a link is kept
            rec.pop("duplicate_of", None)
            rec.pop("duplicate_similarity", None)
    ranked = sorted(enumerate(records), key=lambda ir: (_ocr_pages(ir[1]), ir[0]))
    originals: list[dict[str, Any]] = []
    index: dict[int, list[int]] = {}  # hash → positions in ``originals``
    for _, rec in ranked:
        sketch = rec.get("content_sketch") or []
        shared: Counter[int] = Counter(j for h in sketch for j in index.get(h, ()))
        best, score = None, 0.0
        for j, n in shared.items():
            other = originals[j].get("content_sketch") or []
            if n < limit * min(len(sketch), len(other)):
                continue  # cannot reach the threshold
            sim = similarity(sketch, other)
            if sim > score and _compatible(rec, originals[j]):
                best, score = originals[j], sim
        if best is not None and score >= limit:
            rec["duplicate_of"] = best.get("file")
            rec["duplicate_similarity"] = round(score, 3)
        elif sketch:
            for h in sketch:
                index.setdefault(h, []).append(len(originals))
            originals.append(rec)
    return records


def originals_only(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that are not a copy of another record in ``records``."""
    present = {r.get("file") for r in records}
    return [r for r in records if r.get("duplicate_of") not in present or not r.get("duplicate_of")]
