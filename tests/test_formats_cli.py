"""The formats, as a user meets them: `tenderx extract/run/eval` on folders of mixed files.

Real files (the samples, files written here with real signatures, PDFs made with
pypdf/reportlab) through the real CLI in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import zlib
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from tests.conftest import SAMPLES, run_cli
from tests.pdf_factory import make_pdf
from tests.test_formats import unsupported_files

GBK_NAME = "招标公告".encode("gbk") + b".pdf"  # a file name from a Chinese archive, not valid UTF-8


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def blank_pdf(path: Path, pages: int = 3) -> Path:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def one_string_pdf(path: Path, chars: int = 1_000_000) -> Path:
    """A few-KB PDF whose one page shows a single `chars`-long string (compressed, so tiny on disk)."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 8 Tf 20 800 Td (" + b"x" * chars + b") Tj ET")
    stream = stream.flate_encode()
    page[NameObject("/Contents")] = writer._add_object(stream)
    with open(path, "wb") as fh:
        writer.write(fh)
    assert path.stat().st_size < 10_000 and len(zlib.compress(b"x" * chars)) < 5_000
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A folder as analysts have them, extracted once with the rules engine."""
    root = tmp_path_factory.mktemp("mixed")
    folder = root / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "web" / "gbk-correction-school-multimedia.html", folder / "更正公告.htm")
    shutil.copy(SAMPLES / "web" / "zcy-award-deepseek-api-tokens.html", folder)
    shutil.copy(SAMPLES / "word" / "tender-l40s-inference-servers.docx", folder)
    shutil.copy(SAMPLES / "award-univ-aws-a100-cloud.pdf", folder)
    (folder / "notice-gb18030.txt").write_bytes(
        "某某区政务云服务采购项目成交公告\n项目编号：ZWY-2024-08\n采购人：某某区大数据中心\n成交金额：88万元\n".encode("gb18030"))
    blank_pdf(folder / "blank.pdf")
    hints = unsupported_files(folder / "附件")
    (folder / "labels.json").write_text("{}", encoding="utf-8")
    out = root / "out" / "records.jsonl"
    res = run_cli("extract", str(folder), "-b", "rules", "-o", str(out), "--csv", str(root / "out" / "r.csv"),
                  "--store", str(root / "store"), "-j", "2", timeout=300)
    return folder, out, (res, hints)


def test_mixed_folder_reads_every_format_and_says_what_it_skipped(mixed) -> None:
    folder, out, (res, hints) = mixed
    both = res.stdout + res.stderr
    assert res.returncode == 1, both  # the unsupported files and the blank PDF are failures
    assert "Traceback" not in both
    assert "skipped 1 path(s) that are not documents: 1 not a document (.json) (labels.json)" in both
    recs = {Path(r["file"]).name: r for r in _records(out)}
    ok = {"更正公告.htm", "zcy-award-deepseek-api-tokens.html", "tender-l40s-inference-servers.docx",
          "award-univ-aws-a100-cloud.pdf", "notice-gb18030.txt"}
    assert ok | set(hints) | {"blank.pdf"} == set(recs)
    for name in ok:
        assert recs[name]["errors"] == [], (name, recs[name]["errors"])
    assert recs["更正公告.htm"]["fields"]["project_code"]["value"] == "BSZC2019-0142"
    assert recs["更正公告.htm"]["source"]["encoding"] == "gb18030"
    zcy = recs["zcy-award-deepseek-api-tokens.html"]
    assert zcy["source"]["published"] == "2024-04-02T14:20:33" and zcy["fields"]["token_count"]["value"] == 1_000_000_000
    assert recs["tender-l40s-inference-servers.docx"]["fields"]["chips"]["value"] == ["NVIDIA L40S"]
    assert "restricted_us_tech" in recs["tender-l40s-inference-servers.docx"]["flags"]
    assert recs["notice-gb18030.txt"]["fields"]["buyer"]["value"] == "某某区大数据中心"
    assert recs["blank.pdf"]["errors"] == ["empty: no text and no images on any page"]
    for name, hint in hints.items():
        (error,) = recs[name]["errors"]
        assert error.startswith("unsupported: ") and hint in error, (name, error)
    assert all(Path(r["file"]).is_absolute() for r in recs.values())


def test_folder_with_nothing_readable_exits_2(tmp_path: Path) -> None:
    only_office = tmp_path / "office"
    unsupported_files(only_office)
    (only_office / "notes.json").write_text("{}", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (only_office, empty):
        out = tmp_path / f"{folder.name}.jsonl"
        res = run_cli("extract", str(folder), "-b", "rules", "-o", str(out), "--store", str(tmp_path / "s"))
        assert res.returncode == 2, res.stdout + res.stderr
        assert "nothing tenderx can read in" in res.stderr and not out.exists()
    res = run_cli("extract", str(only_office), "-b", "rules", "-o", str(tmp_path / "x.jsonl"))
    assert "in formats it does not read" in res.stderr and "convert it first" in res.stderr


def test_extract_of_a_missing_path_exits_2_without_a_record(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    res = run_cli("extract", str(tmp_path / "nonexistent"), "-b", "rules", "-o", str(out))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "no such file or folder" in res.stderr and not out.exists()


def test_a_non_utf8_file_name_is_recorded_losslessly(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/" + GBK_NAME
    shutil.copy(SAMPLES / "award-univ-aws-a100-cloud.pdf", os.fsdecode(raw))
    shutil.copy(SAMPLES / "tender-qwen-api-hotline.pdf", folder)
    out, csv = tmp_path / "out.jsonl", tmp_path / "out.csv"
    for _attempt in range(2):  # the second run resumes (the record keys must match)
        res = run_cli("extract", str(folder), "-b", "rules", "-o", str(out), "--csv", str(csv),
                      "--store", str(tmp_path / "s"))
        assert res.returncode == 0, res.stdout + res.stderr
    assert "2 documents already extracted" in res.stdout
    recs = _records(out)
    assert len(recs) == 2
    gbk = next(r for r in recs if "file_bytes_b64" in r)
    # printable: the bytes that are not UTF-8 as \xNN (d0 b1 and ea b9 ab happen to be valid UTF-8)
    assert gbk["file"].endswith("/archive/" + GBK_NAME.decode("utf-8", "backslashreplace"))
    assert gbk["file"].endswith("\\xd5б깫\\xb8\\xe6.pdf")
    assert base64.b64decode(gbk["file_bytes_b64"]) == os.fsencode(os.path.realpath(os.fsdecode(raw)))
    assert gbk["fields"]["buyer"]["value"] == "沪东理工大学" and gbk["errors"] == []
    assert "\\xd5б깫\\xb8\\xe6.pdf" in csv.read_text(encoding="utf-8")


def test_one_document_is_one_record_however_it_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "in8"
    folder.mkdir()
    for name in ("award-univ-aws-a100-cloud", "tender-qwen-api-hotline"):
        shutil.copy(SAMPLES / f"{name}.pdf", folder)
    out = tmp_path / "out.jsonl"
    for path in ("in8", str(folder), "./in8/../in8", "in8/tender-qwen-api-hotline.pdf"):
        res = run_cli("extract", path, "-b", "rules", "-o", str(out), "--store", str(tmp_path / "s"), "--no-resume",
                      cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
    files = [r["file"] for r in _records(out)]
    assert sorted(files) == sorted({str(folder.resolve() / n) for n in
                                    ("award-univ-aws-a100-cloud.pdf", "tender-qwen-api-hotline.pdf")})


def test_a_tiny_pdf_with_one_huge_string_is_capped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    one_string_pdf(folder / "huge-string.pdf")
    make_pdf(folder / "normal.pdf", [["采购人：某某大学", "预算金额：50万元"]])
    out = tmp_path / "out.jsonl"
    res = run_cli("extract", str(folder), "-b", "rules", "-o", str(out), "--store", str(tmp_path / "s"), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    recs = {Path(r["file"]).name: r for r in _records(out)}
    assert recs["huge-string.pdf"]["warnings"] == [
        "page 1: text cut from 1,000,000 to 20,000 characters (TENDERX_MAX_PAGE_CHARS)"]
    assert "warning:" in res.stderr and "TENDERX_MAX_PAGE_CHARS" in res.stderr
    assert "warnings" not in recs["normal.pdf"]
    res = run_cli("extract", str(folder / "huge-string.pdf"), "-b", "rules", "-o", str(tmp_path / "o2.jsonl"),
                  env={"TENDERX_MAX_PAGE_CHARS": "0", "TENDERX_MAX_DOC_CHARS": "2000"})
    (rec,) = _records(tmp_path / "o2.jsonl")
    assert rec["warnings"] == ["page 1: document text cut at 2,000 characters; the rest is not read "
                               "(TENDERX_MAX_DOC_CHARS)"]


def test_eval_pairs_gold_with_html_docx_and_txt(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    gold.mkdir()
    for src in (SAMPLES / "web" / "zcy-award-deepseek-api-tokens", SAMPLES / "word" / "contract-huawei-govcloud-ascend"):
        for f in src.parent.glob(src.name + ".*"):
            shutil.copy(f, gold)
    (gold / "plain.txt").write_text("某某局办公设备采购项目中标公告\n项目编号：BG-2024-3\n采购人：某某局\n", encoding="utf-8")
    (gold / "plain.gold.json").write_text(json.dumps({"schema": "tender", "schema_version": 1, "labels": {
        "project_code": "BG-2024-3", "buyer": "某某局"}}, ensure_ascii=False), encoding="utf-8")
    res = run_cli("eval", str(gold), "-b", "rules", "--json", str(tmp_path / "s.json"), "--store", str(tmp_path / "st"))
    assert res.returncode == 0, res.stdout + res.stderr
    scores = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert scores["documents"] == 3
    assert {d["file"] for d in scores["documents_detail"]} == {
        "zcy-award-deepseek-api-tokens.html", "contract-huawei-govcloud-ascend.docx", "plain.txt"}


@pytest.mark.slow
def test_run_ingests_and_extracts_html_and_a_non_utf8_name(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "web" / "ggzy-award-road-reconstruction.html", folder)
    make_pdf(os.fsdecode(os.fsencode(folder) + b"/" + GBK_NAME), [["某某县道路工程中标公告", "招标人：某某县交通局"]])
    res = run_cli("run", str(folder), "-b", "rules", "-o", str(tmp_path / "out"), "-s", str(tmp_path / "store"),
                  timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    recs = _records(tmp_path / "out" / "records.jsonl")
    assert len(recs) == 2 and all(r["errors"] == [] for r in recs)
    search = run_cli("search", "赣通路桥", "-s", str(tmp_path / "store"), "--json")
    assert search.returncode == 0 and Path(json.loads(search.stdout)[0]["file"]).name.endswith(".html")
