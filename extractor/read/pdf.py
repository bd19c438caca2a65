"""PDF files → ``Document``: pypdf page text verbatim, the clean view, OCR hints, and
one-line errors a user can act on.

``read_pdf`` is a pure function of the path (no global state besides quieting
pypdf's logger), so a caller may run it in a worker process with a time limit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError
from pypdf.generic import DictionaryObject

from extractor.core.document import Document, Page
from extractor.core.errors import ReadError
from extractor.read.cleaning import clean_page, strip_repeated_lines

# pypdf logs every odd xref or font at WARNING; those are noise for a user, so keep them out.
logging.getLogger("pypdf").setLevel(logging.ERROR)

ERROR_KINDS = ("missing", "empty", "not_pdf", "html_not_pdf", "encrypted", "truncated", "corrupt", "unreadable",
               "timeout", "memory", "too_large")  # the last three come from extractor.read.guard

_OCR_MAX_CHARS = 10  # a page with fewer non-space chars than this and an image is a scan
_TITLE_MAX = 120
_HEAD_BYTES = 1024
_TAIL_BYTES = 4096


class PdfError(ReadError):
    """A file that cannot be read as a PDF; ``kind`` is one of ERROR_KINDS, ``message``
    one line for the user."""

    def __init__(self, kind: str, message: str):
        assert kind in ERROR_KINDS, kind
        super().__init__(kind, message)


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


def _has_image(resources: object, depth: int = 0) -> bool:
    """True when the page's resources (or a form XObject's, a few levels deep) hold an image."""
    try:
        res = resources.get_object() if resources is not None else None  # type: ignore[attr-defined]
        if not isinstance(res, DictionaryObject) or depth > 3:
            return False
        xobjects = res.get("/XObject")
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not isinstance(xobjects, DictionaryObject):
            return False
        for ref in xobjects.values():
            xo = ref.get_object()
            subtype = xo.get("/Subtype")
            if subtype == "/Image":
                return True
            if subtype == "/Form" and _has_image(xo.get("/Resources"), depth + 1):
                return True
    except Exception:  # noqa: BLE001 — a broken resource dict is not a scan
        return False
    return False


def read_pdf(path: str | Path) -> Document:
    """Read one PDF into a Document (raw + clean text per page); raises PdfError."""
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
    pages: list[Page] = []
    for i in range(n_pages):
        try:
            page_obj = reader.pages[i]
        except Exception as e:  # noqa: BLE001 — pypdf raises anything on a broken page tree
            warnings.append(f"page {i + 1}: cannot read page ({_one_line(e)})")
            pages.append(Page(number=i + 1, text=""))
            continue
        try:
            text = page_obj.extract_text() or ""
        except FileNotDecryptedError as e:
            raise PdfError("encrypted", "encrypted: needs a password") from e
        except Exception as e:  # noqa: BLE001 — one bad page must not lose the document
            warnings.append(f"page {i + 1}: text extraction failed ({_one_line(e)})")
            text = ""
        clean, clean_map = clean_page(text)
        needs_ocr = len(re.sub(r"\s", "", text)) < _OCR_MAX_CHARS and _has_image(page_obj.get("/Resources"))
        pages.append(Page(number=i + 1, text=text, clean=clean, clean_map=clean_map, needs_ocr=needs_ocr))
    strip_repeated_lines(pages)
    ocr_pages = [pg.number for pg in pages if pg.needs_ocr]
    if ocr_pages and len(ocr_pages) < len(pages):
        warnings.append(f"{len(ocr_pages)} page(s) look scanned (no text layer): {_page_list(ocr_pages)}")
    return Document(path=str(path), sha256=file_sha256(p), pages=pages, title=find_title(pages), warnings=warnings)


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


def iter_pdf_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, PdfError]]]:
    """Expand files and folders (recursively, sorted, ``*.pdf`` any case) into PDF paths.

    Symlinked folders are followed once: visited real paths are tracked, so a link
    loop ends. Missing paths come back as ``missing`` errors; each file once.
    """
    found: list[Path] = []
    errors: list[tuple[Path, PdfError]] = []
    seen_files: set[str] = set()

    def add(f: Path) -> None:
        real = os.path.realpath(f)
        if real not in seen_files:
            seen_files.add(real)
            found.append(f)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            visited: set[str] = set()
            in_folder: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in visited:
                    dirnames[:] = []
                    continue
                visited.add(real)
                dirnames[:] = sorted(d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in visited)
                for name in sorted(filenames):
                    if not name.lower().endswith(".pdf"):
                        continue
                    f = Path(dirpath) / name
                    if f.exists():
                        in_folder.append(f)
                    else:
                        errors.append((f, PdfError("missing", "broken symlink")))
            for f in sorted(in_folder, key=lambda f: f.as_posix().lower()):
                add(f)
        elif p.exists():
            add(p)
        else:
            kind_msg = "broken symlink" if p.is_symlink() else "no such file or folder"
            errors.append((p, PdfError("missing", kind_msg)))
    return found, errors
