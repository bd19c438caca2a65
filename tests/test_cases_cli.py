"""`tenderx cases` and `tenderx export` on the chain samples, as a user runs them (subprocess CLI).

The nine samples/chain-*.pdf are real rendered notices of four purchases (hand-labelled, see
samples/README.md); which notices belong together is written here by hand from the documents.
The OCDS output is validated against the published OCDS 1.1.5 schemas kept in extractor/data/ocds.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from extractor.core.paths import published_file
from extractor.export.compile import patched_release_schema
from extractor.export.validate import record_package_errors, release_errors, release_package_errors
from tests.conftest import SAMPLES, run_cli

CHAINS = sorted(p.stem for p in SAMPLES.glob("chain-*.pdf"))
EXPECTED = {  # by hand: the purchases the notices describe
    frozenset({"chain-gpucloud-1-intention", "chain-gpucloud-2-tender", "chain-gpucloud-3-correction",
               "chain-gpucloud-4-award"}),
    frozenset({"chain-hospital-1-tender", "chain-hospital-2-termination"}),
    frozenset({"chain-school-1-tender-phase1"}),
    frozenset({"chain-school-2-tender-phase2", "chain-school-3-intention-phase2"}),
}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain PDFs extracted once with the rules engine, through the CLI."""
    base = tmp_path_factory.mktemp("chains")
    (base / "in").mkdir()
    for name in CHAINS:
        shutil.copy(SAMPLES / f"{name}.pdf", base / "in" / f"{name}.pdf")
    out = base / "records.jsonl"
    r = run_cli("extract", str(base / "in"), "-o", str(out), "--backend", "rules", "--store", str(base / "st"))
    assert r.returncode == 0, r.stdout + r.stderr
    # the extract summary gains the cases table: the flagged (A800) case first
    assert "Cases" in r.stdout and r.stdout.index("江川市数据局") < r.stdout.index("溪源县人民医院")
    return out


def _cases(records: Path, *args: str) -> list[dict]:
    r = run_cli("cases", str(records), "--json", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)["cases"]


def _by_stem(cases: list[dict]) -> dict[frozenset[str], dict]:
    return {frozenset(Path(n["file"]).stem for n in c["notices"]): c for c in cases}


def test_chain_samples_link_into_their_purchases(records: Path) -> None:
    assert len(CHAINS) == 9
    cases = _by_stem(_cases(records))
    assert set(cases) == EXPECTED
    gpu = next(c for k, c in cases.items() if "chain-gpucloud-4-award" in k)
    assert [(n["notice_type"], n["publish_date"], n["link"]) for n in gpu["notices"]] == [
        ("intention", "2024-01-15", "buyer+name"), ("tender", "2024-04-02", "code"),
        ("correction", "2024-04-12", "code"), ("award", "2024-05-20", "code")]
    v = gpu["view"]
    assert v["budget_cny"]["display"] == "3,800,000 ← 3,600,000 (correction, 2024-04-12)"
    assert Path(v["budget_cny"]["file"]).stem == "chain-gpucloud-3-correction" and v["budget_cny"]["verified"]
    assert "3,800,000" in v["budget_cny"]["quote"]
    assert v["award_amount_cny"]["value"] == 3_765_000 and v["suppliers"]["value"] == ["江川云启数字科技有限公司"]
    assert v["status"]["value"] == "awarded" and v["restricted_us_tech"]["value"] is True and gpu["flagged"]
    hospital = next(c for k, c in cases.items() if "chain-hospital-1-tender" in k)
    assert hospital["codes"] == ["XYYY2024-GK-042"] and hospital["view"]["status"]["value"] == "terminated"
    codes = {Path(n["file"]).stem: n["project_code"] for n in hospital["notices"]}
    assert not codes["chain-hospital-1-tender"].isascii() and codes["chain-hospital-2-termination"].isascii()


def test_cases_command_writes_jsonl_html_and_a_table(records: Path, tmp_path: Path) -> None:
    out, html = tmp_path / "cases.jsonl", tmp_path / "cases.html"
    r = run_cli("cases", str(records), "-o", str(out), "--html", str(html))
    assert r.returncode == 0, r.stderr
    assert "4 cases from 9 notices" in r.stdout and "1 flagged" in r.stdout and "terminated" in r.stdout
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert set(_by_stem(lines)) == EXPECTED
    page = html.read_text(encoding="utf-8")
    assert "3,800,000 ← 3,600,000 (correction, 2024-04-12)" in page and "江川云启数字科技有限公司" in page
    missing = run_cli("cases", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such records file" in missing.stderr


def test_ocds_release_package_validates_and_maps_the_chain(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases.json"
    r = run_cli("export", str(records), "--format", "ocds", "-o", str(out), "--ocid-prefix", "ocds-test01")
    assert r.returncode == 0, r.stderr
    pkg = json.loads(out.read_text(encoding="utf-8"))
    assert release_package_errors(pkg) == []
    assert all(release_errors(rel, patched_release_schema()) == [] for rel in pkg["releases"])  # evidence extension
    rels = {Path(rel["evidence"][0]["document"]).stem: rel for rel in pkg["releases"]}
    assert set(rels) == set(CHAINS)
    assert len({rel["ocid"] for rel in pkg["releases"]}) == 4 and all(
        rel["ocid"].startswith("ocds-test01-") for rel in pkg["releases"])
    gpu = [rels[n] for n in CHAINS if n.startswith("chain-gpucloud")]
    assert len({rel["ocid"] for rel in gpu}) == 1
    assert [rel["tag"] for rel in gpu] == [["planning"], ["tender"], ["tenderAmendment"], ["award"]]
    assert rels["chain-hospital-2-termination"]["tag"] == ["tenderCancellation"]
    assert rels["chain-hospital-2-termination"]["tender"]["status"] == "cancelled"
    assert gpu[0]["planning"]["budget"]["amount"] == {"amount": 3_600_000, "currency": "CNY"}
    tender = gpu[2]["tender"]
    assert tender["value"] == {"amount": 3_800_000, "currency": "CNY"} and tender["id"] == "JCSJ2024-GK-018"
    assert (tender["procurementMethod"], tender["procurementMethodDetails"]) == ("open", "公开招标")
    award = gpu[3]
    roles = {p["name"]: p["roles"] for p in award["parties"]}
    assert roles == {"江川市数据局": ["buyer"], "江川恒信招标咨询有限公司": ["procuringEntity"],
                     "江川云启数字科技有限公司": ["supplier"]}
    assert award["buyer"]["name"] == "江川市数据局" and award["date"] == "2024-05-20T00:00:00+08:00"
    [a] = award["awards"]
    assert a["value"] == {"amount": 3_765_000, "currency": "CNY"} and a["suppliers"][0]["name"] == "江川云启数字科技有限公司"
    ev = {e["field"]: e for e in award["evidence"]}
    assert ev["award_amount_cny"]["path"] == "awards/0/value/amount" and "3,765,000" in ev["award_amount_cny"]["quote"]
    assert ev["award_amount_cny"]["page"] == 1 and ev["award_amount_cny"]["verified"] is True


def test_schema_validation_rejects_what_ocds_forbids(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases.json"
    assert run_cli("export", str(records), "-o", str(out)).returncode == 0
    rel = json.loads(out.read_text(encoding="utf-8"))["releases"][1]
    assert release_errors(rel) == []
    bad = {**rel, "tag": ["notATag"], "tender": {**rel["tender"], "procurementMethod": "公开招标"}}
    del bad["date"]
    errs = " | ".join(release_errors(bad))
    assert "'date' is a required property" in errs and "公开招标" in errs and "notATag" in errs
    bad_ev = {**rel, "evidence": [{"field": "buyer", "page": "one"}]}
    assert release_errors(bad_ev) == []  # the published schema allows extra fields …
    assert release_errors(bad_ev, patched_release_schema())  # … the extension's schema checks them


def test_ocds_records_are_compiled_by_ocdskit(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "records.json"
    r = run_cli("export", str(records), "--format", "ocds-record", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "4 records" in r.stdout
    pkg = json.loads(out.read_text(encoding="utf-8"))
    assert record_package_errors(pkg) == []
    assert len(pkg["records"]) == 4
    gpu = next(x for x in pkg["records"] if len(x["releases"]) == 4)
    compiled = gpu["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["ocid"] == gpu["ocid"]
    assert compiled["tender"]["value"]["amount"] == 3_800_000  # the correction's value wins over the tender's
    assert compiled["awards"][0]["suppliers"][0]["name"] == "江川云启数字科技有限公司"
    assert compiled["planning"]["budget"]["amount"]["amount"] == 3_600_000
    docs = {Path(e["document"]).stem for e in compiled["evidence"]}  # merged by id: every notice's evidence
    assert docs == {n for n in CHAINS if n.startswith("chain-gpucloud")}


def test_csv_export_carries_evidence_and_excel_bom(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "records.csv"
    r = run_cli("export", str(records), "--format", "csv", "--excel", "-o", str(out))
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 9
    award = next(x for x in rows if x["file"].endswith("chain-gpucloud-4-award.pdf"))
    assert award["award_amount_cny"] == "3765000" and award["award_amount_cny_page"] == "1"
    assert "3,765,000" in award["award_amount_cny_quote"] and award["award_amount_cny_verified"] == "true"
    assert award["suppliers"] == "江川云启数字科技有限公司" and award["case_id"].startswith("case-")
    cases = tmp_path / "cases.csv"
    assert run_cli("export", str(records), "--format", "csv", "--cases", "-o", str(cases)).returncode == 0
    crow = list(csv.DictReader(io.StringIO(cases.read_text(encoding="utf-8"))))
    assert len(crow) == 4 and not cases.read_bytes().startswith(b"\xef\xbb\xbf")
    gpu = next(x for x in crow if x["award_amount_cny"])
    assert gpu["budget_cny_history"] == "3,800,000 ← 3,600,000 (correction, 2024-04-12)" and gpu["status"] == "awarded"


def test_csv_cells_that_would_run_as_formulas_are_neutralised(records: Path, tmp_path: Path) -> None:
    recs = [json.loads(x) for x in records.read_text(encoding="utf-8").splitlines()]
    evil = recs[0]
    evil["fields"]["buyer"] = {"value": "=HYPERLINK(\"http://x\",\"点击\")", "page": 1, "quote": "+cmd|' /C calc'!A0",
                               "verified": False}
    evil["fields"]["project_name"]["value"] = "@SUM(1+1)"
    evil["fields"]["agency"] = {"value": "\tTAB", "page": 1, "quote": "-2+3", "verified": False}
    bad = tmp_path / "evil.jsonl"
    bad.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in recs), encoding="utf-8")
    out = tmp_path / "evil.csv"
    assert run_cli("export", str(bad), "--format", "csv", "-o", str(out)).returncode == 0
    row = next(x for x in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))) if x["file"] == published_file(evil))
    assert row["buyer"].startswith("'=") and row["buyer_quote"].startswith("'+")
    assert row["project_name"].startswith("'@") and row["agency"] == "'\tTAB" and row["agency_quote"] == "'-2+3"
    assert row["budget_cny"] == "3600000"  # numbers stay numbers


def test_parquet_export_round_trips_with_types(records: Path, tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "records.parquet"
    assert run_cli("export", str(records), "--format", "parquet", "-o", str(out)).returncode == 0
    table = pq.read_table(out)
    s = table.schema
    assert s.field("publish_date").type == pa.date32() and s.field("budget_cny").type == pa.float64()
    assert s.field("gpu_count").type == pa.int64() and s.field("restricted_us_tech").type == pa.bool_()
    assert s.field("suppliers").type == pa.list_(pa.string()) and s.field("budget_cny_page").type == pa.int32()
    rows = {Path(x["file"]).stem: x for x in table.to_pylist()}
    a = rows["chain-gpucloud-4-award"]
    assert a["publish_date"] == dt.date(2024, 5, 20) and a["award_amount_cny"] == 3_765_000
    assert a["suppliers"] == ["江川云启数字科技有限公司"] and a["gpu_count"] == 160 and a["restricted_us_tech"] is True
    orig = {Path(x["file"]).stem: x for x in map(json.loads, records.read_text(encoding="utf-8").splitlines())}
    for stem, row in rows.items():  # every value and quote as in records.jsonl
        for name in ("buyer", "project_code", "budget_cny", "suppliers"):
            assert row[name] == orig[stem]["fields"][name]["value"]
            assert row[f"{name}_quote"] == orig[stem]["fields"][name]["quote"]
    cases = tmp_path / "cases.parquet"
    assert run_cli("export", str(records), "--format", "parquet", "--cases", "-o", str(cases)).returncode == 0
    ct = pq.read_table(cases)
    assert ct.num_rows == 4 and ct.schema.field("first_date").type == pa.date32()
    assert sorted(ct.column("notices").to_pylist()) == [1, 2, 2, 4]


def test_export_rejects_unknown_format(records: Path, tmp_path: Path) -> None:
    r = run_cli("export", str(records), "--format", "xlsx", "-o", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown export format" in r.stderr
    r = run_cli("export", str(records), "--format", "ocds", "--cases", "-o", str(tmp_path / "x"))
    assert r.returncode == 2 and "ocds-record" in r.stderr and not (tmp_path / "x").exists()


def test_export_to_stdout_with_dash(records: Path, tmp_path: Path) -> None:
    """`-o -` writes the data to standard output (for pipes), not a file named `-`; the note goes to stderr."""
    r = run_cli("export", str(records), "--format", "ocds", "-o", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["releases"]) == len(records.read_text(encoding="utf-8").splitlines())
    assert "wrote standard output" in r.stderr and not (tmp_path / "-").exists()
    csv_out = run_cli("export", str(records), "--format", "csv", "-o", "-", cwd=tmp_path)
    assert csv_out.returncode == 0 and csv_out.stdout.startswith("file,") and not (tmp_path / "-").exists()
