"""A corpus of broken, hostile and awkward PDFs (plus three good notices), made on demand.

Every kind a batch meets in the wild: zero-byte, not-a-PDF, an HTML error page,
truncated, broken xref (recoverable) and damaged beyond repair, encrypted with
an empty and with a real password, image-only, 1,000+ pages, a page with an
enormous content stream, a decompression bomb, a PDF whose text extraction
raises inside pypdf, a hostile file name, a symlink loop and a dangling link.

    python -m tests.badfiles OUTDIR      # writes the corpus and prints the manifest

``make_corpus(folder)`` returns one ``Case`` per file: what the pipeline must
do with it (``expect``: ``ok``, ``needs_ocr`` or a ``PdfError`` kind, several
allowed when the bound that trips first may differ) and a fragment of the
one-line message the user must see.
"""

from __future__ import annotations

import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from tests.pdf_factory import make_encrypted_pdf, make_image_only_pdf, make_pdf

HOSTILE_NAME = "招标 公告 \"引号\" 'single' (副本).pdf"
BIG_PAGES = 1200
CONTENT_STREAM_MB = 40  # uncompressed drawing operators on one page (under pypdf's 75 MB inflate limit)
BOMB_MB = 120  # zeros behind FlateDecode: inflates past pypdf's 75 MB limit


@dataclass(frozen=True)
class Case:
    """One corpus file: its path relative to the corpus folder and what must happen to it."""

    name: str
    expect: tuple[str, ...]  # "ok", "needs_ocr", or PdfError kinds (any one of them)
    message: str  # a fragment (case-insensitive) of the one-line message; "" for good files
    good: bool = False  # one of the clean notices (its fields must be extracted)

    @property
    def ok(self) -> bool:
        return self.expect == ("ok",)


GOOD_NOTICES: dict[str, list[list[str]]] = {
    "good-award-gpu.pdf": [[
        "西江大学GPU服务器采购项目成交公告",
        "项目名称：西江大学GPU服务器采购项目",
        "项目编号：XJDX-2024-0815",
        "采购人：西江大学",
        "成交供应商：广州云栈科技有限公司",
        "成交金额：人民币286万元",
        "采购内容：NVIDIA A100 80GB GPU服务器4台",
        "公告日期：2024年5月20日",
    ]],
    "good-tender-switches.pdf": [[
        "北岭市第一中学校园网络交换机采购公告",
        "项目名称：校园网络交换机采购项目",
        "项目编号：BL-ZFCG-2024-031",
        "采购人：北岭市第一中学",
        "预算金额：45万元",
        "采购方式：公开招标",
        "发布日期：2024年3月8日",
    ]],
    "good-intention-cloud.pdf": [[
        "东川市档案馆政务云服务采购意向公开",
        "项目名称：档案数字化政务云服务",
        "采购单位：东川市档案馆",
        "采购预算：120万元",
        "需求概况：租用阿里云ECS云服务器20台",
        "预计采购时间：2024年9月",
    ]],
}


def good_lines(name: str) -> list[str]:
    """The text lines of one good notice (for assertions on extracted values)."""
    return [line for page in GOOD_NOTICES[name] for line in page]


def make_good(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [make_pdf(folder / name, pages) for name, pages in GOOD_NOTICES.items()]


# --- raw PDF writing (for files reportlab would refuse to make) ---------------------------------

def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _raw_pdf(path: Path, content: bytes, content_dict: bytes = b"") -> Path:
    """A one-page PDF with a Helvetica font and the given content stream (dict entries in ``content_dict``)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(content, content_dict),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _flate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


# --- the bad kinds ----------------------------------------------------------------------------

def _html_page() -> bytes:
    return ("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
            "<body><h1>404 页面不存在</h1><p>您访问的公告已删除。</p></body></html>\n").encode()


def _truncated(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def _broken_xref(src: Path, dest: Path) -> Path:
    """Every xref offset points past the end: readers must rebuild the table by scanning."""
    data = src.read_bytes()
    i = data.rfind(b"\nxref")
    table = data[i:]
    lines = table.split(b"\n")
    table = b"\n".join(b"9999999999 00000 n " if ln.endswith(b" n ") or ln.endswith(b" n") else ln for ln in lines)
    dest.write_bytes(data[:i] + table)
    return dest


def _damaged(src: Path, dest: Path) -> Path:
    """Objects mangled and the xref gone: nothing to recover."""
    data = src.read_bytes()
    body = data[: data.rfind(b"\nxref")].replace(b" obj", b" jbo")
    dest.write_bytes(body + b"\ntrailer\n<< /Size 3 >>\nstartxref\n0\n%%EOF\n")
    return dest


def _thousand_pages(dest: Path, src: Path) -> Path:
    """Page 1 a notice, then BIG_PAGES - 1 blank pages (fast to write, cheap to embed)."""
    writer = PdfWriter()
    writer.add_page(PdfReader(src).pages[0])
    for _ in range(BIG_PAGES - 1):
        writer.add_blank_page(width=200, height=200)
    with open(dest, "wb") as fh:
        writer.write(fh)
    return dest


def _enormous_stream(dest: Path) -> Path:
    """One page with ~CONTENT_STREAM_MB of path-drawing operators (≈100 KB on disk)."""
    ops = b"0 0 m 10 10 l 20 0 l h S\n"
    data = b"BT /F1 12 Tf 72 800 Td (huge content stream) Tj ET\n" + ops * (CONTENT_STREAM_MB * 2**20 // len(ops))
    return _raw_pdf(dest, _flate(data), b"/Filter /FlateDecode")


def _bomb(dest: Path) -> Path:
    return _raw_pdf(dest, _flate(bytes(BOMB_MB * 2**20)), b"/Filter /FlateDecode")


def _raises_in_pypdf(dest: Path) -> Path:
    """A content stream behind a filter pypdf does not know: ``extract_text`` raises NotImplementedError."""
    return _raw_pdf(dest, b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET", b"/Filter /BogusDecode")


def make_corpus(folder: str | Path) -> list[Case]:
    """Write every case into ``folder`` (created) and return the manifest."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    make_good(root)
    seed = root / "good-award-gpu.pdf"
    cases = [Case(name, ("ok",), "", good=True) for name in GOOD_NOTICES]

    (root / "zero-byte.pdf").write_bytes(b"")
    cases.append(Case("zero-byte.pdf", ("empty",), "zero-byte"))

    (root / "really-a-zip.pdf").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + os.urandom(64))
    cases.append(Case("really-a-zip.pdf", ("not_pdf",), "not a pdf"))

    (root / "html-error-page.pdf").write_bytes(_html_page())
    cases.append(Case("html-error-page.pdf", ("html_not_pdf",), "web page"))

    _truncated(seed, root / "truncated.pdf")
    cases.append(Case("truncated.pdf", ("truncated",), "truncated"))

    _broken_xref(seed, root / "broken-xref.pdf")
    cases.append(Case("broken-xref.pdf", ("ok",), ""))  # pypdf rebuilds the table: must complete

    _damaged(seed, root / "damaged-no-xref.pdf")
    cases.append(Case("damaged-no-xref.pdf", ("corrupt",), "damaged"))

    make_encrypted_pdf(root / "encrypted-empty-password.pdf", "",
                       pages=[["采购人：加密测试大学", "预算金额：100万元"]])
    cases.append(Case("encrypted-empty-password.pdf", ("ok",), ""))

    make_encrypted_pdf(root / "encrypted-with-password.pdf", "s3cret",
                       pages=[["采购人：加密测试大学", "预算金额：100万元"]])
    cases.append(Case("encrypted-with-password.pdf", ("encrypted",), "password"))

    make_image_only_pdf(root / "scanned-image-only.pdf", n_pages=2)
    cases.append(Case("scanned-image-only.pdf", ("needs_ocr",), "ocr"))

    _thousand_pages(root / "thousand-pages.pdf", seed)
    cases.append(Case("thousand-pages.pdf", ("ok",), ""))

    _enormous_stream(root / "enormous-content-stream.pdf")
    cases.append(Case("enormous-content-stream.pdf", ("timeout", "memory"), ""))

    _bomb(root / "decompression-bomb.pdf")
    cases.append(Case("decompression-bomb.pdf", ("unreadable", "memory", "timeout"), ""))

    _raises_in_pypdf(root / "pypdf-raises.pdf")
    cases.append(Case("pypdf-raises.pdf", ("unreadable",), "inside pypdf"))

    make_pdf(root / HOSTILE_NAME, GOOD_NOTICES["good-tender-switches.pdf"])
    cases.append(Case(HOSTILE_NAME, ("ok",), ""))

    loop_dir = root / "loop"
    loop_dir.mkdir(exist_ok=True)
    make_pdf(loop_dir / "inside-loop.pdf", [["采购人：环路测试中心", "预算金额：8万元"]])
    for link, target in ((loop_dir / "back-to-top", ".."), (loop_dir / "self", "."),
                         (root / "dangling-link.pdf", "does-not-exist.pdf")):
        if not link.is_symlink():
            os.symlink(target, link)
    cases.append(Case("loop/inside-loop.pdf", ("ok",), ""))
    cases.append(Case("dangling-link.pdf", ("missing",), "broken symlink"))
    return cases


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.badfiles OUTDIR", file=sys.stderr)
        return 2
    for case in make_corpus(args[0]):
        print(f"{case.name}\t{'|'.join(case.expect)}\t{case.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
