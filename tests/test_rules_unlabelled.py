"""Values real notices state without their label (issue 22, dev misses on saved web pages), read
from the hand-labelled samples written in those layouts (samples/web, gold beside each file):

- a candidate notice whose project is named only in its opening sentence, whose 评标情况 ends in a
  signature line of people (招标人：周敏 … 代理机构：孙浩) and whose only date is the 公示期;
- a ccgp-style tender whose only publication date is the site's timestamp line above the notice;
- a result page whose site prints 详细信息 above the title.
"""

from __future__ import annotations

import json
from pathlib import Path

from extractor.backends.rules.engine import extract_rules, extract_rules_with_lots
from extractor.core.document import FieldValue
from extractor.pipeline.extract import extract_documents
from extractor.read.formats import read_document

WEB = Path(__file__).resolve().parent.parent / "samples" / "web"
CANDIDATES = WEB / "yichang-candidates-signature-line.html"
STAMPED = WEB / "ccgp-tender-timestamp-top.html"
CHROME = WEB / "univ-result-detail-chrome.html"


def _fields(path: Path) -> dict[str, FieldValue]:
    return extract_rules(read_document(path))


def _gold(path: Path) -> dict:
    return json.loads(path.with_name(path.stem + ".gold.json").read_text(encoding="utf-8"))["labels"]


def test_people_signing_under_party_labels_give_way_to_the_organisations() -> None:
    fields, gold = _fields(CANDIDATES), _gold(CANDIDATES)
    assert fields["buyer"].value == gold["buyer"] == "江畔市城市建设投资有限公司"  # not 周敏 (招标人：周敏)
    assert fields["agency"].value == gold["agency"] == "江畔正衡工程咨询有限公司"  # not 孙浩 (代理机构：孙浩)
    assert fields["buyer"].quote == "招标人：江畔市城市建设投资有限公司"


def test_a_person_alone_under_the_label_is_still_reported_but_never_verified(tmp_path: Path) -> None:
    """With no organisation under any 招标人 label, the person is what the page says: kept, and the
    pipeline's evidence check leaves it unverified and low."""
    page = tmp_path / "notice.html"
    page.write_text(CANDIDATES.read_text(encoding="utf-8").replace("1.招标人：江畔市城市建设投资有限公司", ""),
                    encoding="utf-8")
    [record] = extract_documents([page], backend="rules", store_dir=None, jobs=1, out=tmp_path / "out.jsonl").records
    buyer = record["fields"]["buyer"]
    assert buyer["value"] == "周敏" and buyer["verified"] is False and buyer["confidence"] == "low"


def test_project_named_only_in_the_opening_sentence() -> None:
    name = _fields(CANDIDATES)["project_name"]
    assert name.value == _gold(CANDIDATES)["project_name"]
    assert name.confidence == "low" and "发布招标公告" in (name.quote or "")


def test_a_sentence_without_a_published_notice_names_no_project(tmp_path: Path) -> None:
    page = tmp_path / "notice.html"
    page.write_text(CANDIDATES.read_text(encoding="utf-8").replace("发布招标公告", "开展现场踏勘"), encoding="utf-8")
    assert _fields(page)["project_name"].value is None


def test_publicity_period_start_dates_a_notice_without_a_date_line() -> None:
    date = _fields(CANDIDATES)["publish_date"]
    assert date.value == _gold(CANDIDATES)["publish_date"] == "2025-06-13"
    assert date.confidence == "low" and (date.quote or "").startswith("公示期")


def test_timestamp_line_above_the_notice_is_its_publication_date() -> None:
    date = _fields(STAMPED)["publish_date"]
    assert date.value == _gold(STAMPED)["publish_date"] == "2016-04-12"
    assert date.confidence == "low" and date.page == 1


def test_a_date_at_the_notice_end_outranks_the_timestamp(tmp_path: Path) -> None:
    page = tmp_path / "notice.html"
    page.write_text(STAMPED.read_text(encoding="utf-8") + "<p>江源县人民医院</p>\n<p>2016年04月13日</p>\n",
                    encoding="utf-8")
    assert _fields(page)["publish_date"].value == "2016-04-13"


def test_a_timestamp_inside_the_body_is_not_the_publication_date(tmp_path: Path) -> None:
    """Only the first lines of the page hold the site's stamp; a date and time further down is an event."""
    html = STAMPED.read_text(encoding="utf-8")
    stamp = "2016-04-12 10:21:07<br />\n"
    page = tmp_path / "notice.html"
    page.write_text(html.replace(stamp, "").replace("<p>江源县公共资源交易中心开标一室</p>",
                                                    "<p>江源县公共资源交易中心开标一室</p>\n<p>2016-05-04 09:30</p>"),
                    encoding="utf-8")
    assert _fields(page)["publish_date"].value is None


def test_page_chrome_above_the_title_is_not_part_of_it() -> None:
    buyer = _fields(CHROME)["buyer"]
    assert buyer.value == _gold(CHROME)["buyer"] == "江畔师范学院"  # not 详细信息江畔师范学院


def test_a_key_value_page_reporting_one_numbered_lot_gives_that_lot() -> None:
    """标段(包)名称 …第2标段: the page reports lot 2 of a split purchase, with its winner and price."""
    page = WEB / "zbgs-award-kv-grid-second-lot.html"
    gold = json.loads(page.with_name(page.stem + ".gold.json").read_text(encoding="utf-8"))["lots"]
    fields, lots = extract_rules_with_lots(read_document(page))
    [lot] = lots
    assert lot.id is not None and lot.id.value == gold[0]["id"] == "第2标段"
    assert lot.award_amount_cny is not None and lot.award_amount_cny.value == gold[0]["award_amount_cny"]
    assert lot.suppliers is not None and lot.suppliers.value == gold[0]["suppliers"]
    assert lot.status == "awarded" and lot.award_amount_cny.cell is not None  # read from the price cell
    assert fields["award_amount_cny"].value == 6718400  # the top-level award is the lot's


def test_a_key_value_page_without_a_lot_number_has_no_lots() -> None:
    _, lots = extract_rules_with_lots(read_document(WEB / "zbgs-award-kv-grid-winner.html"))
    assert lots == []


def test_a_body_inviting_bids_outranks_a_copied_award_heading() -> None:
    page = WEB / "univ-tender-copied-award-heading.html"
    kind = _fields(page)["notice_type"]
    assert kind.value == _gold(page)["notice_type"] == "tender"
    assert kind.confidence == "low" and "欢迎合格的供应商" in (kind.quote or "")


def test_an_award_body_that_also_invites_stays_an_award(tmp_path: Path) -> None:
    """The invitation alone does not overrule the heading when the body states a result (成交供应商名称)."""
    page = tmp_path / "notice.html"
    page.write_text(CHROME.read_text(encoding="utf-8").replace(
        "现将结果公告如下：", "现将结果公告如下（此前已欢迎合格的供应商参加）："), encoding="utf-8")
    assert _fields(page)["notice_type"].value == "award"
