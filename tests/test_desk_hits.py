"""The desk's search hits (issue 26): document facts, filters and grouping, without a browser."""

from __future__ import annotations

from pathlib import Path

from extractor.desk.catalog import DeskDoc
from extractor.desk.hits import HitFilter, document_facts, group_hits


def _doc(notice_type: str, date: str | None, flags: list[str], screening: list[dict]) -> DeskDoc:
    fields = {"notice_type": {"value": notice_type}, "publish_date": {"value": date},
              "buyer": {"value": "中国科学技术大学苏州高等研究院"}, "project_name": {"value": "GPU算力租赁服务项目"}}
    return DeskDoc(id="a" * 64, name="x.pdf", path=Path("x.pdf"),
                   record={"fields": fields, "flags": flags, "screening": screening})


LISTED = [{"party": "中国科学技术大学苏州高等研究院", "role": "buyer", "list": "entity_list", "match": "subunit"},
          {"party": "某公司", "role": "supplier", "list": "entity_list", "match": "similar"}]


def test_facts_name_the_buyer_type_flags_and_list_status():
    facts = document_facts(_doc("award", "2024-08-23", ["restricted_us_tech", "unverified:budget_cny"], LISTED))
    assert facts["buyer"] == "中国科学技术大学苏州高等研究院" and facts["notice_type"] == "award"
    assert facts["flags"] == ["restricted_us_tech"]  # bookkeeping flags are not shown as flags
    assert facts["listed"] == ["中国科学技术大学苏州高等研究院 (buyer): entity_list [subunit]"]  # a "similar" name is no listing
    assert facts["flagged"] is True
    plain = document_facts(_doc("tender", None, [], []))
    assert plain["listed"] == [] and plain["flagged"] is False
    assert document_facts(None)["notice_type"] is None


def test_filters_keep_type_flagged_and_dates():
    award = document_facts(_doc("award", "2024-08-23", [], LISTED))
    tender = document_facts(_doc("tender", "2024-03-01", [], []))
    undated = document_facts(_doc("tender", None, [], []))
    assert HitFilter.from_params({"type": "award"}).keeps(award) and not HitFilter(notice_type="award").keeps(tender)
    flagged = HitFilter.from_params({"flagged": "1"})
    assert flagged.active and flagged.keeps(award) and not flagged.keeps(tender)  # listed buyer = flagged
    spring = HitFilter.from_params({"from": "2024-01-01", "to": "2024-06-30"})
    assert spring.keeps(tender) and not spring.keeps(award) and not spring.keeps(undated)
    assert not HitFilter.from_params({}).active and HitFilter().keeps(undated)


def test_hits_are_grouped_by_document_in_the_order_of_their_best_hit():
    facts = document_facts(None)
    hits = [{"doc": "b", "name": "b.pdf", "page": 3, "facts": facts}, {"doc": "a", "name": "a.pdf", "page": 1, "facts": facts},
            {"doc": "b", "name": "b.pdf", "page": 7, "facts": facts}]
    groups = group_hits(hits)
    assert [g["doc"] for g in groups] == ["b", "a"] and [h["page"] for h in groups[0]["hits"]] == [3, 7]
