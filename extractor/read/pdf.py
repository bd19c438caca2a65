"""PDF files → ``Document``: pypdf page text verbatim, the clean view, OCR hints, and
one-line errors a user can act on.

``read_pdf`` is a pure function of the path (no global state besides quieting
pypdf's logger), so a caller may run it in a worker process with a time limit.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from extractor.core.document import Document, OcrInfo, Page
from extractor.read.caps import TextBudget
from extractor.read.cleaning import clean_page, strip_repeated_lines
from extractor.read.errors import PdfError
from extractor.read.pdf_fonts import document_fonts
from extractor.read.quality import measure

if TYPE_CHECKING:
    from extractor.read.ocr import OcrSettings
    from extractor.read.ocr_cache import PageCache

# on_ocr(done, total): called before the first OCR'd page (done=0) and after each one
OcrProgress = Callable[[int, int], None]

# pypdf logs every odd xref or font at WARNING; those are noise for a user, so keep them out.
logging.getLogger("pypdf").setLevel(logging.ERROR)


_TITLE_MAX = 120
_HEAD_BYTES = 1024
_TAIL_BYTES = 4096




def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_bytes(path: Path) -> None:
    """Catch the usual non-PDFs before pypdf gives a cryptic error."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError as e:
        raise PdfError("missing", "no such file") from e
    except IsADirectoryError as e:
        raise PdfError("unreadable", "is a directory, not a file") from e
    except OSError as e:
        raise PdfError("unreadable", f"cannot read file: {e.strerror or e}") from e
    if size == 0:
        raise PdfError("empty", "zero-byte file")
    if b"%PDF-" not in head:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:40]
        shown = start.decode("utf-8", "replace").split("\n")[0].strip()[:20]
        lower = start.lower()
        if lower.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head.lower():
            raise PdfError("html_not_pdf", f"not a PDF (starts with {shown!r}, looks like a saved web page)")
        if not head.strip(b"\x00 \t\r\n"):
            raise PdfError("empty", "file holds only blank bytes")
        if start.startswith(b"PK"):
            raise PdfError("not_pdf", "not a PDF (a ZIP archive, e.g. .docx/.zip)")
        if start.startswith(b"\xd0\xcf\x11\xe0"):
            raise PdfError("not_pdf", "not a PDF (an old MS Office file, e.g. .doc)")
        printable = all(32 <= b < 127 or b in b"\t\r\n" for b in start) or _is_text(start)
        shown = shown if printable else start[:8].hex(" ")
        raise PdfError("not_pdf", f"not a PDF (starts with {shown!r})")
    if b"%%EOF" not in tail:
        raise PdfError("truncated", "truncated or damaged PDF: no end-of-file marker")


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path, strict=False)
    except FileNotDecryptedError as e:  # pragma: no cover - pypdf defers this to page access
        raise PdfError("encrypted", "encrypted: needs a password") from e
    except DependencyError as e:
        raise PdfError("unreadable", f"cannot open: {_one_line(e)}") from e
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise _damaged(e) from e
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except DependencyError as e:
            raise PdfError("unreadable", "encrypted with AES: install the 'cryptography' package") from e
        except Exception as e:
            raise PdfError("encrypted", f"encrypted: cannot decrypt ({_one_line(e)})") from e
        if not ok:
            raise PdfError("encrypted", "encrypted: needs a password")
    return reader


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:160] or type(e).__name__


def _damaged(e: BaseException) -> PdfError:
    msg = _one_line(e)
    if "EOF marker" in msg:
        return PdfError("truncated", "truncated or damaged PDF: no end-of-file marker")
    return PdfError("corrupt", f"damaged PDF: {msg}")


def read_pdf(path: str | Path, ocr: OcrSettings | None = None, on_ocr: OcrProgress | None = None,
             tables: bool = True) -> Document:
    """Read one PDF into a Document (raw + clean text per page); raises PdfError.

    ``tables``: read the tables of pages with table words (``pdf_tables``); off, pages carry text only.

    Pages without a usable text layer (no text, or text that decodes to garbage) are OCR'd when
    ``ocr`` is given and enabled, else marked ``needs_ocr``. A PDF whose pages hold neither text
    nor anything visible is an ``empty`` error, never a document without text.
    """
    p = Path(path)
    if not p.exists():
        raise PdfError("missing", "broken symlink" if p.is_symlink() else "no such file")
    _check_bytes(p)
    reader = _open(p)
    try:
        n_pages = len(reader.pages)
    except FileNotDecryptedError as e:
        raise PdfError("encrypted", "encrypted: needs a password") from e
    except Exception as e:
        raise _damaged(e) from e
    if n_pages == 0:
        raise PdfError("empty", "PDF has no pages")

    warnings: list[str] = []
    budget = TextBudget()  # per-page and per-document text caps (a tiny file must not cost minutes)
    texts: list[str] = []
    unusable: list[int] = []  # 0-based pages without a usable text layer
    garbage: list[int] = []
    with document_fonts():  # each font parsed once per document, not once per page
        for i in range(n_pages):
            try:
                page_obj = reader.pages[i]
            except Exception as e:  # noqa: BLE001 — pypdf raises anything on a broken page tree
                warnings.append(f"page {i + 1}: cannot read page ({_one_line(e)})")
                texts.append("")  # not probed or OCR'd (see below)
                continue
            try:
                text = page_obj.extract_text() or ""
            except FileNotDecryptedError as e:
                raise PdfError("encrypted", "encrypted: needs a password") from e
            except Exception as e:  # noqa: BLE001 — one bad page must not lose the document
                warnings.append(f"page {i + 1}: text extraction failed ({_one_line(e)})")
                texts.append("")  # not probed or OCR'd: a page pypdf chokes on (a bomb) would choke pdfium too
                continue
            text = budget.take(text, i + 1)
            quality = measure(text)
            if quality.garbage:
                garbage.append(i)
                text = ""  # glyph ids, not words: never index or quote them
            if quality.empty or quality.garbage:
                unusable.append(i)
            texts.append(text)
    warnings.extend(budget.warnings)
    if garbage:
        warnings.append(f"{len(garbage)} page(s) have an unreadable text layer (a CJK font without a "
                        f"ToUnicode map?): {_page_list([i + 1 for i in garbage])}")

    ocr_info: dict[int, Any] = {}
    needs: set[int] = set()
    cached: list[int] = []  # pages whose OCR text came from the on-disk cache
    if unusable:
        needs, ocr_info = _pages_without_text(p, unusable, texts, ocr, on_ocr, warnings, cached)
        if not any(t.strip() for t in texts) and not needs:
            blank_glyphs = [w for w in warnings if "draws blank" in w]
            if blank_glyphs:
                raise PdfError("empty", blank_glyphs[0].split(": ", 1)[1])
            if ocr_info:
                raise PdfError("empty", f"no text found: OCR read nothing on {len(ocr_info)} image page(s)")
            if any("image is blank" in w for w in warnings):
                raise PdfError("empty", "no text, and its images are blank")
            raise PdfError("empty", "no text and no images on any page")

    from extractor.read.pdf_tables import read_tables

    found = read_tables(p, [t if i not in ocr_info else "" for i, t in enumerate(texts)]) if tables else {}
    if tables:
        found.update(_ocr_tables(reader, texts, ocr_info))
    pages: list[Page] = []
    for i, text in enumerate(texts):
        clean, clean_map = clean_page(text)
        pages.append(Page(number=i + 1, text=text, clean=clean, clean_map=clean_map, needs_ocr=i in needs,
                          ocr=ocr_info.get(i), blocks=list(found.get(i, []))))
    strip_repeated_lines(pages)
    ocr_pages = [pg.number for pg in pages if pg.needs_ocr]
    if ocr_pages and len(ocr_pages) < len(pages):
        warnings.append(f"{len(ocr_pages)} page(s) look scanned (no text layer): {_page_list(ocr_pages)}")
    doc = Document(path=str(path), sha256=file_sha256(p), pages=pages, title=find_title(pages), warnings=warnings)
    if cached:
        doc.metadata["ocr_cached_pages"] = len(cached)
    return doc


def _ocr_tables(reader: Any, texts: list[str], ocr_info: dict[int, Any]) -> dict[int, list[Any]]:
    """0-based page -> the grids rebuilt from its OCR boxes (``ocr_tables``), boxes in page points."""
    from extractor.read.ocr_tables import read_ocr_tables

    out: dict[int, list[Any]] = {}
    for i, info in ocr_info.items():
        try:
            page = reader.pages[i]
            width, height = float(page.mediabox.width), float(page.mediabox.height)
            if (page.get("/Rotate") or 0) % 180:  # the OCR'd image is the page as shown: turned
                width, height = height, width
        except Exception:  # noqa: BLE001 — a page without a readable size keeps its text, no tables
            continue
        found = read_ocr_tables(texts[i], info.runs, i + 1, (width, height))
        if found:
            out[i] = found
    return out


def _pages_without_text(path: Path, unusable: list[int], texts: list[str], ocr: OcrSettings | None,
                        on_ocr: OcrProgress | None, warnings: list[str],
                        cached: list[int]) -> tuple[set[int], dict[int, Any]]:
    """Look at the textless pages with pdfium: blank ones stay empty, the others are OCR'd (their
    text goes into ``texts``; pages found in the OCR cache are appended to ``cached``) or, without
    OCR, returned as needing it. Returns (needs_ocr, ocr info)."""
    from extractor.read import ocr as ocr_mod

    try:
        pdf = ocr_mod.open_pdfium(path)
    except Exception as e:  # noqa: BLE001 — pdfium refusing a file pypdf read: treat pages as scans
        warnings.append(f"pdfium cannot open the file to look for scanned pages ({_one_line(e)})")
        return set(unusable), {}
    try:
        visible: list[int] = []
        for i in unusable:
            page = pdf[i]
            drawing = ocr_mod.page_drawing(page)
            if texts[i].strip() and not drawing.image_objects:
                continue  # a short page of real text (a heading, a signature line), not a scan
            if not drawing.objects or ocr_mod.is_blank(page):
                if drawing.text_objects:
                    warnings.append(_blank_glyphs_warning(i, drawing.text_objects))
                elif drawing.image_objects:
                    warnings.append(f"page {i + 1}: its only image is blank")
                continue
            visible.append(i)
        enabled = ocr is not None and ocr.enabled
        if not enabled or not visible:
            return set(visible), {}
        todo = visible[: ocr.max_pages]  # type: ignore[union-attr]
        if len(todo) < len(visible):
            warnings.append(f"OCR limited to {len(todo)} pages (TENDERX_OCR_MAX_PAGES); not read: "
                            f"{_page_list([i + 1 for i in visible[len(todo):]])}")
        info: dict[int, Any] = {}
        cache = _page_cache(path, ocr)  # type: ignore[arg-type]
        if cache is not None:
            for i in list(todo):
                hit = cache.get(i + 1)
                if hit is not None:
                    texts[i] = hit.text
                    info[i] = OcrInfo(engine=ocr_mod.ENGINE, model=ocr_mod.model_name(), confidence=hit.confidence,
                                      runs=hit.runs)
                    if not hit.text.strip():
                        warnings.append(f"page {i + 1}: OCR found no text on the page's image")
            todo_now = [i for i in todo if i not in info]
            cached.extend(i + 1 for i in todo if i in info)
        else:
            todo_now = todo
        if on_ocr is not None and todo_now:
            on_ocr(0, len(todo_now))
        for n, i in enumerate(todo_now, 1):
            try:
                result, page_info = ocr_mod.ocr_page(pdf[i], ocr)  # type: ignore[arg-type]
            except (PdfError, MemoryError):
                raise
            except (ImportError, OSError) as e:
                if "map segment" in str(e) or "allocate memory" in str(e):  # the engine's libraries under
                    raise MemoryError(str(e)) from e  # the worker's memory bound: a memory error, not a crash
                raise PdfError("unreadable", f"OCR failed on page {i + 1}: {type(e).__name__}: "
                               f"{_one_line(e)}") from e
            except Exception as e:
                raise PdfError("unreadable", f"OCR failed on page {i + 1}: {type(e).__name__}: "
                               f"{_one_line(e)}") from e
            texts[i] = result.text
            info[i] = page_info
            if cache is not None:
                cache.put(i + 1, result.text, page_info.confidence, page_info.runs)
            if not result.text.strip():
                warnings.append(f"page {i + 1}: OCR found no text on the page's image")
            if on_ocr is not None:
                on_ocr(n, len(todo_now))
        return set(visible[len(todo):]), info
    finally:
        pdf.close()


def _page_cache(path: Path, ocr: OcrSettings) -> PageCache | None:
    """The file's OCR page cache under these settings (None when caching is off)."""
    if not ocr.cache_dir:
        return None
    from extractor.read.ocr_cache import PageCache

    try:
        return PageCache(ocr.cache_dir, file_sha256(path), ocr.fingerprint())
    except OSError:
        return None


def _blank_glyphs_warning(i: int, n_text: int) -> str:
    return (f"page {i + 1}: has {n_text} text object(s) but draws blank: its CJK font is not embedded and no "
            "CJK system font is installed (install fonts-wqy-zenhei: scripts/install-system-deps.sh)")


def _page_list(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (", …" if len(numbers) > limit else "")


_PROJECT_NAME = re.compile(r"^(?:[\d.、()（）一二三四五六七八九十]*\s*)?(?:采购)?项目名称\s*[:：]\s*(.*)$")
_LABEL = re.compile(r"[:：]")
_DATE_LINE = re.compile(r"^\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?$")
_NOT_HEADING = re.compile(r"^(?:[\d\s./\-—]+|目\s*录|第.{1,4}[章节]?\s*\d*\s*页.*)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# The document-type line under a cover title ("公开招标文件", "竞争性磋商文件（服务类）").
_DOC_TYPE_LINE = re.compile(r"^\S{0,12}(?:文件|公告|公示|文本|招标书)(?:[（(].{0,10}[)）])?$")


def _continuation(lines: list[str], start: int, first: str) -> str:
    """Join the wrapped lines that follow a title line (no label, no date)."""
    out = first
    for line in lines[start : start + 2]:
        if (not line or _LABEL.search(line) or _DATE_LINE.match(line) or _DOC_TYPE_LINE.match(line)
                or len(out) + len(line) > _TITLE_MAX):
            break
        out += line
    return out


def find_title(pages: list[Page]) -> str | None:
    """The 项目名称 value from the first pages, else the cover's heading block."""
    for page in pages[:3]:
        lines = [ln.strip() for ln in page.clean.split("\n")]
        for i, line in enumerate(lines):
            m = _PROJECT_NAME.match(line)
            if m and m.group(1).strip():
                return _continuation(lines, i + 1, m.group(1).strip())[:_TITLE_MAX]
    for page in pages[:1]:
        lines = [ln.strip() for ln in page.clean.split("\n")]
        for i, line in enumerate(lines):
            if (line and not _LABEL.search(line) and not _NOT_HEADING.match(line)
                    and not _DATE_LINE.match(line) and len(_CJK.findall(line)) >= 4):
                return _continuation(lines, i + 1, line)[:_TITLE_MAX]
    return None

