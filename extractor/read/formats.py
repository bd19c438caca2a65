"""Which reader reads a file, and which files of a folder are documents.

Analysts' folders hold PDFs, saved web pages, Word files and text next to
spreadsheets, archives and gold labels. ``read_document`` picks the reader from
the file's first bytes and its suffix; ``iter_input_paths`` walks files and
folders and says what it found and what it skipped and why, so nothing is
dropped silently. A format tenderx cannot read gets a one-line ``unsupported``
error saying how to convert it (hints in ``extractor/data/formats.yaml``).
"""

from __future__ import annotations

import fnmatch
import os
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from extractor.core.document import Document
from extractor.core.errors import ReadError
from extractor.core.paths import canonical

FORMATS_PATH = Path(__file__).resolve().parent.parent / "data" / "formats.yaml"
SUFFIXES = {".pdf": "pdf", ".html": "html", ".htm": "html", ".shtml": "html", ".xhtml": "html",
            ".docx": "docx", ".txt": "txt"}
IGNORE_FILE = ".tenderxignore"
GOLD_SUFFIX = ".gold.json"
SKIP_KINDS = ("ignored",)  # skipped, not a failure; every other skip kind ("missing") is a failed input
_HEAD = 8192
_JUNK_FOLDERS = {".git", ".svn", ".hg", ".tenderx", "__MACOSX", ".venv", "__pycache__"}


@lru_cache(maxsize=1)
def _table() -> dict:
    with open(FORMATS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def unsupported_error(suffix: str, found_as: str | None = None) -> ReadError:
    """The one-line error for a format tenderx does not read, with the conversion to use."""
    hints = _table()["unsupported"]
    hint = hints.get(suffix) or (hints.get(found_as) if found_as else None)
    if hint is None:
        shown = suffix or "no suffix"
        return ReadError("unsupported", f"not a format tenderx reads ({shown}); tenderx reads .pdf, .html/.htm, "
                         ".docx and .txt")
    return ReadError("unsupported", f"{hint['what']}: tenderx does not read it; convert it first: "
                     f"{hint['convert']}")


def _magic_suffix(head: bytes) -> str | None:
    for entry in _table()["magic"]:
        if head.startswith(bytes.fromhex(entry["bytes"])):
            return str(entry["as"])
    return None


def _looks_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()[:1024]
    return start.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in start or b"<body" in start


def _zip_kind(path: Path) -> str:
    """'docx', or the suffix whose hint applies to this ZIP container."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ".zip"
    if "word/document.xml" in names:
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return ".xlsx"
    if any(n.startswith("ppt/") for n in names):
        return ".pptx"
    if "OFD.xml" in names:
        return ".ofd"
    if "content.xml" in names:
        return ".odt"
    return ".zip"


def detect_format(path: str | Path) -> str:
    """'pdf', 'html', 'docx' or 'txt' for a file tenderx can read; raises ReadError otherwise.

    A ``.pdf`` always goes to the PDF reader (its errors say what the file really
    is, e.g. a saved error page); other files are judged by their first bytes.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    try:
        with open(p, "rb") as fh:
            head = fh.read(_HEAD)
    except FileNotFoundError as e:
        raise ReadError("missing", "broken symlink" if p.is_symlink() else "no such file") from e
    except IsADirectoryError as e:
        raise ReadError("unreadable", "is a directory, not a file") from e
    except OSError as e:
        raise ReadError("unreadable", f"cannot read file: {e.strerror or e}") from e
    if not head:
        raise ReadError("empty", "zero-byte file")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(p)
        if kind == "docx":
            return "docx"
        raise unsupported_error(suffix if suffix in _table()["unsupported"] else kind)
    magic = _magic_suffix(head)
    if magic is not None:
        raise unsupported_error(suffix if suffix in _table()["unsupported"] else magic, magic)
    if suffix == ".docx":
        raise ReadError("corrupt", "not a Word .docx file (no ZIP container); if it is an old .doc, convert it: "
                        "libreoffice --headless --convert-to docx FILE")
    if SUFFIXES.get(suffix) == "html" or _looks_html(head):
        return "html"
    if suffix in _table()["unsupported"]:
        raise unsupported_error(suffix)
    if _is_text(head):
        return "txt"
    raise unsupported_error(suffix)


def _is_text(head: bytes) -> bool:
    """Text, not binary: no NUL bytes (UTF-16 has a BOM), few control characters."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r\f")
    return controls <= len(head) // 100


def read_document(path: str | Path) -> Document:
    """Read any supported file into a Document; raises ReadError (PdfError for PDFs)."""
    p = Path(path)
    if not os.path.lexists(p):
        raise ReadError("missing", "no such file")
    if not p.exists():
        raise ReadError("missing", "broken symlink")
    fmt = detect_format(p)
    if fmt == "pdf":
        from extractor.read.pdf import read_pdf

        doc = read_pdf(p)
        doc.metadata.setdefault("format", "pdf")
        return doc
    if fmt == "html":
        from extractor.read.html import read_html

        return read_html(p)
    if fmt == "docx":
        from extractor.read.word import read_docx

        return read_docx(p)
    from extractor.read.plaintext import read_text_file

    return read_text_file(p)


# --- the folder walk -----------------------------------------------------------------------------


def _ignore_patterns(folder: str) -> list[str]:
    try:
        with open(os.path.join(folder, IGNORE_FILE), encoding="utf-8") as fh:
            return [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError):
        return []


def _ignored(rel: str, is_dir: bool, patterns: list[tuple[str, str]]) -> bool:
    """``rel`` (posix, relative to the walk root) matches a .tenderxignore pattern of a folder above it."""
    for base, pattern in patterns:
        if base and not rel.startswith(base + "/"):
            continue
        sub = rel[len(base) + 1:] if base else rel
        dir_only = pattern.endswith("/")
        pat = pattern.rstrip("/").lstrip("/")
        if dir_only and not is_dir:
            continue
        if fnmatch.fnmatch(sub, pat) or ("/" not in pat and fnmatch.fnmatch(sub.rsplit("/", 1)[-1], pat)):
            return True
    return False


def _skip_reason(name: str) -> str | None:
    """Why a file met in a folder is not a document, or None when it is one (or should say why not)."""
    lower = name.lower()
    if name.startswith("~$"):
        return "Office lock file"
    if name.startswith("._"):
        return "macOS resource fork"
    if lower.endswith(GOLD_SUFFIX):
        return "gold labels (used by tenderx eval)"
    suffix = os.path.splitext(lower)[1]
    if suffix in SUFFIXES or suffix in _table()["unsupported"]:
        return None
    return f"not a document ({suffix or 'no suffix'})"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk_folder(root: Path, found: list[Path], skipped: list[tuple[Path, ReadError]]) -> None:
    root_real = os.path.realpath(root)
    visited: set[str] = set()
    patterns: list[tuple[str, str]] = []
    in_folder: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        patterns.extend((rel_dir, pat) for pat in _ignore_patterns(dirpath))
        keep = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            target = os.path.realpath(os.path.join(dirpath, d))
            if target in visited:
                continue
            if os.path.islink(os.path.join(dirpath, d)) and not _inside(target, root_real):
                skipped.append((Path(dirpath) / d, ReadError("ignored", "a link to a folder outside the one given")))
                continue
            if d in _JUNK_FOLDERS or _ignored(rel, True, patterns):
                skipped.append((Path(dirpath) / d, ReadError("ignored", "not a document folder" if d in _JUNK_FOLDERS
                                                             else f"folder listed in {IGNORE_FILE}")))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            f = Path(dirpath) / name
            if name == IGNORE_FILE:
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            reason = f"listed in {IGNORE_FILE}" if _ignored(rel, False, patterns) else _skip_reason(name)
            if reason is not None:
                skipped.append((f, ReadError("ignored", reason)))
            elif f.exists() and not f.is_file():  # a FIFO, socket or device would block or never end
                skipped.append((f, ReadError("ignored", "not a regular file")))
            elif f.exists():
                in_folder.append(f)
            else:
                skipped.append((Path(os.path.abspath(f)), ReadError("missing", "broken symlink")))
    found.extend(sorted(in_folder, key=lambda f: f.as_posix().lower()))


def iter_input_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, ReadError]]]:
    """Expand files and folders (recursively, sorted) into the documents to read.

    Returns ``(found, skipped)``: ``found`` are canonical paths (absolute, symlinks
    resolved), each file once, in the order given; files named directly are always
    found (an unreadable format then fails with its reason). ``skipped`` pairs a path
    with a ReadError: kind ``missing`` (a path that does not exist, a broken link:
    a failed input) or ``ignored`` (in a folder, not a document: gold labels, ``._`` forks,
    files, other formats, anything listed in a ``.tenderxignore`` file).
    """
    found: list[Path] = []
    skipped: list[tuple[Path, ReadError]] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            batch: list[Path] = []
            _walk_folder(p, batch, skipped)
        elif p.exists() and not p.is_file():
            skipped.append((Path(os.path.abspath(p)), ReadError("unsupported", "not a regular file (a FIFO, socket "
                                                                 "or device): copy its contents to a file")))
            continue
        elif p.exists():
            batch = [p]
        else:
            msg = "broken symlink" if p.is_symlink() else "no such file or folder"
            skipped.append((Path(os.path.abspath(p)), ReadError("missing", msg)))
            continue
        for f in batch:
            c = canonical(f)
            if str(c) not in seen:
                seen.add(str(c))
                found.append(c)
    return found, skipped


def is_failure(error: ReadError) -> bool:
    """A skipped path that counts as a failed input (it was asked for and could not be read)."""
    return error.kind not in SKIP_KINDS


def readable(path: Path) -> bool:
    """True when ``path`` is in a format tenderx reads (cheap: suffix and first bytes)."""
    try:
        detect_format(path)
    except ReadError as e:
        return e.kind not in ("unsupported", "missing")
    return True
