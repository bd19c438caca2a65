"""Review decisions: a reviewer accepts an extracted value or corrects it, with who and when.

Decisions are appended to a JSONL file beside the records (``records.jsonl`` →
``records.review.jsonl``), one complete line per decision, fsynced, so nothing is lost on a
restart or a crash (an exclusive lock per append, so two desks on one file lose nothing; the
file is private to its user); the last decision for a (document, field) is the one that counts, and the
earlier ones stay as the history.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from extractor.core.document import FieldValue
from extractor.core.errors import UsageError
from extractor.core.evidence import quote_supports, squash, squash_with_map, verify_quote
from extractor.core.normalize import parse_amount, parse_count, parse_date
from extractor.core.schema import Field, Schema
from extractor.core.shape import checks_for_schema
from extractor.pipeline.records import read_records
from extractor.store.locks import lock

__all__ = ["Decision", "ReviewLog", "ReviewError", "review_path_for", "coerce_value", "quote_states", "ACTIONS",
           "VERIFIED", "STATED"]

ACTIONS = ("accept", "correct")
VERIFIED, STATED = "verified", "reviewer-stated"  # what a decision's value rests on
_TRUE = {"true", "yes", "y", "1", "是", "对", "真"}
_FALSE = {"false", "no", "n", "0", "否", "不是", "假"}


class ReviewError(UsageError):
    """A decision that cannot be recorded (unknown field, a value of the wrong type)."""


def review_path_for(records: Path) -> Path:
    """Where the decisions about ``records`` live: beside it, ``NAME.review.jsonl``."""
    stem = records.name[: -len(".jsonl")] if records.name.endswith(".jsonl") else records.name
    return records.with_name(f"{stem}.review.jsonl")


@dataclass
class Decision:
    doc: str  # sha256 of the document
    file: str  # the record's file, for people reading the log
    field: str
    action: str  # accept | correct
    value: Any  # the value the reviewer vouches for
    page: int | None
    quote: str | None
    verified: bool | None  # the quote is on that page and states this value (None: no page text to check against)
    original: Any  # the extracted value at the time of the decision
    reviewer: str
    at: str  # ISO 8601 UTC
    located: bool | None = None  # the quote is on that page (whether or not it states the value)
    evidence: str = STATED  # "verified" (the quote states the value) or "reviewer-stated" (the reviewer's word)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Decision | None:
        try:
            return cls(doc=str(d["doc"]), file=str(d.get("file", "")), field=str(d["field"]),
                       action=str(d["action"]), value=d.get("value"), page=d.get("page"), quote=d.get("quote"),
                       verified=d.get("verified"), original=d.get("original"), reviewer=str(d.get("reviewer", "")),
                       at=str(d.get("at", "")), located=d.get("located"),
                       evidence=VERIFIED if d.get("verified") is True else STATED)
        except (KeyError, TypeError):
            return None


def coerce_value(field: Field, raw: Any) -> Any:
    """What a reviewer typed, as the field's type (``50万元`` → 500000, ``2024年3月1日`` → 2024-03-01)."""
    if field.type == "list":
        items = raw if isinstance(raw, list) else _split_list(str(raw or ""))
        return [str(x).strip() for x in items if str(x).strip()]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if not field.nullable:
            raise ReviewError(f"{field.name} cannot be empty")
        return None
    text = str(raw).strip()
    if field.type == "string":
        return text
    if field.type == "enum":
        if text not in (field.enum or ()):
            raise ReviewError(f"{field.name} must be one of {', '.join(field.enum or ())}")
        return text
    if field.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ReviewError(f"{field.name} must be true or false")
    if field.type == "date":
        iso = parse_date(text)
        if iso is None:
            raise ReviewError(f"{field.name}: {text!r} is not a date (write 2024-03-18 or 2024年3月18日)")
        return iso
    if field.type == "number":
        amount = _plain_number(text)
        amount = amount if amount is not None else parse_amount(text)
        if amount is None:
            raise ReviewError(f"{field.name}: {text!r} is not an amount (write 1386000 or 138.6万元)")
        return int(amount) if float(amount).is_integer() else amount
    if field.type == "integer":
        plain = _plain_number(text)
        if plain is not None and not float(plain).is_integer():  # 2.5, 1e999999: a number, not a count
            raise ReviewError(f"{field.name}: {text!r} is not a whole number")
        count = int(plain) if plain is not None else parse_count(text)
        if count is None:
            raise ReviewError(f"{field.name}: {text!r} is not a whole number")
        return count
    raise ReviewError(f"{field.name}: unsupported type {field.type}")


def quote_states(schema: Schema, field: Field, value: Any, page: int | None, quote: str, page_text: str = "") -> bool:
    """Whether the reviewer's quote states the corrected value (the same judgement as extraction's:
    ``core.evidence.quote_supports`` and the field's shape checks). A correction of 32 quoted as
    ``4台`` is kept, but as the reviewer's word, not as verified."""
    fv = FieldValue(value=value, page=page, quote=quote)
    if not quote_supports(fv, field.type):
        return False
    before = after = ""
    text, offsets = squash_with_map(page_text)
    at = text.find(squash(quote)) if text else -1
    if at >= 0:  # the page around the quote, where a count's machine word or a label may stand
        start, end = offsets[at], offsets[at + len(squash(quote)) - 1] + 1
        before, after = page_text[max(0, start - 640):start], page_text[end:end + 80]
    return checks_for_schema(schema.name).problem(field.name, value, quote, before, after, page_text) is None


def _plain_number(text: str) -> float | None:
    """A plainly written number; infinity and NaN (``1e999999``, ``nan``) are refused, not coerced."""
    try:
        value = float(text.replace(",", "").replace("，", ""))
    except ValueError:
        return None
    if not math.isfinite(value):
        raise ReviewError(f"{text[:40]!r} is not a finite number")
    return value


def _split_list(text: str) -> list[str]:
    for sep in ("\n", ";", "；", "、"):
        text = text.replace(sep, "\x00")
    return text.split("\x00")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class ReviewLog:
    """The append-only decision file of one records file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int] | None, list[Decision]] = (None, [])

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def decisions(self) -> list[Decision]:
        """Every decision, oldest first (a torn last line from a crash is skipped); the file is
        parsed again only when it changed, not on every page the desk serves."""
        stamp = self._stamp()
        with self._lock:
            if stamp is not None and self._cache[0] == stamp:
                return list(self._cache[1])
        out = []
        for d in read_records(self.path):
            dec = Decision.from_json(d)
            if dec is not None and dec.action in ACTIONS:
                out.append(dec)
        with self._lock:
            self._cache = (stamp, out)
        return list(out)

    def latest(self) -> dict[tuple[str, str], Decision]:
        """The decision in force per (document sha256, field)."""
        out: dict[tuple[str, str], Decision] = {}
        for d in self.decisions():
            out[(d.doc, d.field)] = d
        return out

    def for_doc(self, doc: str) -> dict[str, Decision]:
        return {f: d for (sha, f), d in self.latest().items() if sha == doc}

    def record(self, schema: Schema, rec: dict[str, Any], field_name: str, action: str, reviewer: str,
               value: Any = None, page: int | None = None, quote: str | None = None,
               page_text: str | None = None) -> Decision:
        """Check and append one decision. ``accept`` vouches for the extracted value and evidence;
        ``correct`` gives the right value (typed) and, optionally, the quote picked on the page."""
        if action not in ACTIONS:
            raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
        try:
            field = schema.field(field_name)
        except KeyError:
            raise ReviewError(f"unknown field {field_name!r} in schema {schema.name}") from None
        extracted = (rec.get("fields") or {}).get(field_name) or {}
        if action == "accept":
            value, page, quote = extracted.get("value"), extracted.get("page"), extracted.get("quote")
            verified, located = extracted.get("verified"), extracted.get("located")
        else:
            value = coerce_value(field, value)
            quote = (quote or "").strip() or None
            page = int(page) if page is not None else None
            if quote is not None and page is None:
                raise ReviewError("a quote needs the page it is on")
            located = verify_quote(page_text, quote) if (quote and page_text is not None) else None
            verified = bool(located and quote and quote_states(schema, field, value, page, quote, page_text or "")) \
                if located is not None else None
        if not reviewer.strip():
            raise ReviewError("say who is reviewing (reviewer name)")
        decision = Decision(doc=str(rec.get("sha256", "")), file=str(rec.get("file", "")), field=field_name,
                            action=action, value=value, page=page, quote=quote, verified=verified,
                            original=extracted.get("value"), reviewer=reviewer.strip()[:80], at=_now(),
                            located=located, evidence=VERIFIED if verified is True else STATED)
        line = json.dumps(decision.to_json(), ensure_ascii=False) + "\n"
        with self._lock:
            append_line(self.path, line.encode("utf-8"))
        return decision


def append_line(path: Path, line: bytes) -> None:
    """Append one whole line under an exclusive lock on the file, fsynced.

    Two desks (two processes) may share one decision file: without the lock, one process's
    "drop the torn tail" could cut the other's line while it is being written, losing a decision
    whose POST already returned 200. A new file is created private (0600): decisions name people."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:  # ELOOP: a symlink planted where the decision file goes is not followed
        raise ReviewError(f"cannot write the decision file {path}: {e.strerror or e}"
                          + (" (it is a symbolic link)" if path.is_symlink() else "")) from None
    try:
        lock(fd)  # flock on POSIX, msvcrt on Windows (store.locks); released when the fd closes
        _drop_torn_tail(fd)  # under the lock, a line without its newline is a crash's, not a writer's
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock


def _drop_torn_tail(fd: int) -> None:
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        os.lseek(fd, start, os.SEEK_SET)  # no os.pread on Windows
        block = os.read(fd, end - start)
        at = block.rfind(b"\n")
        if at >= 0:
            cut = start + at + 1
            break
        end = start
    else:
        cut = 0
    if cut != size:
        os.ftruncate(fd, cut)
