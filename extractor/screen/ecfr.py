"""Parse the China entries of 15 CFR Part 744 (Entity, Unverified and MEU lists) from eCFR XML.

The eCFR table is irregular: long entries continue in rows with empty citation cells,
subordinate institutions follow an italic "Subordinate institution" marker, and Huawei-style
"Affiliated entities" are italic names inside one cell. This module turns it into one flat
entry per listed party (subordinates and affiliates carry their ``parent``), keeping the
verbatim legal text (``raw_text``) as the truth for every entry.
"""

from __future__ import annotations

import builtins
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractor.core.errors import UsageError

CHINA = "CHINA, PEOPLE'S REPUBLIC OF"

# Supplement number -> (list key, citation of the supplement, number of table columns).
SUPPLEMENTS = {
    "4": ("entity_list", "15 CFR Part 744, Supplement No. 4 (Entity List)"),
    "6": ("unverified", "15 CFR Part 744, Supplement No. 6 (Unverified List)"),
    "7": ("meu", "15 CFR Part 744, Supplement No. 7 (Military End-User List)"),
}

_IT_OPEN, _IT_CLOSE = "\x01", "\x02"  # italic (<E>) spans, kept while splitting
_WS = re.compile(r"[ \t\r\f\v]+")
_AKA = re.compile(
    r",?\s*(?:a\.k\.a\.?,?\s*(?:the following (?:\w+ )?aliases?[^:]*:)?|(?:and )?the following (?:\w+ )?aliases?[^:]*:)",
    re.I,
)
_NAME_CONT = re.compile(r"^(?:Ltd|Limited|Inc|LLC|L\.L\.C|Co\b|Corp|PLC|S\.A|GmbH|Company)", re.I)
_UNIT_WORD = re.compile(r"\b(?:Institute|Institution|Center|Centre|Laboratory|Lab|University|Academy|Department|Ministry)\b", re.I)
_ADDRESS_START = re.compile(r"^(?:\d|[A-Z]\d|University City|No\b|Room|Rm\b|Building|Bldg|Block|Floor|Flat|Unit|Suite|Tower|\w+ (?:Road|Street|Avenue)\b)", re.I)
_ABBREV_END = re.compile(r"(?:\b(?:Co|Ltd|Inc|Corp|No|St|Rd|Ave|Tech|Dev|Nat|Man|Mat|Std|Ind|Imp|Exp|Intl|Equip|Mach|Bros|Jr|Sr|Sdn|Bhd)\.|\b[A-Z]\.)$")
_GROUP = re.compile(r"^The following \w+ subordinate institutions of (.+?):?$")
_SUB_MARK = re.compile(r"^Subordinate instit\w*:?$", re.I)
_INLINE_SUB = re.compile(r"^(.+?) subordinate institution:\s*—?(.+)$")


@dataclass
class Entry:
    """One listed party as the regulation states it."""

    list: str
    name: str
    aliases: builtins.list[str] = field(default_factory=builtins.list)
    country: str = ""
    citation: str = ""
    license_requirement: str = ""
    license_review_policy: str = ""
    parent: str = ""
    raw_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cell_text(el: ET.Element) -> str:
    """Cell text with <br/> as newlines and italic spans marked."""
    def flat(t: str | None) -> str:  # line breaks in the XML source are not line breaks in the text
        return (t or "").replace("\n", " ")

    parts: list[str] = [flat(el.text)]
    for child in el:
        if child.tag == "br":
            parts.append("\n")
        elif child.tag == "E":
            parts.append(_IT_OPEN + flat("".join(child.itertext())) + _IT_CLOSE)
        else:
            parts.append(_cell_text(child))
        parts.append(flat(child.tail))
    return "".join(parts)


def _clean(text: str) -> str:
    text = text.replace(_IT_OPEN, "").replace(_IT_CLOSE, "")
    return _WS.sub(" ", text.replace("\n", " ")).strip()


def _split_top(text: str) -> list[str]:
    """Split on ', ' (or ',' before a digit) outside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch == "," and depth == 0 and (text[i + 1 : i + 2] == " " or text[i + 1 : i + 2].isdigit()):
            out.append("".join(cur))
            cur = []
            i += 2 if text[i + 1 : i + 2] == " " else 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _name_before_address(text: str) -> str:
    """The name in 'Name Co., Ltd., Address…': the first comma part plus legal-suffix parts."""
    parts = _split_top(text.strip())
    name = parts[0]
    for part in parts[1:]:
        part = part.strip()
        legal = re.match(r"^(Ltd\.?|Limited|Inc\.?|LLC|Co\.?)\s+(.*)$", part)
        if legal and _ADDRESS_START.match(legal.group(2)):
            name += ", " + legal.group(1)
            break
        if _NAME_CONT.match(part) or (_UNIT_WORD.search(part) and not _ADDRESS_START.match(part)):
            name += ", " + part
        else:
            break
    return tidy_name(name)


def tidy_name(name: str) -> str:
    """Cut a name at a sentence stop ('Corp. Sichuan Province.') and drop trailing punctuation."""
    name = name.strip()
    for m in re.finditer(r"\.\s+(?=[A-Z0-9])", name):
        head = name[: m.start() + 1]
        if not _ABBREV_END.search(head) or (_ADDRESS_START.match(name[m.end() :]) and not head.endswith("No.")):
            name = name[: m.start() + 1]
            break
    name = name.rstrip(";, ")
    if name.endswith(".") and not _ABBREV_END.search(name):
        name = name[:-1]
    return name.strip()


def _strip_alias(alias: str) -> str:
    alias = _clean(alias).lstrip("—-– ").strip()
    alias = re.sub(r"(?:;|,)?\s*(?:and)?\s*$", "", alias).strip()
    return alias.rstrip(";").strip().removesuffix(".").strip() if not alias.endswith(
        ("Ltd.", "Co.", "Inc.", "Corp.")
    ) else alias.strip()


def parse_segment(text: str) -> tuple[str, list[str]]:
    """(name, aliases) of one party's text: 'Name, a.k.a., the following N aliases: —A; and —B. Addr'."""
    flat = _clean(text)
    m = _AKA.search(flat)
    if not m:
        return _name_before_address(flat), []
    name = tidy_name(flat[: m.start()].strip().rstrip(","))
    starts = [i for i in (text.find("a.k.a"), text.find("the following")) if i >= 0]
    rest = text[min(starts) :] if starts else ""
    aliases: list[str] = []
    lines = rest.split("\n")[1:] if "\n" in rest else []
    for ln in lines:
        ln_clean = _clean(ln)
        if not ln_clean:
            continue
        if not ln_clean.startswith(("—", "-", "–")):
            break
        body = ln_clean.split(", and to include", 1)[0].split(", to include", 1)[0]
        aliases.extend(_strip_alias(a) for a in re.split(r";\s*(?:and\s+)?", body) if _strip_alias(a))
        if ln_clean.rstrip().endswith("."):
            break
    if not aliases:  # inline: 'Name, a.k.a., Alias, Address' or '…: —A; —B. Address' on one line
        tail = flat[m.end() :].strip()
        items = re.split(r";\s*(?:and\s+)?(?=—)", tail)
        for it in items:
            it = it.strip()
            if it.startswith("—"):
                stop = re.split(r"\.\s", it, maxsplit=1)[0]
                aliases.append(_strip_alias(stop))
            elif not aliases:
                aliases.append(_name_before_address(it))
            if re.search(r"\.\s", it):
                break
    return name, list(dict.fromkeys(a for a in aliases if a and a != name))


def _split_parties(text: str) -> list[tuple[str, str]]:
    """Split a cell into (kind, text) parties: the main entry, subordinate institutions, affiliates."""
    marker = _IT_OPEN + "Subordinate institution" + _IT_CLOSE
    chunks = text.split(marker)
    parties: list[tuple[str, str]] = [("main", chunks[0])] + [("sub", c) for c in chunks[1:]]
    out: list[tuple[str, str]] = []
    for kind, chunk in parties:
        if "Affiliated entities:" in chunk:
            head, aff = chunk.split("Affiliated entities:", 1)
            if _clean(head):
                out.append((kind, head))
            # each affiliate starts with an italic name at a line start
            for piece in re.split(r"\n\s*(?=" + _IT_OPEN + ")", "\n" + aff):
                if _clean(piece):
                    out.append(("affiliate", piece))
        else:
            out.append((kind, chunk))
    return out


def _affiliate_segment(piece: str) -> str:
    """An affiliate piece is '\x01Name,\x02 a.k.a. …' — drop the italics, keep the text."""
    return piece.replace(_IT_OPEN, "").replace(_IT_CLOSE, "")


def _country(text: str) -> str:
    hk = "Hong Kong" in text
    cn = "China" in text or not hk
    return ";".join(c for c, on in (("CN", cn), ("HK", hk)) if on)


def parse_supplement(div: ET.Element, list_key: str) -> list[Entry]:
    """Entries under the China heading of one supplement's table."""
    entries: list[Entry] = []
    country = ""
    rows: list[list[str]] = []  # [text, requirement, policy, citation, parent] per logical row
    group = ""  # MEU-style "The following N subordinate institutions of X:" block
    for tr in div.iter("TR"):
        tds = tr.findall("TD")
        if len(tds) < 3:
            continue
        head = _clean(_cell_text(tds[0]))
        if head:
            country = head
        if country != CHINA:
            continue
        cells = [_cell_text(td) for td in tds]
        citation = _clean(cells[-1])
        entity = cells[1]
        if not _clean(entity) or _clean(entity) == "[Reserved]":
            continue
        req = _clean(cells[2]) if len(cells) >= 5 else ""
        pol = _clean(cells[3]) if len(cells) >= 5 else ""
        g = _GROUP.match(_clean(entity))
        if g:
            group = g.group(1)
            group_citation = citation or (rows[-1][3] if rows else "")
            continue
        if _SUB_MARK.match(_clean(entity)):
            continue
        if group and not citation:
            rows.append([entity, req, pol, group_citation, group])
            continue
        group = ""
        if not citation and rows:  # continuation of the previous entry
            rows[-1][0] += "\n" + entity
            continue
        rows.append([entity, req, pol, citation, ""])
    for entity, req, pol, citation, parent in rows:
        main_name = ""
        main_raw = _clean(entity)
        for kind, seg in _split_parties(entity):
            seg_text = _affiliate_segment(seg) if kind == "affiliate" else seg
            name, aliases = parse_segment(seg_text)
            if not name:
                continue
            inline = _INLINE_SUB.match(name)
            if kind == "main" and inline:
                parent, name = inline.group(1), inline.group(2)
            if kind == "main":
                main_name = name
            entries.append(
                Entry(
                    list=list_key,
                    name=name,
                    aliases=aliases,
                    country=_country(_clean(seg_text)),
                    citation=citation,
                    license_requirement=req,
                    license_review_policy=pol,
                    parent=parent if kind == "main" else main_name,
                    raw_text=main_raw if kind == "main" else _clean(seg_text),
                )
            )
    return entries


def parse_ecfr(path: Path | str) -> list[Entry]:
    """All China entries of Supplements 4, 6 and 7 in an eCFR Part 744 XML file."""
    try:
        root = ET.parse(str(path)).getroot()
    except (OSError, ET.ParseError) as exc:
        raise UsageError(f"cannot read eCFR XML {path}: {exc}") from exc
    entries: list[Entry] = []
    for div in root.iter("DIV9"):
        n = str(div.get("N", "")).removeprefix("Supplement No. ").split(" ")[0]
        if n in SUPPLEMENTS:
            entries.extend(parse_supplement(div, SUPPLEMENTS[n][0]))
    if not entries:
        raise UsageError(f"{path}: no China entries found in Supplements 4, 6, 7 of 15 CFR Part 744")
    return entries
