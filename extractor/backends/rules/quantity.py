"""A small grammar of compute quantities, beyond ``每台配置8块…`` (kept in ``compute``):

- machines × cards: ``4台×8卡``, ``2台*8张GPU``, ``服务器2台，每台8×NVIDIA H20``, ``服务器（8卡）×6台``,
  ``推理服务器1台，配置8张昇腾910B加速卡``, English ``four 8-GPU servers``,
  ``4 servers with 8 GPUs each``;
- tokens bought: number first (``3,000万 tokens``, ``三千万个token``, ``12亿tokens``) or the word first
  (``采购token数量为3000万个``, ``token总量不少于2亿个``), never a rate (``40 tokens/s``) or a unit
  price's base (``每百万tokens 2元``).

Each function returns candidates with spans in the flat text it was given (no line breaks), so
the caller quotes them with ``View.fv(..., flat=True)``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from extractor.backends.rules.cues import english_numbers, words_re
from extractor.core.normalize import parse_count
from extractor.core.watchlist import default_watchlist

_CN = "零〇一二两三四五六七八九十百千"
_N = rf"(\d+|[{_CN}]+)"
_GPU = r"(?:GPU|gpu|显卡|加速卡|算力卡|计算卡|NPU|AI处理器|DCU|加速器|训练卡|推理卡|卡)"
_MACHINE = r"(?:服务器|节点|主机|整机|机器|一体机)"

# ``4台×8卡``, ``4台*8张GPU``, ``4 台 x 8 块 A800``
_TIMES = re.compile(rf"{_N}\s*(?:台|个节点|节点)\s*[×xX*✕]\s*{_N}\s*(?:卡|块|张|片|颗)?")
# ``每台8×NVIDIA H20``, ``单机8*GPU``: a per-machine count written with a multiplication sign
_PER_TIMES = re.compile(rf"(?:每台|单台|单机|每节点|每个节点)\s*(?:配置|配备|搭载|内置|含)?\s*{_N}\s*[×xX*✕]\s*")
# ``昇腾AI服务器（8卡）×6台``, ``GPU服务器(8卡)6台``: the cards per machine in brackets, then the machines
_BRACKET_CARDS = re.compile(rf"{_MACHINE}\s*[（(]\s*{_N}\s*(?:卡|块|张|GPU)\s*[)）]\s*[×xX*✕]?\s*{_N}\s*台")
# ``推理服务器1台，配置8张华为昇腾910B加速卡`` (no 每台: the count follows the machine's quantity)
_QTY_THEN_CARDS = re.compile(
    rf"{_MACHINE}[^。；;，,\d]{{0,6}}?{_N}\s*台\s*[，,、]?\s*(?:均|各)?(?:配置|配备|搭载|内置|含|装配)\s*{_N}\s*(?:块|张|片|颗|个)")

_TOKEN_WORD = r"(?:tokens?|Tokens?|TOKENS?|令牌)"
_AMOUNT = r"(\d[\d,]*(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿]+)\s*(亿|千万|百万|万|[kKmMbB](?![a-zA-Z]))?"
_TOKENS_AFTER = re.compile(_AMOUNT + rf"\s*个?\s*{_TOKEN_WORD}")
_TOKENS_BEFORE = re.compile(
    rf"{_TOKEN_WORD}\s*(?:的)?(?:采购)?(?:数量|总量|总数|数|额度|调用量|用量|资源包)?\s*"
    r"(?:为|是|[:：]|不少于|不低于|约|共计?|合计|达到?|总计)\s*" + _AMOUNT + r"\s*个?")
_RATE_AFTER = re.compile(r"\s*(?:/|每)\s*(?:s|秒|min|分钟|sec)|\s*per\s*s", re.I)
_RATE_BEFORE = re.compile(r"(?:每秒|吞吐|速度|速率)[^。；;，,\d]{0,8}$")
_PRICE_BASE_BEFORE = re.compile(r"(?:每|/|元/|按)\s*$")  # ``每百万tokens 2元``, ``元/千tokens``
_TOTAL_BEFORE = re.compile(r"(?:合计|共计|总计|总量|总数|累计)[^。；;，,\d]{0,8}$")


@dataclass(frozen=True)
class Count:
    """A quantity found in flat text: ``value`` with its span; ``servers``/``per`` for products."""

    value: int
    start: int
    end: int
    servers: int | None = None
    total: bool = False


def _n(s: str) -> int | None:
    return parse_count(s)


@lru_cache(maxsize=1)
def _english_re() -> re.Pattern[str]:
    words = words_re(list(english_numbers()))
    num = rf"(\d+|{words})"
    return re.compile(
        rf"\b{num}\s*(?:\(\d+\)\s*)?(\d+|{words})-?\s*GPUs?\s+(?:servers?|nodes?|machines?)"
        rf"|\b{num}\s+(?:servers?|nodes?|machines?)\s*(?:,\s*)?(?:each\s+)?with\s+(\d+|{words})\s+"
        r"(?:[A-Za-z0-9-]+\s+){0,3}GPUs?(?:\s+each)?",
        re.I,
    )


def _english_number(s: str) -> int | None:
    return int(s) if s.isdigit() else english_numbers().get(s.lower())


def _names_gpu(text: str) -> bool:
    return bool(re.search(_GPU, text)) or bool(default_watchlist().find_mentions(text))


def machine_card_products(flat: str) -> list[Count]:
    """Machines × accelerators per machine, in the order they occur."""
    out: list[Count] = []
    for m in _TIMES.finditer(flat):
        servers, per = _n(m.group(1)), _n(m.group(2))
        if servers and per and _names_gpu(flat[m.start(): m.end() + 40]):
            out.append(Count(servers * per, m.start(), m.end(), servers=servers))
    for m in _QTY_THEN_CARDS.finditer(flat):
        servers, per = _n(m.group(1)), _n(m.group(2))
        tail = flat[m.end(): m.end() + 30]
        if servers and per and _names_gpu(re.split(r"[，,；;。、]", tail, maxsplit=1)[0]):
            out.append(Count(servers * per, m.start(), m.end(), servers=servers))
    for m in _BRACKET_CARDS.finditer(flat):
        per, servers = _n(m.group(1)), _n(m.group(2))
        if servers and per:
            out.append(Count(servers * per, m.start(), m.end(), servers=servers))
    english = _english_re()
    for m in english.finditer(flat):
        a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        servers, per = _english_number(a), _english_number(b)
        if servers and per:
            out.append(Count(servers * per, m.start(), m.end(), servers=servers))
    return sorted(out, key=lambda c: c.start)


def per_machine_times(flat: str) -> list[tuple[int, int, int]]:
    """(cards per machine, start, end) for ``每台8×NVIDIA H20`` forms naming an accelerator."""
    out = []
    for m in _PER_TIMES.finditer(flat):
        per = _n(m.group(1))
        if per and _names_gpu(flat[m.end(): m.end() + 30]):
            out.append((per, m.start(), m.end() + 1))
    return out


def token_counts(flat: str) -> list[Count]:
    """Token amounts bought, in document order; ``total`` when a 合计/总量 word introduces them."""
    out: list[Count] = []
    for pattern in (_TOKENS_AFTER, _TOKENS_BEFORE):
        for m in pattern.finditer(flat):
            number = m.group(1) + (m.group(2) or "")
            value = parse_count(number)
            if not value or value < 1000:  # ``千tokens`` as a price base, ``1 token``
                continue
            before = flat[max(0, m.start() - 14): m.start()]
            if _RATE_AFTER.match(flat, m.end()) or _RATE_BEFORE.search(before) or _PRICE_BASE_BEFORE.search(before):
                continue
            if re.match(r"\s*(?:元|/)", flat[m.end(): m.end() + 3]):  # ``… tokens 2元``: a price
                continue
            total = bool(_TOTAL_BEFORE.search(before)) or pattern is _TOKENS_BEFORE and "总" in m.group()
            out.append(Count(value, m.start(), m.end(), total=total))
    return sorted(out, key=lambda c: c.start)
