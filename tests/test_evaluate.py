"""The scorer against every rule of the contract (tender-schema-v1, "Gold label files" and "Scoring").

Expected numbers are worked out by hand in the comments, never computed by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor.evaluate import (
    EvalInputError,
    GoldDoc,
    compare_value,
    evaluate_folder,
    load_gold,
    norm,
    schema_spec,
    score,
)
from tests.pdf_factory import make_pdf

SPEC = schema_spec("tender")
F = {f.name: f for f in SPEC.fields}




def gold_doc(tmp_path: Path, name: str, labels: dict, pages: list[list[str]] | None = None) -> GoldDoc:
    """Write NAME.pdf + NAME.gold.json and load them back through load_gold's own parser."""
    folder = tmp_path / name
    folder.mkdir()
    make_pdf(folder / f"{name}.pdf", pages or [[f"{name} 采购公告"]])
    (folder / f"{name}.gold.json").write_text(
        json.dumps({"schema": "tender", "schema_version": 1, "labels": labels}, ensure_ascii=False), "utf-8")
    (doc,) = load_gold(folder)
    return doc


def record(doc: GoldDoc | None, fields: dict, file: str | None = None, **extra) -> dict:
    """A prediction record in extract's format; bare values become {"value": v} without evidence."""
    wrapped = {k: v if isinstance(v, dict) and "value" in v else {"value": v, "page": None, "quote": None}
               for k, v in fields.items()}
    return {"file": file or str(doc.pdf), "sha256": doc.sha256 if doc else "", "schema": "tender",
            "schema_version": 1, "backend": "rules", "model": None, "fields": wrapped, "flags": [],
            "errors": [], "usage": {}, **extra}


def correct(field: str, gold, pred) -> bool:
    return compare_value(F[field], gold, pred).correct


def counts(field: str, gold, pred) -> tuple[int, int, int, int]:
    o = compare_value(F[field], gold, pred)
    return o.tp, o.fp, o.fn, o.tn


# --- normalisation ---


def test_nfkc_full_width_letters_and_digits_match_half_width():
    assert norm("ＳＺＵＣＧ２０２４０００３１２") == "SZUCG2024000312"
    assert correct("project_code", "SZUCG2024000312", "ＳＺＵＣＧ２０２４０００３１２")
    assert correct("buyer", "深圳大学（南校区）", "深圳大学(南校区)")  # full-width brackets inside


def test_whitespace_anywhere_is_ignored():
    assert correct("buyer", "深圳大学", " 深 圳\n大学\u3000")
    assert correct("project_name", "深圳大学云计算服务采购项目", "深圳大学 云计算服务\t采购项目")


def test_surrounding_punctuation_and_brackets_are_stripped_inner_kept():
    assert correct("project_name", "深圳大学云计算服务采购项目", "《深圳大学云计算服务采购项目》")
    assert correct("buyer", "深圳大学", "“深圳大学”。")
    assert correct("project_code", "SZU-01", "【SZU-01】")
    assert correct("project_code", "SZU-01", "(SZU-01);")
    assert not correct("project_code", "SZU-01", "SZU01")  # inner hyphen is part of the code
    assert not correct("buyer", "深圳大学", "深圳大学附属中学")


def test_latin_letters_compare_case_insensitively():
    assert correct("project_code", "szucg-2024", "SZUCG-2024")
    assert correct("notice_type", "award", "AWARD")
    assert correct("chips", ["NVIDIA A100"], ["nvidia a100"])


# --- string / enum / date / boolean ---


def test_enum_and_date_equality_after_normalisation():
    assert counts("notice_type", "award", "award") == (1, 0, 0, 0)
    assert counts("notice_type", "award", "tender") == (0, 1, 1, 0)
    assert correct("publish_date", "2024-03-18", " 2024-03-18 ")
    assert not correct("publish_date", "2024-03-18", "2024-03-19")


def test_boolean_false_is_a_value_not_a_null():
    assert counts("restricted_us_tech", True, True) == (1, 0, 0, 0)
    assert counts("restricted_us_tech", False, False) == (1, 0, 0, 0)  # both values, equal → TP
    assert counts("restricted_us_tech", False, True) == (0, 1, 1, 0)
    assert counts("restricted_us_tech", True, "true") == (1, 0, 0, 0)  # normalised "TRUE" on both sides


# --- numbers: |p − g| ≤ max(1, 0.001·|g|) ---


def test_number_tolerance_at_the_boundary_for_large_amounts():
    # gold 200000 → tolerance 200
    assert correct("budget_cny", 200000, 200200)
    assert correct("budget_cny", 200000, 199800)
    assert not correct("budget_cny", 200000, 200201)
    assert not correct("budget_cny", 200000, 199799)
    assert counts("budget_cny", 200000, 200201) == (0, 1, 1, 0)


def test_number_tolerance_for_small_numbers_where_one_yuan_dominates():
    # gold 500 → 0.001·500 = 0.5, so the tolerance is 1
    assert correct("budget_cny", 500, 501)
    assert correct("budget_cny", 500, 499)
    assert not correct("budget_cny", 500, 501.5)
    assert not correct("budget_cny", 500, 498.9)
    # gold 1000 → both bounds equal 1
    assert correct("award_amount_cny", 1000, 1001)
    assert not correct("award_amount_cny", 1000, 1001.01)
    # gold 0 → tolerance 1
    assert correct("token_count", 0, 1)
    assert not correct("token_count", 0, 2)


def test_integer_fields_use_the_number_rule_and_numeric_strings_parse():
    assert correct("gpu_count", 4000, 4004)  # tolerance max(1, 4) = 4
    assert not correct("gpu_count", 4000, 4005)
    assert correct("gpu_count", 8, 9)  # the contract's 1-unit floor applies to counts too
    assert correct("budget_cny", 500000, "500,000")
    assert counts("budget_cny", 500000, "50万元") == (0, 1, 1, 0)  # an unparsed amount is a wrong value


# --- lists ---


def test_lists_are_sets_counted_item_by_item_with_duplicates_and_order_ignored():
    gold = ["NVIDIA A100", "NVIDIA H100", "NVIDIA H100"]
    pred = ["nvidia h100", "NVIDIA A100", "NVIDIA A100", "AMD Instinct MI250"]
    assert counts("chips", gold, pred) == (2, 1, 0, 0)
    assert not correct("chips", gold, pred)
    assert correct("cloud_providers", ["AWS", "Microsoft Azure"], ["Microsoft Azure", "AWS", "aws"])
    assert counts("suppliers", ["甲公司", "乙公司"], ["乙公司", "丙公司"]) == (1, 1, 1, 0)


def test_empty_lists_are_the_list_null():
    assert counts("chips", [], []) == (0, 0, 0, 1)
    assert correct("chips", [], None)
    assert counts("chips", [], ["NVIDIA A100"]) == (0, 1, 0, 0)
    assert counts("chips", ["NVIDIA A100", "NVIDIA H100"], []) == (0, 0, 2, 0)


# --- the four null cases ---


def test_all_four_null_cases():
    assert counts("agency", None, None) == (0, 0, 0, 1)
    assert correct("agency", None, None)
    assert counts("agency", None, "某招标公司") == (0, 1, 0, 0)
    assert counts("agency", "某招标公司", None) == (0, 0, 1, 0)
    assert counts("agency", "某招标公司", "另一招标公司") == (0, 1, 1, 0)
    assert counts("agency", None, "  ") == (0, 0, 0, 1)  # blank string = no value


# --- whole-set scoring ---


def test_tn_counts_as_correct_but_not_in_precision_recall(tmp_path):
    d1 = gold_doc(tmp_path, "a", {"agency": None})
    d2 = gold_doc(tmp_path, "b", {"agency": "某招标公司"})
    s = score([d1, d2], [record(d1, {"agency": None}), record(d2, {"agency": "某招标公司"})], SPEC)
    fs = s.fields["agency"]
    assert (fs.tp, fs.fp, fs.fn, fs.tn) == (1, 0, 0, 1)
    assert fs.precision == 1.0 and fs.recall == 1.0 and fs.accuracy == 1.0 and fs.support == 2


def test_field_absent_from_labels_is_not_scored(tmp_path):
    d = gold_doc(tmp_path, "a", {"buyer": "深圳大学"})
    s = score([d], [record(d, {"buyer": "深圳大学", "agency": "某招标公司", "budget_cny": 5})], SPEC)
    assert s.fields["agency"].support == 0
    assert (s.fields["agency"].tp, s.fields["agency"].fp) == (0, 0)
    assert s.fields["budget_cny"].f1 is None  # nothing scored: undefined, not 0 or 1
    assert s.docs[0].scored == 1 and s.all_fields_correct == 1.0
    assert s.micro_f1 == 1.0


def test_hand_computed_per_field_and_micro_f1(tmp_path):
    d1 = gold_doc(tmp_path, "a", {"notice_type": "award", "buyer": "深圳大学", "agency": None,
                                  "chips": ["NVIDIA A100", "NVIDIA H100"], "budget_cny": 200000})
    d2 = gold_doc(tmp_path, "b", {"notice_type": "tender", "buyer": "清华大学", "agency": "某招标公司",
                                  "chips": [], "budget_cny": None})
    recs = [
        # notice_type TP; buyer TP; agency FP; chips TP1 FN1; budget TP (within 200)
        record(d1, {"notice_type": "award", "buyer": "深圳大学", "agency": "某招标公司",
                    "chips": ["NVIDIA A100"], "budget_cny": 200150}),
        # notice_type FP+FN; buyer FP+FN; agency FN; chips FP1; budget TN
        record(d2, {"notice_type": "award", "buyer": "北京大学", "agency": None,
                    "chips": ["Huawei Ascend 910B"], "budget_cny": None}),
    ]
    s = score([d1, d2], recs, SPEC)
    # sums: TP = 1+1+0+1+1 = 4; FP = 1 (nt) + 1 (buyer) + 1 (agency) + 1 (chips) = 4; FN = 1+1+1+1 = 4
    assert s.micro_f1 == pytest.approx(2 * 4 / (2 * 4 + 4 + 4))  # 0.5
    nt = s.fields["notice_type"]
    assert (nt.precision, nt.recall, nt.f1, nt.accuracy) == (0.5, 0.5, 0.5, 0.5)
    ch = s.fields["chips"]
    assert (ch.tp, ch.fp, ch.fn) == (1, 1, 1) and ch.accuracy == 0.0
    ag = s.fields["agency"]
    assert (ag.tp, ag.fp, ag.fn, ag.tn) == (0, 1, 1, 0) and ag.precision == 0.0 and ag.f1 == 0.0
    bu = s.fields["budget_cny"]
    assert (bu.tp, bu.tn, bu.accuracy, bu.precision) == (1, 1, 1.0, 1.0)
    assert s.all_fields_correct == 0.0
    assert [e.field for e in s.docs[1].errors] == ["notice_type", "buyer", "agency", "chips"]


def test_all_fields_correct_share(tmp_path):
    docs = [gold_doc(tmp_path, n, {"buyer": "深圳大学", "chips": ["NVIDIA A100"]}) for n in "abc"]
    recs = [record(docs[0], {"buyer": "深圳大学", "chips": ["NVIDIA A100"]}),
            record(docs[1], {"buyer": "深圳大学", "chips": []}),
            record(docs[2], {"buyer": "深圳", "chips": ["NVIDIA A100"]})]
    s = score(docs, recs, SPEC)
    assert s.all_fields_correct == pytest.approx(1 / 3)
    assert [len(d.errors) for d in s.worst_documents()] == [1, 1]


def test_restricted_flag_precision_recall_positive_class_true(tmp_path):
    golds = [True, True, False, False, True]
    preds = [True, False, True, False, None]
    docs = [gold_doc(tmp_path, f"d{i}", {"restricted_us_tech": g}) for i, g in enumerate(golds)]
    s = score(docs, [record(d, {"restricted_us_tech": p}) for d, p in zip(docs, preds, strict=True)], SPEC)
    # flag: TP = doc0; FP = doc2; FN = doc1 and doc4 (null is not a positive)
    assert s.flag_precision == 0.5
    assert s.flag_recall == pytest.approx(1 / 3)
    # field-level (generic rule, false is a value): TP doc0 + doc3 = 2; FP doc1, doc2 = 2; FN doc1, doc2, doc4 = 3
    fs = s.fields["restricted_us_tech"]
    assert (fs.tp, fs.fp, fs.fn) == (2, 2, 3)


def test_missing_prediction_scores_every_field_null_and_is_listed(tmp_path):
    d1 = gold_doc(tmp_path, "a", {"buyer": "深圳大学", "agency": None, "chips": []})
    d2 = gold_doc(tmp_path, "b", {"buyer": "清华大学"})
    s = score([d1, d2], [record(d2, {"buyer": "清华大学"})], SPEC)
    assert s.missing_predictions == ["a.pdf"]
    assert s.documents == 2
    fs = s.fields["buyer"]
    assert (fs.tp, fs.fn) == (1, 1)
    assert s.fields["agency"].tn == 1 and s.fields["chips"].tn == 1
    assert s.docs[0].predicted is False and [e.field for e in s.docs[0].errors] == ["buyer"]


def test_records_match_by_sha256_first_then_by_file_name(tmp_path):
    d1 = gold_doc(tmp_path, "a", {"buyer": "甲"})
    d2 = gold_doc(tmp_path, "b", {"buyer": "乙"})
    recs = [
        record(d1, {"buyer": "甲"}, file="/elsewhere/renamed.pdf"),  # sha matches, name does not
        {**record(d2, {"buyer": "乙"}, file="/other/dir/b.pdf"), "sha256": "0" * 64},  # name only
        record(None, {"buyer": "丙"}, file="/x/unrelated.pdf"),
        {**record(d1, {"buyer": "错"}, file="/y/a.pdf"), "sha256": ""},  # name of a, but a already has its sha
    ]
    s = score([d1, d2], recs, SPEC)
    assert s.fields["buyer"].tp == 2 and s.missing_predictions == []
    assert "/x/unrelated.pdf" in s.unmatched_predictions


def test_grounding_rate_and_grounded_but_wrong_with_real_pdfs(tmp_path):
    pages = [["采购人：深圳大学", "采购代理机构：深圳市政府采购中心"], ["预算金额：人民币 50 万元", "项目编号：SZU-2024-01"]]
    d = gold_doc(tmp_path, "a", {"buyer": "深圳大学", "agency": "深圳市政府采购中心", "budget_cny": 500000,
                                 "project_code": "SZU-2024-01"}, pages)
    rec = record(d, {
        "buyer": {"value": "深圳大学", "page": 1, "quote": "采购人： 深圳\n大学"},  # whitespace differs: grounded
        "budget_cny": {"value": 500000, "page": 2, "quote": "预算金额：人民币50万元"},  # grounded, right
        "agency": {"value": "深圳大学", "page": 1, "quote": "深圳大学"},  # grounded but wrong
        "project_code": {"value": "SZU-2024-02", "page": 2, "quote": "项目编号：SZU-2024-02"},  # not in text
        "project_name": {"value": "某项目", "page": 1, "quote": None},  # no quote: not grounded, not scored
        "server_count": {"value": None, "page": None, "quote": None},  # null: not counted
        "chips": {"value": [], "page": None, "quote": None},  # empty list: not counted
    })
    s = score([d], [rec], SPEC)
    assert (s.grounded, s.grounding_checked) == (3, 5)
    assert s.grounding_rate == pytest.approx(3 / 5)
    assert s.grounded_but_wrong == 1
    errors = {e.field: e for e in s.docs[0].errors}
    assert set(errors) == {"agency", "project_code"}
    agency = errors["agency"]
    assert agency.grounded is True and agency.context is not None
    assert agency.context.page == 1 and agency.context.match == "深圳大学"
    assert "采购人：" in agency.context.before
    assert errors["project_code"].grounded is False and errors["project_code"].context is None


def test_quote_context_prefers_the_named_page(tmp_path):
    pages = [["中标供应商：甲公司"], ["中标供应商：甲公司", "第二页的上下文"]]
    d = gold_doc(tmp_path, "a", {"suppliers": ["乙公司"]}, pages)
    s = score([d], [record(d, {"suppliers": {"value": ["甲公司"], "page": 2, "quote": "中标供应商：甲公司"}})], SPEC)
    (err,) = s.docs[0].errors
    assert err.context.page == 2 and "第二页的上下文" in err.context.after


def test_notice_type_confusion_matrix(tmp_path):
    golds = ["award", "award", "tender"]
    preds = ["award", "tender", None]
    docs = [gold_doc(tmp_path, f"d{i}", {"notice_type": g}) for i, g in enumerate(golds)]
    s = score(docs, [record(d, {"notice_type": p}) for d, p in zip(docs, preds, strict=True)], SPEC)
    assert s.confusion["notice_type"] == {"award": {"award": 1, "tender": 1}, "tender": {"null": 1}}


def test_to_json_has_the_contract_keys_in_order(tmp_path):
    d = gold_doc(tmp_path, "a", {"buyer": "深圳大学"})
    out = score([d], [record(d, {"buyer": "深圳大学"})], SPEC).to_json()
    assert list(out)[:10] == ["documents", "micro_f1", "all_fields_correct", "grounding_rate",
                              "grounded_but_wrong", "restricted_us_tech", "fields", "backend", "model",
                              "schema_version"]
    assert list(out["fields"]["buyer"]) == ["precision", "recall", "f1", "accuracy", "support"]
    assert list(out["restricted_us_tech"]) == ["precision", "recall"]
    assert set(out["fields"]) == set(F)
    assert out["backend"] == "rules" and out["schema_version"] == 1
    json.dumps(out)  # serialisable as is


# --- gold files ---


def _write_gold(folder: Path, name: str, body: object, pdf: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if pdf:
        make_pdf(folder / f"{name}.pdf", [["公告"]])
    p = folder / f"{name}.gold.json"
    p.write_text(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False), "utf-8")
    return p


def _gold(labels: dict, **top) -> dict:
    return {"schema": "tender", "schema_version": 1, "labels": labels, **top}


def test_load_gold_recursive_ignores_pdfs_without_gold(tmp_path):
    _write_gold(tmp_path, "one", _gold({"buyer": "甲"}))
    _write_gold(tmp_path / "sub" / "deeper", "two", _gold({"buyer": "乙"}, notes="free text is fine"))
    make_pdf(tmp_path / "unlabelled.pdf", [["x"]])
    docs = load_gold(tmp_path)
    assert [d.name for d in docs] == ["one.pdf", "two.pdf"]
    assert docs[1].labels == {"buyer": "乙"} and len(docs[1].sha256) == 64


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "not readable JSON"),
    (["a list"], "must be a JSON object"),
    (_gold({}, schema="other"), "schema is 'other'"),
    (_gold({}, schema_version=2), "schema_version is 2"),
    ({"schema": "tender", "schema_version": 1}, "'labels' must be an object"),
    (_gold({"buyre": "甲"}), "unknown field 'buyre'"),
    (_gold({"budget_cny": "50万元"}), "'budget_cny' must be a number"),
    (_gold({"gpu_count": 2.5}), "'gpu_count' must be an integer"),
    (_gold({"publish_date": "2024-3-18"}), "'publish_date' must be an ISO date"),
    (_gold({"notice_type": "awarded"}), "'notice_type' must be one of"),
    (_gold({"notice_type": None}), "'notice_type' is null but the field is not nullable"),
    (_gold({"chips": "NVIDIA A100"}), "'chips' must be a list of strings"),
    (_gold({"restricted_us_tech": "yes"}), "'restricted_us_tech' must be true or false"),
    (_gold({"buyer": 42}), "'buyer' must be a string"),
])
def test_malformed_gold_files_are_errors_naming_the_file(tmp_path, body, message):
    path = _write_gold(tmp_path, "bad", body)
    with pytest.raises(EvalInputError) as err:
        load_gold(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_gold_without_its_pdf_is_an_error(tmp_path):
    path = _write_gold(tmp_path, "orphan", _gold({"buyer": "甲"}), pdf=False)
    with pytest.raises(EvalInputError, match="no document beside it") as err:
        load_gold(tmp_path)
    assert str(path) in str(err.value) and "orphan.pdf|html|htm|docx|txt" in str(err.value)


def test_missing_or_empty_gold_folder_is_an_error(tmp_path):
    with pytest.raises(EvalInputError, match="not found"):
        load_gold(tmp_path / "nope")
    with pytest.raises(EvalInputError, match="no \\*.gold.json"):
        load_gold(tmp_path)


def test_shipped_samples_are_valid_gold(samples_dir):
    docs = load_gold(samples_dir)
    assert docs, "samples/ should hold labelled PDFs"
    assert all(d.schema == "tender" for d in docs)


# --- evaluate_folder ---


def test_evaluate_folder_with_a_predictions_file(tmp_path):
    d = gold_doc(tmp_path, "a", {"buyer": "深圳大学", "chips": ["NVIDIA A100"]})
    preds = tmp_path / "preds.jsonl"
    rec = record(d, {"buyer": "深圳大学", "chips": ["NVIDIA A100", "NVIDIA H100"]}, model="m1")
    preds.write_text(json.dumps(rec, ensure_ascii=False) + "\n\n", "utf-8")
    s = evaluate_folder(tmp_path, predictions=preds)
    assert s.fields["chips"].precision == 0.5 and s.fields["buyer"].f1 == 1.0
    assert (s.backend, s.model) == ("rules", "m1")
    preds.write_text('{"file": "a.pdf", "fields": {}}\n{broken\n', "utf-8")
    with pytest.raises(EvalInputError, match="preds.jsonl:2"):
        evaluate_folder(tmp_path, predictions=preds)


def test_evaluate_folder_runs_the_rules_extractor(tmp_path):
    gold_doc(tmp_path, "a", {"buyer": "深圳大学"}, [["深圳大学云计算服务采购项目成交公告", "采购人：深圳大学"]])
    s = evaluate_folder(tmp_path, backend="rules", store_dir=None)
    assert s.backend == "rules" and s.documents == 1
    assert s.missing_predictions == []
    assert s.fields["buyer"].support == 1
