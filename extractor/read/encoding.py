"""Bytes of a web page or text file → str, with the encoding that was used.

Chinese pages are UTF-8, GBK/GB2312 or GB18030, and their ``<meta charset>``
is sometimes wrong (a GBK page still saying ``utf-8`` after a CMS migration).
Order of trust: a BOM; then strict UTF-8 (random GBK bytes almost never form
valid UTF-8); then the declared charset if it decodes strictly; then
charset-normalizer's guess; then GB18030 with replacement characters.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.I)
# GB2312 and GBK are subsets of GB18030; decoding with the superset loses nothing.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
             "hz-gb-2312": "gb18030", "ascii": "utf-8", "us-ascii": "utf-8", "iso-8859-1": "cp1252",
             "latin-1": "cp1252", "windows-1252": "cp1252", "big5": "big5hkscs"}
_SNIFF_BYTES = 4096


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in ``<meta>`` or an XML declaration, normalised, or None."""
    head = data[:_SNIFF_BYTES]
    m = _XML_DECL.search(head) or _META.search(head)
    if not m:
        return None
    name = m.group(1).decode("ascii", "ignore").strip().lower()
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _SUPERSET.get(name, _SUPERSET.get(canonical, canonical))


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding used) for ``data``; never raises on undecodable bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, "replace"), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if declared and declared != "utf-8":
        try:
            return data.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass
    try:  # Chinese first: most non-UTF-8 Chinese text decodes strictly as GB18030
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding:
        name = _SUPERSET.get(best.encoding, best.encoding)
        return data.decode(name, "replace"), name
    return data.decode("gb18030", "replace"), "gb18030"
