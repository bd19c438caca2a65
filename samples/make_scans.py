"""Make scanned versions of born-digital samples: image-only PDFs the way a stamped, photocopied
award notice arrives (rendered, tilted 1-2 degrees, speckled, a red seal over some text).

Each ``scanned-NAME.pdf`` is the same document as ``NAME.pdf`` (so ``scanned-NAME.gold.json`` is a
copy of its hand-written gold) with no text layer: tenderx can only read it by OCR, and
benchmarks/read/bench_ocr.py compares what OCR reads with the original's text.

Usage:
    python samples/make_scans.py              # the scans below, into samples/
    python samples/make_scans.py --out DIR    # somewhere else

Deterministic: fixed seeds, reportlab ``invariant=1``. Needs a CJK system font (fonts-wqy-zenhei,
scripts/install-system-deps.sh) because some originals use the non-embedded STSong-Light font,
which pdfium otherwise draws blank; the script refuses to write a blank scan.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

SAMPLES = Path(__file__).resolve().parent
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DPI = 150
# original, tilt in degrees, seal position (fraction of page width, height) on page 1
SCANS = [
    ("award-univ-aws-a100-cloud", 1.2, (0.62, 0.30)),  # embedded WenQuanYi font, 2 pages
    ("award-hygon-dcu-servers", -1.6, (0.58, 0.22)),  # STSong-Light (not embedded), 2 pages
    ("intention-univ-h20-compute", 2.0, (0.60, 0.35)),  # STSong-Light, 1 page
    ("intention-office-equipment", -1.0, (0.55, 0.28)),  # embedded font, 1 page
    ("award-multi-lot-campus-network", 1.4, (0.70, 0.18)),  # a lot table read through OCR (issue 22)
    ("award-kv-grid-construction", -1.2, (0.66, 0.20)),  # a key–value grid read through OCR (issue 22)
]
SEAL_TEXT = "采购专用章"


class ScanError(Exception):
    pass


def _render(pdf_path: Path) -> list[Image.Image]:
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pages = []
        for i in range(len(pdf)):
            img = pdf[i].render(scale=DPI / 72).to_pil().convert("RGB")
            ink = (np.asarray(img.convert("L")) < 128).mean()
            if ink < 0.002:
                raise ScanError(f"{pdf_path.name} page {i + 1} rendered blank: install a CJK font "
                                "(scripts/install-system-deps.sh installs fonts-wqy-zenhei)")
            pages.append(img)
        return pages
    finally:
        pdf.close()


def _seal(size: int) -> Image.Image:
    """A red round seal (ring, star, text) on transparent ground, like an official stamp."""
    seal = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(seal)
    red = (205, 30, 35, 200)
    w = max(4, size // 28)
    d.ellipse((w, w, size - w, size - w), outline=red, width=w)
    cx = cy = size / 2
    r = size * 0.14
    star = [(cx + (r if k % 2 == 0 else 0.4 * r) * math.cos(math.pi / 2 + k * math.pi / 5),
             cy - (r if k % 2 == 0 else 0.4 * r) * math.sin(math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    d.polygon(star, fill=red)
    font = ImageFont.truetype(str(WQY), size // 7, index=0)
    tw = d.textlength(SEAL_TEXT, font=font)
    d.text((cx - tw / 2, cy + r * 1.3), SEAL_TEXT, fill=red, font=font)
    return seal


def _scan_page(img: Image.Image, tilt: float, seal_at: tuple[float, float] | None, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if seal_at is not None:
        size = int(DPI * 42 / 25.4)  # a 42 mm seal
        seal = _seal(size)
        x, y = int(seal_at[0] * img.width - size / 2), int(seal_at[1] * img.height - size / 2)
        base = np.asarray(img, dtype=np.float32) / 255
        layer = np.asarray(seal, dtype=np.float32) / 255
        h, w = min(size, img.height - y), min(size, img.width - x)
        alpha = layer[:h, :w, 3:4]
        region = base[y:y + h, x:x + w]
        # ink under the seal stays dark (multiply), as a stamp over printed text looks
        base[y:y + h, x:x + w] = region * (1 - alpha) + region * layer[:h, :w, :3] * alpha
        img = Image.fromarray((base * 255).astype(np.uint8))
    img = img.rotate(tilt, resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))
    arr = np.asarray(img, dtype=np.int16)
    arr = arr - rng.integers(0, 12, size=arr.shape[:2], dtype=np.int16)[..., None]  # paper grain
    dots = rng.random(arr.shape[:2]) < 0.0015  # photocopier speckle
    arr[dots] = rng.integers(0, 90, size=(int(dots.sum()), 1), dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _image_pdf(pages: list[Image.Image]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for img in pages:
        jpeg = io.BytesIO()
        img.save(jpeg, "JPEG", quality=60, optimize=True)
        jpeg.seek(0)
        c.drawImage(ImageReader(jpeg), 0, 0, width=A4[0], height=A4[1])
        c.showPage()
    c.save()
    return buf.getvalue()


def make_scan(name: str, tilt: float, seal_at: tuple[float, float], out: Path) -> Path:
    """Write out/scanned-NAME.pdf and its gold (the original's, with a note)."""
    pages = _render(SAMPLES / f"{name}.pdf")
    scanned = [_scan_page(img, tilt if i % 2 == 0 else -tilt / 2, seal_at if i == 0 else None, seed=i + len(name))
               for i, img in enumerate(pages)]
    target = out / f"scanned-{name}.pdf"
    target.write_bytes(_image_pdf(scanned))
    gold = json.loads((SAMPLES / f"{name}.gold.json").read_text(encoding="utf-8"))
    gold["notes"] = (f"Scan of {name}.pdf (rendered at {DPI} dpi, tilted {tilt:+g} degrees, speckled, a red seal "
                     f"over text on page 1; no text layer). Same document, so the same hand-written labels. "
                     + gold.get("notes", "")).strip()
    (out / f"scanned-{name}.gold.json").write_text(json.dumps(gold, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=SAMPLES)
    args = ap.parse_args(argv)
    if not WQY.exists():
        print(f"needs {WQY}: run scripts/install-system-deps.sh", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for name, tilt, seal_at in SCANS:
            print(make_scan(name, tilt, seal_at, args.out))
    except ScanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
