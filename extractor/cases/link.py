"""Group extraction records (one per notice) into cases (one per purchase).

Two rules, in this order, and each link records which one made it:

1. ``code``: notices printing the same project code after normalisation
   (full/half width, spaces, case, ``（）``) are one case; a lot suffix
   (``-01`` when the bare code is also printed, ``包1``, ``第2标段``) is kept as
   a lot of that case. Two different codes are never merged, and one code
   printed by two different buyers is two cases.
2. ``buyer+name``: a notice without a code joins the case with the same buyer
   and a near-identical project name (keys.name_similarity) whose nearest
   dated notice is within ``window_days``. When two cases match equally well
   the notice is left alone rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from extractor.cases.keys import link_rules, name_similarity, norm_buyer, norm_code, norm_name, split_lot


def _value(rec: dict[str, Any], name: str) -> Any:
    fv = (rec.get("fields") or {}).get(name)
    return fv.get("value") if isinstance(fv, dict) else None


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


@dataclass
class Notice:
    """One record as the linker sees it."""

    record: dict[str, Any]
    order: int  # position in the input, the tie-break that keeps output stable
    code: str = ""  # normalised project code ("" when none is printed)
    base: str = ""  # the code without its lot suffix
    lot: str | None = None
    buyer: str = ""
    name: str = ""
    date: dt.date | None = None
    link: str = ""  # "code", "buyer+name" or "first" (the notice that opened a case without a code)
    why: str = ""  # the evidence of the link, for a reader to check

    @property
    def file(self) -> str:
        return str(self.record.get("file", ""))

    @property
    def notice_type(self) -> str | None:
        return _value(self.record, "notice_type")

    @property
    def publish_date(self) -> str | None:
        return self.date.isoformat() if self.date else None

    def sort_key(self) -> tuple[dt.date, int]:
        return (self.date or dt.date.max, self.order)


@dataclass
class Case:
    """The notices of one purchase, ordered by date."""

    id: str
    notices: list[Notice] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # base codes (one, or none for a code-less case)
    notes: list[str] = field(default_factory=list)

    @property
    def lots(self) -> list[str]:
        return sorted({n.lot for n in self.notices if n.lot})

    def add(self, notice: Notice) -> None:
        self.notices.append(notice)
        self.notices.sort(key=Notice.sort_key)

    def dates(self) -> list[dt.date]:
        return [n.date for n in self.notices if n.date]


def usable(rec: dict[str, Any]) -> bool:
    """Records that describe a notice: extracted, without errors."""
    return not rec.get("errors") and isinstance(rec.get("fields"), dict)


def _case_id(key: str) -> str:
    return "case-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def _notices(records: Iterable[dict[str, Any]]) -> list[Notice]:
    out = []
    for i, rec in enumerate(records):
        if not usable(rec):
            continue
        out.append(Notice(record=rec, order=i, code=norm_code(_value(rec, "project_code")),
                          buyer=norm_buyer(_value(rec, "buyer")), name=norm_name(_value(rec, "project_name")),
                          date=_date(_value(rec, "publish_date"))))
    known = {n.code for n in out if n.code}
    for n in out:
        if n.code:
            n.base, n.lot = split_lot(n.code, known)
    return out


def _code_cases(notices: list[Notice]) -> list[Case]:
    by_base: dict[str, list[Notice]] = {}
    for n in notices:
        by_base.setdefault(n.base, []).append(n)
    cases = []
    for base, group in by_base.items():
        buyers = sorted({n.buyer for n in group if n.buyer})
        parts: dict[str, list[Notice]] = {b: [] for b in buyers} or {"": []}
        main = max(parts, key=lambda b: sum(n.buyer == b for n in group))
        for n in group:
            parts[n.buyer if n.buyer in parts else main].append(n)
        for buyer, members in parts.items():
            key = f"code:{base}" + (f"|buyer:{buyer}" if len(parts) > 1 else "")
            case = Case(id=_case_id(key), codes=[base])
            if len(parts) > 1:
                case.notes.append(f"code {base} is printed by {len(parts)} different buyers: kept apart")
            for n in members:
                n.link = "code"
                n.why = f"project code {base}" + (f" (lot {n.lot})" if n.lot else "")
                case.add(n)
            cases.append(case)
    return cases


def _match(case: Case, n: Notice, window: int) -> tuple[float, int, Notice] | None:
    """How well a code-less notice fits a case: (name similarity, -days, the notice it matched)."""
    best: tuple[float, int, Notice] | None = None
    for other in case.notices:
        if not n.buyer or other.buyer != n.buyer:
            continue
        threshold = link_rules().name_similarity
        sim = name_similarity(n.name, other.name, threshold)
        if sim < threshold:
            continue
        if n.date and other.date:
            days = abs((n.date - other.date).days)
            if days > window:
                continue
        elif sim < 1.0:
            continue  # without dates to check the window, only an identical name links
        else:
            days = window
        cand = (sim, -days, other)
        if best is None or cand[:2] > best[:2]:
            best = cand
    return best


def link_records(records: Iterable[dict[str, Any]], window_days: int | None = None) -> list[Case]:
    """Cases of the usable records, ordered by their first notice's date.

    Failed records (``errors``) are not notices and are left out.
    """
    window = link_rules().window_days if window_days is None else window_days
    notices = _notices(records)
    cases = _code_cases([n for n in notices if n.code])
    by_buyer: dict[str, list[Case]] = {}  # rule 2 only ever compares within one buyer
    for c in cases:
        for b in {m.buyer for m in c.notices if m.buyer}:
            by_buyer.setdefault(b, []).append(c)
    for n in sorted((n for n in notices if not n.code), key=Notice.sort_key):
        scored = [(m, c) for c in by_buyer.get(n.buyer, []) if n.buyer and (m := _match(c, n, window)) is not None]
        scored.sort(key=lambda mc: mc[0][:2], reverse=True)
        if scored and (len(scored) == 1 or scored[0][0][:2] > scored[1][0][:2]):
            (sim, _, other), case = scored[0]
            n.link = "buyer+name"
            days = f", {abs((n.date - other.date).days)} days apart" if n.date and other.date else ""
            n.why = f"buyer {_value(n.record, 'buyer')} and project name as {other.file} (similarity {sim:.2f}{days})"
            case.add(n)
            continue
        case = Case(id=_case_id("first:" + (n.record.get("sha256") or n.file)))
        n.link = "first"
        n.why = "no project code; no earlier case with this buyer and name"
        if scored:
            tied = ", ".join(c.id for _, c in scored[:2])
            n.why = f"no project code; matches {tied} equally well, so linked to neither"
            case.notes.append(n.why)
        case.add(n)
        cases.append(case)
        if n.buyer:
            by_buyer.setdefault(n.buyer, []).append(case)
    cases.sort(key=lambda c: c.notices[0].sort_key())
    return cases
