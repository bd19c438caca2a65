"""The clean view of real tender page text, with a map back to pypdf's raw text.

Evidence quotes must be verbatim page text, but search, chunking and rules
work better on a tidied view: labels printed letter-spaced (``采 购 人：``),
covers set vertically (one character per line), TOC dot leaders, full-width
digits, running headers/footers and page numbers. Every cleaning step here
keeps ``clean_map[i]`` = index in the raw text of ``clean[i]``, so a span
found in the clean view can always be shown as the verbatim raw text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractor.core.document import Page

# Han ideographs (basic + extension A + compatibility); used to decide what counts as "CJK".
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_CJK_PUNCT = "\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"

_HSPACE_RUN = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# A TOC leader: dots/middle dots/ellipses before the page number that ends the line.
_TOC_LEADER = re.compile(r" ?(?:[.·．•・]{4,}|[…⋯]{2,}|(?:\. ){3,}\.?) ?(?=\d{1,4} ?$)", re.MULTILINE)
# A space after a Han char that has no Han char before it, followed by a Han char: the
# gaps of a letter-spaced label like "采 购 人：" (but not "采购人 合肥市…" table cells).
_SPACED_GAP = re.compile(f"(?<=[{_HAN}])(?<![{_HAN}][{_HAN}]) (?=[{_HAN}])")

_PAGE_NUMBER_LINE = re.compile(
    r"^(?:"
    r"第\s*\d+\s*页\s*(?:[/，,、]?\s*共\s*\d+\s*页)?"  # 第 3 页 / 第 3 页/共 93 页
    r"|共\s*\d+\s*页\s*第\s*\d+\s*页"
    r"|[-—–－]\s*\d+\s*[-—–－]"  # - 3 -
    r"|\d{1,4}"  # bare number
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3/93
    r"|(?i:page)\s*\d+(?:\s*(?i:of)\s*\d+)?"
    r")$"
)
_EDGE_LINES = 2  # how many lines at the top and bottom of a page can be header/footer
_REPEAT_SHARE = 0.6
_REPEAT_MIN_PAGES = 3

# Form/boilerplate detection.
_TOC_LINE = re.compile(r"(?:[.·．•・]{4,}|[…⋯]{2,}).*\d+\s*$|^(?:第[一二三四五六七八九十百\d]+[章节部分篇]|[一二三四五六七八九十]+、|\d+(?:\.\d+)*\.?)\s*\S.*\s\d{1,4}$")
_FORM_BLANK = re.compile(r"^[\s_＿\-—–.·:：/／()（）\[\]【】□☐■\uf052\uf0fe\uf0a8]*$")
_FORM_LABEL = re.compile(r"^[^:：]{1,24}[:：]\s*[_＿\s]*$")
_DATE_BLANK = re.compile(r"^(?:日\s*期\s*[:：]?)?\s*(?:年\s*)?(?:月\s*)?日?\s*$|^年\s*月\s*日$")


_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _fullwidth_to_ascii(ch: str) -> str:
    """NFKC for full-width digits and Latin letters only (Chinese punctuation is kept)."""
    o = ord(ch)
    if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
        return chr(o - 0xFEE0)
    return ch


_FULLWIDTH_TABLE = {o: _fullwidth_to_ascii(chr(o)) for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
                    for o in range(r[0], r[1] + 1)}


class _MappedText:
    """Text plus, for each char, its index in the raw text; edits keep both in step."""

    def __init__(self, text: str, index: list[int]):
        self.text = text
        self.index = index

    def sub(self, pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str]) -> None:
        """Replace matches; replacement chars map to the match's first raw index
        (or, for an empty match, nowhere: empty matches only delete)."""
        out: list[str] = []
        idx: list[int] = []
        pos = 0
        for m in pattern.finditer(self.text):
            out.append(self.text[pos : m.start()])
            idx.extend(self.index[pos : m.start()])
            new = repl if isinstance(repl, str) else repl(m)
            if new:
                anchor = self.index[m.start()] if m.end() > m.start() else self.index[max(m.start() - 1, 0)]
                if new == m.group(0):
                    idx.extend(self.index[m.start() : m.end()])
                else:
                    idx.extend([anchor] * len(new))
                out.append(new)
            pos = m.end()
        out.append(self.text[pos:])
        idx.extend(self.index[pos:])
        self.text = "".join(out)
        self.index = idx

    def keep(self, mask: Sequence[bool]) -> None:
        if all(mask):
            return
        self.text = "".join(c for c, k in zip(self.text, mask, strict=True) if k)
        self.index = [i for i, k in zip(self.index, mask, strict=True) if k]


def _strip_lines(mt: _MappedText) -> None:
    """Drop spaces at line starts/ends and leading/trailing blank lines."""
    mt.sub(re.compile(r" +(?=\n)|(?<=\n) +|^ +| +$"), "")
    mt.sub(_BLANK_LINES, "\n\n")
    mt.sub(re.compile(r"^\n+|\n+$"), "")


def _join_vertical_runs(mt: _MappedText) -> None:
    """Join runs of >= 3 lines holding one CJK char each (a vertically set title)."""
    lines = mt.text.split("\n")
    mask = [True] * len(mt.text)
    pos = 0
    starts = []
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and len(lines[j]) == 1 and _HAN_RE.match(lines[j]):
            j += 1
        if j - i >= 3:
            for k in range(i, j - 1):  # drop the newline after each char but the last
                mask[starts[k] + 1] = False
            i = j
        else:
            i += 1
    mt.keep(mask)


def clean_page(text: str) -> tuple[str, list[int]]:
    """Clean one page of raw pypdf text; returns (clean, clean_map)."""
    mt = _MappedText(text, list(range(len(text))))
    mt.sub(re.compile(r"\r\n?|[\f\v\u2028\u2029\x85]"), "\n")
    if _FULLWIDTH_ALNUM.search(mt.text):
        mt.text = mt.text.translate(_FULLWIDTH_TABLE)  # one char for one char: the map stays valid
    mt.sub(_HSPACE_RUN, " ")
    _strip_lines(mt)
    _join_vertical_runs(mt)
    mt.sub(_TOC_LEADER, " ")
    mt.sub(_SPACED_GAP, "")
    mt.sub(_HSPACE_RUN, " ")
    _strip_lines(mt)
    return mt.text, mt.index


def _line_key(line: str) -> str:
    """Lines compared for repetition with digits and spaces ignored (page numbers vary)."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _edge_spans(text: str) -> list[tuple[int, int]]:
    """The non-empty lines at the top and bottom of a page (header/footer candidates)."""
    spans = [s for s in _line_spans(text) if text[s[0] : s[1]].strip()]
    if len(spans) <= 2 * _EDGE_LINES:
        return spans
    return spans[:_EDGE_LINES] + spans[-_EDGE_LINES:]


def is_page_number_line(line: str) -> bool:
    """True for '第 3 页 共 93 页', '- 3 -', '3', '3/93', 'Page 3 of 9'."""
    return bool(_PAGE_NUMBER_LINE.match(line.strip()))


def strip_repeated_lines(pages: list[Page]) -> list[Page]:
    """Remove running headers/footers and page-number lines from each page's clean view.

    A top/bottom line counts as a header/footer when (digits ignored) it shows up at
    the top/bottom of >= 60 % of the pages of a document with >= 3 pages. The raw text
    is never touched; ``clean_map`` is updated with ``clean``. Mutates and returns pages.
    """
    edges = [_edge_spans(p.clean) for p in pages]
    counts: Counter[str] = Counter()
    for p, spans in zip(pages, edges, strict=True):
        counts.update({_line_key(p.clean[a:b]) for a, b in spans})
    repeated: set[str] = set()
    if len(pages) >= _REPEAT_MIN_PAGES:
        need = max(2, _REPEAT_SHARE * len(pages))
        repeated = {k for k, n in counts.items() if n >= need}
    for p, spans in zip(pages, edges, strict=True):
        drop = [
            (a, b)
            for a, b in spans
            if _line_key(p.clean[a:b]) in repeated or is_page_number_line(p.clean[a:b])
        ]
        if not drop:
            continue
        mask = [True] * len(p.clean)
        for a, b in drop:
            for k in range(a, min(b + 1, len(p.clean))):  # the line and its newline
                mask[k] = False
        mt = _MappedText(p.clean, list(p.clean_map))
        mt.keep(mask)
        _strip_lines(mt)
        p.clean, p.clean_map = mt.text, mt.index
    return pages


_ENDS_IN_LEADER = re.compile(r"(?:[.·．•・]{4,}|[…⋯]{2,})$")


def _join_leader_numbers(lines: list[str]) -> list[str]:
    """A TOC line whose page number pypdf put on the next line (``第一章 投标邀请……`` / ``3``) as one line."""
    out: list[str] = []
    for ln in lines:
        if out and ln.isdigit() and len(ln) <= 4 and _ENDS_IN_LEADER.search(out[-1]):
            out[-1] = f"{out[-1]}{ln}"
        else:
            out.append(ln)
    return out


def is_boilerplate_page(clean: str) -> bool:
    """True for a table-of-contents page or a blank form, which search need not embed.

    TOC: most lines are 'chapter title  page-number' (leaders dropped or not).
    Blank form: most lines are blanks/underscores/checkboxes or labels with no value.
    """
    lines = _join_leader_numbers([ln.strip() for ln in clean.split("\n") if ln.strip()])
    if not lines:
        return True
    n = len(lines)
    toc = sum(1 for ln in lines if _TOC_LINE.search(ln))
    has_toc_heading = any(re.sub(r"\s", "", ln) in {"目录", "目次", "目錄"} for ln in lines[:3])
    if n >= 3 and (toc >= 0.6 * n or (has_toc_heading and toc >= 0.4 * n)):
        return True
    blank = sum(1 for ln in lines if _FORM_BLANK.match(ln) or _FORM_LABEL.match(ln) or _DATE_BLANK.match(ln))
    underscores = clean.count("_") + clean.count("＿")
    content = len(re.sub(r"[\s_＿]", "", clean))
    if blank == n or (n >= 3 and blank >= 0.6 * n):
        return True
    rest = sum(len(ln) for ln in lines if not (_FORM_BLANK.match(ln) or _FORM_LABEL.match(ln)))
    if n >= 3 and blank >= 0.4 * n and rest < 60:  # a form cover: a heading and empty labels
        return True
    return content > 0 and underscores >= 0.5 * content
