"""The desk reads and renders within bounds (issue 24, item 4): a 14,400-pt page is drawn smaller
(never a multi-gigabyte bitmap), a page too large to draw at all and a Word zip bomb come back as a
one-line 422 while the desk goes on serving, and none of it lands in the server's own memory —
the work happens in bounded worker processes. Real PDFs (reportlab), a real DOCX bomb (zipfile),
the real app through Starlette's test client."""

from __future__ import annotations

import io
import json
import resource
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES
from PIL import Image
from reportlab.pdfgen import canvas
from starlette.testclient import TestClient

from extractor.desk.app import DeskConfig, create_app
from extractor.desk.page_work import MAX_PAGE_PIXELS
from extractor.pipeline.extract import extract_documents
from extractor.read.pdf import file_sha256

BASE = "http://127.0.0.1:8765"
AWS = "award-univ-aws-a100-cloud.pdf"


def poster_pdf(path: Path, side: float) -> Path:
    """One page ``side`` points square with a notice's lines at its top."""
    from pdf_factory import _font

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=(side, side), invariant=1)
    c.setFont(_font("cid"), 11)
    for i, line in enumerate(["巨幅页面采购项目中标结果公告", "采购人名称：东山区教育局", "中标金额：12万元"]):
        c.drawString(72, side - 72 - 16 * i, line)
    c.showPage()
    c.save()
    return path


def docx_bomb(path: Path, megabytes: int) -> Path:
    """A valid-looking .docx whose document.xml inflates to ``megabytes`` MB (written in pieces)."""
    from docx import Document

    template = io.BytesIO()
    Document().save(template)
    src = zipfile.ZipFile(template)
    paragraph = b"<w:p><w:r><w:t>" + "采购".encode() * 200 + b"</w:t></w:r></w:p>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            if item.filename != "word/document.xml":
                z.writestr(item, src.read(item.filename))
        with z.open("word/document.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                     b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
            block = paragraph * (1024 * 1024 // len(paragraph))
            for _ in range(megabytes):
                fh.write(block)
            fh.write(b"</w:body></w:document>")
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("desk-bounds")
    docs = root / "docs"
    poster_pdf(docs / "poster.pdf", 14_400)
    poster_pdf(docs / "huge.pdf", 400_000)
    shutil.copy(SAMPLES / AWS, docs / AWS)
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    bomb = docx_bomb(docs / "bomb.docx", 400)
    with (root / "out" / "records.jsonl").open("a", encoding="utf-8") as fh:  # as if extracted elsewhere
        fh.write(json.dumps({"file": str(bomb), "sha256": file_sha256(bomb), "schema": "tender",
                             "fields": {"buyer": {"value": "某大学", "page": 1, "quote": "采购人：某大学"}}}) + "\n")
    return root


def sha_of(root: Path, name: str) -> str:
    for line in (root / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines():
        if json.loads(line)["file"].endswith(name):
            return str(json.loads(line)["sha256"])
    raise AssertionError(name)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_hostile_pages_and_files_are_bounded_and_the_desk_serves_on(hostile: Path, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    monkeypatch.setenv("TENDERX_PDF_MEMORY_MB", "400")
    before = peak_rss_mb()
    with TestClient(create_app(DeskConfig(records=hostile / "out" / "records.jsonl", reviewer="t")),
                    base_url=BASE) as c:
        # a 14,400-pt page: drawn, but within the pixel cap (at 2 px/pt it would be 829 MP, 3.3 GB)
        r = c.get(f"/api/documents/{sha_of(hostile, 'poster.pdf')}/pages/1.png")
        assert r.status_code == 200
        width, height = Image.open(io.BytesIO(r.content)).size
        assert width * height <= MAX_PAGE_PIXELS and width > 1000
        ev = c.get(f"/api/documents/{sha_of(hostile, 'poster.pdf')}/evidence/buyer").json()
        assert ev["found"] and ev["boxes"] and ev["boxes"][0]["y1"] < 0.05  # the line near its top, still boxed
        # a page too large to draw at any legible size: a one-line refusal
        r = c.get(f"/api/documents/{sha_of(hostile, 'huge.pdf')}/pages/1.png")
        assert r.status_code == 422 and "too large to draw" in r.json()["error"]
        # a Word zip bomb (400 MB of XML): the reading worker runs out of its memory, not the desk
        r = c.get(f"/api/documents/{sha_of(hostile, 'bomb.docx')}/pages/1")
        assert r.status_code == 422, r.text
        assert "memory" in r.json()["error"] or "gave up" in r.json()["error"]
        # and the desk goes on serving
        assert c.get("/api/records").status_code == 200
        r = c.get(f"/api/documents/{sha_of(hostile, AWS)}/pages/1.png")
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
        assert c.get(f"/api/documents/{sha_of(hostile, AWS)}/evidence/buyer").json()["found"]
    assert peak_rss_mb() - before < 300  # none of the above was held in the server's process
