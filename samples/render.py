"""Render the hand-written sample notices (samples/src/*.txt) into PDFs.

The samples must look like real Chinese procurement PDFs (CID and embedded CJK
fonts, repeated headers/footers, vertical cover titles, TOC dot leaders, grid
tables) so the pipeline is tested against the quirks it meets in the wild.
Output is byte-deterministic so re-rendering does not churn git.

Usage:
    python samples/render.py                       # every samples/src/*.txt + the error-path files
    python samples/render.py samples/src/NAME.txt  # just those sources
    python samples/render.py --scanned             # just the error-path files
    python samples/render.py --out DIR ...         # write the PDFs into DIR instead of samples/
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

SAMPLES_DIR = Path(__file__).resolve().parent
SRC_DIR = SAMPLES_DIR / "src"
WQY_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
CID_FONT = "STSong-Light"
TTF_FONT = "WQYZenHei"
SCANNED_PDF = "scanned-notice-image-only.pdf"
BROKEN_PDF = "broken-truncated.pdf"
BROKEN_SOURCE = "award-univ-aws-a100-cloud"  # the real rendered PDF that gets truncated
BROKEN_KEEP = 0.40

PAGE_W, PAGE_H = A4
MARGIN_X = 22 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_W = PAGE_W - 2 * MARGIN_X


class RenderError(Exception):
    """A source file or the environment cannot produce a PDF; the message says how to fix it."""


@dataclass
class Source:
    """One parsed samples/src/NAME.txt: header settings plus body lines."""

    name: str
    font: str = "cid"
    header: str | None = None
    footer: str | None = None
    body: list[str] = field(default_factory=list)


def parse_source(path: Path) -> Source:
    """Split a source into its `key: value` header and its body (after the `---` line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        sep = next(i for i, line in enumerate(lines) if line.strip() == "---")
    except StopIteration:
        raise RenderError(f"{path}: missing the '---' line that ends the header") from None
    src = Source(name=path.stem, body=lines[sep + 1:])
    for raw in lines[:sep]:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()  # `# ...` comments, whole-line or trailing
        if not line:
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "font":
            if value not in ("cid", "ttf"):
                raise RenderError(f"{path}: font must be 'cid' or 'ttf', not {value!r}")
            src.font = value
        elif key == "header":
            src.header = value or None
        elif key == "footer":
            src.footer = value or None
        else:
            raise RenderError(f"{path}: unknown header key {key!r}")
    return src


def register_font(kind: str) -> str:
    """Register the CID or the embedded TrueType CJK font and return its reportlab name."""
    if kind == "cid":
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT
    if not WQY_PATH.exists():
        raise RenderError(
            f"font file {WQY_PATH} not found: install it with `apt-get install -y fonts-wqy-zenhei` "
            "(needed by sources with `font: ttf`)"
        )
    if TTF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(TTF_FONT, str(WQY_PATH), subfontIndex=0))
    return TTF_FONT


@dataclass
class Styles:
    """Paragraph styles for one font."""

    font: str

    def __post_init__(self) -> None:
        f = self.font
        self.body = ParagraphStyle("body", fontName=f, fontSize=10.5, leading=17, wordWrap="CJK",
                                   spaceAfter=2)
        self.title = ParagraphStyle("title", fontName=f, fontSize=17, leading=26, alignment=TA_CENTER,
                                    wordWrap="CJK", spaceBefore=4, spaceAfter=10)
        self.heading = ParagraphStyle("heading", fontName=f, fontSize=12.5, leading=20, alignment=TA_LEFT,
                                      wordWrap="CJK", spaceBefore=6, spaceAfter=3)
        self.cell = ParagraphStyle("cell", fontName=f, fontSize=9.5, leading=13.5, wordWrap="CJK")
        self.head_cell = ParagraphStyle("head_cell", parent=self.cell, alignment=TA_CENTER)
        self.vertical = ParagraphStyle("vertical", fontName=f, fontSize=34, leading=50, alignment=TA_CENTER)


class TocLine(Flowable):
    """A table-of-contents line: title, a `……` dot leader filling the line, right-aligned page number."""

    def __init__(self, title: str, page: str, font: str, size: float = 11) -> None:
        super().__init__()
        self.title, self.page, self.font, self.size = title, page, font, size

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width = avail_w
        return avail_w, self.size * 2

    def draw(self) -> None:
        c = self.canv
        c.setFont(self.font, self.size)
        y = self.size * 0.6
        title_w = pdfmetrics.stringWidth(self.title, self.font, self.size)
        num_w = pdfmetrics.stringWidth(self.page, self.font, self.size)
        dot_w = pdfmetrics.stringWidth("…", self.font, self.size)
        n_dots = max(2, int((self.width - title_w - num_w - self.size) // dot_w))
        c.drawString(0, y, self.title + "…" * n_dots)
        c.drawRightString(self.width, y, self.page)


def table_flowable(rows: list[list[str]], styles: Styles) -> Table:
    """A grid table; column widths follow the longest cell text so long cells wrap, not overflow."""
    n_cols = max(len(r) for r in rows)
    rows = [r + [""] * (n_cols - len(r)) for r in rows]
    size = styles.cell.fontSize

    def width(text: str) -> float:
        return pdfmetrics.stringWidth(text, styles.font, size) + 8

    # like HTML auto layout: each column gets its minimum (no word/number split, at least 4 CJK
    # characters), the remaining width goes to columns in proportion to how much more they want
    natural = [max(width(r[col]) for r in rows) for col in range(n_cols)]
    minimum = [
        min(natural[col], max([width("四个汉字")] + [width(tok) for r in rows for tok in re.findall(r"[!-~]+", r[col])]))
        for col in range(n_cols)
    ]
    spare = FRAME_W - sum(minimum)
    wants = sum(n - m for n, m in zip(natural, minimum, strict=True))
    if spare <= 0 or wants <= 0:
        widths = [m * FRAME_W / sum(minimum) for m in minimum]
    elif wants <= spare:
        widths = [n * FRAME_W / sum(natural) for n in natural]
    else:
        widths = [m + spare * (n - m) / wants for n, m in zip(natural, minimum, strict=True)]
    data = [
        [Paragraph(escape(cell), styles.head_cell if i == 0 else styles.cell) for cell in row]
        for i, row in enumerate(rows)
    ]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="CENTER")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def build_story(src: Source, styles: Styles) -> list[Flowable]:
    """Turn body markup (one construct per line) into reportlab flowables."""
    story: list[Flowable] = []
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if table_rows:
            story.append(Spacer(1, 3))
            story.append(table_flowable(table_rows, styles))
            story.append(Spacer(1, 6))
            table_rows.clear()

    for raw in src.body:
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            table_rows.append([cell.strip() for cell in stripped[1:-1].split("|")])
            continue
        flush_table()
        if not stripped:
            story.append(Spacer(1, 6))
        elif stripped == "[[pagebreak]]":
            story.append(PageBreak())
        elif stripped.startswith("[[vertical ") and stripped.endswith("]]"):
            text = stripped[len("[[vertical "):-2].strip()
            story.append(Spacer(1, 30 * mm))
            story.append(Paragraph("<br/>".join(escape(ch) for ch in text), styles.vertical))
        elif stripped.startswith("[[toc ") and stripped.endswith("]]"):
            title, _, page = stripped[len("[[toc "):-2].rpartition("|")
            if not title:
                raise RenderError(f"{src.name}: toc line needs 'title|page': {stripped}")
            story.append(TocLine(title.strip(), page.strip(), styles.font))
        elif stripped.startswith("## "):
            story.append(Paragraph(escape(stripped[3:].strip()), styles.heading))
        elif stripped.startswith("# "):
            story.append(Paragraph(escape(stripped[2:].strip()), styles.title))
        else:
            story.append(Paragraph(escape(stripped), styles.body))
    flush_table()
    return story


class NoticeDocTemplate(SimpleDocTemplate):
    """A4 document that draws the repeated header when a page starts and the footer when it ends
    (so the text layer has them in reading order, as in real files)."""

    def __init__(self, buf: io.BytesIO, src: Source, font: str, total_pages: int) -> None:
        super().__init__(
            buf, pagesize=A4, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM, title=src.name, author="tenderx samples", creator="tenderx samples",
            producer="tenderx samples/render.py", invariant=1,
        )
        self.src, self.font_name, self.total_pages = src, font, total_pages

    def draw_header(self, canvas: rl_canvas.Canvas, doc: SimpleDocTemplate) -> None:
        if not self.src.header:
            return
        canvas.saveState()
        canvas.setFont(self.font_name, 9)
        y = PAGE_H - MARGIN_TOP + 8 * mm
        canvas.drawCentredString(PAGE_W / 2, y, self.src.header)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, y - 2.5 * mm, PAGE_W - MARGIN_X, y - 2.5 * mm)
        canvas.restoreState()

    def afterPage(self) -> None:
        if not self.src.footer:
            return
        canvas = self.canv
        canvas.saveState()
        canvas.setFont(self.font_name, 9)
        text = self.src.footer.replace("{page}", str(self.page)).replace("{pages}", str(self.total_pages))
        canvas.drawCentredString(PAGE_W / 2, MARGIN_BOTTOM - 10 * mm, text)
        canvas.restoreState()


def _build(src: Source, total_pages: int) -> tuple[bytes, int]:
    font = register_font(src.font)
    buf = io.BytesIO()
    doc = NoticeDocTemplate(buf, src, font, total_pages)
    doc.build(build_story(src, Styles(font)), onFirstPage=doc.draw_header, onLaterPages=doc.draw_header)
    return buf.getvalue(), doc.page


def render_source(src: Source) -> bytes:
    """Two passes: the first counts pages so the footer can say `共 N 页`."""
    _, pages = _build(src, total_pages=0)
    data, pages_again = _build(src, total_pages=pages)
    if pages_again != pages:
        raise RenderError(f"{src.name}: page count changed between passes ({pages} → {pages_again})")
    return data


def render_file(path: Path, out_dir: Path = SAMPLES_DIR) -> Path:
    """Render one source to out_dir/NAME.pdf and return that path."""
    out = out_dir / f"{path.stem}.pdf"
    out.write_bytes(render_source(parse_source(path)))
    return out


SCANNED_TEXT = [
    "东湖区人民政府办公室打印复印纸采购",
    "成交结果公告",
    "",
    "一、项目编号：DHZC-2024-0417",
    "二、项目名称：东湖区人民政府办公室打印复印纸采购",
    "三、成交信息",
    "  供应商名称：南昌市文兴办公用品有限公司",
    "  成交金额：人民币38,600.00元",
    "四、主要标的信息：A4复印纸（70g）1200箱",
    "五、公告期限：自本公告发布之日起1个工作日。",
    "六、采购人：东湖区人民政府办公室",
    "    联系电话：0791-86712305",
    "",
    "                          2024年4月17日",
]


def scanned_pdf_bytes() -> bytes:
    """A notice drawn as a raster image: the page has no text layer at all (needs OCR)."""
    from PIL import Image, ImageDraw, ImageFont

    if not WQY_PATH.exists():
        raise RenderError(f"font file {WQY_PATH} not found: install it with `apt-get install -y fonts-wqy-zenhei`")
    width, height = 1240, 1754  # A4 at 150 dpi
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    big = ImageFont.truetype(str(WQY_PATH), 44, index=0)
    small = ImageFont.truetype(str(WQY_PATH), 30, index=0)
    y = 150
    for i, line in enumerate(SCANNED_TEXT):
        font = big if i < 2 else small
        if i < 2:
            w = draw.textlength(line, font=font)
            draw.text(((width - w) / 2, y), line, fill=0, font=font)
            y += 70
        else:
            draw.text((130, y), line, fill=0, font=font)
            y += 52
    img = img.rotate(0.6, fillcolor=255)  # a slightly skewed scan
    png = io.BytesIO()
    img.save(png, format="PNG", optimize=False)
    png.seek(0)

    from reportlab.lib.utils import ImageReader

    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setCreator("tenderx samples")
    c.drawImage(ImageReader(png), 0, 0, width=PAGE_W, height=PAGE_H)
    c.showPage()
    c.save()
    return buf.getvalue()


def render_error_files(out_dir: Path = SAMPLES_DIR) -> list[Path]:
    """Write the image-only PDF and a real rendered PDF cut to its first 40% of bytes."""
    scanned = out_dir / SCANNED_PDF
    scanned.write_bytes(scanned_pdf_bytes())
    source = SRC_DIR / f"{BROKEN_SOURCE}.txt"
    if not source.exists():
        raise RenderError(f"{source} is needed to make {BROKEN_PDF}")
    full = render_source(parse_source(source))
    broken = out_dir / BROKEN_PDF
    broken.write_bytes(full[: int(len(full) * BROKEN_KEEP)])
    return [scanned, broken]


def _shown(path: Path) -> Path:
    path = path.resolve()
    return path.relative_to(SAMPLES_DIR.parent) if path.is_relative_to(SAMPLES_DIR.parent) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render samples/src/*.txt into samples/*.pdf")
    parser.add_argument("sources", nargs="*", type=Path, help="source files (default: all of samples/src)")
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output folder (default: samples/)")
    parser.add_argument("--scanned", action="store_true",
                        help="write the image-only and the truncated PDFs (done by default when no sources given)")
    args = parser.parse_args(argv)
    try:
        if args.sources:
            paths = args.sources
        elif args.scanned:
            paths = []
        else:
            paths = sorted(SRC_DIR.glob("*.txt"))
        for path in paths:
            if not path.exists():
                raise RenderError(f"{path}: no such source file")
            print(f"rendered {_shown(render_file(path, args.out))}")
        if args.scanned or not args.sources:
            for out in render_error_files(args.out):
                print(f"wrote {_shown(out)}")
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
