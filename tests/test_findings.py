"""Issue 25: `tenderx findings` on samples/ against the hand-written samples/findings-gold.json, the
intermediaries, duplicates by content, no local path in anything published, and sub-unit matches that
read as sub-unit matches in every output.

The samples are copied into a working folder and extracted there once per session (conftest's
``extracted_samples``, shared with test_shard); that folder's absolute path is then searched for in every export.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from extractor.core.document import Document, Page
from extractor.pipeline.duplicates import link_duplicates
from extractor.pipeline.intermediaries import find_intermediaries
from extractor.pipeline.records import to_csv
from tests.conftest import SAMPLES, new_page, run_cli

GOLD = json.loads((SAMPLES / "findings-gold.json").read_text(encoding="utf-8"))
SUBUNIT_PARTY = "中国科学技术大学苏州高等研究院"


@pytest.fixture(scope="module")
def work(extracted_samples: Path) -> Path:
    """samples/ copied to a working folder and extracted there with the rules engine (once per session,
    read-only: what these tests write goes to ``out``)."""
    return extracted_samples


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this module's commands write (findings, exports, scores, cases)."""
    return tmp_path_factory.mktemp("findings-out")


@pytest.fixture(scope="module")
def findings(work: Path, out: Path) -> dict:
    res = run_cli("findings", str(work / "out" / "records.jsonl"), "-o", str(out / "findings"))
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    data["stdout"] = res.stdout
    return data


def _rel(name: str) -> str:
    return f"samples/{name}"


def test_findings_list_exactly_the_gold_procurements_with_their_intermediaries(findings: dict) -> None:
    got = {frozenset(n["file"] for n in p["notices"]): p for p in findings["procurements"]}
    want = {frozenset(_rel(n) for n in g["notices"]): g for g in GOLD["procurements"]}
    assert set(got) == set(want)
    for key, g in want.items():
        p = got[key]
        assert p["buyer"]["value"] == g["buyer"]
        pairs = {(i["supplier"], i["intermediary_for"]) for i in p["intermediaries"]}
        assert pairs == {(i["supplier"], i["intermediary_for"]) for i in g["intermediaries"]}, g["buyer"]
        for i in p["intermediaries"]:  # each with the clause that says so, on its page
            clause = next(x["clause"] for x in g["intermediaries"] if x["intermediary_for"] == i["intermediary_for"])
            assert "".join(clause.split())[:12] in "".join(i["quote"].split()) and i["page"] >= 1
        assert set(p["chips"]["value"]) == set(g["chips"])
        for s in p["chips"]["sources"]:
            assert s["page"] >= 1 and s["quote"] and s["sha256"]
    # every value a journalist would quote carries file, page, quote and caveats
    for p in findings["procurements"]:
        b = p["buyer"]
        assert b["file"].startswith("samples/") and b["page"] >= 1 and b["quote"] and "not reviewed by a person" in b["caveats"]


def test_summary_counts_each_procurement_once(findings: dict) -> None:
    s = findings["summary"]
    assert s["procurements"] == len(GOLD["procurements"]) == 16
    assert s["buyers"] == len({g["buyer"] for g in GOLD["procurements"]})
    assert s["listed_buyers"] == 1 and s["listed_buyers_subunit"] == 1 and s["listed_buyers_exact"] == 0
    assert s["intermediaries"] == 3 and s["intermediary_requirements"] == 1
    assert s["by_provider"]["AWS"] == {"procurements": 2, "via_intermediary": 2}
    assert s["notices"] == sum(len(g["notices"]) for g in GOLD["procurements"])
    assert s["duplicate_files"] == len(GOLD["duplicates"])
    assert "16 procurements" in findings["stdout"] and "sub-unit of a listed entity" in s["line"]


def test_the_same_notice_in_two_files_is_linked_by_content(work: Path) -> None:
    recs = {r["relpath"]: r for r in map(json.loads, (work / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines())}
    for copy, original in GOLD["duplicates"].items():
        assert Path(recs[_rel(copy)]["duplicate_of"]).name == original, copy
        assert recs[_rel(copy)]["sha256"] != recs[_rel(original)]["sha256"]  # not a file-hash match
    linked = {r for r, rec in recs.items() if rec.get("duplicate_of")}
    assert linked == {_rel(c) for c in GOLD["duplicates"]}  # nothing else, e.g. two tenders of one template
    for a, b in GOLD["not_duplicates"]:
        assert not recs[_rel(a)].get("duplicate_of") and not recs[_rel(b)].get("duplicate_of")


def test_the_extract_summary_says_copies_count_once(work: Path) -> None:
    said = " ".join((work / "extract.log").read_text(encoding="utf-8").split())
    assert f"{len(GOLD['duplicates'])} file(s) are the same notice as another file" in said


def test_duplicates_need_agreeing_codes_and_prefer_the_text_layer() -> None:
    sketch = list(range(0, 512, 2))
    recs = [{"file": "scan.pdf", "ocr_pages": 1, "content_sketch": sketch,
             "fields": {"project_code": {"value": "ZB-1"}}},
            {"file": "orig.pdf", "ocr_pages": 0, "content_sketch": sketch,
             "fields": {"project_code": {"value": "ZB-1"}}},
            {"file": "phase2.pdf", "ocr_pages": 0, "content_sketch": sketch,
             "fields": {"project_code": {"value": "ZB-2"}}}]
    link_duplicates(recs)
    assert recs[0]["duplicate_of"] == "orig.pdf" and "duplicate_of" not in recs[1]
    assert "duplicate_of" not in recs[2]  # the same text under another project code is another purchase


def _doc(*pages: str) -> Document:
    return Document("x.pdf", "0", [Page(i, t) for i, t in enumerate(pages, 1)])


def test_intermediary_words_are_data_and_precise() -> None:
    nvidia = find_intermediaries(_doc("特定资格要求：投标人须为NVIDIA授权经销商，并提供授权证明。"), ["甲公司"], [])
    assert [(i["supplier"], i["intermediary_for"], i["basis"]) for i in nvidia] == [("甲公司", "NVIDIA", "partner")]
    assert "授权经销商" in nvidia[0]["quote"]
    assert find_intermediaries(_doc("接口须兼容OpenAI API格式。"), ["乙公司"], []) == []
    assert find_intermediaries(_doc("投标人须为阿里云授权的合作伙伴。"), ["丙公司"], ["Alibaba Cloud"]) == []
    assert find_intermediaries(_doc("每台配置8块NVIDIA A100 GPU。"), ["丁公司"], []) == []  # goods, not resale
    assert find_intermediaries(_doc("采购代理机构：某招标代理有限公司，AWS"), ["戊公司"], ["AWS"]) == []
    # "the original maker's authorisation" is any maker's (a real books tender): not the cloud the notice buys
    assert find_intermediaries(_doc("提供供货渠道证明（销售协议或代理协议或有效期内的原厂授权等）"), ["己公司"], ["AWS"]) == []
    generic = find_intermediaries(_doc("投标人须提供云服务商出具的针对本项目的授权或合作伙伴证明。"), [], ["Google Cloud"])
    assert [(i["supplier"], i["intermediary_for"], i["basis"]) for i in generic] == [(None, "Google Cloud", "partner")]


def _texts(path: Path) -> str:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
    return path.read_bytes().decode("utf-8-sig")


@pytest.fixture(scope="module")
def exports(work: Path, out: Path, findings: dict) -> dict[str, Path]:
    recs = work / "out" / "records.jsonl"
    made = {"findings.html": out / "findings.html", "findings.csv": out / "findings.csv",
            "findings.json": out / "findings.json"}
    folder = out / "exports"
    for name, args in {"releases.json": ["--format", "ocds"], "records.json": ["--format", "ocds-record"],
                       "records.csv": ["--format", "csv", "--excel"], "cases.csv": ["--format", "csv", "--cases"],
                       "records.parquet": ["--format", "parquet"],
                       "cases.parquet": ["--format", "parquet", "--cases"]}.items():
        res = run_cli("export", str(recs), *args, "-o", str(folder / name))
        assert res.returncode == 0, res.stdout + res.stderr
        made[name] = folder / name
    from extractor.pipeline.records import read_records

    run_csv = folder / "run-records.csv"  # what `tenderx run` writes as records.csv
    from extractor.core.schema import load_schema

    run_csv.write_text(to_csv(read_records(recs), [f.name for f in load_schema("tender").fields], evidence=True),
                       encoding="utf-8")
    made["run-records.csv"] = run_csv
    return made


def test_no_export_contains_the_working_folders_path(work: Path, exports: dict[str, Path]) -> None:
    local = str(work.resolve())
    assert local in (work / "out" / "records.jsonl").read_text(encoding="utf-8")  # local state keeps it
    for name, path in exports.items():
        text = _texts(path)
        assert local not in text and str(work.parent) not in text, name
        assert "samples/award-ustc-suzhou-a100-rental.pdf" in text, name  # named relative to the input folder
    pkg = json.loads(exports["releases.json"].read_text(encoding="utf-8"))
    docs = {e["document"] for r in pkg["releases"] for e in r["evidence"]}
    assert docs and all(d.startswith("samples/") for d in docs)
    assert all(e["sha256"] for r in pkg["releases"] for e in r["evidence"])


def test_a_subunit_match_reads_as_a_subunit_match_in_every_output(exports: dict[str, Path]) -> None:
    for name, path in exports.items():
        text = _texts(path)
        assert SUBUNIT_PARTY in text, name
        assert "sub-unit" in text or "subunit" in text, name
        assert "on the Entity List as" not in text.split(SUBUNIT_PARTY, 1)[1][:200], name
    rows = list(csv.DictReader(io.StringIO(exports["run-records.csv"].read_bytes().decode("utf-8-sig"))))
    ustc = next(r for r in rows if r["file"].endswith("award-ustc-suzhou-a100-rental.pdf"))
    assert "NOT on the Entity List itself" in ustc["screening"] and "89 FR 41888" in ustc["screening"]
    assert ustc["buyer_page"] and ustc["buyer_quote"]  # evidence columns
    assert exports["run-records.csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel
    assert exports["findings.csv"].read_bytes().startswith(b"\xef\xbb\xbf")
    pkg = json.loads(exports["releases.json"].read_text(encoding="utf-8"))
    party = next(p for r in pkg["releases"] for p in r["parties"] if p["name"] == SUBUNIT_PARTY)
    matches = {(s["list"], s["match"]) for s in party["details"]["screening"]}
    assert ("entity_list", "subunit") in matches and all("NOT on" in s["statement"] for s in party["details"]["screening"])
    cases = list(csv.DictReader(io.StringIO(exports["cases.csv"].read_text(encoding="utf-8"))))
    listed = next(c for c in cases if SUBUNIT_PARTY in c["listed_parties"])["listed_parties"]
    assert "sub-unit of the listed 'University of Science and Technology of China'" in listed


def test_export_names_the_intermediary_of_a_supplier(exports: dict[str, Path]) -> None:
    pkg = json.loads(exports["releases.json"].read_text(encoding="utf-8"))
    party = next(p for r in pkg["releases"] for p in r["parties"] if p["name"] == "宁川云帆信息技术有限公司")
    [resale] = party["details"]["intermediaryFor"]
    assert resale["provider"] == "Microsoft Azure" and "授权云" in resale["quote"]


def test_eval_scores_intermediaries_apart(work: Path, out: Path) -> None:
    res = run_cli("eval", str(SAMPLES), "--predictions", str(work / "out" / "records.jsonl"),
                  "--json", str(out / "scores.json"))
    assert "intermediaries (scored apart from v1" in res.stdout
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    got = scores["intermediaries"]
    assert got["tp"] == 5 and got["fp"] == 0 and got["fn"] == 0 and got["documents"] == 53
    assert "intermediaries" not in scores["fields"]  # v1 scoring unchanged


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def _ink_and_highlight(png: bytes) -> tuple[int, int]:
    """Dark pixels (glyph ink) and yellow-tinted pixels (the quote's highlight) of a screenshot."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    dark = yellow = 0
    for r, g, b in im.get_flattened_data() if hasattr(im, "get_flattened_data") else im.getdata():
        dark += r + g + b < 300
        yellow += r > 200 and g > 150 and b < 170
    return dark, yellow


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps-test)")
def test_the_dossier_in_chromium(out: Path, findings: dict, tmp_path: Path) -> None:
    """The dossier as a reader sees it: self-contained (no request leaves the file), the summary on top,
    one section per procurement, every crop decoded, the quote highlighted but legible, printable to PDF."""
    import os

    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("TENDERX_TEST_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    html = out / "findings.html"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        page = new_page(browser, viewport={"width": 1200, "height": 1400})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        page.screenshot(path=str(shots / "findings-dossier-top.png"))
        assert page.locator("#summary").inner_text().startswith("16 procurements")
        assert page.locator("section.proc").count() == 16
        sizes = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        assert len(sizes) > 50 and all(done and width > 0 for done, width in sizes)
        ustc = page.locator("section.proc", has_text=SUBUNIT_PARTY)
        assert "NOT on the Entity List itself" in ustc.inner_text()
        assert "subunit: parent listed, not itself" in ustc.inner_text()
        aws = page.locator("section.proc", has_text="沪东理工大学")
        assert "上海云桥数据科技有限公司 → AWS" in aws.inner_text()
        aws.screenshot(path=str(shots / "findings-dossier-aws.png"))
        crop = ustc.locator("tr", has_text="award (CNY)").locator("img.crop")
        dark, yellow = _ink_and_highlight(crop.screenshot())
        assert yellow > 500 and dark > 500  # highlighted, and the text under it still printed
        page.pdf(path=str(shots / "findings-dossier.pdf"))
        browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if not u.startswith("file:")]
    assert (shots / "findings-dossier.pdf").read_bytes()[:5] == b"%PDF-"
    assert (shots / "findings-dossier.pdf").stat().st_size > 200_000  # 16 sections with their crops, many pages


def test_the_dossier_escapes_document_text_and_the_csv_neutralises_formulas(tmp_path: Path) -> None:
    """Notice text is written by strangers: it is escaped in the dossier and defused in the CSV."""
    from extractor.findings import write_findings

    def fv(value: object, quote: str) -> dict:
        return {"value": value, "page": 1, "quote": quote, "verified": True}

    rec = {"file": str(tmp_path / "in" / "evil.pdf"), "relpath": "in/evil.pdf", "sha256": "ab" * 32,
           "flags": ["restricted_us_tech"], "errors": [], "screening": [],
           "fields": {"notice_type": fv("award", "中标公告"), "buyer": fv("<script>alert(1)</script>大学", "采购人"),
                      "suppliers": fv(["=HYPERLINK(\"http://x\")"], "供应商"), "chips": fv(["NVIDIA A100"], "A100"),
                      "restricted_us_tech": fv(True, "A100"), "publish_date": fv("2024-05-01", "2024年5月1日")}}
    out = write_findings([rec], tmp_path / "f")
    html = out.html.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert str(tmp_path) not in html + out.json.read_text(encoding="utf-8")
    row = next(csv.DictReader(io.StringIO(out.csv.read_bytes().decode("utf-8-sig"))))
    assert row["suppliers"].startswith("'=") and row["buyer_file"] == "in/evil.pdf"
    assert out.summary["procurements"] == 1 and "no buyer on a US list" in out.line


def test_findings_from_a_cases_file_name_the_same_procurements(work: Path, out: Path, findings: dict) -> None:
    recs, cases = work / "out" / "records.jsonl", out / "cases.jsonl"
    assert run_cli("cases", str(recs), "-o", str(cases)).returncode == 0
    assert str(work.resolve()) in cases.read_text(encoding="utf-8")  # local state: absolute paths
    res = run_cli("findings", str(recs), "--cases", str(cases), "-o", str(out / "from-cases"))
    assert res.returncode == 0, res.stdout + res.stderr
    text = (out / "from-cases.json").read_text(encoding="utf-8")
    assert str(work.resolve()) not in text + (out / "from-cases.html").read_text(encoding="utf-8")
    again = json.loads(text)
    assert ({frozenset(n["file"] for n in p["notices"]) for p in again["procurements"]}
            == {frozenset(n["file"] for n in p["notices"]) for p in findings["procurements"]})
    assert run_cli("findings", str(recs), "--cases", str(work / "missing.jsonl"), "-o", "x").returncode == 2
