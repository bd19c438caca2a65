"""OCR of pages without a usable text layer: the real engine (rapidocr, bundled models) on real
rendered images, garbage-text detection, provenance in records, --no-ocr, and OCR under the
bounded reader's time and memory limits. Every input is made here or shipped in samples/."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from extractor.read.errors import PdfError
from extractor.read.guard import GuardedReader
from extractor.read.ocr import OcrSettings, join_lines
from extractor.read.pdf import read_pdf
from extractor.read.quality import measure
from tests.conftest import SAMPLES, run_cli

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # scripts/install-system-deps.sh installs it
OCR = OcrSettings(threads=2)


# --- helpers: real images of real pages ---------------------------------------------------------

def _rendered_top(pdf: Path, share: float = 0.45, dpi: int = 150) -> Image.Image:
    """The top part of a born-digital sample's first page, rendered as a scanner would."""
    doc = pdfium.PdfDocument(str(pdf))
    try:
        img = doc[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()
    return img.crop((0, 0, img.width, int(img.height * share)))


def _image_pdf(path: Path, img: Image.Image, inline: bool = False, pages: int = 1) -> Path:
    """An image-only PDF (no text layer); ``inline`` draws it as an inline image (BI … EI)."""
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    w = A4[0]
    h = w * img.height / img.width
    for _ in range(pages):
        if inline:
            c.drawInlineImage(img, 0, A4[1] - h, width=w, height=h)
        else:
            buf = io.BytesIO()
            img.save(buf, "PNG")
            buf.seek(0)
            c.drawImage(ImageReader(buf), 0, A4[1] - h, width=w, height=h)
        c.showPage()
    c.save()
    return path


def _no_tounicode_pdf(path: Path, lines: list[str]) -> Path:
    """Text in an embedded CJK TrueType subset whose ToUnicode map was removed (as in many Chinese
    PDFs): the page shows the text, but its text layer decodes to glyph ids."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    assert WQY.exists(), "needs fonts-wqy-zenhei: run scripts/install-system-deps.sh"
    pdfmetrics.registerFont(TTFont("WQYNoMap", str(WQY), subfontIndex=0))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(A4[0], 260), invariant=1)
    c.setFont("WQYNoMap", 16)
    for i, line in enumerate(lines):
        c.drawString(50, 220 - 30 * i, line)
    c.showPage()
    c.save()
    reader = PdfReader(io.BytesIO(buf.getvalue()))
    writer = PdfWriter()
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for key in fonts:
            font = fonts[key].get_object()
            if "/ToUnicode" in font:
                del font[NameObject("/ToUnicode")]
        writer.add_page(page)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


GARBLED_LINES = ["采购人名称：沪东理工大学", "项目名称：人工智能计算平台", "预算金额：1,450,000.00元"]


# --- reading order ------------------------------------------------------------------------------

def _box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def test_boxes_group_into_lines_left_to_right_with_cell_breaks() -> None:
    boxes = [
        (_box(400, 103, 700, 131), "上海云桥数据科技有限公司", 0.99),  # value cell, a little lower (tilt)
        (_box(100, 100, 330, 128), "供应商名称：", 0.98),
        (_box(100, 160, 160, 188), "序号", 0.99),
        (_box(300, 158, 420, 186), "标的名称", 0.97),
        (_box(200, 161, 240, 189), "1", 0.9),
        (_box(100, 220, 300, 248), "合同签订之", 0.95),
        (_box(302, 221, 420, 249), "日起12个月", 0.95),  # touching: one cell, no separator
    ]
    assert join_lines(boxes) == ("供应商名称：\t上海云桥数据科技有限公司\n"
                                 "序号\t1\t标的名称\n"
                                 "合同签订之日起12个月")


def test_latin_words_keep_a_space_cjk_none() -> None:
    boxes = [(_box(0, 0, 100, 20), "NVIDIA", 0.9), (_box(108, 0, 160, 20), "A100", 0.9),
             (_box(162, 0, 200, 20), "显卡", 0.9)]
    assert join_lines(boxes) == "NVIDIA A100显卡"


# --- garbage text layers ------------------------------------------------------------------------

def test_glyph_id_text_is_garbage_and_chinese_is_not() -> None:
    assert measure("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e1,450,000.00\x18\x19\x1a").garbage
    assert measure("\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007\ue008\ue009\ue00a").garbage
    assert measure("!\"#$%&'()*+,-./!\"#$%&'()*+").garbage  # ids 33-47 read as Latin-1
    assert not measure("采购人名称：沪东理工大学 预算金额：1,450,000.00元").garbage
    assert not measure("Tender No. HXZB2024-GK-0719, budget CNY 1,450,000.00").garbage
    assert measure("第1页").empty and not measure("第1页").garbage


def test_font_without_tounicode_is_not_indexed_as_mojibake(tmp_path: Path) -> None:
    pdf = _no_tounicode_pdf(tmp_path / "garbled.pdf", GARBLED_LINES)
    from pypdf import PdfReader

    raw = PdfReader(str(pdf)).pages[0].extract_text()
    assert measure(raw).garbage, repr(raw)  # the input really is what such PDFs give
    doc = read_pdf(pdf)  # no OCR
    assert doc.pages[0].text == "" and doc.pages[0].needs_ocr and doc.needs_ocr
    assert any("ToUnicode" in w for w in doc.warnings), doc.warnings


@pytest.mark.slow
def test_font_without_tounicode_is_routed_to_ocr(tmp_path: Path) -> None:
    pdf = _no_tounicode_pdf(tmp_path / "garbled.pdf", GARBLED_LINES)
    doc = read_pdf(pdf, ocr=OCR)
    page = doc.pages[0]
    assert page.ocr is not None and not page.needs_ocr
    lines = page.text.splitlines()
    assert "采购人名称：沪东理工大学" in lines, page.text
    assert any("1,450,000.00元" in ln for ln in lines), page.text


# --- the real engine on real images -------------------------------------------------------------

@pytest.mark.slow
def test_real_engine_reads_a_rendered_page_with_provenance(tmp_path: Path) -> None:
    img = _rendered_top(SAMPLES / "intention-office-equipment.pdf")
    seen: list[tuple[int, int]] = []
    doc = read_pdf(_image_pdf(tmp_path / "scan.pdf", img), ocr=OCR, on_ocr=lambda d, t: seen.append((d, t)))
    page = doc.pages[0]
    assert seen == [(0, 1), (1, 1)]
    assert page.ocr is not None and page.ocr.engine == "rapidocr" and "PP-OCRv6" in page.ocr.model
    assert 0.8 < page.ocr.confidence <= 1.0
    lines = [ln.replace(" ", "") for ln in page.clean.splitlines()]
    assert "一、采购项目名称：青浦湾区市场监督管理局2024年办公设备更新采购项目" in lines, page.clean
    assert "三、预算金额：35.60万元" in lines, page.clean
    assert doc.title and "青浦湾区市场监督管理局" in doc.title


@pytest.mark.slow
def test_real_engine_reads_a_tilted_inline_image_scan(tmp_path: Path) -> None:
    img = _rendered_top(SAMPLES / "intention-office-equipment.pdf", share=0.4)
    tilted = img.rotate(-2.0, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    pdf = _image_pdf(tmp_path / "tilted.pdf", tilted, inline=True)
    assert read_pdf(pdf).needs_ocr  # an inline image is a scan too, not an empty page
    page = read_pdf(pdf, ocr=OCR).pages[0]
    flat = page.clean.replace(" ", "")
    assert "采购项目名称：青浦湾区市场监督管理局2024年办公设备更新采购项目" in flat, page.clean
    assert "预算金额：35.60万元" in flat, page.clean


# --- nothing usable is never a success ----------------------------------------------------------

def _blank_pdf(path: Path, pages: int) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for _ in range(pages):
        c.showPage()
    c.save()
    return path


def test_blank_pdf_is_an_empty_error_quickly(tmp_path: Path) -> None:
    pdf = _blank_pdf(tmp_path / "blank.pdf", 2000)
    t0 = time.monotonic()
    with pytest.raises(PdfError) as info:
        read_pdf(pdf, ocr=OCR)
    assert info.value.kind == "empty" and info.value.message == "no text and no images on any page"
    assert time.monotonic() - t0 < 30


def test_blank_and_no_ocr_pdfs_fail_through_the_cli(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _blank_pdf(folder / "blank.pdf", 3)
    gradient = Image.linear_gradient("L").resize((600, 400)).convert("RGB")  # visible, but no words
    _image_pdf(folder / "photo.pdf", gradient, inline=True)
    out = tmp_path / "records.jsonl"
    res = run_cli("extract", str(folder), "--backend", "rules", "-o", str(out), "--no-ocr")
    assert res.returncode == 1, res.stdout + res.stderr
    recs = {Path(r["file"]).name: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert recs["blank.pdf"]["errors"] == ["empty: no text and no images on any page"]
    assert recs["photo.pdf"]["errors"][0].startswith("needs_ocr:") and "needs_ocr" in recs["photo.pdf"]["flags"]


# --- provenance through the CLI, and --no-ocr ---------------------------------------------------

@pytest.mark.slow
def test_run_ocrs_a_scan_once_and_records_say_so(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "scanned-notice-image-only.pdf", folder / "scan.pdf")
    store, out_dir = tmp_path / "store", tmp_path / "out"
    res = run_cli("run", str(folder), "--store", str(store), "--out-dir", str(out_dir), "--backend", "rules",
                  env={"TENDERX_OCR_CACHE": "0"})  # OCR for real, not from the session's cache
    assert res.returncode == 0, res.stdout + res.stderr
    assert "OCR: 1 page(s)" in res.stdout
    rec = json.loads((out_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert rec["errors"] == []
    buyer, supplier = rec["fields"]["buyer"], rec["fields"]["suppliers"]
    assert buyer["value"] == "东湖区人民政府办公室" and buyer["verified"] is True and buyer["source"] == "ocr"
    assert supplier["value"] == ["南昌市文兴办公用品有限公司"] and supplier["source"] == "ocr"
    assert rec["fields"]["award_amount_cny"]["value"] == 38600
    assert all(f.get("source") in (None, "ocr") for f in rec["fields"].values())
    found = run_cli("search", "南昌市文兴办公用品", "--store", str(store), "--json", "--mode", "lexical")
    assert found.returncode == 0, found.stderr
    assert Path(json.loads(found.stdout)[0]["file"]).name == "scan.pdf"

    again = run_cli("extract", str(folder), "--backend", "rules", "-o", str(tmp_path / "n.jsonl"), "--no-ocr")
    assert again.returncode == 1
    rec = json.loads((tmp_path / "n.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert rec["errors"][0].startswith("needs_ocr:") and "--no-ocr" in rec["errors"][0]
    assert rec["fields"]["buyer"]["value"] is None


def test_born_digital_values_carry_no_ocr_source() -> None:
    from extractor.pipeline.extract import extract_documents

    report = extract_documents([SAMPLES / "award-univ-aws-a100-cloud.pdf"], backend="rules", store_dir=None)
    fields = report.records[0]["fields"]
    assert fields["buyer"]["verified"] is True and "source" not in fields["buyer"]


def test_ocr_env_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDERX_OCR", "0")
    assert not OcrSettings.from_env().enabled
    assert OcrSettings.from_env(enabled=True).enabled  # a flag wins over the environment
    monkeypatch.setenv("TENDERX_OCR", "1")
    monkeypatch.setenv("TENDERX_OCR_SCALE", "1.5")
    assert OcrSettings.from_env().enabled and OcrSettings.from_env().scale == 1.5
    assert OcrSettings.from_env(enabled=False).enabled is False


# --- OCR inside the bounded reader --------------------------------------------------------------

@pytest.mark.slow
def test_ocr_runs_in_the_guarded_worker_with_progress(tmp_path: Path) -> None:
    pdf = _image_pdf(tmp_path / "scan.pdf", _rendered_top(SAMPLES / "intention-office-equipment.pdf", 0.3))
    seen: list[tuple[int, int]] = []
    with GuardedReader(workers=1, timeout=60, max_memory_mb=2048, ocr=OCR) as reader:
        doc = reader.read(pdf, on_ocr=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 1), (1, 1)]
    assert doc.pages[0].ocr is not None and "青浦湾区市场监督管理局" in doc.pages[0].text


@pytest.mark.slow
def test_ocr_is_bounded_in_time_and_memory(tmp_path: Path) -> None:
    pdf = _image_pdf(tmp_path / "scan2.pdf", _rendered_top(SAMPLES / "intention-univ-h20-compute.pdf", 0.3),
                     pages=2)
    slow = OcrSettings(threads=2, page_timeout=0.05)  # page 1 also gets the model-loading allowance; page 2 not
    seen: list[tuple[int, int]] = []
    with GuardedReader(workers=1, timeout=60, max_memory_mb=2048, ocr=slow) as reader:
        with pytest.raises(PdfError) as info:
            reader.read(pdf, on_ocr=lambda d, t: seen.append((d, t)))
        assert info.value.kind == "timeout" and "OCR of one page" in info.value.message
        assert reader.replaced == 1 and seen == [(0, 2), (1, 2)]
    with GuardedReader(workers=1, timeout=60, max_memory_mb=300, ocr=OCR) as reader:
        with pytest.raises(PdfError) as info:
            reader.read(pdf)
        assert info.value.kind == "memory" and "OCR needs more memory" in info.value.message, info.value.message


def test_a_two_thread_recogniser_runs_both_models_without_spinning() -> None:
    """Both sessions are reopened with spinning off, the recogniser too (rapidocr loads it only once
    a page has text, so a blank warm-up left it spinning), and the reopened pair still reads a scan."""
    from extractor.read.ocr import DEFAULT_SCALE, Recogniser, open_pdfium, render

    recogniser = Recogniser(threads=2)
    engine = recogniser._engine
    for part in (engine.text_det, engine.text_rec):
        assert part is not None, "a model was left to load later with rapidocr's own session options"
        options = part.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 2
    page = open_pdfium(SAMPLES / "scanned-notice-image-only.pdf")[0]
    read = recogniser.recognise(render(page, DEFAULT_SCALE))
    assert read.boxes > 5 and read.confidence > 0.8 and "采购" in read.text


_RETURN_PROBE = """
import sys
import numpy as np
from extractor.read.ocr import DEFAULT_SCALE, Recogniser, open_pdfium, render

def rss_mb():
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) // 1024

recogniser = Recogniser(threads=1)  # an OCR process, set up as the workers are
pdf = open_pdfium(sys.argv[1])
boxes = sum(recogniser.recognise(render(pdf[i], DEFAULT_SCALE)).boxes for i in range(len(pdf)))
big = bytearray(16 << 20)  # glibc's own rule: freeing a mapped 16 MB block raises its threshold to 16 MB
del big
blocks, pins = [], []
for _ in range(12):  # 8 MB activations with small live objects between them, as a detector run leaves
    blocks.append(np.ones(1 << 20, dtype=np.float64))
    pins.append(bytearray(100_000))
before = rss_mb()
del blocks
print(boxes, before - rss_mb())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmRSS is read from /proc (Linux)")
def test_an_ocr_process_returns_the_detectors_big_buffers() -> None:
    """An OCR process gives freed activation-sized buffers back to the system at once (glibc would keep them on
    its heap, raising a worker's peak: 505-574 vs 422-440 MB on four scan pages, 2026-12-07). Checked by what
    freeing twelve 8 MB buffers returns, not by a peak in MB, which moves with the machine's load."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", _RETURN_PROBE, str(SAMPLES / "scanned-award-hygon-dcu-servers.pdf")],
                         capture_output=True, text=True, timeout=600, check=True)
    boxes, returned_mb = (int(x) for x in res.stdout.split()[-2:])
    assert boxes > 50
    assert returned_mb >= 80, returned_mb  # 96 MB freed; without the fix glibc keeps nearly all of it
