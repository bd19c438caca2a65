"""AI compute: watchlist mentions (chips, clouds, models) with correction tables honoured,
GPU/server/token counts, and the restricted-US-tech flag."""

from __future__ import annotations

import re

from extractor.backends.rules.labels import title_text
from extractor.backends.rules.quantity import Count, machine_card_products, per_machine_times, token_counts
from extractor.backends.rules.scope import out_of_scope
from extractor.backends.rules.views import HEADING, View, num
from extractor.core.document import FieldValue
from extractor.core.watchlist import Mention, default_watchlist

_CN_NUM = "零〇一二两三四五六七八九十"

_NUM = rf"(\d+|[{_CN_NUM}]+)"

_GPU_WORDS = r"(?:GPU|gpu|显卡|加速卡|算力卡|计算卡|NPU|AI处理器|DCU|加速器|训练卡|推理卡|Tensor\s*Core)"

_PER_SERVER = re.compile(rf"(?:每台|单台|单机|每节点|每个节点|每套|每台服务器|每台实例|每台工作站)[^。；;，,]{{0,12}}?{_NUM}\s*(?:块|张|片|颗|个|卡)")

_N_CARD = re.compile(rf"{_NUM}\s*卡(?:GPU|AI|智算|训练|推理)?(?:服务器|主机|机型|节点)")

_TOTAL_GPU = re.compile(rf"(?:共计|合计|总计|共|总共|累计)\s*(?:配置|配备|含|包含|采购|部署)?\s*{_NUM}\s*(?:块|张|片|颗|个)[^。；;，,]{{0,16}}?{_GPU_WORDS}")

_TOTAL_GPU_WORD_FIRST = re.compile(rf"(?:共计|合计|总计|总共|累计|共)\s*(?:配置|配备|含|包含|采购|部署)?[^。；;，,\d]{{0,12}}?{_GPU_WORDS}\s*{_NUM}\s*(?:块|张|片|颗|个)")

# A bare card count (``智能加速卡16张``, ``采购24张昇腾加速卡``), not a capability (``最多支持8块GPU``).
_GPU_QTY = re.compile(rf"(?<!支持)(?<!扩展)(?<!最多)(?<!最大)(?<!可插)(?:{_GPU_WORDS}[^。；;，,\d]{{0,6}}?{_NUM}\s*(?:块|张|片)|{_NUM}\s*(?:块|张|片)[^。；;，,\d]{{0,10}}?{_GPU_WORDS})")

# Machines or cards the buyer already owns (``现有的4台推理服务器``) are not what it buys.
_EXISTING = re.compile(r"(?:现有|已有|原有|既有|已建|已购|现网)[^。；;，,\d]{0,6}$")

_SPEC_COUNT = re.compile(rf"{_NUM}\s*(?:块|张|片|颗|个|卡)")

_ITEM_SEP = re.compile(r"[、，,/]")

_CLAUSE_END = re.compile(r"[。；;]")

_QTY = re.compile(rf"{_NUM}\s*(?:台|个节点|节点|套)")

_SERVER_WORD = re.compile(r"服务器|实例|节点|主机|云主机|ECS|DGX|HGX|整机柜|计算系统|Atlas")

_NOT_SERVER = re.compile(r"工作站|计算机|台式|笔记本|一体机|终端|交换机|存储")

_SERVER_QTY = re.compile(rf"(?:服务器|实例|云主机|节点|主机|ECS)[^。；;，,\d]{{0,12}}?{_NUM}\s*(?:台|个)|{_NUM}\s*(?:台|个)[^。；;，,\d]{{0,16}}?(?:服务器|实例|云主机|主机|DGX|HGX)")

_TOKENS = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(亿|千万|百万|万|[kKmMbB])?\s*(?:个)?\s*(?:tokens?|Tokens?|TOKENS?|令牌)")

# A throughput (``800 tokens/s``, ``每秒…tokens``) is a performance requirement, not tokens bought.
_TOKEN_RATE_AFTER = re.compile(r"\s*(?:/|每)\s*(?:s|秒|min|分钟|sec)|\s*per\s*s", re.I)

_TOKEN_RATE_BEFORE = re.compile(r"每秒[^。；;，,\d]{0,6}$|吞吐[^。；;，,\d]{0,8}$")

_CORRECTION_AFTER = re.compile(r"更正后|变更后|修改后|调整为|变更为|更改为|修改为|更正为|现内容|更正内容")

_CORRECTION_BEFORE = re.compile(r"更正前|变更前|修改前|原内容|原公告|原招标|原采购|原要求")



def ai_mentions(views: list[View], notice: str) -> list[tuple[View, Mention]]:
    """Watchlist mentions per page. In a correction notice, items named only in the
    'before' part (原内容/更正前) are what the tender no longer seeks and are left out
    when an 'after' part names something."""
    wl = default_watchlist()
    found = [(v, m) for v in views for m in wl.find_mentions(v.clean)]
    if notice != "correction" or not found:
        return found
    replaced = {id(m) for v in views for m in _replaced_in_correction_table(v, [m for w, m in found if w is v])}
    kept = []
    for v, m in found:
        if id(m) in replaced:
            continue
        before = v.clean[max(0, m.start - 80): m.start]
        b = max((x.end() for x in _CORRECTION_BEFORE.finditer(before)), default=-1)
        a = max((x.end() for x in _CORRECTION_AFTER.finditer(before)), default=-1)
        if b > a:
            continue
        kept.append((v, m))
    return kept or found



_BEFORE_COLUMN = re.compile(r"^[ \t]*(?:原内容|原公告内容|(?:更正|变更|修改|调整)前(?:内容)?)[ \t]*$", re.M)

_AFTER_COLUMN = re.compile(r"[ \t]*(?:现内容|更正内容|(?:更正|变更|修改|调整)后(?:内容)?)[ \t]*$")

_ROW_NUMBER = re.compile(r"^[ \t]*\d{1,2}[ \t]*$", re.M)



def _replaced_in_correction_table(v: View, mentions: list[Mention]) -> list[Mention]:
    """Mentions in the 'before' column of a flattened before/after correction table.

    pypdf gives each row as its cells one after the other (序号, [item,] before, after), so a
    row's 'after' cell starts at the first line naming something the row has not named yet;
    what the lines before it name, and the after cell does not repeat, is what was replaced."""
    out: list[Mention] = []
    for head in _BEFORE_COLUMN.finditer(v.clean):
        nxt = v.clean[head.end() + 1: head.end() + 40].split("\n", 1)[0]
        if not _AFTER_COLUMN.fullmatch(nxt):
            continue
        table_start = head.end() + 1 + len(nxt)
        table_end = len(v.clean)
        pos = table_start
        for line in v.clean[table_start:].split("\n"):
            if HEADING.match(line) and not _ROW_NUMBER.fullmatch(line):
                table_end = pos
                break
            pos += len(line) + 1
        rows = [r.start() for r in _ROW_NUMBER.finditer(v.clean, table_start, table_end)] + [table_end]
        for row_start, row_end in zip(rows, rows[1:], strict=False):
            in_row = sorted((m for m in mentions if row_start <= m.start < row_end), key=lambda m: m.start)
            split = _after_cell_start(v.clean, in_row)
            if split is None:
                continue
            after = {m.canonical for m in in_row if m.start >= split}
            out += [m for m in in_row if m.start < split and m.canonical not in after]
    return out



def _after_cell_start(text: str, in_row: list[Mention]) -> int | None:
    """Where the first line naming a new item starts, once an earlier line has named one."""
    seen: set[str] = set()
    seen_line = -1
    for m in in_row:
        line_start = text.rfind("\n", 0, m.start) + 1
        if seen and m.canonical not in seen and line_start > seen_line:
            return line_start
        if m.canonical not in seen:
            seen.add(m.canonical)
            seen_line = max(seen_line, line_start)
    return None



def split_scoped(mentions: list[tuple[View, Mention]]
                 ) -> tuple[list[tuple[View, Mention]], list[tuple[View, Mention, str]]]:
    """(mentions that name what the notice buys or runs on, mentions out of scope with the reason)."""
    kept: list[tuple[View, Mention]] = []
    dropped: list[tuple[View, Mention, str]] = []
    for v, m in mentions:
        reason = out_of_scope(v.clean, m.start, m.end)
        if reason:
            dropped.append((v, m, reason))
        else:
            kept.append((v, m))
    return kept, dropped


def dropped_names(dropped: list[tuple[View, Mention, str]], kept_names: dict[str, list[str]]
                  ) -> dict[str, list[tuple[str, str]]]:
    """Per kind, the canonicals that only out-of-scope mentions name, with the first reason."""
    wl = default_watchlist()
    names = wl.canonicals([m for _, m, _ in dropped])
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, canon in names.items():
        for c in canon:
            if c in kept_names.get(kind, []):
                continue
            reason = next((r for _, m, r in dropped if m.canonical == c or c in wl.by_canonical[m.canonical].implies), "")
            out.setdefault(kind, []).append((c, reason))
    return out


def list_with_evidence(views: list[View], mentions: list[tuple[View, Mention]], names: list[str]) -> FieldValue:
    if not names:
        return FieldValue([])
    wl = default_watchlist()
    for v, m in mentions:
        e = wl.by_canonical[m.canonical]
        if m.canonical in names or any(i in names for i in e.implies):
            return v.fv(list(names), m.start, m.end)
    return FieldValue(list(names))



_AI_WORDS = re.compile(r"人工智能|大模型|GPU|算力|深度学习|模型训练|推理服务|智算|AI|tokens?", re.I)



def has_ai_words(views: list[View]) -> bool:
    return any(_AI_WORDS.search(v.flat) for v in views)



def compute_counts(views: list[View], ai: bool) -> tuple[FieldValue, FieldValue]:
    if not ai:
        return FieldValue(None), FieldValue(None)
    gpu: FieldValue | None = None
    server: FieldValue | None = None
    for v in views:
        text = v.flat
        for m in _PER_SERVER.finditer(text):
            item = _per_server_gpus(text, m)
            if item is None:
                continue
            per, item_end = item
            qty, qs, qe, is_server = _nearby_quantity(text, m.start(), m.end())
            if per and qty:
                if gpu is None:
                    gpu = v.fv(per * qty, min(qs, m.start()), max(qe, item_end), flat=True)
                if server is None and is_server:
                    server = v.fv(qty, qs, qe, flat=True)
            if gpu is not None:
                break
        if gpu is None:  # the quantity grammar: ``4台×8卡``, ``服务器1台，配置8张…``, ``four 8-GPU servers``
            product = next(iter(machine_card_products(text)), None)
            if product is not None:
                gpu = v.fv(product.value, product.start, product.end, flat=True)
                if server is None and product.servers:
                    server = v.fv(product.servers, product.start, product.end, flat=True)
        if gpu is None:  # ``每台8×NVIDIA H20`` with the machines counted nearby
            for per, ps, pe in per_machine_times(text):
                qty, qs, qe, is_server = _nearby_quantity(text, ps, pe)
                if qty:
                    gpu = v.fv(per * qty, min(qs, ps), max(qe, pe), flat=True)
                    if server is None and is_server:
                        server = v.fv(qty, qs, qe, flat=True)
                    break
        if gpu is None:
            card = _N_CARD.search(text)
            if card:
                qty, qs, qe, is_server = _nearby_quantity(text, card.start(), card.end())
                per = num(card.group(1))
                if per and qty:
                    gpu = v.fv(per * qty, min(qs, card.start()), max(qe, card.end()), flat=True)
                    if server is None and is_server:
                        server = v.fv(qty, qs, qe, flat=True)
        if gpu is not None and server is not None:
            break
    for pattern in (_TOTAL_GPU, _TOTAL_GPU_WORD_FIRST, _GPU_QTY):  # stated totals, then bare card counts
        if gpu is not None:
            break
        for v in views:
            hit = next((m for m in pattern.finditer(v.flat) if not _EXISTING.search(v.flat[max(0, m.start() - 10): m.start()])
                        and num(m.group(1) or m.group(2) or "")), None)
            if hit:
                gpu = v.fv(num(hit.group(1) or hit.group(2)), hit.start(), hit.end(), flat=True)
                if pattern is _GPU_QTY:
                    gpu.low("a bare card count, not a stated total or machines × cards")
                break
    if server is None:
        for v in views:
            for m in _SERVER_QTY.finditer(v.flat):
                n = num(m.group(1) or m.group(2))
                num_start = m.start(1) if m.group(1) else m.start(2)
                if _EXISTING.search(v.flat[max(0, m.start() - 10): num_start]):
                    continue  # ``现有的4台推理服务器``: machines already owned, not bought
                if n and not _NOT_SERVER.search(m.group()):
                    server = v.fv(n, m.start(), m.end(), flat=True).low("a machine count found apart from any GPU spec")
                    break
            if server is not None:
                break
    return gpu or FieldValue(None), server or FieldValue(None)



# A spec item about another part: a per-server count before one of these counts CPUs, memory…
_OTHER_PART = re.compile(r"处理器|CPU|内存|硬盘|网卡|电源|每台|单台")


def _per_server_gpus(text: str, m: re.Match[str]) -> tuple[int | None, int] | None:
    """The accelerator count in a per-machine spec (``每台配置2颗CPU、8块MI250加速卡``): the
    listed item whose own words name a GPU; else the first count when a GPU is named soon after."""
    limit = min(len(text), m.end() + 100)
    stops = [x.start() for x in (_CLAUSE_END.search(text, m.end(), limit), _QTY.search(text, m.end(), limit)) if x]
    clause_end = min(stops, default=limit)  # a sentence end, or the row's machine quantity (``40台``)
    counts = [(m.group(1), m.start(1), m.end())]
    counts += [(c.group(1), c.start(), c.end()) for c in _SPEC_COUNT.finditer(text, m.end(), clause_end)]
    wl = default_watchlist()
    item_start = m.start()
    for number, start, end in counts:
        seps = list(_ITEM_SEP.finditer(text, item_start, start))
        head = text[seps[-1].end() if seps else item_start: start]
        nxt = _ITEM_SEP.search(text, end, min(len(text), end + 40))
        tail = text[end: nxt.start() if nxt else min(len(text), end + 40)]
        tail = _OTHER_PART.split(tail, maxsplit=1)[0]  # ``2颗…处理器`` ends at the CPU, before the next cell
        if re.search(_GPU_WORDS, head + " " + tail) or wl.find_mentions(head) or wl.find_mentions(tail):
            return num(number), end
        item_start = end
    tail = text[m.end(): m.end() + 40]
    if re.search(_GPU_WORDS, tail) or wl.find_mentions(tail):
        return num(m.group(1)), m.end()
    return None



def _nearby_quantity(text: str, start: int, end: int) -> tuple[int | None, int, int, bool]:
    """How many machines a per-machine spec applies to: ``N台`` just before it (``服务器4台，
    每台配置…``) or, in a flattened table row, the first ``N台`` after it."""
    before = text[max(0, start - 40): start]
    cands = list(_QTY.finditer(before))
    if cands:
        q = cands[-1]
        s = max(0, start - 40) + q.start()
        ctx = text[max(0, s - 20): start]
        owned = bool(_EXISTING.search(text[max(0, s - 10): s]))  # ``现有4台服务器，每台加装…``: cards bought, not servers
        return num(q.group(1)), s, s + len(q.group()), _is_server_ctx(ctx) and not owned
    after = _QTY.search(text, end, min(len(text), end + 160))
    if after:
        ctx = text[max(0, start - 60): after.end()]
        return num(after.group(1)), after.start(), after.end(), _is_server_ctx(ctx)
    return None, start, end, False



def _is_server_ctx(ctx: str) -> bool:
    return bool(_SERVER_WORD.search(ctx)) and not _NOT_SERVER.search(ctx)



def token_count_field(views: list[View]) -> FieldValue:
    """Tokens bought (``quantity.token_counts``): a stated total wins, else the first amount."""
    best: tuple[View, Count] | None = None
    for v in views:
        for c in token_counts(v.flat):
            if c.total:
                return v.fv(c.value, c.start, c.end, flat=True)
            if best is None:
                best = (v, c)
    if best is None:
        return FieldValue(None)
    v, c = best
    fv = v.fv(c.value, c.start, c.end, flat=True)
    distinct = {x.value for w in views for x in token_counts(w.flat)}
    return fv.low(f"{len(distinct)} different token amounts, none stated as the total") if len(distinct) > 1 else fv



def restricted_flag(views: list[View], mentions: list[tuple[View, Mention]], names: dict[str, list[str]],
                notice: str, publish_date: str | None, ai: bool) -> FieldValue:
    """``restricted_us_tech`` per the contract: a termination seeks nothing; otherwise any
    restricted chip/model (dated rules applied) or a US cloud used for AI compute."""
    wl = default_watchlist()
    flag = notice != "termination" and wl.is_restricted(
        names["chip"], names["cloud"], names["model"], publish_date, ai_context=ai)
    if not flag:  # evidence for "no": the title saying what the notice is about
        _, tv, s, e = title_text(views)
        if tv is not None:
            return tv.fv(False, s, e)
        first = next((m for m in re.finditer(r"\S[^\n]*", views[0].clean)), None) if views else None
        return views[0].fv(False, first.start(), first.end()) if first else FieldValue(False)
    for v, m in mentions:
        entry = wl.by_canonical[m.canonical]
        if entry.restricted_on(publish_date) and (entry.kind != "cloud" or ai):
            return v.fv(True, m.start, m.end)
    return FieldValue(True)

