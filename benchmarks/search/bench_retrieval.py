"""Retrieval-targeted LLM prompts vs the whole-document prompt on the long packages.

No real LLM runs here, so accuracy is measured by an honest proxy: a model can
only answer from what it is shown. For every gold non-null value (each list
item counted on its own) we check whether its supporting text is inside the
document block of the prompt(s) that ask for that field, and compare with the
whole-document prompt (which shows everything):

- string: the value itself (NFKC, whitespace-insensitive);
- enum: one of the Chinese terms the field description maps the value to
  (``competitive_consultation=竞争性磋商``);
- date: a date written in any form that parses to the value;
- number: an amount written in any form (元/万元, capital numerals) equal to it;
- integer: the figure followed by a count unit (``128卡``, ``16台``), or two such
  figures whose product it is (``16台`` x ``8颗``);
- chips/clouds/models: a watchlist alias of the canonical name;
- boolean: the watchlist mentions shown give the same ``is_restricted`` answer
  and name the gold chips/clouds/models it rests on.

The prompts are the ones the extractor really sends (captured by the local
OpenAI-protocol test server), retrieval through ``document_retriever(doc, None)``
(BM25 over the document's own chunks, no embedding). Tokens are tiktoken counts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from benchmarks.generate import ROOT
from benchmarks.pipeline.bench_llm import _requested_fields, _server_module, answering_handler

LONG_SAMPLES = ("package-city-govcloud-ascend", "package-univ-ai-platform-h800")
TARGET_RATIO = 0.5
_COUNT_UNIT = re.compile(r"(?<![\d.])(\d+)\s*(?:台|张|块|卡|颗|片|节点)")
_CJK = re.compile(r"[\u3400-\u9fff]{2,}")
_LIST_WATCH = {"chips": "chip", "cloud_providers": "cloud", "ai_models": "model"}


def sample_paths(names: tuple[str, ...] = LONG_SAMPLES) -> list[Path]:
    return [ROOT / "samples" / f"{n}.pdf" for n in names]


def document_block(messages: list[dict[str, Any]]) -> str:
    """The text between <document> and </document> of the user message (the data only)."""
    user = str(messages[-1].get("content") or "")
    head, sep, rest = user.partition("<document>")
    return rest.rsplit("</document>", 1)[0] if sep else ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _enum_terms(description: str, value: str) -> list[str]:
    m = re.search(rf"(?<![a-z_]){re.escape(value)}=([^;]*)", description)
    return _CJK.findall(m.group(1)) if m else []


def _counts(block: str) -> set[int]:
    return {int(m.group(1)) for m in _COUNT_UNIT.finditer(unicodedata.normalize("NFKC", block))}


def _watch(block: str) -> dict[str, list[str]]:
    from extractor.core.watchlist import canonicals, find_mentions

    return canonicals(find_mentions(block))


def supported(field: Any, gold: Any, block: str, labels: dict[str, Any]) -> tuple[int, int]:
    """(gold items whose supporting text is in ``block``, gold items): empty values are not counted."""
    from extractor.core.normalize import iter_amounts, iter_dates, norm_text
    from extractor.core.watchlist import is_restricted

    if gold is None or gold == [] or gold == "":
        return 0, 0
    squashed = _squash(block)
    if field.type == "list":
        kind = _LIST_WATCH.get(field.name)
        named = _watch(block).get(kind, []) if kind else []
        hits = sum(1 for item in gold if (item in named if kind else norm_text(item) in squashed))
        return hits, len(gold)
    if field.type == "string":
        return int(norm_text(gold) in squashed), 1
    if field.type == "enum":
        terms = _enum_terms(field.description, gold) or [gold]
        return int(any(_squash(t) in squashed for t in terms)), 1
    if field.type == "date":
        return int(any(h.iso == gold for h in iter_dates(block))), 1
    if field.type == "number":
        tol = max(1.0, 0.001 * abs(gold))
        return int(any(abs(a.value - gold) <= tol for a in iter_amounts(block))), 1
    if field.type == "integer":
        counts = _counts(block)
        product = any(a * b == gold for a in counts for b in counts if a > 1 and b > 1)
        return int(gold in counts or product), 1
    if field.type == "boolean":
        named = _watch(block)
        same = is_restricted(named["chip"], named["cloud"], named["model"], labels.get("publish_date")) == gold
        basis = [x for f, k in _LIST_WATCH.items() for x in (labels.get(f) or []) if x not in named[k]]
        return int(same and not basis), 1
    raise ValueError(f"no evidence rule for field type {field.type!r}")


def measure(pdf: Path, schema: Any, server: Any, extractor: Any) -> dict[str, Any]:
    """Tokens and evidence kept for one sample: whole-document prompt vs the prompts really sent."""
    from extractor.backends.llm import prompt_tokens
    from extractor.backends.llm.prompts import build_messages
    from extractor.pipeline.extract import document_retriever
    from extractor.read.pdf import read_pdf

    labels = json.loads(pdf.with_name(pdf.stem + ".gold.json").read_text(encoding="utf-8"))["labels"]
    doc = read_pdf(pdf)
    whole_messages = build_messages(schema, doc.pages, schema.fields)
    whole_block = document_block(whole_messages)
    before = len(server.chat_requests())
    extractor.extract(doc, schema, retriever=document_retriever(doc, None))
    sent = server.chat_requests()[before:]
    blocks: dict[str, list[str]] = {}
    for req in sent:
        for name in _requested_fields(req.body or {}):
            blocks.setdefault(name, []).append(document_block(req.messages))
    fields = []
    for name, gold in labels.items():
        f = schema.field(name)
        whole_hit, total = supported(f, gold, whole_block, labels)
        if not total:
            continue
        shown = "\n".join(blocks.get(name, []))
        targeted_hit, _ = supported(f, gold, shown, labels)
        fields.append({"field": name, "items": total, "whole": whole_hit, "targeted": targeted_hit})
    whole_tokens = prompt_tokens(whole_messages)
    targeted_tokens = sum(prompt_tokens(r.messages) for r in sent)
    return {"file": pdf.name, "pages": len(doc.pages), "calls": len(sent), "whole_tokens": whole_tokens,
            "targeted_tokens": targeted_tokens, "ratio": targeted_tokens / whole_tokens, "fields": fields,
            "items": sum(f["items"] for f in fields), "whole_kept": sum(f["whole"] for f in fields),
            "targeted_kept": sum(f["targeted"] for f in fields),
            "missed": [f["field"] for f in fields if f["targeted"] < f["whole"]]}


def run(pdfs: list[Path] | None = None) -> dict[str, Any]:
    """Measure every sample (default: the two long packages with gold labels)."""
    from extractor.backends.llm import LLMExtractor
    from extractor.core.config import LLMSettings
    from extractor.core.schema import load_schema

    schema = load_schema("tender")
    server_mod = _server_module()
    with server_mod.OpenAIServer() as server:
        server.handler = answering_handler(schema)
        settings = LLMSettings(base_url=server.url, api_key="bench-key", model="gpt-4o-mini", max_retries=1)
        extractor = LLMExtractor(settings, cache=None)
        docs = [measure(p, schema, server, extractor) for p in (pdfs or sample_paths())]
    whole = sum(d["whole_tokens"] for d in docs)
    targeted = sum(d["targeted_tokens"] for d in docs)
    return {"documents": docs, "whole_tokens": whole, "targeted_tokens": targeted,
            "ratio": targeted / whole if whole else 0.0, "target_ratio": TARGET_RATIO,
            "items": sum(d["items"] for d in docs), "whole_kept": sum(d["whole_kept"] for d in docs),
            "targeted_kept": sum(d["targeted_kept"] for d in docs)}


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Retrieval-targeted prompts vs whole document (evidence-recall proxy)")
    for col in ("document", "pages", "calls", "whole tok", "targeted tok", "ratio", "evidence whole",
                "evidence targeted", "lost"):
        table.add_column(col, justify="left" if col in ("document", "lost") else "right", overflow="fold")
    for d in result["documents"]:
        table.add_row(Path(d["file"]).stem, str(d["pages"]), str(d["calls"]), f"{d['whole_tokens']:,}",
                      f"{d['targeted_tokens']:,}", f"{d['ratio']:.0%}", f"{d['whole_kept']}/{d['items']}",
                      f"{d['targeted_kept']}/{d['items']}", ", ".join(d["missed"]) or "—")
    table.add_row("all", "", "", f"{result['whole_tokens']:,}", f"{result['targeted_tokens']:,}",
                  f"{result['ratio']:.0%}", f"{result['whole_kept']}/{result['items']}",
                  f"{result['targeted_kept']}/{result['items']}", f"target ≤ {result['target_ratio']:.0%}",
                  style="bold")
    Console(width=max(Console().width, 140)).print(table)


def main() -> int:
    print_table(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
