"""Real PDFs for tests, written with reportlab (Chinese via the built-in CID font).

Importable by any test: ``make_pdf``, ``make_image_only_pdf``, ``make_encrypted_pdf``.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CID_FONT = "STSong-Light"  # Adobe's CJK font, known to every PDF reader; nothing is embedded


def _font(font: str) -> str:
    if font == "cid":
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT
    return font  # a standard font name such as "Helvetica" (Latin only)


def make_pdf(path: str | Path, pages: list[list[str]], font: str = "cid", size: int = 11) -> Path:
    """One PDF page per entry, one text line per string (drawn top-down)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = _font(font)
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    for lines in pages:
        c.setFont(name, size)
        y = height - 60
        for line in lines:
            c.drawString(50, y, line)
            y -= size * 1.6
        c.showPage()
    c.save()
    return path


def make_image_only_pdf(path: str | Path, n_pages: int = 1) -> Path:
    """A 'scanned' PDF: each page is just an image, no text layer."""
    from reportlab.lib.utils import ImageReader

    path = Path(path)
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    image = ImageReader(_gray_png())
    for _ in range(n_pages):
        c.drawImage(image, 50, 300, width=400, height=400)
        c.showPage()
    c.save()
    return path


def _gray_png():
    """A tiny grayscale raster, made without PIL (reportlab reads raw PNG bytes)."""
    import io
    import struct
    import zlib

    w = h = 16
    raw = b"".join(b"\x00" + bytes((x * 16 + y) % 256 for x in range(w)) for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return io.BytesIO(png)


def make_encrypted_pdf(path: str | Path, user_password: str, pages: list[list[str]] | None = None,
                       algorithm: str = "AES-128") -> Path:
    """A PDF encrypted with ``user_password`` ('' = opens without one, as many tenders do)."""
    path = Path(path)
    plain = path.with_suffix(".plain.pdf")
    make_pdf(plain, pages or [["采购人：加密测试大学", "预算金额：100万元"]])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path
