"""Word files and web pages have no pages to cap one by one (issue 24, item 14): a 100 KB .docx
holding 2 M characters and a 30 MB web page are cut at the unpaged cap while being read, say so in
the record's warnings, and leave a bounded number of chunks to embed (about 5,000 each before)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from conftest import run_cli

from extractor.core.config import DEFAULT_MAX_UNPAGED_CHARS
from extractor.pipeline.chunking import chunk_document
from extractor.read.formats import read_document

PARAGRAPH = "采购项目预算金额为人民币一百万元整，供应商须具备相应资质。"  # 30 characters


def dense_docx(path: Path, chars: int) -> Path:
    """A real .docx (python-docx's template) whose body holds ``chars`` characters in paragraphs."""
    from docx import Document

    template = io.BytesIO()
    Document().save(template)
    src = zipfile.ZipFile(template)
    xml = src.read("word/document.xml").decode("utf-8")
    head, rest = xml.split("<w:body>", 1)
    body = f"<w:p><w:r><w:t>{PARAGRAPH}</w:t></w:r></w:p>" * (chars // len(PARAGRAPH))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = (head + "<w:body>" + body + rest[rest.index("<w:sectPr"):]).encode("utf-8")
            z.writestr(item, data)
    return path


def big_html(path: Path, megabytes: int) -> Path:
    row = f"<tr><td>{PARAGRAPH[:10]}</td><td>台</td><td>1</td></tr>\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("<html><head><meta charset='utf-8'><title>设备采购公告</title></head><body>"
                 f"<h1>设备采购项目公告</h1><p>{PARAGRAPH}</p>" + "<p>正文</p>\n" * 10)
        block = "<table>" + row * 1000 + "</table>\n"
        for _ in range(megabytes * 1024 * 1024 // len(block.encode("utf-8"))):
            fh.write(block)
        fh.write("</body></html>")
    return path


def test_small_docx_and_huge_html_are_cut_while_read(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    docx = dense_docx(folder / "dense.docx", 2_000_000)
    assert docx.stat().st_size < 200_000  # a small file...
    html = big_html(folder / "huge.html", 30)
    out = tmp_path / "out.jsonl"
    res = run_cli("extract", str(folder), "-b", "rules", "-o", str(out), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    recs = {Path(r["file"]).name: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    cut = f"text cut at {DEFAULT_MAX_UNPAGED_CHARS:,} characters; the rest is not read (TENDERX_MAX_UNPAGED_CHARS)"
    assert recs["dense.docx"]["warnings"] == [cut] and recs["huge.html"]["warnings"] == [cut]
    assert "TENDERX_MAX_UNPAGED_CHARS" in res.stderr
    for path in (docx, html):  # ...that leaves a bounded amount to embed
        doc = read_document(path)
        assert sum(len(p.text) for p in doc.pages) <= DEFAULT_MAX_UNPAGED_CHARS
        assert len(chunk_document(doc)) < 800
    # the cap is a setting: off, a Word file a little over it is read whole
    longer = dense_docx(tmp_path / "longer.docx", 300_000)
    res = run_cli("extract", str(longer), "-b", "rules", "-o", str(tmp_path / "o2.jsonl"),
                  env={"TENDERX_MAX_UNPAGED_CHARS": "0"}, timeout=300)
    assert res.returncode == 0, res.stderr
    (rec,) = map(json.loads, (tmp_path / "o2.jsonl").read_text(encoding="utf-8").splitlines())
    assert "warnings" not in rec
