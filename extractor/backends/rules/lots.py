"""Lots and top-level values from a document's tables (``tables.read_facts``).

A multi-lot notice states each lot's budget, winner and amount in a row of its lot table, and
the contract's top-level fields follow from the lots: the budget is the 合计 row or the sum of the
lots, the award the 合计 or the sum of the awarded lots, the suppliers every awarded lot's winner.
A failed lot (废标/流标) gives no winner and no amount; a failed-lots table whose rows are empty
(``/ / /``) says no lot failed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from extractor.backends.rules.cues import cues, words_re
from extractor.backends.rules.tables import (
    Found,
    TableFacts,
    amount_of,
    code_text,
    name_text,
    not_a_sum,
    org_text,
    suppliers_of,
)
from extractor.core.document import FieldValue, Lot
from extractor.core.normalize import iter_dates

_NAMED = ("award", "contract", "single_source")


def lots_of(facts: TableFacts, notice: str | None) -> list[Lot]:
    """The lots of a lot table: rows with a lot id or a lot name (a table of past contracts or of
    candidates has neither, and is not a list of this notice's lots). Without a lot table, the one
    lot a key–value page reports (``one_lot_of_several``)."""
    rows = [(p, r) for p, r in facts.lots if {"lot_name", "lot_id"} & r.values.keys()]
    if not rows:
        lot = one_lot_of_several(facts, notice)
        return [lot] if lot is not None else []
    out: list[Lot] = []
    for page, row in rows:
        v = row.values
        lot = Lot(status="failed" if row.failed else "open")
        if "lot_id" in v:
            lot.id = v["lot_id"].evidence(page, v["lot_id"].text)
        if "lot_name" in v:
            lot.name = v["lot_name"].evidence(page, v["lot_name"].text)
        if "budget_cny" in v and (amount := amount_of(v["budget_cny"])) is not None:
            lot.budget_cny = v["budget_cny"].evidence(page, amount)
        if not row.failed and notice in _NAMED:
            if "suppliers" in v and (names := suppliers_of(v["suppliers"])):
                lot.suppliers = v["suppliers"].evidence(page, names)
                lot.status = "awarded"
            if "award_amount_cny" in v and (amount := amount_of(v["award_amount_cny"])) is not None:
                lot.award_amount_cny = v["award_amount_cny"].evidence(page, amount)
        out.append(lot)
    return out


@lru_cache(maxsize=1)
def _numbered_lot() -> re.Pattern[str]:
    """A name ending in a lot's number: ``…装卸工艺设备第1标段``, ``…采购第二包``."""
    words = words_re(cues()["lot_columns"]["lot_id"])
    return re.compile(rf"第\s*(?:\d+|[一二三四五六七八九十]+)\s*(?:{words})\s*$")


def one_lot_of_several(facts: TableFacts, notice: str | None) -> Lot | None:
    """A key–value page reporting one lot of a purchase split into several: its 标段(包)名称 ends in the
    lot's number (``…第1标段``). The lot carries the page's winner and amount (an award)."""
    for page, found in facts.pairs:
        m = _numbered_lot().search(found.text.strip()) if found.field == "project_name" else None
        if m is None:
            continue
        lot = Lot(id=found.evidence(page, re.sub(r"\s+", "", m.group())), name=found.evidence(page, found.text.strip()))
        if notice in _NAMED:
            winner = next(((p, f) for p, f in facts.pairs if f.field == "suppliers" and suppliers_of(f)), None)
            price = next(((p, f) for p, f in facts.pairs
                          if f.field == "award_amount_cny" and amount_of(f) is not None), None)
            if winner is not None:
                lot.suppliers = winner[1].evidence(winner[0], suppliers_of(winner[1]))
                lot.status = "awarded"
            if price is not None:
                lot.award_amount_cny = price[1].evidence(price[0], amount_of(price[1]))
        return lot
    return None


def _sum(lots: list[Lot], key: str, unit_field: str) -> FieldValue | None:
    """The sum of the lots' values (low confidence: no single quote states it)."""
    values = [getattr(lot, key) for lot in lots if getattr(lot, key) is not None]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    total = round(sum(float(fv.value) for fv in values), 2)
    first = values[0]
    parts = " + ".join(f"{fv.value:,.2f}" for fv in values)
    fv = FieldValue(total, page=first.page, quote=first.quote, cell=first.cell)
    return fv.low(f"sum of {len(values)} lots' {unit_field} ({parts}); the notice states no total")


def _total(facts: TableFacts, name: str) -> FieldValue | None:
    if name not in facts.totals:
        return None
    page, found = facts.totals[name]
    amount = amount_of(found)
    return found.evidence(page, amount) if amount is not None else None


def _first_pair(facts: TableFacts, name: str, clean: object) -> FieldValue | None:
    for page, found in facts.pairs:
        if found.field == name:
            value = clean(found) if callable(clean) else None
            if value not in (None, "", []):
                return found.evidence(page, value)
    return None


def _date_text(text: str) -> str | None:
    """The first date a cell states (``公示日期 | 2025年5月12日``), ISO."""
    hits = iter_dates(text)
    return hits[0].iso if hits else None


def _text_of(fn: object) -> object:
    return lambda f: fn(f.text) if callable(fn) else None


def table_fields(facts: TableFacts, lots: list[Lot], notice: str | None
                 ) -> tuple[dict[str, FieldValue], set[str]]:
    """Top-level values the tables state (key–value pairs, the lot table's totals and winners), and
    the names whose table value outranks the text's: names, codes and organisations read from a
    key's own cell, and totals, sums and winners over several lots (the text quotes one lot)."""
    out: dict[str, FieldValue] = {}
    sure = {"buyer", "agency", "project_code", "project_name", "suppliers"}
    for name, clean in (("buyer", _text_of(org_text)), ("agency", _text_of(org_text)),
                        ("project_code", _text_of(code_text)), ("project_name", _text_of(name_text)),
                        ("suppliers", suppliers_of), ("award_amount_cny", amount_of),
                        ("budget_cny", amount_of), ("publish_date", _text_of(_date_text))):
        fv = _first_pair(facts, name, clean)
        if fv is not None:
            out[name] = fv
    rate = next(((p, f) for p, f in facts.pairs if f.field == "award_amount_cny" and not_a_sum(f)), None)
    if "award_amount_cny" not in out and rate is not None:  # 中标价 | 下浮率1.8%: the award is a rate
        out["award_amount_cny"] = FieldValue(None).low(f"the award cell states a rate or unit price: {rate[1].text[:40]}")
        sure.add("award_amount_cny")
    budget = _total(facts, "budget_cny") or (_sum(lots, "budget_cny", "budgets") if len(lots) > 1 else None)
    if budget is not None:
        out["budget_cny"] = budget
        sure.add("budget_cny")
    if notice in _NAMED:
        awarded = [lot for lot in lots if lot.status == "awarded" or lot.award_amount_cny is not None]
        award = _total(facts, "award_amount_cny") or (_sum(awarded, "award_amount_cny", "amounts")
                                                      if len(awarded) > 1 else None)
        if award is not None:
            out["award_amount_cny"] = award
            sure.add("award_amount_cny")
        winners: list[str] = []
        first: FieldValue | None = None
        for lot in awarded:
            if lot.suppliers is not None:
                first = first or lot.suppliers
                winners += [n for n in lot.suppliers.value if n not in winners]
        if first is not None and len(awarded) > 1:
            out["suppliers"] = FieldValue(winners, page=first.page, quote=first.quote, cell=first.cell)
            sure.add("suppliers")
        elif "suppliers" not in out:
            single = _single_row(facts, "suppliers")
            if single is not None:
                out["suppliers"] = single
        if "award_amount_cny" not in out:
            single = _single_row(facts, "award_amount_cny")
            if single is not None:
                out["award_amount_cny"] = single
    return out, sure


def _single_row(facts: TableFacts, name: str) -> FieldValue | None:
    """The value of the only data row of a column table that has that column (a one-row award table)."""
    rows = [(p, r) for p, r in facts.lots if name in r.values and not r.failed]
    if len(rows) != 1:
        return None
    page, row = rows[0]
    found: Found = row.values[name]
    value = suppliers_of(found) if name == "suppliers" else amount_of(found)
    return found.evidence(page, value) if value not in (None, []) else None


def awarded_in_tables(facts: TableFacts) -> bool:
    """The tables name a winner: a 中标人 key–value pair or a winner column with a name in it."""
    if any(f.field == "suppliers" and suppliers_of(f) for _, f in facts.pairs):
        return True
    return any("suppliers" in r.values and not r.failed and suppliers_of(r.values["suppliers"])
               for _, r in facts.lots)


def priced_winner_pairs(facts: TableFacts) -> bool:
    """A key–value table gives a winner (中标人 | 某公司) and a price (中标价 | 7596447.34): a result."""
    winner = any(f.field == "suppliers" and suppliers_of(f) for _, f in facts.pairs)
    price = any(f.field == "award_amount_cny" and amount_of(f) is not None for _, f in facts.pairs)
    return winner and price
