"""Reading real PDFs: text, clean view, title, OCR hints, errors, folder walks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from extractor.read.errors import ERROR_KINDS, PdfError
from extractor.read.formats import is_failure, iter_input_paths
from extractor.read.pdf import file_sha256, read_pdf
from tests.conftest import SAMPLES
from tests.pdf_factory import make_encrypted_pdf, make_image_only_pdf, make_pdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "tender-packages"

HEADER = "某某大学设备采购项目招标文件"
PAGES = [
    [HEADER, "项目名称：某某大学人工智能计算平台", "采购项目", "项目编号：ZB-2024-0312", "采 购 人：某某大学", "第 1 页 共 3 页"],
    [HEADER, "目 录", "第一章 投标邀请..........3", "第二章 采购需求..........5", "第三章 合同..........9", "第 2 页 共 3 页"],
    [HEADER, "预算金额：１２０万元", "采购 NVIDIA A100 80GB 共 8 块", "第 3 页 共 3 页"],
]


@pytest.fixture(scope="module")
def tender_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("pdf") / "tender.pdf", PAGES)


def test_pages_raw_and_clean(tender_pdf: Path) -> None:
    doc = read_pdf(tender_pdf)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.path == str(tender_pdf)
    assert doc.sha256 == hashlib.sha256(tender_pdf.read_bytes()).hexdigest() == file_sha256(tender_pdf)
    first = doc.pages[0]
    assert "采 购 人：某某大学" in first.text  # raw is pypdf's text verbatim
    assert "采购人：某某大学" in first.clean
    assert HEADER not in first.clean and "第 1 页" not in first.clean  # header/footer gone
    assert HEADER in first.text
    assert "预算金额：120万元" in doc.pages[2].clean
    assert "NVIDIA A100 80GB" in doc.pages[2].clean
    assert not any(p.needs_ocr for p in doc.pages) and not doc.needs_ocr
    for page in doc.pages:
        assert len(page.clean) == len(page.clean_map)
        for i, ch in enumerate(page.clean):
            if not ch.isspace():
                raw = page.text[page.clean_map[i]]
                assert unicodedata.normalize("NFKC", raw) == unicodedata.normalize("NFKC", ch)


def test_title_from_project_name_with_wrapped_line(tender_pdf: Path) -> None:
    assert read_pdf(tender_pdf).title == "某某大学人工智能计算平台采购项目"


def test_title_from_vertical_cover(tmp_path: Path) -> None:
    cover = ["2026年度水上治安派出所", "船管员服务项目", "竞", "争", "性", "磋", "商", "文", "件", "采购单位：上海市公安局"]
    doc = read_pdf(make_pdf(tmp_path / "cover.pdf", [cover, ["第一章 竞争性磋商公告", "正文"]]))
    assert doc.title == "2026年度水上治安派出所船管员服务项目"
    assert "竞争性磋商文件" in doc.pages[0].clean


def test_scanned_pages_need_ocr(tmp_path: Path) -> None:
    doc = read_pdf(make_image_only_pdf(tmp_path / "scan.pdf", n_pages=2))
    assert [p.needs_ocr for p in doc.pages] == [True, True]
    assert doc.needs_ocr


def test_blank_page_without_image_is_not_a_scan(tmp_path: Path) -> None:
    doc = read_pdf(make_pdf(tmp_path / "blank.pdf", [["采购公告正文内容"], []]))
    assert [p.needs_ocr for p in doc.pages] == [False, False]


def _error(path: Path) -> PdfError:
    with pytest.raises(PdfError) as info:
        read_pdf(path)
    err = info.value
    assert err.kind in ERROR_KINDS
    assert "\n" not in str(err) and str(err) == err.message and len(err.message) < 200
    return err


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.pdf")
    assert (err.kind, err.message) == ("missing", "no such file")


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    err = _error(tmp_path / "empty.pdf")
    assert (err.kind, err.message) == ("empty", "zero-byte file")


def test_html_saved_as_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notice.pdf"
    path.write_text("<!DOCTYPE html>\n<html><head><title>招标公告</title></head><body>…</body></html>", encoding="utf-8")
    err = _error(path)
    assert err.kind == "html_not_pdf"
    assert err.message == "not a PDF (starts with '<!DOCTYPE html>', looks like a saved web page)"


def test_other_bytes_are_not_pdf(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    assert _error(path).kind == "not_pdf"
    path.write_text("hello, this is plain text", encoding="utf-8")
    err = _error(path)
    assert err.kind == "not_pdf" and "hello, this is plai" in err.message


def test_truncated_pdf(tmp_path: Path, tender_pdf: Path) -> None:
    data = tender_pdf.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    err = _error(path)
    assert (err.kind, err.message) == ("truncated", "truncated or damaged PDF: no end-of-file marker")


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50 + b"\n%%EOF\n")
    err = _error(path)
    assert err.kind in {"corrupt", "empty"}  # no pages recoverable from junk


def test_encrypted_with_password(tmp_path: Path) -> None:
    err = _error(make_encrypted_pdf(tmp_path / "locked.pdf", user_password="s3cret"))
    assert (err.kind, err.message) == ("encrypted", "encrypted: needs a password")


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-128"])
def test_encrypted_with_empty_password_opens(tmp_path: Path, algorithm: str) -> None:
    doc = read_pdf(make_encrypted_pdf(tmp_path / "open.pdf", user_password="", algorithm=algorithm))
    assert "采购人：加密测试大学" in doc.pages[0].clean


def test_pypdf_warnings_stay_out_of_the_terminal(tmp_path: Path, tender_pdf: Path) -> None:
    # A wrong startxref pointer: pypdf recovers but logs a warning a user should not see.
    lines = tender_pdf.read_bytes().split(b"\n")
    idx = max(i for i, ln in enumerate(lines) if ln.strip() == b"startxref")
    lines[idx + 1] = b"12345"
    bad = b"\n".join(lines)
    path = tmp_path / "badxref.pdf"
    path.write_bytes(bad)
    code = "import sys; from extractor.read.pdf import read_pdf; d = read_pdf(sys.argv[1]); print(len(d.pages))"
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"
    assert proc.stderr == ""


def test_iter_input_paths_walks_sorted_and_survives_symlink_loops(tmp_path: Path) -> None:
    root = tmp_path / "tenders"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    for rel in ["z.pdf", "a/Second.PDF", "a/first.pdf", "b/deep/x.Pdf", "a/notes.txt", "a/data.json"]:
        (root / rel).write_bytes(b"%PDF-1.4\n%%EOF\n")
    (root / "b" / "deep" / "loop").symlink_to(root, target_is_directory=True)
    (root / "a" / "dangling.pdf").symlink_to(tmp_path / "gone.pdf")
    single = tmp_path / "single.pdf"
    single.write_bytes(b"%PDF-1.4\n%%EOF\n")

    found, errors = iter_input_paths([root, single, tmp_path / "missing-dir", root / "z.pdf"])
    rel = [p.relative_to(tmp_path.resolve()).as_posix() for p in found]
    assert rel == ["tenders/a/first.pdf", "tenders/a/notes.txt", "tenders/a/Second.PDF", "tenders/b/deep/x.Pdf",
                   "tenders/z.pdf", "single.pdf"]
    kinds = {(p.name, e.kind, e.message) for p, e in errors}
    assert kinds == {("dangling.pdf", "missing", "broken symlink"), ("missing-dir", "missing", "no such file or folder"),
                     ("data.json", "ignored", "not a document (.json)")}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_real_tender_packages_parse() -> None:
    found, errors = iter_input_paths([CORPUS])
    assert not [e for _, e in errors if is_failure(e)] and len(found) >= 4
    for path in found:
        doc = read_pdf(path)
        assert doc.pages and not doc.needs_ocr and doc.title
        assert all(len(p.clean) == len(p.clean_map) for p in doc.pages)
    example = read_pdf(CORPUS / "example.pdf")
    assert example.title == "合肥市公安局瑶海分局雪亮工程支网一期、二期、三期运维服务采购项目"
    assert "采购人：合肥市公安局瑶海分局" in example.pages[0].clean


def test_sample_packages_parse() -> None:
    """The shipped long packages parse like the real ones (no ../shared needed)."""
    for name in ("package-univ-ai-platform-h800", "package-city-govcloud-ascend"):
        doc = read_pdf(SAMPLES / f"{name}.pdf")
        assert len(doc.pages) > 30 and not doc.needs_ocr and doc.title
        assert all(len(p.clean) == len(p.clean_map) for p in doc.pages)
    assert read_pdf(SAMPLES / "package-univ-ai-platform-h800.pdf").title == "江东理工大学人工智能计算平台建设项目"
