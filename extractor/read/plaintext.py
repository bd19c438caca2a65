"""Plain-text notices (.txt) in UTF-8, GB18030/GBK or UTF-16 → a ``Document``.

Text copied from a web page or exported by ``pdftotext`` is common in
analysts' folders. Form feeds (``pdftotext``'s page breaks) split pages;
otherwise the file is one page.
"""

from __future__ import annotations

from pathlib import Path

from extractor.core.document import Document, Page
from extractor.core.errors import ReadError
from extractor.read.caps import TextBudget
from extractor.read.cleaning import clean_page, strip_repeated_lines
from extractor.read.encoding import decode_text


def read_text_file(path: str | Path, budget: TextBudget | None = None) -> Document:
    """Read one text file; raises ReadError."""
    from extractor.read.pdf import file_sha256, find_title

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ReadError("unreadable", f"cannot read file: {e.strerror or e}") from e
    text, encoding = decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReadError("empty", "text file holds no text" if data else "zero-byte file")
    budget = budget or TextBudget()
    parts = text.strip("\f").split("\f")
    pages = []
    for i, part in enumerate(parts, 1):
        kept = budget.take(part, i if len(parts) > 1 else None)
        clean, clean_map = clean_page(kept)
        pages.append(Page(number=i, text=kept, clean=clean, clean_map=clean_map))
    if len(pages) > 1:
        strip_repeated_lines(pages)
    return Document(path=str(path), sha256=file_sha256(p), pages=pages, title=find_title(pages),
                    warnings=list(budget.warnings), metadata={"format": "txt", "encoding": encoding})
