"""The offline rules engine: every field of the tender schema from a document, offline, each
non-null value with its page and a verbatim quote from the raw page text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from extractor.backends.rules.compute import (
    ai_mentions,
    compute_counts,
    dropped_names,
    has_ai_words,
    list_with_evidence,
    restricted_flag,
    split_scoped,
    token_count_field,
)
from extractor.backends.rules.cues import cues
from extractor.backends.rules.kv import kv_code, kv_field, kv_org, kv_text
from extractor.backends.rules.labels import (
    block_field,
    buyer_from_sentence,
    buyer_from_title,
    code_value,
    intention_row_name,
    labelled_field,
    method_field,
    name_value,
    notice_type_field,
    org_value,
    publish_date_field,
    title_field,
)
from extractor.backends.rules.lots import awarded_in_tables, lots_of, priced_winner_pairs, table_fields
from extractor.backends.rules.money import award_field, budget_field
from extractor.backends.rules.sentences import project_from_sentence
from extractor.backends.rules.suppliers import suppliers_field
from extractor.backends.rules.tables import TableFacts, read_facts
from extractor.backends.rules.views import View
from extractor.core.document import Document, FieldValue, Lot
from extractor.core.schema import load_schema
from extractor.core.shape import checks_for_schema
from extractor.core.watchlist import default_watchlist

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in load_schema("tender").fields)
"""The fields the engine fills: the built-in tender schema's (``extractor/schemas/tender.yaml``)."""

_LIST_FIELDS = {f.name for f in load_schema("tender").fields if f.type == "list"}



def extract_rules(doc: Document, schema: Any = None) -> dict[str, FieldValue]:
    """Every field of the schema (default: tender v1) from the document, offline.

    Non-null values carry the 1-based page and a verbatim quote from the raw page text.
    Fields the rules cannot find are ``FieldValue(None)`` (or ``[]`` for lists)."""
    return extract_rules_with_lots(doc, schema)[0]


def extract_rules_with_lots(doc: Document, schema: Any = None) -> tuple[dict[str, FieldValue], list[Lot]]:
    """``extract_rules`` plus the lots its tables list (empty for a notice without a lot table)."""
    views = [View.of(p) for p in doc.pages if (p.clean or p.text)]
    facts = read_facts(doc.pages) if any(p.blocks for p in doc.pages) else TableFacts()
    out: dict[str, FieldValue] = {}
    out["notice_type"] = _kind_from_tables(notice_type_field(doc, views), facts)
    notice = out["notice_type"].value
    lots = lots_of(facts, notice)
    tables, sure = table_fields(facts, lots, notice)

    def first(name: str) -> FieldValue | None:  # the table's value where it outranks the text
        return tables.get(name) if name in sure else None

    def last(name: str) -> FieldValue | None:
        return tables.get(name)

    def shaped(name: str) -> Callable[[FieldValue], bool]:
        return lambda fv: _has_shape(name, fv)

    out["procurement_method"] = method_field(views, notice)
    out["project_code"] = _first_shaped("project_code", lambda: first("project_code"),
                                        lambda: labelled_field(views, "project_code", code_value),
                                        lambda: kv_field(views, "project_code", kv_code)) or FieldValue(None)
    out["project_name"] = _first_shaped(
        "project_name", lambda: first("project_name"), lambda: labelled_field(views, "project_name", name_value),
        lambda: kv_field(views, "project_name", kv_text),
        lambda: intention_row_name(views) if notice == "intention" else None) or _found(
        title_field(doc, views)) or project_from_sentence(views) or FieldValue(None)
    out["buyer"] = _first_shaped("buyer", lambda: first("buyer"), lambda: labelled_field(views, "buyer", org_value, shaped("buyer")),
                                 lambda: block_field(views, "buyer"), lambda: kv_field(views, "buyer", kv_org),
                                 lambda: buyer_from_sentence(views), lambda: buyer_from_title(views)) or FieldValue(None)
    out["agency"] = _first_shaped("agency", lambda: first("agency"), lambda: block_field(views, "agency"),
                                  lambda: labelled_field(views, "agency", org_value, shaped("agency")),
                                  lambda: kv_field(views, "agency", kv_org)) or FieldValue(None)
    out["publish_date"] = _or_table(publish_date_field(views), last("publish_date"))
    out["budget_cny"] = _not_unit_price("budget_cny", first("budget_cny")
                                        or _or_table(budget_field(views), last("budget_cny")))
    out["award_amount_cny"] = (_not_unit_price("award_amount_cny", first("award_amount_cny")
                                               or _or_table(award_field(views), last("award_amount_cny")))
                               if notice in ("award", "contract") else FieldValue(None))
    # a single-source notice or package names the proposed supplier (拟定供应商)
    named = notice in ("award", "contract", "single_source") or out["procurement_method"].value == "single_source"
    out["suppliers"] = ((first("suppliers") or _or_table(suppliers_field(views), last("suppliers")))
                        if named else FieldValue([]))
    wl = default_watchlist()
    mentions, dropped = split_scoped(ai_mentions(views, notice))
    names = wl.canonicals([m for _, m in mentions])
    unscoped = dropped_names(dropped, names)
    for fname, kind in (("chips", "chip"), ("cloud_providers", "cloud"), ("ai_models", "model")):
        out[fname] = list_with_evidence(views, mentions, names[kind])
        if unscoped.get(kind):
            out[fname].low("left out: " + "; ".join(f"{c} ({r})" for c, r in unscoped[kind]))
    ai = bool(names["chip"] or names["model"]) or has_ai_words(views)
    out["gpu_count"], out["server_count"] = compute_counts(views, ai)
    out["token_count"] = token_count_field(views)
    date = out["publish_date"].value
    out["restricted_us_tech"] = restricted_flag(views, mentions, names, notice, date, ai)
    all_names = wl.canonicals([m for _, m in mentions] + [m for _, m, _ in dropped])
    watchlist_flag = notice != "termination" and wl.is_restricted(
        all_names["chip"], all_names["cloud"], all_names["model"], date, ai_context=ai)
    if watchlist_flag != out["restricted_us_tech"].value:
        out["restricted_us_tech"].low("the watchlist alone says " + str(watchlist_flag).lower()
                                      + ": a restricted name occurs only out of scope")
    absent = _absent(views)
    settled = _settled_empty(out, notice, ai, absent) | absent
    for name, fv in out.items():
        if fv.value is None or (isinstance(fv.value, list) and not fv.value):
            fv.page, fv.quote = None, None
            if fv.confidence != "low":  # nothing found: sure only where the notice cannot have it
                fv.confidence, fv.reason = ("high" if name in settled else None), None
        elif fv.confidence is None:
            fv.confidence = "high"  # a labelled value or a stated pattern; the finders marked the rest low
    if schema is not None and getattr(schema, "fields", None):
        wanted = [f.name for f in schema.fields]
        return {n: out.get(n, FieldValue([] if n in _LIST_FIELDS else None)) for n in wanted}, lots
    return out, lots


def _found(fv: FieldValue) -> FieldValue | None:
    """The value when one was found, else None (so the next way of reading the field is tried)."""
    return fv if fv.value not in (None, "", []) else None


def _or_table(text: FieldValue, table: FieldValue | None) -> FieldValue:
    """The text's value, else the table's."""
    if table is not None and (text.value is None or text.value == []):
        return table
    return text


def _kind_from_tables(kind: FieldValue, facts: TableFacts) -> FieldValue:
    """A notice whose tables name a winner is an award: when no kind was found (a kv-grid award
    page without a title); when "tender" came from a body word (``招标文件``) while a key–value
    table gives both a 中标人 and a 中标价; or when "termination" came only from a failed-lots table
    that is empty or lists some lots while others were awarded."""
    if kind.value not in ("other", "tender", "termination") or not awarded_in_tables(facts):
        return kind
    if kind.value == "termination" and not (facts.empty_failed_tables or any(r.failed for _, r in facts.lots)):
        return kind
    if kind.value == "tender" and not priced_winner_pairs(facts):
        return kind
    page, found = next(((p, f) for p, f in facts.pairs if f.field == "suppliers"), (None, None))
    if page is None or found is None:
        page, row = next((p, r) for p, r in facts.lots if "suppliers" in r.values and not r.failed)
        found = row.values["suppliers"]
    reason = {"other": "the tables name a winner",
              "tender": "a key-value table names a winner and a price; the word that said tender is in the body",
              "termination": "the failed-lots table is empty or lists only some lots; the tables name a winner"}
    return found.evidence(page, "award").low(reason[str(kind.value)])


def _first_shaped(name: str, *finders: Callable[[], FieldValue | None]) -> FieldValue | None:
    """The first finder's value that has the field's shape (``schemas/tender.checks.yaml``: an
    organisation's name, a whole code, a project name without the notice's words); when none has,
    the first value found (it will not verify). A contact person under 招标人： or a column header
    under 中标人 then gives way to the next way of reading the field instead of hiding it."""
    first: FieldValue | None = None
    for find in finders:
        fv = find()
        if fv is None or fv.value in (None, ""):
            continue
        if _has_shape(name, fv):
            return fv
        first = first or fv
    return first


def _not_unit_price(name: str, fv: FieldValue) -> FieldValue:
    """No amount where the only one stated is a price per unit (成交价：单价每套￥460): the contract's
    amount is then not in the notice, and a unit price in its place would be wrong."""
    why = checks_for_schema("tender").problem(name, fv.value, fv.quote or "") if fv.value is not None else None
    if why and why.startswith("not_unit_price:"):
        return FieldValue(None).low(why.split(": ", 1)[1])
    return fv


def _has_shape(name: str, fv: FieldValue) -> bool:
    """Whether the value passes the field's shape checks; a placeholder is what the page says: kept
    (it is never verified)."""
    why = checks_for_schema("tender").problem(name, fv.value, fv.quote or "")
    return why is None or why.startswith("no_placeholder:")


def _settled_empty(out: dict[str, FieldValue], notice: str, ai: bool, absent: set[str]) -> set[str]:
    """Fields whose emptiness the engine is sure of: no award on a notice that awards nothing, no
    supplier where none is named, no compute counts (servers: none named) or watchlist names in a notice
    without AI words,
    no method in an intention. The hybrid backend asks the LLM only about the other empty fields."""
    settled: set[str] = set()
    if notice not in ("award", "contract"):
        settled.add("award_amount_cny")
    if notice not in ("award", "contract", "single_source") and out["procurement_method"].value != "single_source":
        settled.add("suppliers")
    if not ai:  # servers are bought without AI words too (a hospital's 12): settled only when none is named
        settled |= {"gpu_count", "token_count", "chips", "cloud_providers", "ai_models"} | ({"server_count"} & absent)
    if notice == "intention":
        settled |= {"procurement_method", "project_code", "agency"}
    return settled


def _absent(views: list[View]) -> set[str]:
    """Fields none of whose words (``rules_cues.yaml``: ``absence_cues``) occur in the document."""
    text = "".join(v.flat for v in views)
    return {name for name, words in cues()["absence_cues"].items() if not any(w in text for w in words)}
