"""The held-out real-notice check maps silver labels onto the contract correctly and
counts agreement honestly. Tests on the real corpus skip when ../shared/corpus is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.pipeline.bench_corpus import (
    agrees,
    consortium_members,
    date_from_epoch_ms,
    document_for_text,
    load_notices,
    notice_type_from_label,
    run,
)
from tests.conftest import SHARED_CORPUS

needs_corpus = pytest.mark.skipif(not (SHARED_CORPUS / "notices-coomaso__zhongbiao").is_dir(),
                                  reason="../shared/corpus is absent")


def test_label_names_map_to_the_contract_enum() -> None:
    assert notice_type_from_label("中标结果公告") == "award"
    assert notice_type_from_label("中标候选人公示") == "other"
    assert notice_type_from_label("更正公告") == "correction"
    assert notice_type_from_label("联想扬天S300商用一体电脑采购项目成交通告") == "award"
    assert notice_type_from_label("2#、3#宿舍楼升级改造工程招标公告") == "tender"
    assert notice_type_from_label("辽宁机电职业技术学院") is None


def test_consortium_and_epoch_dates() -> None:
    assert consortium_members("甲建设有限公司、乙设计有限公司联合体") == ["甲建设有限公司", "乙设计有限公司"]
    assert consortium_members("湖北鑫民建设集团有限公司") is None
    assert date_from_epoch_ms("1500998400000") == "2017-07-26"  # 2017-07-25T16:00Z = Beijing midnight


def test_agreement_uses_the_contract_normalisation_and_tolerance() -> None:
    assert agrees("project_name", "ＡＩ平台（一期）", "AI平台(一期)")
    assert not agrees("project_name", "AI平台", "AI平台中标结果公告")
    assert agrees("award_amount_cny", 24838888.88, 24838888.0)  # within max(1, 0.1%)
    assert not agrees("award_amount_cny", 1000.0, 1002.5)
    assert not agrees("award_amount_cny", 1000.0, None)
    assert agrees("suppliers", ["甲公司"], [" 甲公司 "])
    assert not agrees("suppliers", ["甲公司"], ["甲公司", "乙公司"])


def test_missing_corpus_is_skipped_not_failed(tmp_path: Path) -> None:
    r = run(tmp_path / "no-corpus")
    assert r["skipped"] == "corpus absent" and "fields" not in r


@needs_corpus
def test_real_notices_counts_match_the_label_files() -> None:
    folder = SHARED_CORPUS / "notices-coomaso__zhongbiao"
    award = priced = 0
    for f in folder.glob("*.labels.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        if data["meta"]["categoryname"] == "中标结果公告":
            award += 1
            try:
                float(data["labels"].get("中标价(元)", ""))
                priced += 1
            except ValueError:
                pass
    r = run(SHARED_CORPUS)
    fields = r["fields"]
    assert r["documents"] >= len(list(folder.glob("*.txt")))
    assert fields["notice_type"]["n"] == r["documents"]
    assert fields["award_amount_cny"]["n"] == priced and priced > 0
    assert (fields["suppliers"]["n"] + fields["suppliers (consortium, members)"]["n"]) == award
    for name, e in fields.items():
        assert e["agree"] + len(e["disagreements"]) == e["n"], name
        for d in e["disagreements"]:
            assert not agrees(name.split(" ")[0], d["label"], d["engine"]) and d["label_source"]


@needs_corpus
def test_a_label_agrees_with_itself_and_the_document_is_cleaned() -> None:
    notice = next(n for n in load_notices(SHARED_CORPUS) if "award_amount_cny" in n.labels)
    for name, label in notice.labels.items():
        assert agrees(name.split(" ")[0], label.value, label.value), name
    doc = document_for_text(notice.path)
    page = doc.pages[0]
    assert page.text == notice.path.read_text(encoding="utf-8")
    assert page.clean and len(page.clean_map) == len(page.clean)
    assert all(0 <= i < len(page.text) for i in page.clean_map)
