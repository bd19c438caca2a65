"""Page views for the rules engine: each page's cleaned and flattened text with maps back to the raw
text (so every quote is verbatim), and the patterns and cell reading every field shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from extractor.core.document import FieldValue, Page
from extractor.core.normalize import (
    cn_to_int,
    to_halfwidth,
)
from extractor.core.schema import load_schema


def label_words(field: str) -> str:
    """A regex alternation of the field's label words, taken from the schema file (longest first,
    so ``采购人名称`` wins over ``采购人``): the words live in one place, ``schemas/tender.yaml``."""
    labels = load_schema("tender").field(field).labels
    return "|".join(re.escape(word) for word in sorted(labels, key=len, reverse=True))


@dataclass
class View:
    """One page's cleaned text, its flat form (no newlines) and the maps back to raw text."""

    number: int
    raw: str
    clean: str
    cmap: list[int]
    flat: str
    fmap: list[int]  # flat index -> clean index

    @classmethod
    def of(cls, page: Page) -> View:
        if page.clean and len(page.clean_map) == len(page.clean):
            clean, cmap = page.clean, list(page.clean_map)
        else:  # no cleaned view: the raw text, width-folded one char for one char
            clean, cmap = to_halfwidth(page.text), list(range(len(page.text)))
        keep = [i for i, ch in enumerate(clean) if ch != "\n"]
        return cls(page.number, page.text, clean, cmap, "".join(clean[i] for i in keep), keep)

    def quote(self, start: int, end: int, limit: int = 160) -> str:
        """The raw text behind clean[start:end] (verbatim, may include line breaks)."""
        end = max(start + 1, min(end, start + limit, len(self.clean)))
        if start >= len(self.cmap):
            return ""
        return self.raw[self.cmap[start]: self.cmap[end - 1] + 1]

    def flat_quote(self, start: int, end: int) -> str:
        end = max(start + 1, min(end, len(self.fmap)))
        return self.quote(self.fmap[start], self.fmap[end - 1] + 1)

    def fv(self, value: Any, start: int, end: int, flat: bool = False) -> FieldValue:
        q = self.flat_quote(start, end) if flat else self.quote(start, end)
        return FieldValue(value=value, page=self.number, quote=q.strip() or None)



COLON = r"\s*[:：]\s*"

HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d)|第[一二三四五六七八九十\d]+[章节条]|[（(][一二三四五六七八九十\d]+[)）])")

BLOCK_HEADS = {
    "buyer": r"采购人信息[^\n]*",
    "agency": r"(?:采购代理机构|代理机构|集中采购机构)(?:信息)?[ \t]*",
    "suppliers": r"(?:拟定供应商|中标供应商|成交供应商|中标人|供应商)信息[ \t]*",
}

BLOCK_BODY = r"(?:[^\n:：]*\n)?\s*名\s*称" + COLON + r"([^\n]+)"

BLOCKS = {k: re.compile(h + r"\n" + BLOCK_BODY) for k, h in BLOCK_HEADS.items()}

ORG_SUFFIX = r"(?:有限责任公司|股份有限公司|有限公司|集团公司|公司|研究院|研究所|大学|学院|医院|中心|事务所)"



def num(s: str) -> int | None:
    return int(s) if s.isdigit() else cn_to_int(s)



# The next label run into a value on flattened text (``设备采购 项目编号：…``, ``… 二、…``).
_NEXT_LABEL = re.compile(r"\s(?=[\u4e00-\u9fff（）()]{2,12}[:：]|[一二三四五六七八九十]+、)")



def cell_value(v: View, m: re.Match[str]) -> tuple[str, bool]:
    """A label's value up to the end of its table cell, and whether a cell break cut it.

    pypdf and HTML dumps flatten a table row into one line with tabs (or runs of spaces)
    between cells; the cleaned view folds those to one space, so the raw text decides."""
    start, end = m.start(1), m.end(1)
    cell_end = next((i for i in range(start + 1, end - 1) if v.clean[i].isspace()
                     and re.search(r"\t| {2}|\u3000{2}", v.raw[v.cmap[i - 1] + 1: v.cmap[i + 1]])), end)
    value = v.clean[start:cell_end]
    cut = _NEXT_LABEL.search(value)
    return (value[: cut.start()], True) if cut else (value, cell_end < end)



def clean_value(v: str) -> str:
    """A label's value as printed, without trailing notes in brackets or list punctuation."""
    v = v.strip()
    v = re.split(r"[；;，,。]|\s{2,}|（(?=[^）]*(?:编号|简称|以下|盖章|采购|招标|代理|联系))", v, maxsplit=1)[0]
    return v.strip(" ：:\t")

